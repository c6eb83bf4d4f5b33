"""AppTests of the System page's model picker: the catalog with memory and fits, the CPU
recommendation, a real download from a local ModelScope hub and load, offline checks, the
remote-code confirmation, and no English left in 中文 mode beyond names and units."""

from __future__ import annotations

import re
import shutil

import pytest

from core import system_info
from core.models import catalog
from tests.conftest import app_test
from tests.modelscope_server import FakeModelScope

# Names, ids, units and tool names that stay as they are in Chinese text.
ALLOWED = [e.name for e in catalog.CATALOG] + [e.modelscope_id for e in catalog.CATALOG] + [
    "ModelScope", "GiB", "MB", "CPU", "GPU", "CUDA", "RAM", "bf16", "fp16", "fp32", "float32", "NF4", "bitsandbytes",
    "QLoRA", "LoRA", "token", "API", "torch", "pip install", "SmolLM2-135M", "safetensors", "trust_remote_code",
    "LIANDAN_TRUST_REMOTE_CODE", "Python", "transformers", "Bearer", "Authorization", "OpenAI", "openai", "LangChain", "curl", "HTTP", "http",
]


def _ram_recommendation() -> catalog.CatalogEntry:
    return catalog.cpu_recommendation(int(system_info.collect().ram_total_gb * catalog.GIB))


def _texts(at) -> list[str]:
    out = []
    for kind in ("title", "subheader", "caption", "markdown", "info", "warning", "error", "success"):
        out += [str(x.value) for x in getattr(at, kind)]
    out += [b.label for b in at.button] + [s.label for s in at.selectbox] + [r.label for r in at.radio]
    out += [str(o) for r in at.radio for o in r.options]
    for table in at.table:
        frame = table.value
        out += [str(c) for c in frame.columns] + [str(v) for v in frame.astype(str).values.ravel()]
    return out


@pytest.fixture
def cpu_only(monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("these checks are of the CPU-only picker")


def test_picker_lists_the_catalog_with_memory_and_recommends_a_small_qwen_on_cpu(app_runtime, cpu_only):
    at = app_test("pages/system.py").run()
    assert not at.exception
    table = next(tb.value for tb in at.table if "Model" in tb.value.columns)
    assert list(table["Model"]) == [e.name for e in catalog.CATALOG]
    row = table[table["Model"] == "Qwen2.5-7B-Instruct"].iloc[0]
    assert row["bf16/fp16 needs"] == catalog.gib(catalog.entry("qwen2.5-7b").memory_bytes("bfloat16"))
    assert row["4-bit needs"] == catalog.gib(catalog.entry("qwen2.5-7b").memory_bytes("4bit"))
    rec = _ram_recommendation()
    assert any(f"start with {rec.name}" in i.value and "not offered here" in i.value for i in at.info)
    assert at.selectbox(key="picker-model").value == rec.key
    assert not [r for r in at.radio if r.key == "picker-precision"]  # no 8/4-bit on CPU
    fits = dict(zip(table["Model"], table["This machine"]))
    assert fits[rec.name] == "✅ fp32" and set(fits.values()) <= {"✅ fp32", "❌ too large"}


def test_chinese_mode_shows_no_english_beyond_names_and_units(app_runtime, cpu_only):
    at = app_test("pages/system.py", lang="zh").run()
    assert not at.exception
    assert any("选择模型" in s.value for s in at.subheader)
    leaks = []
    for text in _texts(at):
        text = re.sub(r"`[^`]*`|https?://\S+|[A-Z]+(?:_[A-Z]+)+", " ", text)  # code, urls, env variables
        for allowed in sorted(ALLOWED, key=len, reverse=True):
            text = text.replace(allowed, " ")
        text = re.sub(r"/\S+|\w+\.\w+|\w+_\w+", " ", text)  # paths, file and setting names
        leaks += re.findall(r"[A-Za-z]{3,}", text)
    info = app_runtime.models.engine.info
    leaks = [w for w in leaks if w not in info.name + info.architecture + info.source + info.dtype + info.device]
    assert leaks == [], leaks


def test_download_from_the_picker_runs_as_a_job_and_loads_the_model(app_runtime, tiny_model_dir, tmp_path, cpu_only):
    repo = tmp_path / "hub" / "qwen-0.5b"
    shutil.copytree(tiny_model_dir, repo)
    with FakeModelScope({"Qwen/Qwen2.5-0.5B-Instruct": repo}) as hub:
        app_runtime.settings.modelscope_endpoint = hub.endpoint
        at = app_test("pages/system.py").run()
        at.selectbox(key="picker-model").set_value("qwen2.5-0.5b").run()
        next(b for b in at.button if b.key == "picker-download").click().run()
        assert not at.exception and not at.error
        [job] = app_runtime.jobs.list("download-model")
        done = app_runtime.jobs.wait(job.id, timeout=120)
        assert done.status == "done", done.error
    assert app_runtime.models.engine.info.name == "Qwen/Qwen2.5-0.5B-Instruct"
    at = app_test("pages/system.py").run()
    table = next(tb.value for tb in at.table if "Model" in tb.value.columns)
    assert dict(zip(table["Model"], table["State"]))["Qwen2.5-0.5B-Instruct"] == "downloaded"
    at.selectbox(key="picker-model").set_value("qwen2.5-0.5b").run()
    assert any(b.key == "picker-load" for b in at.button)  # downloaded: load it again without the network
    assert any("Qwen/Qwen2.5-0.5B-Instruct" in str(t.value) for t in at.table)


def test_check_before_downloading_while_offline_says_so_in_both_languages(app_runtime, cpu_only):
    app_runtime.settings.modelscope_endpoint = "http://127.0.0.1:9"
    for lang, expected in (("en", "Could not reach ModelScope"), ("zh", "无法连接 ModelScope")):
        at = app_test("pages/system.py", lang=lang).run()
        next(b for b in at.button if b.key == "picker-check").click().run()
        assert not at.exception
        assert any(expected in e.value for e in at.error), [e.value for e in at.error]


def test_a_folder_with_python_files_needs_confirmation_naming_them(app_runtime, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(app_runtime.settings, "trust_remote_code", True)
    folder = tmp_path / "with-code"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "modeling_x.py").write_text("# would run with trust_remote_code\n")
    at = app_test("pages/system.py").run()
    at.radio(key="source-kind").set_value("local").run()
    at.text_input(key="model-path").set_value(str(folder)).run()
    assert any("modeling_x.py" in w.value for w in at.warning)
    load = next(b for b in at.button if b.label == "Load")
    load.click().run()
    assert any("Tick the confirmation" in w.value for w in at.warning)
    assert not app_runtime.jobs.list("load-model")
    at.checkbox(key=f"remote-ok-{folder}").check().run()
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception
    [job] = app_runtime.jobs.list("load-model")
    assert app_runtime.jobs.wait(job.id, timeout=120).status == "done"
    # with trust_remote_code off the files are named as not running, and nothing is asked
    monkeypatch.setattr(app_runtime.settings, "trust_remote_code", False)
    at = app_test("pages/system.py").run()
    at.radio(key="source-kind").set_value("local").run()
    at.text_input(key="model-path").set_value(str(folder)).run()
    assert any("will not run" in c.value for c in at.caption) and not at.checkbox
