"""Every failure leaves the API in OpenAI's error shape with an honest status.

Bad input (broken JSON, wrong types, out-of-range values) is a 400 naming the field;
only our own bugs are 500s, logged with their traceback and answered without it.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from core.errors import InputError, ModelNotLoaded, UserError
from core.i18n import LANGUAGES, Message

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP error in OpenAI's shape; a `Message` is worded in the client's `Accept-Language`."""

    def __init__(self, status: int, message: str | Message, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(message))
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers


def error_body(message: str, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def request_language(request: Request) -> str:
    """The language a client asks for with `Accept-Language` ("zh-CN,zh;q=0.9,en;q=0.8"): the
    supported one it weights highest, English when it names none (OpenAI clients send nothing)."""
    best, best_q = "en", 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        lang = tag.strip().lower().split("-")[0]
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if lang in LANGUAGES and weight > best_q:
            best, best_q = lang, weight
    return best


def from_user_error(exc: UserError, lang: str = "en") -> ApiError:
    """Map the core's errors (safe to show) onto HTTP statuses, worded in `lang`."""
    text = exc.text(lang)
    if isinstance(exc, ModelNotLoaded):
        return ApiError(503, text, type="server_error", code="model_not_loaded", headers={"Retry-After": "10"})
    if isinstance(exc, InputError):
        return ApiError(400, text, code="invalid_input")
    return ApiError(400, text)


_UNION_TAG = re.compile(r"^([\w-]+\[.*\]|str|int|float|bool|dict|list|tuple|none)$")


def _location(loc: tuple) -> str:
    """('body', 'messages', 0, 'content') -> 'messages[0].content', without pydantic's union-branch tags."""
    out = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        if isinstance(part, str) and _UNION_TAG.match(part):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "The request is invalid.", None
    # In a union (content: str | list of parts) the deepest error names the branch that was meant.
    first = max(errors, key=lambda e: len(_location(tuple(e.get("loc", ())))))
    if first.get("type") == "json_invalid":
        return f"The body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')}).", None
    param = _location(tuple(first.get("loc", ()))) or None
    message = first.get("msg", "invalid value")
    if first.get("type") == "missing":
        text = f"'{param}' is required." if param else "The body is missing: send a JSON object."
    else:
        text = f"'{param}': {message}." if param else f"The body must be a JSON object ({message})."
    more = len(errors) - 1
    return text + (f" ({more} more problem{'s' if more > 1 else ''} in the request.)" if more else ""), param


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        text = exc.message.render(request_language(request)) if isinstance(exc.message, Message) else exc.message
        return JSONResponse(error_body(text, exc.type, exc.param, exc.code), exc.status, headers=exc.headers)

    @app.exception_handler(UserError)
    async def _user(request: Request, exc: UserError) -> JSONResponse:
        return await _api(request, from_user_error(exc, request_language(request)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = validation_message(exc)
        return JSONResponse(error_body(message, param=param, code="invalid_value"), 400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        where = f"{request.method} {request.url.path}"
        message, code = {
            404: (f"No such route: {where}. The routes are listed at /api/docs.", "not_found"),
            405: (f"{where} is not allowed. The routes are listed at /api/docs.", "method_not_allowed"),
        }.get(exc.status_code, (str(exc.detail), None))
        return JSONResponse(error_body(message, code=code), exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("API request failed")
        return JSONResponse(error_body("Internal error; the server log has the details.", "server_error"), 500)
