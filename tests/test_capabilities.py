"""Typed engine capabilities: the transformers engine is Trainable and Mergeable and does what the
protocols promise; engines that only answer (echo, an OpenAI-compatible server) are refused
with a clear message before any training or merge job starts."""

from __future__ import annotations

import json

import pytest
import torch

from core.errors import UserError
from core.models.capabilities import Mergeable, Trainable, require_mergeable, require_trainable
from core.models.openai_engine import OpenAIEngine
from core.tuning.presets import preset
from tests import openai_like_server
from tests.api_helpers import echo_runtime

pytestmark = pytest.mark.usefixtures("one_torch_thread")
RECORDS = [{"instruction": f"Where is tower {i}?", "input": "", "output": f"Tower {i} is in Paris."} for i in range(8)]


@pytest.fixture
def engine(tiny_model_dir):
    """A fresh engine: these tests add and remove adapters on it."""
    from core.models import loader, sources
    from tests.conftest import MODEL_CACHE

    engine = loader.load(sources.resolve(str(tiny_model_dir), MODEL_CACHE))
    yield engine
    engine.close()


def test_transformers_engine_conforms_and_trains_one_step_under_the_lock(engine, tmp_path):
    from peft import LoraConfig

    assert isinstance(engine, Trainable) and isinstance(engine, Mergeable)
    assert engine.default_lora_targets() == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert set(engine.default_lora_targets()) <= set(engine.lora_candidates())
    engine.add_trainable_adapter("probe", LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    params = engine.adapter_parameters("probe")
    assert params and all(".probe." in n and "lora_" in n for n in params)
    before = {n: p.detach().clone() for n, p in params.items()}
    optimizer = torch.optim.SGD(params.values(), lr=1.0)
    ids = torch.tensor([[1, 5, 9, 13, 2]])
    with engine.training_step("probe") as model:
        assert engine.lock.busy and model.training
        assert all(p.requires_grad for p in params.values())
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
    assert not engine.lock.busy and not engine.model.training  # handed back in eval mode for chat
    assert any(not torch.equal(before[n], p) for n, p in params.items())  # the step changed the adapter
    with engine.evaluation("probe") as model:
        assert engine.lock.busy and not model.training

    engine.save_adapter("probe", tmp_path)
    assert (tmp_path / "adapter_model.safetensors").stat().st_size > 0
    assert json.loads((tmp_path / "adapter_config.json").read_text())["r"] == 4
    engine.save_tokenizer(tmp_path)
    assert (tmp_path / "tokenizer_config.json").exists()
    engine.remove_adapter("probe")
    assert "probe" not in engine.peft.peft_config and engine.adapter_parameters("probe") == {}


def test_a_closed_engine_is_not_trainable(engine):
    engine.close()
    assert not isinstance(engine, Trainable)


def test_echo_engine_cannot_train_and_says_so_before_a_job_starts(tmp_path):
    rt = echo_runtime(tmp_path / "data")
    assert not isinstance(rt.models.engine, Trainable) and not isinstance(rt.models.engine, Mergeable)
    path = rt.finetune.save_dataset("towers.json", json.dumps(RECORDS).encode())
    with pytest.raises(UserError) as raised:
        rt.finetune.start(path, "guide", preset("quick"), dataset_name="towers.json")
    assert "cannot train adapters here" in str(raised.value) and "local transformers model" in str(raised.value)
    assert "无法在本机训练适配器" in raised.value.text("zh")
    assert rt.finetune.jobs() == []  # refused up front, no job that fails later


def test_an_openai_compatible_server_engine_cannot_train_or_merge(tmp_path):
    with openai_like_server.running() as url:
        engine = OpenAIEngine(url)
        try:
            assert engine.adapter_names() == ["guide"]  # it is a working engine, only not a trainer
            assert not isinstance(engine, Trainable) and not isinstance(engine, Mergeable)
            with pytest.raises(UserError, match="smol .OpenAI-compatible server. cannot train"):
                require_trainable(engine)
            with pytest.raises(UserError, match="no local base weights"):
                require_mergeable(engine)
        finally:
            engine.close()


@pytest.mark.parametrize(("lang", "warning", "reason"), [
    ("zh", "只负责回答，不能在本机训练", "当前推理引擎不能训练"),
    ("en", "only answers and cannot train here", "The current engine cannot train"),
])
def test_fine_tune_page_on_the_echo_engine_explains_and_disables_start(tmp_path, lang, warning, reason):
    from tests.conftest import app_test, installed

    with installed(echo_runtime(tmp_path / "data")):
        at = app_test("pages/fine_tune.py", lang=lang).run()
        assert not at.exception
        assert any(warning in w.value for w in at.warning)
        [start] = [b for b in at.button if b.key == "ft-start"]
        assert start.disabled
        assert any(reason in c.value for c in at.caption)
