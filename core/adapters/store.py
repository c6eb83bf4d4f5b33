"""Saved LoRA adapters and their cards (`adapter.json`): how each was made and for which base.

A card travels with the adapter (zip export/import), so an adapter is never used on a
base it was not trained for, and its persona/system prompt is applied wherever it is used.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import time
import zipfile
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

from core.errors import UserError
from core.models.capabilities import Trainable
from core.adapters import peft_format

CARD = "adapter.json"
NAME_RE = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .\-]{0,63}(?:@step\d{1,7})?$")
SNAPSHOT_SEP = "@step"  # "name@step40": the adapter as it was at step 40 of training `name`
FINGERPRINT_KEYS = ("model_type", "architectures", "hidden_size", "num_hidden_layers", "num_layers", "vocab_size", "padded_vocab_size", "intermediate_size", "num_attention_heads")
MAX_ZIP_BYTES = 2 * 2**30
TUTORIAL_BASE = "/root/autodl-tmp/ZhipuAI/chatglm3-6b"  # where the tutorial keeps the model
RESERVED = "base"  # what the engine, Chat and the API call the model without adapters


@dataclass
class AdapterCard:
    name: str
    base_model: str  # display name / source of the base it was trained on
    base_fingerprint: str
    system_prompt: str = ""
    chat_template: str = ""
    dataset: dict[str, Any] = field(default_factory=dict)  # name, sha256, records
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    train_loss: float | None = None
    val_loss: float | None = None
    duration_seconds: float = 0.0
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    extra: dict[str, Any] = field(default_factory=dict)


def fingerprint(model_config: Any) -> str:
    """A short hash of the base's shape-defining config: equal bases, equal fingerprints."""
    data = model_config if isinstance(model_config, dict) else model_config.to_dict()
    essentials = {k: data.get(k) for k in FINGERPRINT_KEYS if data.get(k) is not None}
    return hashlib.sha256(json.dumps(essentials, sort_keys=True).encode()).hexdigest()[:16]


def validate_name(name: str) -> str:
    name = name.strip()
    if name.lower() == RESERVED:
        raise UserError("errors.adapters.reserved_base_model", name=name)
    if not NAME_RE.match(name):
        raise UserError("errors.adapters.valid_adapter_name", name=name)
    return name


class AdapterStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.folder / validate_name(name)

    def exists(self, name: str) -> bool:
        return (self.path(name) / CARD).exists()

    def _listed(self, card: Path) -> bool:
        """Staging folders (`.NAME.partial`) and other hidden folders are never adapters."""
        return not card.parent.name.startswith(".")

    def get(self, name: str) -> AdapterCard:
        card = self.path(name) / CARD
        if not card.exists():
            raise UserError("errors.adapters.adapter_named", name=name)
        return AdapterCard(**json.loads(card.read_text(encoding="utf-8")))

    def list(self) -> list[AdapterCard]:
        cards = []
        for card in sorted(self.folder.glob(f"*/{CARD}")):
            if not self._listed(card):
                continue
            try:
                cards.append(AdapterCard(**json.loads(card.read_text(encoding="utf-8"))))
            except (ValueError, TypeError):
                continue  # a half-written or foreign folder is not an adapter
        return cards

    def compatible(self, base_fingerprint: str) -> list[AdapterCard]:
        return [c for c in self.list() if c.base_fingerprint == base_fingerprint]

    def save_card(self, card: AdapterCard) -> None:
        folder = self.path(card.name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CARD).write_text(json.dumps(asdict(card), ensure_ascii=False, indent=1), encoding="utf-8")

    def rename(self, old: str, new: str) -> AdapterCard:
        new = validate_name(new)
        if self.exists(new):
            raise UserError("errors.adapters.adapter_named_already_exists", new=new)
        card = self.get(old)
        self.path(old).rename(self.path(new))
        card.name = new
        self.save_card(card)
        return card

    def delete(self, name: str) -> None:
        shutil.rmtree(self.path(name), ignore_errors=True)

    def export_zip(self, name: str) -> bytes:
        folder = self.path(name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    zf.write(file, str(PurePosixPath(name) / file.relative_to(folder).as_posix()))
        return buffer.getvalue()

    def export_tutorial(self, name: str, base: BaseInfo, folder: Path) -> Path:
        """Write `name` in the ChatGLM3 tutorial's PEFT format (remote-code module names) to `folder`.

        The tutorial's `PeftModel.from_pretrained(model, folder)` on the original remote-code
        ChatGLM3 accepts it and answers as this adapter does here (see core.adapters.peft_format).
        """
        if base.qkv_sizes is None:
            raise UserError("errors.adapters.tutorial_format_adapters_trained")
        files = peft_format.folder_files(self.path(name))
        config, state = peft_format.find_files(files)
        exported, tensors = peft_format.glm_to_chatglm(config, state, base.qkv_sizes, TUTORIAL_BASE)
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        (folder / peft_format.CONFIG).write_text(json.dumps(exported, ensure_ascii=False, indent=2), encoding="utf-8")
        save_file(tensors, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
        return folder

    def export_tutorial_zip(self, name: str, base: BaseInfo) -> bytes:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            folder = self.export_tutorial(name, base, Path(tmp) / name)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                for file in sorted(folder.iterdir()):
                    zf.write(file, f"{name}/{file.name}")
            return buffer.getvalue()

    def import_zip(self, data: bytes, base_fingerprint: str, name: str | None = None, base: BaseInfo | None = None,
                   fallback_name: str | None = None) -> AdapterCard:
        """Import a zip: a Liandan export (with its card) or a plain PEFT folder (the tutorial's).

        Nothing is stored unless every check passed: a refused zip leaves no staging folder.
        `base` (the loaded model's shapes) lets weights be checked and ChatGLM3 names mapped.
        """
        return self.import_files(_zip_files(data), base_fingerprint, name, base, fallback_name)

    def import_folder(self, folder: Path, base_fingerprint: str, name: str | None = None, base: BaseInfo | None = None) -> AdapterCard:
        """Import a PEFT adapter folder (e.g. the tutorial's `output/checkpoint-…`) or a Liandan adapter folder."""
        if not folder.is_dir():
            raise UserError("errors.adapters.folder", folder=folder)
        return self.import_files(peft_format.folder_files(folder), base_fingerprint, name, base, folder.name)

    def import_path(self, path: Path, base_fingerprint: str, name: str | None = None, base: BaseInfo | None = None) -> AdapterCard:
        if path.is_file():
            return self.import_zip(path.read_bytes(), base_fingerprint, name, base, path.stem)
        return self.import_folder(path, base_fingerprint, name, base)

    def import_files(self, files: dict[str, bytes], base_fingerprint: str, name: str | None, base: BaseInfo | None,
                     fallback_name: str | None = None) -> AdapterCard:
        """`name` renames any import; `fallback_name` (the folder or zip name) names a card-less PEFT adapter."""
        if CARD in files:
            card = parse_card(files[CARD])
            if card.base_fingerprint != base_fingerprint:
                raise UserError(
                    "errors.adapters.adapter_trained_different_base", name=card.name, base_model=card.base_model,
                )
        else:
            if base is None:
                raise UserError("errors.adapters.load_model_first_plain")
            card = AdapterCard(
                name=name or fallback_name or "imported", base_model=base.name, base_fingerprint=base_fingerprint,
                extra={"imported_from": "peft"},
            )
        config, state = peft_format.find_files(files)
        if CARD not in files:
            card.extra["original_base"] = config.get("base_model_name_or_path") or ""
        if peft_format.is_chatglm_adapter(state):
            if base is None or base.qkv_sizes is None:
                raise UserError("errors.adapters.adapter_made_chatglm_query")
            config, state = peft_format.chatglm_to_glm(config, state, base.qkv_sizes)
            card.extra = {**card.extra, "converted_from": "chatglm"}
        if base is not None:
            peft_format.check_shapes(config, state, base.shapes)
        card.name = validate_name(name or card.name)
        if self.exists(card.name):
            raise UserError("errors.adapters.adapter_named_already_exists_2", name=card.name)
        self._write(card, config, state)
        return card

    def _write(self, card: AdapterCard, config: dict, state: dict) -> None:
        """Staging folder, then one rename: a failure leaves nothing the store would list."""
        from safetensors.torch import save_file

        target = self.path(card.name)
        staging = target.with_name(f".{card.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir(parents=True)
            (staging / peft_format.CONFIG).write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
            save_file({k: v.contiguous() for k, v in state.items()}, str(staging / "adapter_model.safetensors"), metadata={"format": "pt"})
            (staging / CARD).write_text(json.dumps(asdict(card), ensure_ascii=False, indent=1), encoding="utf-8")
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class BaseInfo:
    """What an import checks an adapter against: the loaded base's name, Linear shapes, q/k/v split."""

    name: str
    shapes: dict[str, tuple[int, int]]
    qkv_sizes: list[int] | None = None  # rows of ChatGLM's query_key_value, for glm-type bases


def base_info(engine) -> BaseInfo | None:
    """BaseInfo of an engine with local weights (None for one that only answers: a server, the echo demo)."""
    if not isinstance(engine, Trainable):
        return None
    model = engine.base_model()
    config = model.config
    qkv = None
    if getattr(config, "model_type", "") == "glm":
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        qkv = [config.num_attention_heads * head_dim, config.num_key_value_heads * head_dim, config.num_key_value_heads * head_dim]
    return BaseInfo(engine.info.name, peft_format.base_shapes(model), qkv)


def parse_card(raw: bytes) -> AdapterCard:
    """adapter.json with the specific reason it is unusable (encoding, JSON, unknown or missing keys)."""
    data = peft_format.parse_json(raw, CARD)
    known = {f.name for f in fields(AdapterCard)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError("errors.adapters.unknown_keys", card=CARD, unknown=', '.join(unknown))
    missing = sorted(k for k in ("name", "base_model", "base_fingerprint") if not isinstance(data.get(k), str))
    if missing:
        raise UserError("errors.adapters.lacks_text_fields", card=CARD, missing=', '.join(missing))
    return AdapterCard(**data)


_WANTED = {CARD, peft_format.CONFIG, *peft_format.WEIGHTS}


def _zip_files(data: bytes) -> dict[str, bytes]:
    """The adapter's files from a zip, read member by member within the declared sizes."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UserError("errors.adapters.file_zip_archive") from exc
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        for info in members:
            rel = PurePosixPath(info.filename)
            if rel.is_absolute() or ".." in rel.parts or "\\" in info.filename:
                raise UserError("errors.adapters.unsafe_path_archive", filename=info.filename)
        if sum(i.file_size for i in members) > MAX_ZIP_BYTES:
            raise UserError("errors.adapters.archive_too_large_once")
        configs = [i for i in members if PurePosixPath(i.filename).name in (CARD, peft_format.CONFIG)]
        roots = {PurePosixPath(i.filename).parent for i in configs}
        if not configs:
            raise UserError("errors.adapters.archive_adapter_json_card")
        if len(roots) != 1:
            raise UserError("errors.adapters.archive_holds_more_one")
        root = roots.pop()
        files: dict[str, bytes] = {}
        for info in members:
            rel = PurePosixPath(info.filename)
            if rel.parent == root and rel.name in _WANTED:
                files[rel.name] = _read_member(zf, info)
        return files


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never more than it declares (a lying size is refused, not trusted)."""
    try:
        with zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise UserError("errors.adapters.archive_damaged", filename=info.filename, exc=exc) from exc
    if len(data) != info.file_size:
        raise UserError("errors.adapters.does_size_archive_declares", filename=info.filename)
    return data
