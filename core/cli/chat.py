"""`python -m core chat`: the tutorial's first step — multi-turn chat from a terminal."""

from __future__ import annotations

import sys

from core.cli.common import load_engine, runtime_for
from core.models.options import GenerationOptions

HELP = "Commands: /reset clears the history, /exit quits."


def register(subparsers) -> None:
    p = subparsers.add_parser("chat", help="Chat with the model in the terminal (streaming).")
    p.add_argument("--model", help="embedded | a folder | a ModelScope id (default: LIANDAN_MODEL)")
    p.add_argument("--system", default="", help="System prompt.")
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("--temperature", type=float, default=0.7)
    p.set_defaults(func=run)


def _lines():
    """Typed lines with a prompt on a terminal, piped lines otherwise; ends at EOF."""
    if not sys.stdin.isatty():
        yield from sys.stdin
        return
    while True:
        try:
            yield input("\n你 / you> ")
        except EOFError:
            return


def run(args) -> int:
    rt = runtime_for(args.model)
    engine = load_engine(rt.models, rt.settings.model)
    options = GenerationOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    system = [{"role": "system", "content": args.system}] if args.system else []
    history: list[dict] = []
    print(f"{engine.info.name} ready. {HELP}")
    for line in _lines():
        text = line.strip()
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            history.clear()
            print("(history cleared)")
            continue
        if not text:
            continue
        history.append({"role": "user", "content": text})
        gen = engine.stream(system + history, options)
        print("\nmodel> ", end="", flush=True)
        for chunk in gen:
            print(chunk, end="", flush=True)
        print()
        if gen.stats.dropped_turns:
            print(f"(context full: the oldest {gen.stats.dropped_turns} messages were not sent)")
        history.append({"role": "assistant", "content": gen.text})
    return 0
