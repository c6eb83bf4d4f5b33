"""The ChatGLM3 tutorial's own LoRA adapter (peft 0.11, adapter_model.bin) on the native GLM model,
plus the hardened import (issue 13 item 8): every refusal is specific and leaves nothing behind."""

from __future__ import annotations

import re

import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from core.errors import UserError
from core.adapters import peft_format
from core.adapters.pool import engine_fingerprint
from core.adapters.store import AdapterStore, base_info
from tests.chatglm3_fixture import chatglm3_dir, chatglm3_engine, chatglm3_models_dir, reference  # noqa: F401


def _zip(folder: Path, prefix: str = "tutorial-lora/", extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, prefix + file.name)
        for name, data in (extra or {}).items():
            zf.writestr(prefix + name, data)
    return buffer.getvalue()


def _ids(engine, case: dict) -> list[int]:
    return engine.encode(case["history"] + [{"role": "user", "content": case["query"]}])


def _greedy(engine, adapter: str | None, ids: list[int]) -> tuple[list[int], list[int]]:
    with engine.variant(adapter) as module, torch.no_grad():
        top5 = module(input_ids=torch.tensor([ids])).logits[0, -1].topk(5).indices.tolist()
        out = module.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                              max_new_tokens=10, do_sample=False)[0, len(ids):].tolist()
    return out, top5


@pytest.fixture(scope="module")
def tutorial_adapter(chatglm3_engine, chatglm3_dir, tmp_path_factory):
    store = AdapterStore(tmp_path_factory.mktemp("adapters"))
    card = store.import_folder(chatglm3_dir / "tutorial-lora", engine_fingerprint(chatglm3_engine), "huanhuan",
                               base_info(chatglm3_engine))
    chatglm3_engine.load_adapter(card.name, store.path(card.name))
    yield store, card
    chatglm3_engine.unload_adapter(card.name)


def test_tutorial_adapter_reproduces_the_remote_code_references(chatglm3_engine, tutorial_adapter):
    store, card = tutorial_adapter
    assert card.extra["original_base"] == "/root/autodl-tmp/ZhipuAI/chatglm3-6b"
    assert card.extra["converted_from"] == "chatglm"
    config = json.loads((store.path(card.name) / "adapter_config.json").read_text())
    assert config["target_modules"] == ["down_proj", "gate_up_proj", "k_proj", "o_proj", "q_proj", "v_proj"]
    assert not list(store.path(card.name).glob("*.bin"))  # stored as safetensors only
    for case in reference("reference_lora_outputs.json")["cases"]:
        ids = _ids(chatglm3_engine, case)
        adapted, top5 = _greedy(chatglm3_engine, card.name, ids)
        assert adapted == case["adapter_greedy_10"]
        assert top5 == case["adapter_last_logits_top5"]
        base, _ = _greedy(chatglm3_engine, None, ids)  # disable_adapter(): a true bypass
        assert base == case["base_greedy_10"]


def test_the_qkv_split_is_exact(chatglm3_dir, chatglm3_engine):
    """B·A of the fused query_key_value equals the stacked per-projection products."""
    state = peft_format.read_weights("adapter_model.bin", (chatglm3_dir / "tutorial-lora" / "adapter_model.bin").read_bytes())
    config = peft_format.parse_config((chatglm3_dir / "tutorial-lora" / "adapter_config.json").read_bytes())
    sizes = base_info(chatglm3_engine).qkv_sizes
    _, native = peft_format.chatglm_to_glm(config, state, sizes)
    prefix = "base_model.model.transformer.encoder.layers.0.self_attention.query_key_value."
    fused = state[prefix + "lora_B.weight"] @ state[prefix + "lora_A.weight"]
    split = torch.cat([native[f"base_model.model.model.layers.0.self_attn.{p}.lora_B.weight"]
                       @ native[f"base_model.model.model.layers.0.self_attn.{p}.lora_A.weight"] for p in peft_format.QKV])
    assert torch.equal(fused, split)


def test_a_zip_of_the_tutorial_folder_imports_too(chatglm3_engine, chatglm3_dir, tmp_path):
    store = AdapterStore(tmp_path / "adapters")
    card = store.import_zip(_zip(chatglm3_dir / "tutorial-lora"), engine_fingerprint(chatglm3_engine), "from-zip",
                            base_info(chatglm3_engine))
    assert [c.name for c in store.list()] == ["from-zip"] and card.base_model == chatglm3_engine.info.name


def _refused(store: AdapterStore, data: bytes, engine, match: str) -> UserError:
    with pytest.raises(UserError, match=match) as caught:
        store.import_zip(data, engine_fingerprint(engine), "bad", base_info(engine))
    assert store.list() == [] and not list(store.folder.iterdir()), "a refused import left files behind"
    assert re.search(r"[\u4e00-\u9fff]", caught.value.text("zh")), "no Chinese reason"
    return caught.value


class _Evil:
    def __reduce__(self):
        return (exec, ("open('/tmp/i12-adapter-pwned', 'w').write('x')",))


