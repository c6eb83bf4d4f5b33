import io
import zipfile

import pytest

from core.errors import UserError
from core.adapters.store import AdapterCard, AdapterStore, fingerprint, validate_name


def make(store: AdapterStore, name: str, fp: str = "abc") -> AdapterCard:
    import json

    import torch
    from safetensors.torch import save_file

    card = AdapterCard(name=name, base_model="tiny", base_fingerprint=fp, system_prompt="现在你要扮演甄嬛")
    store.save_card(card)
    config = {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"]}
    (store.path(name) / "adapter_config.json").write_text(json.dumps(config))
    key = "base_model.model.model.layers.0.self_attn.q_proj."
    save_file({key + "lora_A.weight": torch.ones(2, 8), key + "lora_B.weight": torch.ones(8, 2)},
              str(store.path(name) / "adapter_model.safetensors"))
    return card


def test_card_round_trip_rename_delete(tmp_path):
    store = AdapterStore(tmp_path)
    make(store, "甄嬛 v1")
    assert [c.name for c in store.list()] == ["甄嬛 v1"]
    assert store.get("甄嬛 v1").system_prompt == "现在你要扮演甄嬛"
    store.rename("甄嬛 v1", "huanhuan")
    assert store.get("huanhuan").name == "huanhuan" and not store.exists("甄嬛 v1")
    store.delete("huanhuan")
    assert store.list() == []


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "x" * 65, "a\\b", "base", "Base"])
def test_bad_names_are_refused(bad):
    with pytest.raises(UserError):
        validate_name(bad)


def test_zip_export_import_checks_the_base(tmp_path):
    src = AdapterStore(tmp_path / "a")
    make(src, "persona", fp="base-1")
    data = src.export_zip("persona")
    dst = AdapterStore(tmp_path / "b")
    with pytest.raises(UserError, match="different base"):
        dst.import_zip(data, base_fingerprint="base-2")
    assert dst.list() == []
    card = dst.import_zip(data, base_fingerprint="base-1")
    assert card.name == "persona"
    from safetensors.torch import load_file

    assert load_file(str(dst.path("persona") / "adapter_model.safetensors")).keys() == load_file(
        str(src.path("persona") / "adapter_model.safetensors")).keys()
    with pytest.raises(UserError, match="already exists"):
        dst.import_zip(data, base_fingerprint="base-1")


def test_zip_with_path_traversal_is_rejected(tmp_path):
    store = AdapterStore(tmp_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("evil/adapter.json", '{"name": "evil", "base_model": "x", "base_fingerprint": "fp"}')
        zf.writestr("evil/../../escape.txt", "x")
    with pytest.raises(UserError, match="Unsafe path"):
        store.import_zip(buf.getvalue(), base_fingerprint="fp")
    assert not (tmp_path.parent / "escape.txt").exists()


def test_fingerprint_tracks_shape_not_names(tiny_engine):
    cfg = tiny_engine.model.config.to_dict()
    assert fingerprint(cfg) == fingerprint(dict(cfg, name_or_path="elsewhere"))
    assert fingerprint(cfg) != fingerprint(dict(cfg, hidden_size=cfg["hidden_size"] * 2))
