"""What the routes need from the rest of Liandan: the engine, adapters, knowledge bases, embeddings.

Routes stay thin; this layer turns the runtime's objects into API answers and API errors
(unknown model → 404 naming the choices, no model yet → 503 with Retry-After). Adapters and
knowledge bases go through the same pool and manager the UI uses, so the API and the pages
share one loaded adapter set and one Chroma client.
"""

from __future__ import annotations

import logging
import re
import time

from core.api.errors import ApiError
from core.errors import UserError
from core.i18n import msg
from core.models.engine import Engine
from core.models.manager import LOAD_JOB
from core.runtime import Runtime
from core.adapters.pool import AdapterCard, is_base

log = logging.getLogger(__name__)
CJK = re.compile(r"[\u3400-\u9fff]")


class Services:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.started = int(time.time())

    @property
    def settings(self):
        return self.runtime.settings

    def loading(self) -> bool:
        return any(job.active for job in self.runtime.jobs.list(LOAD_JOB))

    def engine(self) -> Engine:
        engine = self.runtime.models.engine
        if engine is None:
            if self.loading():
                raise ApiError(503, msg("errors.api.model_loading"), type="server_error",
                               code="model_loading", headers={"Retry-After": "10"})
            raise ApiError(503, msg("errors.api.no_model"), type="server_error",
                           code="model_not_loaded", headers={"Retry-After": "30"})
        return engine

    # --- model names: "base" or an adapter --------------------------------------------
    def adapters(self) -> list[AdapterCard]:
        """Saved adapters trained for the loaded base (others would be refused)."""
        return self.runtime.adapter_pool.compatible() if self.runtime.models.engine is not None else []

    def model_ids(self) -> list[str]:
        return ["base", *(card.name for card in self.adapters())]

    def adapter_for(self, model: str, engine: Engine) -> str | None:
        """None for the base model; the adapter's name otherwise (404 if there is no such adapter)."""
        if is_base(model) or model == engine.info.name:
            return None
        try:
            known = self.runtime.adapters.exists(model)
        except UserError:  # not even a valid adapter name
            known = False
        if not known:
            raise ApiError(404, f"The model '{model}' does not exist. Available: {', '.join(self.model_ids())}.",
                           param="model", code="model_not_found")
        return model

    # --- knowledge bases ---------------------------------------------------------------
    def rag(self, name: str, messages: list[dict], engine: Engine,
            max_new_tokens: int) -> tuple[list[dict], list[dict], bool]:
        """Messages with the retrieved context, the sources cited, and whether any passed the threshold."""
        from core.kb import rag

        manager = self.runtime.kb
        if not manager.exists(name):
            names = ", ".join(manager.names()) or "none yet"
            raise ApiError(404, f"There is no knowledge base '{name}'. Available: {names}.",
                           param="knowledge_base", code="knowledge_base_not_found")
        if not messages or messages[-1]["role"] != "user":
            raise ApiError(400, "With 'knowledge_base', the last message must be the user's question.",
                           param="messages")
        question = messages[-1]["content"]
        turn = rag.prepare(manager, name, question, messages[:-1], "zh" if CJK.search(question) else "en",
                           self.settings.kb_top_k, manager.threshold(name),
                           fits=rag.engine_fits(engine, max_new_tokens), engine=engine, origin="api")
        return turn.messages, turn.citations, turn.grounded

    def embed(self, texts: list[str], model: str) -> tuple[list[list[float]], str, int]:
        """Vectors from a knowledge base's embedding model when `model` names one, else the default one;
        with the model's name and the tokens it read."""
        from core.kb.tokenize import cheap_tokens

        manager = self.runtime.kb
        spec = manager.get(model).config.embedding_model if manager.exists(model) else self.settings.embedding_model
        embedder = manager.embedder_for(spec)
        tokenizer = getattr(getattr(embedder, "model", None), "tokenizer", None)
        if tokenizer is not None:
            tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"])
        else:  # the hash embedder reads exactly these tokens
            tokens = sum(len(cheap_tokens(t)) for t in texts)
        return embedder.embed_documents(texts), spec, tokens
