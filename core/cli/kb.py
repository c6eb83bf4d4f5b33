"""Knowledge bases from a terminal, for corpora too large to upload through a browser.

    python -m core index --kb NAME PATH...          incremental, progress bar, per-file errors
    python -m core search --kb NAME --k 5 [--json] "query"
    python -m core ask --kb NAME "question"         streamed grounded answer + citations
    python -m core eval-retrieval --kb NAME QA.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm

from core.cli.common import load_engine, runtime_for
from core.i18n import Message

MODES = ("hybrid", "dense", "bm25")  # core.kb.retrieval.MODES, without importing numpy/chroma for --help


def register(subparsers) -> None:
    p = subparsers.add_parser("index", help="Index files/folders into a knowledge base (created if new).")
    p.add_argument("--kb", required=True, help="Knowledge base name.")
    p.add_argument("paths", nargs="+", type=Path, help="Files, folders or .zip archives.")
    p.add_argument("--embedding-model", help="For a new base: embedded | hash | a folder | a ModelScope id.")
    p.add_argument("--chunk-size", type=int, help="For a new base (default 500).")
    p.add_argument("--chunk-overlap", type=int, help="For a new base (default 150).")
    p.set_defaults(func=run_index)

    p = subparsers.add_parser("search", help="Hybrid search of a knowledge base.")
    p.add_argument("--kb", required=True)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--mode", choices=MODES, default="hybrid")
    p.add_argument("--json", action="store_true", help="Print a JSON list of {source, score, text}.")
    p.add_argument("query")
    p.set_defaults(func=run_search)

    p = subparsers.add_parser("ask", help="Answer a question from a knowledge base, with citations.")
    p.add_argument("--kb", required=True)
    p.add_argument("--model", help="embedded | a folder | a ModelScope id (default: LIANDAN_MODEL)")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("question")
    p.set_defaults(func=run_ask)

    p = subparsers.add_parser("eval-retrieval", help="hit@1 / hit@5 / MRR on a JSONL of {question, source}.")
    p.add_argument("--kb", required=True)
    p.add_argument("--mode", choices=MODES, default="hybrid")
    p.add_argument("--json", action="store_true")
    p.add_argument("qa", type=Path)
    p.set_defaults(func=run_eval)


def run_index(args) -> int:
    rt = runtime_for()
    kbs = rt.kb
    if not kbs.exists(args.kb):
        kbs.create(args.kb, args.embedding_model, args.chunk_size, args.chunk_overlap)
        print(f"created knowledge base '{args.kb}'", file=sys.stderr)
    # One bar over the whole run (reading, then embedding), in per mille so tqdm's ETA spans both.
    bar = tqdm(total=1000, file=sys.stderr, dynamic_ncols=True, bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]")

    def progress(status) -> None:
        bar.set_postfix_str(str(status.message())[-60:], refresh=False)
        bar.update(round(1000 * status.fraction) - bar.n)

    result = kbs.index(args.kb, args.paths, progress)
    bar.close()
    summary = result.summary()
    print(
        f"{summary['indexed']} indexed ({result.chunks_added} chunks), {summary['unchanged']} unchanged, "
        f"{summary['duplicate']} duplicates, {summary['removed']} removed, {summary['failed']} failed "
        f"in {result.seconds:.1f} s"
    )
    for report in result.reports:
        if report.status == "failed":
            print(f"  failed: {report.source}: {report.reason}")
        elif any(note["key"] != "kb.report.pages" for note in report.notes):  # OCR used, or scanned pages left unread
            print(f"  {report.source}: " + "; ".join(str(Message.from_json(note)) for note in report.notes))
    return 0


def run_search(args) -> int:
    hits = runtime_for().kb.search(args.kb, args.query, args.k, mode=args.mode)
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("no results")
    for i, h in enumerate(hits, 1):
        snippet = " ".join(h.text.split())[:160]
        print(f"[{i}] {h.score:.3f}  {h.source}\n    {snippet}")
    return 0


def run_ask(args) -> int:
    from core.kb import rag
    from core.models.options import GenerationOptions

    rt = runtime_for(args.model)
    kbs = rt.kb
    kbs.get(args.kb)  # fail before loading a model
    engine = load_engine(rt.models, rt.settings.model)
    turn = rag.prepare(
        kbs, args.kb, args.question, [], args.lang,
        args.k or rt.settings.kb_top_k, kbs.threshold(args.kb) if args.threshold is None else args.threshold,
        fits=rag.engine_fits(engine, args.max_new_tokens), engine=engine, origin="cli",
    )
    if not turn.grounded:
        print("(nothing in the knowledge base passed the relevance threshold: answering without context)", file=sys.stderr)
    llm = rag.EngineChatModel(engine=engine, options=GenerationOptions(max_new_tokens=args.max_new_tokens))
    for chunk in llm.stream([(m["role"], m["content"]) for m in turn.messages]):
        print(chunk.content, end="", flush=True)
    print()
    for c in turn.citations:
        print(f"[{c['n']}] {c['source']} ({c['score']:.2f})")
    return 0


def run_eval(args) -> int:
    from core.kb import eval as kb_eval

    kbs = runtime_for().kb
    items = kb_eval.parse_qa(args.qa.read_text(encoding="utf-8"))
    bar = tqdm(total=len(items), unit="q", file=sys.stderr)
    result = kb_eval.evaluate(kbs, args.kb, items, args.mode, lambda done, _total: bar.update(done - bar.n))
    bar.close()
    if args.json:
        print(json.dumps({**result.as_dict(), "rows": result.rows}, ensure_ascii=False, indent=1))
    else:
        print(f"questions {result.n}  hit@1 {result.hit1:.3f}  hit@5 {result.hit5:.3f}  MRR {result.mrr:.3f}")
    return 0
