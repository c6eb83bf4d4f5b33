"""`python -m core <command>`: one entry point; each module here adds its subcommands.

A module defines `register(subparsers)` and sets `func` on its parsers; discovery keeps
capabilities (chat, index, train, serve…) from editing a central list.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from core.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Liandan from the command line.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
