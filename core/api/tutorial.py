"""`POST /api/chat`: the self-llm tutorial's ChatGLM3 FastAPI service, same body and reply.

The tutorial's client sends `{"prompt", "history", "max_length", "top_p", "temperature"}`
and reads `{"response", "history", "status", "time"}`; so does this route, with the
tutorial's defaults (max_length 2048 total tokens, top_p 0.7, temperature 0.95). History
comes back in the form it was sent: ChatGLM3's list of dicts or the older list of pairs.
"""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from core.api.errors import ApiError, from_user_error, request_language
from core.api.schemas import ErrorBody, HistoryMessage, TutorialRequest, TutorialResponse
from core.api.services import Services
from core.api.streaming import collect, wait_finished
from core.errors import UserError
from core.models.options import GenerationOptions

DEFAULT_MAX_LENGTH, DEFAULT_TOP_P, DEFAULT_TEMPERATURE = 2048, 0.7, 0.95
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 503)}


def history_messages(history: list | None) -> list[dict]:
    messages: list[dict] = []
    for entry in history or []:
        if isinstance(entry, HistoryMessage):
            message = {"role": entry.role, "content": entry.content}
            metadata = (entry.model_extra or {}).get("metadata")
            if isinstance(metadata, str) and metadata:
                message["metadata"] = metadata  # ChatGLM3's template puts it on the role line; others ignore it
            messages.append(message)
        else:
            question, answer = entry
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return messages


def history_out(history: list | None, prompt: str, response: str) -> list:
    """The caller's history plus this turn, in the caller's form (pairs stay pairs)."""
    history = history or []
    if history and not isinstance(history[0], HistoryMessage):
        return [list(pair) for pair in history] + [[prompt, response]]
    return [h.model_dump() for h in history] + [
        {"role": "user", "content": prompt},
        {"role": "assistant", "metadata": "", "content": response},
    ]


def router(services: Services, root: bool = False) -> APIRouter:
    """`root` adds `POST /` too, for the tutorial's exact curl (headless server only: the UI owns `/`)."""
    api = APIRouter(tags=["Tutorial-compatible"])

    async def tutorial_chat(body: TutorialRequest, request: Request) -> TutorialResponse:
        """The tutorial's request and reply; only the path changes (`/api/chat`)."""
        engine = services.engine()
        messages = history_messages(body.history) + [{"role": "user", "content": body.prompt}]
        max_length = body.max_length or DEFAULT_MAX_LENGTH
        prompt_tokens = await run_in_threadpool(engine.count_tokens, messages)
        if max_length <= prompt_tokens:
            raise ApiError(400, f"'max_length' ({max_length}) counts the prompt too, which already has "
                                f"{prompt_tokens} tokens; raise it.", param="max_length")
        options = GenerationOptions(
            max_new_tokens=max_length - prompt_tokens,
            top_p=body.top_p if body.top_p is not None else DEFAULT_TOP_P,
            temperature=body.temperature if body.temperature is not None else DEFAULT_TEMPERATURE,
        )
        gen = await run_in_threadpool(engine.stream, messages, options)
        try:
            response, _ = await collect(request, gen, [])
        except UserError as exc:
            raise from_user_error(exc, request_language(request)) from None
        await wait_finished(gen)
        return TutorialResponse(
            response=response,
            history=history_out(body.history, body.prompt, response),
            status=200,
            time=datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        )

    api.add_api_route("/api/chat", tutorial_chat, methods=["POST"], response_model=TutorialResponse, responses=ERRORS)
    if root:
        api.add_api_route("/", tutorial_chat, methods=["POST"], response_model=TutorialResponse, responses=ERRORS,
                          include_in_schema=False, name="tutorial_root")
    return api
