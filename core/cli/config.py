"""`python -m core config`: every setting, its env var, default and meaning (README's table)."""

from __future__ import annotations

from core.config import Settings


def register(subparsers) -> None:
    p = subparsers.add_parser("config", help="List the LIANDAN_* settings as a Markdown table.")
    p.set_defaults(func=run)
    h = subparsers.add_parser("hash-password", help="Print a hashed password for .streamlit/secrets.toml.")
    h.add_argument("password")
    h.set_defaults(func=hash_password)


def markdown_table() -> str:
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default
        shown = "" if default is None else str(default)
        if isinstance(default, list):
            shown = "[" + ", ".join(f'"{v}"' for v in default) + "]"
        rows.append(f"| `LIANDAN_{name.upper()}` | `{shown}` | {field.description or ''} |")
    return "\n".join(rows)


def run(args) -> int:
    print(markdown_table())
    return 0


def hash_password(args) -> int:
    from core.auth import hash_password as hashed

    print(f'password = "{hashed(args.password)}"')
    return 0
