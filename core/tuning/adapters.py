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
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from core.errors import UserError

CARD = "adapter.json"
NAME_RE = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .\-]{0,63}$")
FINGERPRINT_KEYS = ("model_type", "architectures", "hidden_size", "num_hidden_layers", "num_layers", "vocab_size", "padded_vocab_size", "intermediate_size", "num_attention_heads")
MAX_ZIP_BYTES = 2 * 2**30
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
        raise UserError(
            f"'{name}' is reserved for the base model.", "Pick another adapter name.",
            zh=f"“{name}”是基座模型的保留名称。",
            zh_hint="请换一个适配器名称。",
        )
    if not NAME_RE.match(name):
        raise UserError(
            f"'{name}' is not a valid adapter name.",
            "Use up to 64 letters, digits, Chinese characters, spaces, '-', '_' or '.', not starting with '.' or a space.",
            zh=f"“{name}”不是有效的适配器名称。",
            zh_hint="最多 64 个字母、数字、汉字、空格、“-”、“_”或“.”，且不能以“.”或空格开头。",
        )
    return name


class AdapterStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.folder / validate_name(name)

    def exists(self, name: str) -> bool:
        return (self.path(name) / CARD).exists()

    def get(self, name: str) -> AdapterCard:
        card = self.path(name) / CARD
        if not card.exists():
            raise UserError(
                f"No adapter named '{name}'.", "Pick one from the Adapters list.",
                zh=f"没有名为“{name}”的适配器。",
                zh_hint="请从适配器列表中选择。",
            )
        return AdapterCard(**json.loads(card.read_text(encoding="utf-8")))

    def list(self) -> list[AdapterCard]:
        cards = []
        for card in sorted(self.folder.glob(f"*/{CARD}")):
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
            raise UserError(f"An adapter named '{new}' already exists.", zh=f"名为“{new}”的适配器已存在。")
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

    def import_zip(self, data: bytes, base_fingerprint: str, name: str | None = None) -> AdapterCard:
        """Unpack an exported adapter after checking it matches the loaded base."""
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise UserError(
                "This file is not a zip archive.", "Upload a zip made with Download.",
                zh="该文件不是 zip 压缩包。",
                zh_hint="请上传用“下载 zip”得到的压缩包。",
            ) from exc
        with zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_ZIP_BYTES:
                raise UserError("The archive is too large once unpacked.", zh="该压缩包解压后过大。")
            members = [i for i in zf.infolist() if not i.is_dir()]
            cards = [i for i in members if PurePosixPath(i.filename).name == CARD]
            if len(cards) != 1:
                raise UserError(
                    "The archive has no adapter.json card.", "Only adapters downloaded from Liandan can be uploaded.",
                    zh="该压缩包中没有 adapter.json 说明卡。",
                    zh_hint="只能上传从 Liandan 下载的适配器。",
                )
            root = PurePosixPath(cards[0].filename).parent
            card = AdapterCard(**json.loads(zf.read(cards[0]).decode("utf-8")))
            if card.base_fingerprint != base_fingerprint:
                raise UserError(
                    f"Adapter '{card.name}' was trained on {card.base_model}, a different base than the loaded model.",
                    "Load that base model first (System page), then upload again.",
                    zh=f"适配器“{card.name}”是在 {card.base_model} 上训练的，与当前加载的模型基座不同。",
                    zh_hint="请先加载该基座模型（“系统”页面），再重新上传。",
                )
            card.name = validate_name(name or card.name)
            if self.exists(card.name):
                raise UserError(
                    f"An adapter named '{card.name}' already exists.", "Rename or delete it first.",
                    zh=f"名为“{card.name}”的适配器已存在。",
                    zh_hint="请先重命名或删除它。",
                )
            target = self.path(card.name)
            staging = target.with_name(f".{card.name}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            for info in members:
                rel = PurePosixPath(info.filename)
                if rel.is_absolute() or ".." in rel.parts or "\\" in info.filename:
                    raise UserError(f"Unsafe path in the archive: {info.filename}", zh=f"压缩包中有不安全的路径：{info.filename}")
                if root.parts and rel.parts[: len(root.parts)] != root.parts:
                    continue
                out = staging.joinpath(*rel.parts[len(root.parts):])
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(zf.read(info))
            staging.rename(target)
        self.save_card(card)
        return card
