"""An engine backed by any OpenAI-compatible server (vLLM first; Ollama, llama.cpp, LM Studio).

The server batches and schedules, so requests go out at once, each on its own thread; Stop
closes that request's stream (vLLM aborts it). Adapters are the server's LoRA modules:
listed from `/v1/models` (a card whose `parent` is the base), loaded at run time through
vLLM's `/v1/load_lora_adapter` when the server allows it; the base is the plain model
name. Token counts, finish reasons and timings shown to users come from the server's
answers (`usage` of the stream, `/tokenize` for the context guard where it exists).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from core.errors import UserError
from core.i18n import msg
from core.models import chat_format, server_health
from core.models.engine import Engine, Generation, ModelInfo
from core.models.options import GenerationOptions
from core.models.server_health import ServerHealth

log = logging.getLogger(__name__)
DEFAULT_CONTEXT = 4096


def _unreachable(url: str, exc: Exception) -> UserError:
    return UserError(
        "errors.openai_engine.engine_server_reached", url=url, error_type=type(exc).__name__, exc=str(exc)[:200],
    )


def _refused(what: str, status: int, body: str) -> UserError:
    return UserError("errors.openai_engine.engine_server_refused_http", what=what, status=status, body=body[:300])


class OpenAIEngine(Engine):
    """Talks to `base_url` (ending in /v1) with the real `openai` client."""

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None, timeout: float = 600.0,
                 context_length: int | None = None) -> None:
        super().__init__()
        import openai

        self.base_url = base_url.rstrip("/")
        self.root = self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url
        self.http = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
        self.client = openai.OpenAI(base_url=self.base_url, api_key=api_key or "none", timeout=timeout, max_retries=0)
        self._running = 0
        self._count = threading.Lock()
        self._can_tokenize = True
        cards = self._cards()
        bases = [c for c in cards if not c.get("parent")]
        if model is None:
            if not bases:
                raise UserError("errors.openai_engine.engine_server_lists_model", base_url=base_url)
            model = bases[0]["id"]
        self.model_name = model
        card = next((c for c in cards if c["id"] == model), {})
        self.model_root = card.get("root", "")
        context = context_length or card.get("max_model_len") or DEFAULT_CONTEXT
        self.info = ModelInfo(
            name=model, source=self.base_url, kind="openai", parameters=0, dtype="-",
            device=urlsplit(self.base_url).netloc or self.base_url, context_length=int(context), load_seconds=0.0,
            architecture="OpenAI-compatible server", path=self.model_root,
        )
        self.base_config = self._local_config()
        self._base_template: str | None = None  # read from the base's folder on the first adapter load
        for c in cards:
            if c.get("parent") == model:
                self._adapters[c["id"]] = Path(c.get("root") or c["id"])

    @classmethod
    def from_settings(cls, settings, progress=lambda f, m: None) -> OpenAIEngine:
        if not settings.engine_url:
            raise UserError("errors.openai_engine.liandan_engine_openai_needs")
        progress(0.5, msg("job.openai_engine.connecting", engine_url=settings.engine_url))
        key = settings.engine_api_key.get_secret_value() if settings.engine_api_key else None
        engine = cls(settings.engine_url, settings.engine_model, key, settings.engine_timeout_s, settings.context_length)
        progress(1.0, msg("job.openai_engine.connected", name=engine.info.name))
        return engine

    # --- server calls -----------------------------------------------------------------
    def _cards(self) -> list[dict]:
        try:
            response = self.http.get(f"{self.base_url}/models")
        except httpx.HTTPError as exc:
            raise _unreachable(self.base_url, exc) from exc
        if response.status_code != 200:
            raise _refused("the model list", response.status_code, response.text)
        return response.json().get("data", [])

    def _local_config(self):
        """The base's transformers config when its folder is readable here, so local adapters' cards match it."""
        if not self.model_root or not (Path(self.model_root) / "config.json").exists():
            return None
        try:
            from transformers import AutoConfig

            return AutoConfig.from_pretrained(self.model_root)
        except (OSError, ValueError):
            return None

    def _server_template(self) -> str:
        """The chat template the server applies by itself: its base's, when the folder is readable here."""
        if self._base_template is None:
            self._base_template = ""
            if self.model_root and (Path(self.model_root) / "config.json").exists():
                try:
                    from core.models.loader import load_tokenizer

                    self._base_template = load_tokenizer(Path(self.model_root)).chat_template or ""
                except (OSError, ValueError):
                    pass
        return self._base_template

    def refresh_adapters(self) -> list[str]:
        """Adapters the server has now (another client may have loaded some)."""
        names = {c["id"]: Path(c.get("root") or c["id"]) for c in self._cards() if c.get("parent") == self.model_name}
        self._adapters = names | {k: v for k, v in self._adapters.items() if k in names}
        return list(self._adapters)

    # --- text ------------------------------------------------------------------------
    def _messages(self, messages: list[dict]) -> list[dict]:
        return chat_format.normalize_roles(messages, "")

    def count_tokens(self, messages: list[dict], adapter: str | None = None) -> int:
        if self._can_tokenize:
            try:
                response = self.http.post(f"{self.root}/tokenize", json={"model": adapter or self.model_name,
                                                                          "messages": self._messages(messages)})
                if response.status_code == 200:
                    return int(response.json()["count"])
                self._can_tokenize = False  # not vLLM: estimate below
            except httpx.HTTPError:
                self._can_tokenize = False
        # Without a tokenize endpoint: about one token per 3 bytes of UTF-8, plus the template's few per message.
        return sum(len(m["content"].encode("utf-8")) // 3 + 4 for m in messages)

    def _submit(self, messages: list[dict], options: GenerationOptions, adapter: str | None, dropped: int) -> Generation:
        gen = Generation()
        gen.stats.dropped_turns = dropped
        gen.batch_peers = lambda: max(0, self._running - 1)
        threading.Thread(target=self._serve, args=(messages, options, adapter, gen), name="openai-stream", daemon=True).start()
        return gen

    def _generate(self, messages: list[dict], options: GenerationOptions, adapter: str | None, gen: Generation) -> None:
        self._stream(messages, options, adapter, gen)

    def _serve(self, messages: list[dict], options: GenerationOptions, adapter: str | None, gen: Generation) -> None:
        with self._count:
            self._running += 1
        try:
            self._stream(messages, options, adapter, gen)
            gen.close()
        except BaseException as exc:  # reported to the consumer, who shows a clean message
            log.warning("engine server request failed: %s", exc)
            gen.stats.finish_reason = "error"
            gen.close(exc)
        finally:
            with self._count:
                self._running -= 1

    def _stream(self, messages: list[dict], options: GenerationOptions, adapter: str | None, gen: Generation) -> None:
        import openai

        extra: dict = {"top_k": options.top_k if options.top_k > 0 else -1, "repetition_penalty": options.repetition_penalty}
        if adapter and self._templates.get(adapter):
            extra["chat_template"] = self._templates[adapter]
        started = time.perf_counter()
        gen.started.set()
        try:
            stream = self.client.chat.completions.create(
                model=adapter or self.model_name, messages=self._messages(messages), stream=True,
                max_tokens=options.max_new_tokens, temperature=options.temperature, top_p=options.top_p,
                seed=options.seed, stream_options={"include_usage": True}, extra_body=extra,
            )
        except openai.APIConnectionError as exc:
            raise _unreachable(self.base_url, exc) from exc
        except openai.APIStatusError as exc:
            raise _refused("the request", exc.status_code, str(exc.message)) from exc
        watcher = threading.Thread(target=self._close_on_stop, args=(gen, stream), daemon=True)
        watcher.start()
        finish = None
        try:
            for chunk in stream:
                if gen.cancel.is_set():
                    break
                if chunk.usage is not None:
                    gen.stats.prompt_tokens = chunk.usage.prompt_tokens
                    gen.stats.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        if gen.stats.first_token_seconds is None:
                            gen.stats.first_token_seconds = time.perf_counter() - started
                        gen.push(choice.delta.content)
                        if chunk.usage is None:
                            gen.stats.completion_tokens += 1  # replaced by the server's count at the end
                    finish = choice.finish_reason or finish
        except (openai.APIConnectionError, httpx.HTTPError) as exc:
            if not gen.cancel.is_set():
                raise _unreachable(self.base_url, exc) from exc
        finally:
            stream.close()
        gen.stats.seconds = time.perf_counter() - started
        gen.stats.finish_reason = "cancelled" if gen.cancel.is_set() else ("length" if finish == "length" else "stop")

    @staticmethod
    def _close_on_stop(gen: Generation, stream) -> None:
        """Stop must not wait for the next chunk: closing the connection makes the server abort the request."""
        while not gen.finished.wait(0.1):
            if gen.cancel.is_set():
                stream.close()
                return

    def status(self) -> dict:
        return {"running": self._running, "waiting": 0, "max_batch": 0, "server": self.base_url}

    def server_health(self) -> ServerHealth:
        """The server's own health and queue (all users of it, not only this app's requests)."""
        return server_health.fetch(self.http, self.root)

    # --- adapters --------------------------------------------------------------------
    def load_adapter(self, name: str, path: Path, chat_template: str = "") -> None:
        """Hot-load a local adapter folder into the server (it must see the same path)."""
        if name not in self.refresh_adapters():
            try:
                response = self.http.post(f"{self.base_url}/load_lora_adapter", json={"lora_name": name, "lora_path": str(path)})
            except httpx.HTTPError as exc:
                raise _unreachable(self.base_url, exc) from exc
            if response.status_code != 200:
                raise _refused(f"loading adapter '{name}'", response.status_code, response.text)
        self._adapters[name] = path
        # An adapter trained here carries its base's template, which the server applies anyway; sending it
        # per request would make vLLM refuse unless started with --trust-request-chat-template.
        if chat_template and chat_template != self._server_template():
            self._templates[name] = chat_template

    def unload_adapter(self, name: str) -> None:
        try:
            response = self.http.post(f"{self.base_url}/unload_lora_adapter", json={"lora_name": name})
        except httpx.HTTPError as exc:
            raise _unreachable(self.base_url, exc) from exc
        if response.status_code not in (200, 404):
            raise _refused(f"unloading adapter '{name}'", response.status_code, response.text)
        self._adapters.pop(name, None)
        self._templates.pop(name, None)

    def close(self) -> None:
        self.client.close()
        self.http.close()
