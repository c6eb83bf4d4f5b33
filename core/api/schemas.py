"""Request and response bodies of the API.

Sampling bounds are GenerationOptions' own (copied from its fields), so the API refuses
exactly what the UI refuses; a refused value is a 400, never silently clamped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.models.options import GenerationOptions


def bounded(option: str) -> Any:
    """The type of GenerationOptions.<option> with its bounds, for an optional API field."""
    field = GenerationOptions.model_fields[option]
    base = int if option in ("max_new_tokens", "top_k", "seed") else float
    return Annotated[(base, *field.metadata)]


def _utf8(text: str) -> str:
    """Lone surrogates cannot be encoded in a reply; refuse them up front (a 400, not a 500)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid UTF-8 (lone surrogate)") from None
    return text


MaxTokens = bounded("max_new_tokens")
Temperature = bounded("temperature")
TopP = bounded("top_p")
TopK = bounded("top_k")
RepetitionPenalty = bounded("repetition_penalty")
Seed = bounded("seed")


# --- the tutorial's schema (self-llm ChatGLM3 FastAPI) --------------------------------


class HistoryMessage(BaseModel):
    """ChatGLM3's history entry; `metadata` goes on ChatGLM3's role line (other templates ignore it); `tools` is accepted."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "observation"]
    content: str = ""

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        return _utf8(value)


HistoryPair = Annotated[list[str], Field(min_length=2, max_length=2, description="Older ChatGLM form: [question, answer].")]


class TutorialRequest(BaseModel):
    """`{"prompt", "history", "max_length", "top_p", "temperature"}`; missing or null = the tutorial's defaults."""

    prompt: str = Field(..., description="The new user message.")
    history: list[HistoryMessage] | list[HistoryPair] | None = Field(
        None, description="Earlier turns: ChatGLM3 list of {role, content} or the older list of [question, answer]."
    )
    max_length: MaxTokens | None = Field(
        None, description="Total tokens (prompt + answer), as in ChatGLM's chat(); default 2048."
    )
    top_p: TopP | None = Field(None, description="Default 0.7.")
    temperature: Temperature | None = Field(None, description="Default 0.95; 0 = greedy.")

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        return _utf8(value)


class TutorialResponse(BaseModel):
    response: str
    history: list[dict[str, Any]] | list[HistoryPair]
    status: int = 200
    time: str = Field(..., description="Local time, '%Y-%m-%d %H:%M:%S'.")


# --- OpenAI-compatible ----------------------------------------------------------------


class ContentPart(BaseModel):
    """Only text parts: images and audio have no model here to read them."""

    model_config = ConfigDict(extra="allow")

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    @field_validator("content")
    @classmethod
    def _content(cls, value: str | list[ContentPart] | None) -> str | list[ContentPart] | None:
        for text in [value] if isinstance(value, str) else [p.text for p in value or []]:
            _utf8(text)
        return value

    def text(self) -> str:
        if self.content is None:
            return ""
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat completion body; fields it does not list are ignored, as OpenAI-compatible servers do."""

    model_config = ConfigDict(extra="allow")

    model: str = Field("base", description="'base', the loaded model's name, or an adapter's name (see /v1/models).")
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: MaxTokens | None = Field(None, description="Answer length; default LIANDAN_MAX_NEW_TOKENS.")
    max_completion_tokens: MaxTokens | None = Field(None, description="Newer name of max_tokens.")
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = Field(None, description="Extension (as in vLLM); 0 disables top-k.")
    repetition_penalty: RepetitionPenalty | None = Field(None, description="Extension (as in vLLM).")
    seed: Seed | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = Field(
        None, validate_default=True, description="Up to 4 strings; the answer ends before the first.")
    n: int = Field(1, ge=1, le=1, description="Only 1 is supported (one model, one answer at a time).")
    knowledge_base: str | None = Field(
        None, description="Liandan extension: answer from this knowledge base (RAG); the reply lists its sources."
    )

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> list[str]:
        stops = [value] if isinstance(value, str) else list(value or [])
        return [_utf8(s) for s in stops if s]

    def options(self, default_max_tokens: int) -> GenerationOptions:
        values = {
            "max_new_tokens": self.max_completion_tokens or self.max_tokens or default_max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repetition_penalty": self.repetition_penalty,
            "seed": self.seed,
        }
        return GenerationOptions(**{k: v for k, v in values.items() if v is not None})


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Source(BaseModel):
    """One retrieved passage behind a RAG answer; score is 0–1, higher is better."""

    model_config = ConfigDict(extra="allow")

    n: int = Field(..., description="The number the answer cites it by: [n].")
    source: str
    text: str
    score: float


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    sources: list[Source] | None = Field(None, description="With knowledge_base: the passages cited as [1], [2]...")
    grounded: bool | None = Field(
        None, description="With knowledge_base: false when no passage passed the relevance threshold and the "
                          "model answered without the knowledge base.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "liandan"
    description: str = ""


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    input: str | Annotated[list[str], Field(min_length=1, max_length=256)] = Field(
        ..., description="A text or a list of up to 256 texts.")
    model: str = Field("embedded", description="A knowledge base's name to use its embedding model; "
                                                "anything else uses the default (LIANDAN_EMBEDDING_MODEL).")
    encoding_format: Literal["float", "base64"] = "float"

    @field_validator("input")
    @classmethod
    def _texts(cls, value: str | list[str]) -> list[str]:
        texts = [value] if isinstance(value, str) else value
        if not texts or len(texts) > 256:
            raise ValueError("send between 1 and 256 texts")
        if any(not t.strip() for t in texts):
            raise ValueError("texts must not be empty")
        return [_utf8(t) for t in texts]


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class Health(BaseModel):
    status: Literal["ok", "loading", "no_model"]
    model: str | None
    device: str | None
    busy: bool
    queued: int
    adapters: list[str]
    running: int = Field(0, description="Answers generating right now (together, in one batch).")
    max_batch: int = Field(1, description="Most answers generated together; more wait in the queue.")


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error shape, for every 4xx/5xx of the API."""

    error: ErrorDetail
