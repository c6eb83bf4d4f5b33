"""ModelScope downloads through the installed client against a hub on 127.0.0.1 (real HTTP):
preflight before any weight, progress in bytes, cancel midway, resume from the partial
file, one weight format, offline and unknown ids, then loading the downloaded model."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from core.config import Settings
from core.errors import ModelSourceError, PreflightError
from core.models import compatibility, downloads, sources
from core.runtime import create_runtime
from tests.modelscope_server import FakeModelScope


def _repo(tmp_path, tiny_model_dir, name="tiny", extra: dict | None = None):
    repo = tmp_path / "hub" / name
    shutil.copytree(tiny_model_dir, repo)
    for path, data in (extra or {}).items():
        (repo / path).write_bytes(data)
    return repo


def _weights_requested(hub: FakeModelScope) -> list[str]:
    return [r for r in hub.requests if "FilePath=" in r and (".safetensors" in r or ".bin" in r)]


def test_download_lands_in_the_data_folder_and_loads_without_network_after(tmp_path, tiny_model_dir):
    repo = _repo(tmp_path, tiny_model_dir, extra={"pytorch_model.bin": b"a .bin copy nobody needs" * 100})
    with FakeModelScope({"Org/tiny": repo}) as hub:
        seen = []
        client = downloads.ModelScopeHub(hub.endpoint)
        resolved = sources.resolve("Org/tiny", tmp_path / "models", lambda f, m: seen.append((f, str(m))), hub=client)
        assert resolved.kind == "modelscope" and resolved.name == "Org/tiny"
        assert resolved.path == tmp_path / "models" / "modelscope" / "Org" / "tiny"
        assert (resolved.path / "model.safetensors").read_bytes() == (repo / "model.safetensors").read_bytes()
        assert not (resolved.path / "pytorch_model.bin").exists()  # .safetensors present: the .bin copy is skipped
        assert not any("pytorch_model.bin" in r for r in hub.requests)
        assert any(m.startswith("Downloading Org/tiny:") for _, m in seen) and seen[-1][0] == 0.5
        # config.json was read before the first weight byte was asked for
        first_weight = hub.requests.index(_weights_requested(hub)[0])
        assert any("FilePath=config.json" in r for r in hub.requests[:first_weight])
    # The hub is gone now: a complete download loads from disk with no network.
    again = sources.resolve("Org/tiny", tmp_path / "models", hub=downloads.ModelScopeHub("http://127.0.0.1:9"))
    assert again.path == resolved.path


def test_remote_code_while_off_is_refused_before_any_weight_is_downloaded(tmp_path, tiny_model_dir):
    repo = _repo(tmp_path, tiny_model_dir, extra={"modeling_evil.py": b"import os\n"})
    config = json.loads((repo / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}
    (repo / "config.json").write_text(json.dumps(config))
    with FakeModelScope({"Org/evil": repo}) as hub:
        with pytest.raises(PreflightError, match=r"runs its own Python code \(modeling_evil.py\)") as err:
            sources.resolve("Org/evil", tmp_path / "models", hub=downloads.ModelScopeHub(hub.endpoint), trust_remote_code=False)
        assert "LIANDAN_TRUST_REMOTE_CODE=true" in err.value.hint and "modeling_evil.py" in err.value.text("zh")
        assert _weights_requested(hub) == []
    assert not downloads.is_complete(downloads.model_folder(tmp_path / "models", "Org/evil"))


def test_a_model_newer_than_our_transformers_is_refused_before_download(tmp_path, tiny_model_dir):
    repo = _repo(tmp_path, tiny_model_dir)
    config = json.loads((repo / "config.json").read_text())
    config.update(model_type="qwen9_moe", transformers_version="9.1.0")
    (repo / "config.json").write_text(json.dumps(config))
    with FakeModelScope({"Org/future": repo}) as hub:
        rt = create_runtime(Settings(data_dir=tmp_path / "data", load_on_start=False, modelscope_endpoint=hub.endpoint))
        findings = rt.models.preflight_remote("Org/future")
        errors = [f for f in findings if f.level == "error"]
        assert len(errors) == 1 and "'qwen9_moe' model, which transformers" in errors[0].message
        assert "pip install -U transformers>=9.1.0" in errors[0].hint and "升级 transformers" in errors[0].text("zh")
        job = rt.jobs.wait(rt.models.start_download("Org/future"), timeout=60)
        assert job.status == "failed" and "qwen9_moe" in job.error and "qwen9_moe" in job.error_message.render("zh")
        assert _weights_requested(hub) == []


def test_newer_saved_version_of_a_known_type_is_a_warning_not_a_refusal():
    findings = compatibility.check_config({"model_type": "qwen2", "transformers_version": "99.0.0"}, trust_remote_code=False)
    assert [f.level for f in findings] == ["warning"] and "99.0.0" in findings[0].message
    assert compatibility.check_config({"model_type": "qwen2", "transformers_version": "4.43.1"}, False) == []


def test_offline_and_unknown_ids_fail_clearly(tmp_path, tiny_model_dir):
    rt = create_runtime(Settings(data_dir=tmp_path / "data", load_on_start=False, modelscope_endpoint="http://127.0.0.1:9"))
    started = time.monotonic()
    [offline] = rt.models.preflight_remote("Qwen/Qwen2.5-0.5B-Instruct")
    assert offline.level == "error" and "Could not reach ModelScope" in offline.message and "offline" in offline.hint
    assert "无法连接 ModelScope" in offline.text("zh") and time.monotonic() - started < 60
    with FakeModelScope({"Org/tiny": _repo(tmp_path, tiny_model_dir)}) as hub:
        rt.settings.modelscope_endpoint = hub.endpoint
        [missing] = rt.models.preflight_remote("Org/nope")
        assert missing.level == "error" and "Org/nope" in missing.message
    with pytest.raises(ModelSourceError, match="not a ModelScope id"):
        rt.models.start_download("not an id")


def test_download_job_reports_bytes_cancels_midway_resumes_and_loads(tmp_path, tiny_model_dir):
    # ~2 MB of weights served slowly (64 KiB per 20 ms) so cancel lands in the middle.
    repo = _repo(tmp_path, tiny_model_dir)
    (repo / "model.safetensors").unlink()
    from tests.factories import build_model

    big = build_model(tmp_path / "big", seed=3)  # same architecture; pad the weights file with a second shard
    shutil.copy(big / "model.safetensors", repo / "model.safetensors")
    (repo / "extra.safetensors").write_bytes(bytes(range(256)) * 8192)  # 2 MiB of bytes to stream
    with FakeModelScope({"Org/tiny": repo}, delay=0.02) as hub:
        rt = create_runtime(Settings(data_dir=tmp_path / "data", load_on_start=False, modelscope_endpoint=hub.endpoint,
                                     embedding_model="hash"))
        job_id = rt.models.start_download("Org/tiny", load_after=True)
        deadline = time.time() + 60
        while time.time() < deadline and (rt.jobs.get(job_id).details.get("bytes_done") or 0) < 300_000:
            time.sleep(0.02)
        mid = rt.jobs.get(job_id)
        assert mid.status == "running" and 0 < mid.progress < 0.9 and mid.message.startswith("Downloading Org/tiny:")
        assert mid.status_message.render("zh").startswith("正在下载 Org/tiny：") and mid.eta_seconds is not None
        rt.jobs.cancel(job_id)
        cancelled = rt.jobs.wait(job_id, timeout=60)
        assert cancelled.status == "cancelled", cancelled.error
        folder = downloads.model_folder(rt.settings.models_dir, "Org/tiny")
        assert not downloads.is_complete(folder) and rt.models.engine is None
        partial = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        assert 0 < partial < sum(p.stat().st_size for p in repo.iterdir())
        hub.delay = 0.0
        rt.jobs.resume(job_id)
        done = rt.jobs.wait(job_id, timeout=120)
        assert done.status == "done", done.error
        assert done.details["bytes_done"] == done.details["bytes_total"] == sum(p.stat().st_size for p in repo.iterdir())
        for f in repo.iterdir():
            assert (folder / f.name).read_bytes() == f.read_bytes()
        assert downloads.is_complete(folder) and done.result["folder"] == str(folder)
        # It resumed rather than starting over: a file continued from its partial bytes (HTTP Range).
        assert hub.resumed_at and all(0 < start < 2 * 2**20 for start in hub.resumed_at)
    engine = rt.models.engine
    assert engine is not None and engine.info.kind == "modelscope" and engine.info.name == "Org/tiny"
    assert done.progress == 1.0
