"""All settings in one typed object, read from `LIANDAN_*` environment variables.

Nothing else in the project reads `os.environ` for configuration, so a test or a
subprocess changes behaviour by passing a `Settings`, never by patching modules.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDAN_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Home of everything the app writes.")
    model: str = Field(
        "embedded",
        description="Model source: 'embedded', a local folder, or a ModelScope id such as 'ZhipuAI/chatglm3-6b'.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where the model runs.")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="Weights precision; auto = bf16/fp16 on CUDA, fp32 on CPU."
    )
    engine: Literal["transformers", "echo"] = Field(
        "transformers", description="'echo' is a fake engine for demos of the UI without a model."
    )
    load_on_start: bool = Field(True, description="Load the model when the app starts.")
    trust_remote_code: bool = Field(
        True, description="Allow models that ship their own code (ChatGLM3 does)."
    )
    password: SecretStr | None = Field(None, description="Ask for this password before any page.")
    api_key: SecretStr | None = Field(None, description="Require `Authorization: Bearer <key>` on the API.")
    max_new_tokens: int = Field(512, ge=1, le=32768, description="Default answer length.")
    context_length: int | None = Field(
        None, ge=64, description="Override the model's context window (tokens)."
    )
    embedding_model: str = Field(
        "embedded", description="Embedding model: 'embedded' (all-MiniLM-L6-v2), 'hash' (fake), a folder or ModelScope id."
    )
    kb_roots: list[Path] = Field(
        default_factory=lambda: [Path("/root/autodl-tmp")],
        description="Server folders that may be indexed from the UI (JSON list).",
    )
    max_upload_mb: int = Field(200, ge=1, description="Largest accepted upload.")
    max_file_mb: int = Field(50, ge=1, description="Largest single file a knowledge base ingests.")
    log_level: str = Field("INFO", description="Python logging level.")

    @cached_property
    def home(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def conversations_dir(self) -> Path:
        return self.home / "conversations"

    @property
    def kb_dir(self) -> Path:
        return self.home / "kb"

    @property
    def adapters_dir(self) -> Path:
        return self.home / "adapters"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def kernels_dir(self) -> Path:
        return self.home / "kernels"

    @property
    def prefs_dir(self) -> Path:
        return self.home / "prefs"


def get_settings() -> Settings:
    """A fresh read of the environment; callers that must agree share one instance via runtime."""
    return Settings()
