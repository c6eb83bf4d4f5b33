"""`create_app(runtime)`: the API as one FastAPI app, used headless and inside Streamlit's server.

Paths live under `/api/` and `/v1/` only, so the same app can sit next to the Streamlit UI
on one port (see core/api/mount.py) and serve the process's one engine.
"""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from core.api import completions, errors, tutorial
from core.api.auth import bearer_guard
from core.api.schemas import EmbeddingList, EmbeddingRequest, ErrorBody, Health, ModelList
from core.api.services import Services
from core.runtime import Runtime

PREFIXES = ("/api/", "/v1/")
DOCS_URL, OPENAPI_URL = "/api/docs", "/api/openapi.json"
DESCRIPTION = """Liandan's HTTP API, on the same port and model as the web UI.

* `POST /api/chat` — the self-llm tutorial's body and reply (`prompt`, `history`, `max_length`, `top_p`, `temperature`).
* `/v1/...` — OpenAI-compatible: point any OpenAI client at `http://HOST:6006/v1`.

When `LIANDAN_API_KEY` is set, send `Authorization: Bearer <key>`.
"""


def create_app(runtime: Runtime, *, tutorial_root: bool = False) -> FastAPI:
    """The API over `runtime`'s engine; `tutorial_root` also answers the tutorial's `POST /` (headless only)."""
    services = Services(runtime)
    app = FastAPIOffline(
        title="Liandan API", version="1", description=DESCRIPTION,
        docs_url=DOCS_URL, redoc_url=None, openapi_url=OPENAPI_URL,
        static_url="/api/docs/static", swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
    )
    errors.install(app)
    if runtime.settings.api_cors_origins:  # browser front-ends on another port/host; the key check still applies
        app.add_middleware(CORSMiddleware, allow_origins=runtime.settings.api_cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    guarded = [Depends(bearer_guard(runtime.settings))]  # on the routes, not the app: the docs page stays open
    app.include_router(tutorial.router(services, root=tutorial_root), dependencies=guarded)
    app.include_router(completions.router(services), dependencies=guarded)
    app.include_router(_misc(services), dependencies=guarded)
    if tutorial_root:
        app.add_api_route("/", lambda: RedirectResponse(DOCS_URL), methods=["GET"], include_in_schema=False)
    app.openapi = lambda: _without_422(app)
    return app


def _without_422(app: FastAPI) -> dict:
    """FastAPI documents validation errors as 422; this API answers them with 400 (ErrorBody), as OpenAI does."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for operation in (op for path in schema["paths"].values() for op in path.values()):
            if operation.get("responses", {}).pop("422", None) is not None:
                operation["responses"].setdefault("400", {"description": "Invalid request",
                                                          "content": {"application/json": {"schema": {
                                                              "$ref": "#/components/schemas/ErrorBody"}}}})
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
    return app.openapi_schema


def _misc(services: Services) -> APIRouter:
    api = APIRouter()

    @api.get("/api/health", response_model=Health, tags=["Status"], responses={401: {"model": ErrorBody}})
    async def health() -> Health:
        """Whether a model is ready, and how busy it is (a request holding it, requests queued)."""
        engine = services.runtime.models.engine
        if engine is None:
            status = "loading" if services.loading() else "no_model"
            return Health(status=status, model=None, device=None, busy=False, queued=0, adapters=[])
        load = engine.status()
        return Health(status="ok", model=engine.info.name, device=engine.info.device, busy=load["running"] > 0,
                      queued=load["waiting"], adapters=engine.adapter_names(), running=load["running"],
                      max_batch=load.get("max_batch", 1))

    @api.get("/v1/models", response_model=ModelList, tags=["OpenAI-compatible"],
             responses={401: {"model": ErrorBody}})
    async def models() -> ModelList:
        """`base` and every adapter, usable as `model` in chat completions."""
        engine = services.runtime.models.engine
        base = f"The base model ({engine.info.name})" if engine is not None else "The base model (not loaded yet)"
        cards = [{"id": i, "created": services.started, "description": base if i == "base" else "LoRA adapter"}
                 for i in services.model_ids()]
        return ModelList(data=cards)

    @api.post("/v1/embeddings", response_model=EmbeddingList, tags=["OpenAI-compatible"],
              responses={code: {"model": ErrorBody} for code in (400, 401, 503)})
    async def embeddings(body: EmbeddingRequest) -> EmbeddingList:
        """Vectors from the knowledge bases' embedding model (or, when `model` names a knowledge base, from its model)."""
        vectors, name, tokens = await run_in_threadpool(services.embed, body.input, body.model)
        data = [{"index": i, "embedding": _encode(v, body.encoding_format)} for i, v in enumerate(vectors)]
        return EmbeddingList(data=data, model=name, usage={"prompt_tokens": tokens, "total_tokens": tokens})

    return api


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return [float(x) for x in vector]
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
