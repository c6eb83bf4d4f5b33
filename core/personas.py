"""System-prompt presets users pick and edit in Chat; edits are saved under the data folder."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import UserError

DEFAULT_PERSONAS: dict[str, str] = {
    "助手 Assistant": "You are a helpful assistant. 你是一个乐于助人的助手。",
    "甄嬛 Zhen Huan": "现在你要扮演皇帝身边的女人--甄嬛",
    "翻译 Translator": "You translate between Chinese and English. Reply only with the translation.",
    "简洁 Concise": "Answer in as few words as possible.",
}


class PersonaStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> dict[str, str]:
        if self.path.exists():
            return json.loads(self.path.read_text(encoding="utf-8"))
        return dict(DEFAULT_PERSONAS)

    def save(self, name: str, prompt: str) -> None:
        name = name.strip()
        if not name:
            raise UserError("errors.personas.persona_needs_name")
        personas = self.all()
        personas[name] = prompt
        self._write(personas)

    def delete(self, name: str) -> None:
        personas = self.all()
        personas.pop(name, None)
        self._write(personas)

    def _write(self, personas: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(personas, ensure_ascii=False, indent=1), encoding="utf-8")
