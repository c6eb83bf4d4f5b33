"""Sampling options and chat messages, validated once for the UI, CLI and API alike."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class GenerationOptions(BaseModel):
    """Bounds are the API's 4xx rules too: a bad value is refused, never clamped silently."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(512, ge=1, le=32768)
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="0 means greedy decoding.")
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    top_k: int = Field(50, ge=0, le=1000, description="0 disables top-k.")
    repetition_penalty: float = Field(1.1, ge=0.5, le=2.0)
    seed: int | None = Field(None, ge=0, le=2**32 - 1)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "observation", "interpreter"]
    content: str


def as_dicts(messages: list[Message] | list[dict]) -> list[dict]:
    return [m.model_dump() if isinstance(m, Message) else dict(m) for m in messages]
