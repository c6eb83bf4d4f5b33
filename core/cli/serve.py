"""`python -m core serve`: only the HTTP API, for a machine nobody opens a browser on.

The model loads first (with a progress line), then uvicorn serves it. Here `POST /` also
answers, so the self-llm tutorial's curl command works unchanged.
"""

from __future__ import annotations

import sys

from core.cli.common import load_engine, runtime_for
from core.errors import UserError
from core.runtime import install_runtime


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="Serve only the HTTP API (tutorial + OpenAI-compatible), no UI.")
    p.add_argument("--port", type=int, default=6006, help="Port (default 6006, the one AutoDL maps).")
    p.add_argument("--host", default="0.0.0.0", help="Interface (default 0.0.0.0: reachable from outside).")
    p.add_argument("--model", help="embedded | a folder | a ModelScope id (default: LIANDAN_MODEL)")
    p.set_defaults(func=run)


def run(args) -> int:
    import uvicorn

    from core.api.app import DOCS_URL, create_app

    if not 1 <= args.port <= 65535:
        raise UserError("errors.serve.port_port", port=args.port)
    rt = runtime_for(args.model)
    install_runtime(rt)
    engine = load_engine(rt.models, rt.settings.model)
    shown = "127.0.0.1" if args.host == "0.0.0.0" else args.host
    print(f"{engine.info.name} ready. API on http://{shown}:{args.port} — docs: http://{shown}:{args.port}{DOCS_URL}"
          + (" (API key required)" if rt.settings.api_key else ""), file=sys.stderr, flush=True)
    uvicorn.run(create_app(rt, tutorial_root=True), host=args.host, port=args.port, log_level="info")
    return 0
