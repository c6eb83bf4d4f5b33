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
    engine: Literal["transformers", "echo", "openai"] = Field(
        "transformers",
        description="'echo' is a fake engine for demos of the UI without a model; 'openai' talks to an OpenAI-compatible "
        "server (vLLM, Ollama, llama.cpp, LM Studio) at LIANDAN_ENGINE_URL.",
    )
    load_on_start: bool = Field(True, description="Load the model when the app starts.")
    trust_remote_code: bool = Field(
        False,
        description="Run Python code shipped inside a model folder (auto_map). Off: ChatGLM3 runs on transformers' native GLM code without it.",
    )
    password: SecretStr | None = Field(None, description="Ask for this password before any page.")
    api_key: SecretStr | None = Field(None, description="Require `Authorization: Bearer <key>` on the API.")
    api_cors_origins: list[str] = Field(
        default_factory=list,
        description='Web pages on other origins allowed to call the API from a browser (JSON list, e.g. ["http://localhost:3000"]; ["*"] = any). Empty = none.',
    )
    max_new_tokens: int = Field(512, ge=1, le=32768, description="Default answer length.")
    context_length: int | None = Field(
        None, ge=64, description="Override the model's context window (tokens)."
    )
    embedding_model: str = Field(
        "embedded-use", description="Embedding model: 'embedded-use' (Universal Sentence Encoder multilingual v3, the default), 'embedded-e5' (multilingual-e5-small), 'embedded' (all-MiniLM-L6-v2, English), 'hash' (fake), a folder or ModelScope id."
    )
    kb_roots: list[Path] = Field(
        default_factory=lambda: [Path("/root/autodl-tmp")],
        description="Server folders that may be indexed from the UI (JSON list).",
    )
    kb_watch_debounce_s: float = Field(
        2.0, gt=0, le=3600,
        description="A watched folder is re-indexed once it has been quiet this many seconds (a burst of changes, e.g. a git pull, is one run).",
    )
    max_upload_mb: int = Field(200, ge=1, description="Largest accepted upload.")
    max_file_mb: int = Field(50, ge=1, description="Largest single file a knowledge base ingests.")
    max_archive_mb: int = Field(1000, ge=1, description="Most uncompressed data read from one .zip; members past it are refused by name.")
    max_archive_ratio: float = Field(
        100.0, ge=2.0, description="A zip member over 1 MB that expands more than this many times is refused as a zip bomb (text deflates 3-10x)."
    )
    max_archive_members: int = Field(10_000, ge=1, description="Most members one .zip may have.")
    log_level: str = Field("INFO", description="Python logging level.")
    interpreter_rounds: int = Field(5, ge=1, le=20, description="Code runs per answer in the code interpreter mode.")
    interpreter_cell_timeout_s: float = Field(30.0, gt=0, le=3600, description="Seconds one code block may run before it is stopped.")
    interpreter_run_budget_s: float = Field(120.0, gt=0, le=7200, description="Total seconds of code execution per answer.")
    interpreter_memory_mb: int = Field(2048, ge=256, le=1_048_576, description="Memory cap of each kernel (RLIMIT_DATA).")
    interpreter_file_mb: int = Field(512, ge=1, le=1_048_576, description="Largest file a kernel may write.")
    interpreter_output_chars: int = Field(20_000, ge=100, le=10_000_000, description="Text output kept per code block; the rest is cut with a note.")
    interpreter_observation_chars: int = Field(2000, ge=100, le=100_000, description="Output characters the model reads back per run.")
    interpreter_idle_timeout_s: float = Field(1800.0, gt=0, description="An idle kernel is shut down after this many seconds.")
    interpreter_sandbox: Literal["auto", "audit"] = Field(
        "auto", description="auto = Landlock file sandbox when the OS has it, else a Python audit hook; audit forces the weaker hook."
    )
    max_loaded_adapters: int = Field(
        4, ge=1, le=32, description="LoRA adapters kept on the model at once; the least recently used is unloaded beyond this."
    )
    compare_max_prompts: int = Field(100, ge=1, le=10000, description="Most prompts one comparison run accepts.")
    leaderboard_votes_per_voter: int = Field(
        200, ge=1, le=1_000_000, description="Votes of one voter (browser) the leaderboard counts; later ones are left out."
    )
    kb_chunk_size: int = Field(500, ge=50, le=8000, description="Default chunk length (characters) of a new knowledge base.")
    kb_chunk_overlap: int = Field(150, ge=0, le=4000, description="Default overlap between chunks (characters).")
    kb_top_k: int = Field(5, ge=1, le=50, description="Chunks retrieved per question by default.")
    kb_threshold: float = Field(
        0.16, ge=0.0, le=1.0,
        description="Default minimum relevance (0-1) a chunk needs to be used; with the default embedder 0.16 kept all of the dev split's answerable questions and turned away 47% of off-topic ones in bench/retrieval.py (a calibrated base keeps its own).",
    )
    kb_reranker: str = Field(
        "", description="Cross-encoder that re-orders the top hits (a local folder or ModelScope id, e.g. 'BAAI/bge-reranker-base'); empty = off.",
    )
    kb_rerank_depth: int = Field(20, ge=2, le=200, description="How many hybrid hits the reranker re-orders.")
    kb_dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="Share of dense similarity in the hybrid score (the rest is BM25); chosen on the dev split of bench/data/datawhale_dev.jsonl.")
    kb_dense_weight_en: float = Field(0.7, ge=0.0, le=1.0, description="With kb_fusion 'language': the dense share for Latin-script questions (BM25 cannot match them to Chinese text).")
    kb_fusion: Literal["weighted", "rrf", "language"] = Field("weighted", description="How dense and BM25 combine (core.kb.fusion); a calibrated knowledge base keeps its own.")
    kb_ocr: bool = Field(True, description="Read scanned PDF pages and images (.png/.jpg) with the bundled offline OCR (PP-OCRv4 Chinese+English, CPU); off = they are only named in the report.")
    kb_embed_batch: int = Field(0, ge=0, le=4096, description="Chunks per embedding batch while indexing; 0 = auto (16 on CPU, 128 on CUDA).")
    max_batch: int = Field(
        8, ge=1, le=256, description="Answers generated together in one batch (continuous batching); more wait in a queue."
    )
    prefill_chunk: int = Field(
        256, ge=16, le=16384, description="Prompt tokens prefilled per step, so a long prompt does not freeze the answers streaming."
    )
    prefix_cache: int = Field(
        32, ge=0, le=4096,
        description="Prompt heads (chat template + system prompt) whose keys/values are kept for the next request that starts the same way; 0 = off.",
    )
    batch_window_ms: float = Field(
        50.0, ge=0.0, le=1000.0,
        description="Most milliseconds an idle model waits for requests sent at the same moment that are still being tokenised, so they share one prefill; a lone request never waits.",
    )
    engine_url: str | None = Field(None, description="Base URL of the OpenAI-compatible server when engine=openai, e.g. http://127.0.0.1:8000/v1.")
    engine_api_key: SecretStr | None = Field(None, description="API key sent to that server, if it wants one.")
    engine_model: str | None = Field(None, description="The server's base model name; default: the first model it lists that is not a LoRA adapter.")
    engine_timeout_s: float = Field(600.0, gt=0, le=86400, description="Seconds one request to that server may take.")
    embed_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where embedding models run; auto = CUDA when present.")
    embed_precision: Literal["auto", "float32", "bfloat16", "float16", "int8"] = Field(
        "auto",
        description="Embedding precision; auto = fp16 on CUDA, int8 on CPU through OpenVINO when its check passes (1.37x bf16), "
        "else bf16 on CPUs with native bf16 (AVX512-BF16/AMX), else fp32.",
    )
    embed_backend: Literal["auto", "torch", "openvino"] = Field(
        "auto", description="Embedding runtime on CPU; auto = OpenVINO when installed (whole-corpus index 1.35x faster than torch bf16), torch on CUDA."
    )

    modelscope_endpoint: str | None = Field(
        None, description="ModelScope hub to download from (a mirror, or a local test hub); empty = modelscope's default."
    )
    quantization: Literal["none", "8bit", "4bit"] = Field(
        "none", description="Load the model in 8-bit or 4-bit with bitsandbytes (CUDA only); LoRA on a 4-bit base is QLoRA."
    )

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
    def finetune_dir(self) -> Path:
        """Uploaded training datasets and per-job checkpoints."""
        return self.home / "finetune"

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
    def compare_dir(self) -> Path:
        return self.home / "compare"

    @property
    def prefs_dir(self) -> Path:
        return self.home / "prefs"


def get_settings() -> Settings:
    """A fresh read of the environment; callers that must agree share one instance via runtime."""
    return Settings()
