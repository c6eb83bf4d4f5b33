"""Grounded answers from LangChain pieces: a retriever, a prompt, the engine as a chat model.

The pieces are public so users can reuse them in their own LangChain code:
`KBRetriever(manager=..., kb="docs")`, `EngineChatModel(engine=...)`, `rag_chain(...)`.
The prompt follows the tutorial (use only the context, say "I don't know" rather than
invent, be concise), in Chinese and English, and each knowledge base may override it.
When nothing passes the relevance threshold the question is answered without context and
the turn is flagged, never silently presented as grounded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder, PromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict, Field

from core.errors import UserError
from core.kb import followup, retrieval_log
from core.kb.store import KBConfig
from core.models.options import GenerationOptions
from core.i18n import msg

DEFAULT_PROMPTS = {
    "zh": (
        "使用以下上下文来回答最后的问题。如果你不知道答案，就说你不知道，不要试图编造答案。"
        "尽量使答案简明扼要。引用上下文时用 [1]、[2] 这样的编号标明出处。\n"
        "上下文：\n{context}\n\n问题：{question}\n有用的回答："
    ),
    "en": (
        "Use only the following context to answer the question at the end. If you don't know the answer, "
        "just say that you don't know; don't try to make up an answer. Keep the answer concise. "
        "Cite the context you use with its number, like [1] or [2].\n"
        "Context:\n{context}\n\nQuestion: {question}\nHelpful answer:"
    ),
}
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "AIMessageChunk": "assistant"}


def check_template(text: str) -> str:
    """An edited prompt must keep {context} and {question} and nothing else in braces."""
    text = text.strip()
    if not text:
        return ""
    try:
        variables = set(PromptTemplate.from_template(text).input_variables)
    except (ValueError, KeyError) as exc:
        raise UserError("errors.rag.prompt_unbalanced_braces") from exc
    if variables != {"context", "question"}:
        raise UserError(
            "errors.rag.prompt_must_contain_found", found=", ".join(sorted(variables)) or msg("errors.rag.none_found"),
        )
    return text


def template_for(config: KBConfig, lang: str) -> str:
    custom = config.prompt_zh if lang == "zh" else config.prompt_en
    return custom or DEFAULT_PROMPTS["zh" if lang == "zh" else "en"]


def prompt_for(config: KBConfig, lang: str) -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages([MessagesPlaceholder("history", optional=True), ("human", template_for(config, lang))])


def format_context(docs: list[Document]) -> str:
    return "\n\n".join(f"[{i}] ({d.metadata.get('source', '')})\n{d.page_content}" for i, d in enumerate(docs, 1))


def to_dicts(messages: list[BaseMessage]) -> list[dict]:
    return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]


class KBRetriever(BaseRetriever):
    """Hybrid search of one knowledge base; each Document carries source and 0-1 score."""

    manager: Any
    kb: str
    k: int = 5
    threshold: float = 0.0

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(page_content=h.text, id=h.id, metadata={"source": h.source, "score": h.score, "chunk": h.chunk, "heading": h.heading}
                     | {k: v for k, v in (("page", h.page), ("slide", h.slide)) if v is not None})
            for h in self.manager.search(self.kb, query, self.k, self.threshold)
        ]


class EngineChatModel(BaseChatModel):
    """The shared engine as a LangChain chat model (streams; queues fairly with other users)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    engine: Any
    options: GenerationOptions = Field(default_factory=GenerationOptions)
    adapter: str | None = None

    @property
    def _llm_type(self) -> str:
        return "liandan-engine"

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        gen = self.engine.stream(to_dicts(messages), self.options, adapter=self.adapter)
        try:
            for piece in gen:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                if run_manager:
                    run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
        finally:
            if not gen.finished.is_set():
                gen.stop()

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
    ) -> ChatResult:
        text = "".join(str(c.message.content) for c in self._stream(messages, stop, run_manager))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


@dataclass
class RagTurn:
    """What to send to the model, and what to cite."""

    messages: list[dict]
    citations: list[dict]  # [{"n", "source", "score", "text", "id", "chunk"} (+ "page" / "slide")]
    grounded: bool  # False: nothing passed the threshold, answered without context


