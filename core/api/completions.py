"""`POST /v1/chat/completions`: OpenAI's chat API over the engine, streaming or not.

`model` picks the base or an adapter (loaded on first use and pinned while the request
runs, its card's persona applied as in Chat); `knowledge_base` retrieves first and the
reply carries the cited sources.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from core.api.errors import ApiError, error_body, from_user_error, request_language
from core.api.schemas import ChatCompletion, ChatCompletionRequest, ErrorBody
from core.api.services import Services
from core.api.streaming import StopFilter, chunks, collect, wait_finished
from core.errors import UserError
from core.models.engine import BASE, Generation

ROLES = {"developer": "system", "tool": "observation", "function": "observation"}
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 404, 503)}


def to_messages(body: ChatCompletionRequest) -> list[dict]:
    return [{"role": ROLES.get(m.role, m.role), "content": m.text()} for m in body.messages]


def finish_reason(gen: Generation, stopped: bool) -> str:
    return "length" if gen.stats.finish_reason == "length" and not stopped else "stop"


def usage(gen: Generation) -> dict:
    p, c = gen.stats.prompt_tokens, gen.stats.completion_tokens
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def router(services: Services) -> APIRouter:
    api = APIRouter(tags=["OpenAI-compatible"])

    def start(body: ChatCompletionRequest) -> tuple[Generation, dict]:
        """(Off the event loop: loading an adapter and retrieving take time.) Queue the generation."""
        engine = services.engine()
        adapter = services.adapter_for(body.model, engine)
        options = body.options(services.settings.max_new_tokens)
        messages = to_messages(body)
        extra: dict = {}
        if body.knowledge_base:
            messages, extra["sources"], extra["grounded"] = services.rag(
                body.knowledge_base, messages, engine, options.max_new_tokens)
        gen = services.runtime.adapter_pool.stream(adapter, messages, options)
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": adapter or BASE}
        return gen, {"head": head, "extra": extra}

    @api.post("/v1/chat/completions", response_model=ChatCompletion, response_model_exclude_none=True,
              responses={**ERRORS, 200: {"content": {"text/event-stream": {}},
                                         "description": "JSON, or server-sent events when stream=true"}})
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        """Answer with the base model or an adapter; `knowledge_base` answers from a knowledge base (RAG)."""
        gen, meta = await run_in_threadpool(start, body)  # the pool holds the adapter until the answer ends
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            events = _events(gen, meta["head"], meta["extra"], body.stop, include_usage, request_language(request))
            return _Stream(events, ping=15, on_close=gen.stop)
        try:
            text, stopped = await collect(request, gen, body.stop)
        except UserError as exc:
            raise from_user_error(exc, request_language(request)) from None
        except BaseException:
            gen.stop()  # the client left or the server is stopping: end the generation (and its pin)
            raise
        await wait_finished(gen)
        return {**meta["head"], "object": "chat.completion", "usage": usage(gen), **meta["extra"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish_reason(gen, stopped)}]}

    return api


class _Stream(EventSourceResponse):
    """An SSE response that always cleans up after itself (stops the generation, which unpins the adapter),
    even when the client left before the first event was sent."""

    def __init__(self, *args, on_close: Callable[[], object], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


async def _events(gen: Generation, head: dict, extra: dict, stops: list[str],
                  include_usage: bool, lang: str = "en") -> AsyncIterator[dict]:
    """SSE events as OpenAI sends them: role, content deltas, finish reason, [usage], [DONE].

    The first event also carries `sources` and `grounded` when a knowledge base was used.
    """

    def event(delta: dict, finish: str | None = None, **more) -> dict:
        chunk = {**head, "object": "chat.completion.chunk", **more,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return {"data": json.dumps(chunk, ensure_ascii=False)}

    yield event({"role": "assistant", "content": ""}, **extra)
    flt = StopFilter(stops)
    try:
        async with aclosing(chunks(gen)) as stream:
            async for chunk in stream:
                if text := flt.feed(chunk):
                    yield event({"content": text})
                if flt.hit:
                    break
        if text := flt.flush():
            yield event({"content": text})
    except Exception as exc:  # the stream has started: report in-band, as OpenAI does
        error = from_user_error(exc, lang) if isinstance(exc, UserError) else ApiError(
            500, "Generation failed; the server log has the details.", type="server_error")
        yield {"data": json.dumps(error_body(error.message, error.type, error.param, error.code), ensure_ascii=False)}
        yield {"data": "[DONE]"}
        return
    await wait_finished(gen)
    yield event({}, finish_reason(gen, flt.hit))
    if include_usage:
        yield {"data": json.dumps({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage(gen)})}
    yield {"data": "[DONE]"}
