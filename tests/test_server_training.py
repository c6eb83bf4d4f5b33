"""Training beside an OpenAI-compatible server, without vLLM: the base opened here without its weights,
the memory plan (this process's copy + training, against what is free), the refusal of a job that will
not fit, the page saying what each side needs, and a job whose server refuses the hot-load.

The server is tests/openai_like_server.py (real HTTP, vLLM's /v1/models shape, no generation); the
hot-load into a real vLLM is tests/test_vllm.py::test_train_beside_the_server_then_hot_load.
"""

from __future__ import annotations

import json

import pytest

from core.config import Settings
from core.errors import UserError
from core.runtime import create_runtime
from core.adapters.pool import engine_fingerprint
from core.tuning.presets import preset
from core.tuning.server_training import GB, LocalBase
from tests import openai_like_server

pytestmark = pytest.mark.usefixtures("one_torch_thread")
RECORDS = [{"instruction": f"Where is tower {i}?", "input": "", "output": f"Tower {i} is in Paris."} for i in range(8)]
CONFIG = preset("quick", max_length=64, epochs=1, batch_size=2, grad_accum=1, val_fraction=0.0)


def server_runtime(tmp_path, url):
    rt = create_runtime(Settings(data_dir=tmp_path / "data", engine="openai", engine_url=url, load_on_start=False,
                                 embedding_model="hash"))
    rt.models.load("the server's model")
    return rt


def test_beside_a_server_a_job_that_will_not_fit_is_refused_before_it_starts(tmp_path, tiny_model_dir, tiny_engine):
    with openai_like_server.running(root=str(tiny_model_dir)) as url:
        rt = server_runtime(tmp_path, url)
        base = rt.finetune.trainer()
        assert isinstance(base, LocalBase)
        assert base.lora_candidates() == tiny_engine.lora_candidates()  # from the weightless skeleton
        assert base.default_lora_targets() == tiny_engine.default_lora_targets()
        plan = rt.finetune.memory_plan(base, CONFIG, 64)
        weights = sum(p.numel() * 4 for p in tiny_engine.model.parameters()) / GB  # the fp32 copy the job loads
        assert weights <= plan.weights_gb <= 1.2 * weights and plan.training_gb > 0
        assert plan.server_kv_cache_gb == 1.0 and plan.server_gpu_share == 0.3  # from its vllm:cache_config_info
        path = rt.finetune.save_dataset("towers.json", json.dumps(RECORDS).encode())
        too_little = int(plan.weights_gb * GB)  # room for the base's copy, none for training
        with pytest.raises(UserError) as raised:
            rt.finetune.start(path, "guide2", CONFIG, dataset_name="towers.json", available_bytes=too_little)
        assert "not enough memory" in str(raised.value) and "second copy of the base" in str(raised.value)
        assert "内存不足" in raised.value.text("zh") and "--gpu-memory-utilization" in raised.value.text("en")
        assert rt.finetune.jobs() == []  # refused up front, no job that fails later


def test_a_server_whose_base_is_elsewhere_cannot_train_here_and_the_page_says_why(tmp_path):
    from tests.conftest import app_test
    import streamlit as st

    from core.runtime import install_runtime

    with openai_like_server.running() as url:  # its root /models/smol is not on this machine
        rt = server_runtime(tmp_path, url)
        with pytest.raises(UserError, match="has its folder .*/models/smol.* elsewhere"):
            rt.finetune.trainer()
        install_runtime(rt)
        st.cache_resource.clear()
        try:
            at = app_test("pages/fine_tune.py", lang="zh").run()
            assert not at.exception
            assert any("无法在本机为该服务器训练" in w.value and "/models/smol" in w.value for w in at.warning)
            [start] = [b for b in at.button if b.key == "ft-start"]
            assert start.disabled
        finally:
            install_runtime(None)
            st.cache_resource.clear()


def test_the_page_beside_a_server_says_what_each_side_needs(tmp_path, tiny_model_dir):
    from tests.conftest import app_test
    import streamlit as st

    from core.runtime import install_runtime

    with openai_like_server.running(root=str(tiny_model_dir)) as url:
        rt = server_runtime(tmp_path, url)
        path = rt.finetune.save_dataset("towers.json", json.dumps(RECORDS).encode())
        rt.finetune.remember_form({"dataset": {"path": str(path), "name": "towers.json"}, "preset": "quick"})
        install_runtime(rt)
        st.cache_resource.clear()
        try:
            at = app_test("pages/fine_tune.py", lang="en").run()
            assert not at.exception
            assert any("loads a copy of the base here for its duration only" in i.value for i in at.info)
            [memory] = [c.value for c in at.caption if c.value.startswith("Memory: training here needs")]
            assert "base" in memory and "free besides the server" in memory and "the server's KV cache is 1.0 GB" in memory
            [start] = [b for b in at.button if b.key == "ft-start"]
            assert not start.disabled
        finally:
            install_runtime(None)
            st.cache_resource.clear()


def test_a_job_beside_a_server_that_refuses_the_hot_load_keeps_the_adapter_and_says_so(tmp_path, tiny_model_dir):
    with openai_like_server.running(root=str(tiny_model_dir)) as url:  # it has no /v1/load_lora_adapter
        rt = server_runtime(tmp_path, url)
        path = rt.finetune.save_dataset("towers.json", json.dumps(RECORDS).encode())
        job = rt.finetune.start(path, "guide2", CONFIG, dataset_name="towers.json")
        job = rt.jobs.wait(job.id, timeout=300)
        assert job.status == "failed"
        assert "is trained and saved, but the server did not load it" in job.error_message.render("en")
        card = rt.adapters.get("guide2")  # trained on the base loaded for the job, then freed
        assert card.steps > 0 and card.base_fingerprint == engine_fingerprint(rt.models.engine)
        assert [c.name for c in rt.adapter_pool.compatible()] == ["guide2"]  # the pool offers it: loaded on first use


def test_a_hot_loaded_adapter_with_its_bases_template_does_not_send_it_per_request(tiny_model_dir):
    """vLLM refuses a request's chat_template unless started with --trust-request-chat-template; an adapter
    trained here carries the base's own template, which the server applies anyway, so it must not be sent."""
    from core.models.loader import load_tokenizer
    from core.models.openai_engine import OpenAIEngine

    own = load_tokenizer(tiny_model_dir).chat_template
    assert own
    with openai_like_server.running(root=str(tiny_model_dir)) as url:  # lists "guide": no load request needed
        engine = OpenAIEngine(url)
        try:
            engine.load_adapter("guide", tiny_model_dir, chat_template=own)
            assert "guide" not in engine._templates  # the request goes out without a chat_template
            engine.load_adapter("guide", tiny_model_dir, chat_template="{{ messages[0]['content'] }}")
            assert engine._templates["guide"] == "{{ messages[0]['content'] }}"  # its own: sent, as before
        finally:
            engine.close()