def prepare(
    manager: Any, kb: str, question: str, history: list[dict], lang: str, k: int, threshold: float,
    fits: Callable[[list[dict]], bool] = lambda _messages: True, engine: Any = None, origin: str = "",
    whole_document: bool = False,
) -> RagTurn:
    """Retrieve and build the messages; the weakest chunks are left out until the prompt `fits`
    the model's window (history turns are the engine's to drop, the question is not).

    A follow-up is searched as a standalone question (core.kb.followup: by `engine` when it is large
    enough, else by rule); the model still sees the user's own words. With `whole_document`, the first
    cited file is given whole when it fits, else the chunks are. Every turn goes to the base's
    retrieval log (core.kb.retrieval_log)."""
    query, how = followup.standalone(question, history, engine)
    docs = KBRetriever(manager=manager, kb=kb, k=k, threshold=threshold).invoke(query)
    base = manager.get(kb)
    prompt = prompt_for(base.config, lang)
    turn = None
    if whole_document and docs:
        text = document_text(manager, kb, docs[0].metadata["source"])
        whole = Document(page_content=text, metadata={**docs[0].metadata, "chunk": -1})
        rendered = to_dicts(prompt.format_messages(context=format_context([whole]), question=question))
        if text and fits(rendered):
            citations = [{"n": 1, "source": whole.metadata["source"], "score": round(whole.metadata["score"], 3), "text": text}]
            turn = RagTurn(messages=history + rendered, citations=citations, grounded=True)
    while turn is None and docs:
        rendered = to_dicts(prompt.format_messages(context=format_context(docs), question=question))
        if fits(rendered):
            citations = [
                {"n": i, "source": d.metadata["source"], "score": round(d.metadata["score"], 3), "text": d.page_content,
                 "id": d.id or "", "chunk": d.metadata.get("chunk", 0)}
                | {k: d.metadata[k] for k in ("page", "slide") if k in d.metadata}  # where the passage opens (kb_passage)
                for i, d in enumerate(docs, 1)
            ]
            turn = RagTurn(messages=history + rendered, citations=citations, grounded=True)
        else:
            docs.pop()
    if turn is None:
        turn = RagTurn(messages=history + [{"role": "user", "content": question}], citations=[], grounded=False)
    try:
        retrieval_log.record(base, question, query, how, turn.citations, turn.grounded, origin)
    except OSError as exc:  # a full disk must not stop the answer
        logging.getLogger(__name__).warning("could not write the retrieval log of %s: %s", kb, exc)
    return turn


def document_text(manager: Any, kb: str, source: str) -> str:
    """A file's text rebuilt from its chunks in order: heading lines and the splitter's overlap are
    removed, so the model reads the document once, not 500-character windows of it."""
    snap = manager.searcher(kb).snapshot()
    parts = sorted((int(m.get("chunk", 0)), text, m.get("heading", "")) for text, m in zip(snap.texts, snap.metas) if m.get("source") == source)
    out, heading_shown = "", None
    for _, text, heading in parts:
        body = text[len(heading) + 1:] if heading and text.startswith(heading + "\n") else text
        if heading != heading_shown:
            out += ("\n\n" if out else "") + (f"{heading}\n" if heading else "")
            heading_shown = heading
            out += body
            continue
        overlap = next((n for n in range(min(len(out), len(body), 4000), 0, -1) if out.endswith(body[:n])), 0)
        out += body[overlap:] if overlap >= 20 else "\n" + body
    return out.strip()


def engine_fits(engine: Any, max_new_tokens: int) -> Callable[[list[dict]], bool]:
    """Does a prompt leave room for the answer in the engine's window (as `Engine.stream` caps it)?"""
    window = engine.info.context_length
    budget = window - min(max_new_tokens, max(1, window // 2))
    return lambda messages: engine.count_tokens(messages) <= budget


def rag_chain(manager: Any, kb: str, engine: Any, lang: str = "zh", k: int = 5, options: GenerationOptions | None = None) -> Runnable:
    """question -> answer string, as one LCEL chain (retriever | prompt | model | parser)."""
    retriever = KBRetriever(manager=manager, kb=kb, k=k)
    llm = EngineChatModel(engine=engine, options=options or GenerationOptions())
    context = RunnableLambda(lambda q: format_context(retriever.invoke(q)))
    return {"context": context, "question": RunnableLambda(lambda q: q)} | prompt_for(manager.get(kb).config, lang) | llm | StrOutputParser()