def test_refusals_are_specific_and_leave_nothing(chatglm3_engine, chatglm3_dir, tmp_path):
    store = AdapterStore(tmp_path / "adapters")
    lora = chatglm3_dir / "tutorial-lora"
    folder = tmp_path / "work"

    def variant(**files: bytes) -> bytes:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(lora, folder)
        for name, data in files.items():
            (folder / name.replace("__", ".")).write_bytes(data)
        return _zip(folder)

    _refused(store, variant(adapter_model__bin=pickle.dumps({"x": _Evil()})), chatglm3_engine, "not a plain weights file")
    assert not Path("/tmp/i12-adapter-pwned").exists()
    _refused(store, variant(adapter_model__bin=b"not a tensor file"), chatglm3_engine, "not a plain weights file")
    config = json.loads((lora / "adapter_config.json").read_text())
    _refused(store, variant(adapter_config__json=b"{not json"), chatglm3_engine, "not valid JSON")
    _refused(store, variant(adapter_config__json="{}".encode("utf-16")), chatglm3_engine, "not UTF-8")
    _refused(store, variant(adapter_config__json=json.dumps({**config, "surprise": 1}).encode()), chatglm3_engine, "surprise")
    _refused(store, variant(adapter_config__json=json.dumps({**config, "r": 8}).encode()), chatglm3_engine, "do not fit")
    state = torch.load(lora / "adapter_model.bin", weights_only=True)
    key = next(k for k in state if "dense_4h_to_h.lora_A" in k)
    buffer = io.BytesIO()
    torch.save({**state, key: torch.zeros(4, 99)}, buffer)
    _refused(store, variant(adapter_model__bin=buffer.getvalue()), chatglm3_engine, "do not fit")
    # a Liandan zip whose weights are not safetensors, or whose card is bad
    good = store.import_zip(_zip(lora), engine_fingerprint(chatglm3_engine), "good", base_info(chatglm3_engine))
    exported = store.export_zip(good.name)
    store.delete(good.name)
    members = {i.filename: zipfile.ZipFile(io.BytesIO(exported)).read(i) for i in zipfile.ZipFile(io.BytesIO(exported)).infolist()}

    def liandan(**changes: bytes | None) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, data in {**members, **{f"good/{k.replace('__', '.')}": v for k, v in changes.items()}}.items():
                if data is not None:
                    zf.writestr(name, data)
        return buffer.getvalue()

    _refused(store, liandan(adapter_model__safetensors=b"\x00" * 64), chatglm3_engine, "not a valid safetensors")
    _refused(store, liandan(adapter__json=b"{oops"), chatglm3_engine, "adapter.json is not valid JSON")
    _refused(store, liandan(adapter__json=b"\xff\xfe\x00"), chatglm3_engine, "adapter.json is not UTF-8")
    card = json.loads(members["good/adapter.json"])
    _refused(store, liandan(adapter__json=json.dumps({**card, "owner": "me"}).encode()), chatglm3_engine, "unknown keys: owner")
    # a zip whose central directory lies about a member's size
    lying = bytearray(liandan())
    lied = False
    header = lying.find(b"PK\x01\x02")
    while header != -1:
        name_len = int.from_bytes(lying[header + 28:header + 30], "little")
        if lying[header + 46:header + 46 + name_len].endswith(b"adapter_config.json"):
            size = int.from_bytes(lying[header + 24:header + 28], "little")
            lying[header + 24:header + 28] = (size - 10).to_bytes(4, "little")
            lied = True
        header = lying.find(b"PK\x01\x02", header + 4)
    assert lied
    _refused(store, bytes(lying), chatglm3_engine, "damaged|size the archive declares")


def test_a_staging_folder_is_never_listed(tmp_path):
    store = AdapterStore(tmp_path / "adapters")
    staging = store.folder / ".ghost.partial"
    staging.mkdir()
    (staging / "adapter.json").write_text(json.dumps({"name": "ghost", "base_model": "x", "base_fingerprint": "y"}))
    assert store.list() == []


def test_a_failed_adapter_load_does_not_stay_in_peft_config(chatglm3_engine, tutorial_adapter, tmp_path):
    store, card = tutorial_adapter
    broken = tmp_path / "broken"
    shutil.copytree(store.path(card.name), broken)
    (broken / "adapter_model.safetensors").write_bytes(b"junk")
    with pytest.raises(Exception):
        chatglm3_engine.load_adapter("broken", broken)
    assert "broken" not in chatglm3_engine.peft.peft_config
    ids = _ids(chatglm3_engine, reference("reference_lora_outputs.json")["cases"][0])
    assert _greedy(chatglm3_engine, card.name, ids)[0] == reference("reference_lora_outputs.json")["cases"][0]["adapter_greedy_10"]


def test_cli_imports_the_tutorial_folder_and_zip_and_exports_the_tutorial_format(chatglm3_dir, tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("LIANDAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LIANDAN_MODEL", str(chatglm3_dir / "model"))
    monkeypatch.setenv("LIANDAN_DEVICE", "cpu")
    monkeypatch.setenv("LIANDAN_DTYPE", "float32")
    assert main(["adapter-import", str(chatglm3_dir / "tutorial-lora")]) == 0
    assert "Imported adapter 'tutorial-lora'" in capsys.readouterr().out
    (tmp_path / "t.zip").write_bytes(_zip(chatglm3_dir / "tutorial-lora"))
    assert main(["adapter-import", str(tmp_path / "t.zip"), "--name", "zipped"]) == 0
    assert main(["adapter-import", str(tmp_path / "t.zip")]) == 0  # named after the zip
    assert main(["adapter-import", str(tmp_path / "t.zip")]) == 2
    assert "An adapter named 't' already exists" in capsys.readouterr().err
    assert main(["adapter-export", "zipped", str(tmp_path / "out")]) == 0
    config = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert "query_key_value" in config["target_modules"]
    bad = tmp_path / "bad"
    shutil.copytree(chatglm3_dir / "tutorial-lora", bad)
    (bad / "adapter_model.bin").write_bytes(pickle.dumps({"x": _Evil()}))
    assert main(["adapter-import", str(bad)]) == 2
    assert "not a plain weights file" in capsys.readouterr().err
    assert not Path("/tmp/i12-adapter-pwned").exists()
