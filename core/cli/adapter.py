"""`python -m core adapter-import` / `adapter-export`: the Fine-tune page's adapter import and export.

Import takes a Liandan zip or adapter folder, or a plain PEFT folder/zip such as what the
ChatGLM3 tutorial's `lora_finetune.py` writes (peft 0.11, `adapter_model.bin`), checked
against the model it will run on (LIANDAN_MODEL or --model), which is loaded for that.
"""

from __future__ import annotations

from pathlib import Path

from core.cli.common import load_engine, runtime_for
from core.errors import UserError
from core.adapters.pool import engine_fingerprint
from core.adapters.store import base_info


def register(subparsers) -> None:
    p = subparsers.add_parser("adapter-import", help="Import a LoRA adapter (folder or zip; Liandan or PEFT, e.g. the ChatGLM3 tutorial's).")
    p.add_argument("path", type=Path, help="Adapter folder or .zip")
    p.add_argument("--name", help="Name to store it under (default: its card's, or the folder/zip name).")
    p.add_argument("--model", help="embedded | a folder | a ModelScope id (default: LIANDAN_MODEL)")
    p.set_defaults(func=run_import)
    e = subparsers.add_parser("adapter-export", help="Write an adapter as a PEFT folder; --format tutorial for the ChatGLM3 tutorial's names.")
    e.add_argument("name", help="Adapter name")
    e.add_argument("out", type=Path, help="Folder to write (must not exist)")
    e.add_argument("--format", choices=["tutorial", "zip"], default="tutorial",
                   help="tutorial: adapter_config.json + weights for PeftModel.from_pretrained on the original ChatGLM3; zip: Liandan's own zip")
    e.add_argument("--model", help="embedded | a folder | a ModelScope id (default: LIANDAN_MODEL)")
    e.set_defaults(func=run_export)


def _engine(model: str | None):
    rt = runtime_for(model)
    engine = load_engine(rt.models, rt.settings.model)
    return rt, engine


def run_import(args) -> int:
    if not args.path.exists():
        raise UserError("errors.adapter.does_exist", path=args.path)
    rt, engine = _engine(args.model)
    card = rt.adapters.import_path(args.path, engine_fingerprint(engine), args.name, base_info(engine))
    note = " (converted from ChatGLM3's module names)" if card.extra.get("converted_from") else ""
    print(f"Imported adapter '{card.name}' for {card.base_model}{note}: {rt.adapters.path(card.name)}")
    return 0


def run_export(args) -> int:
    if args.out.exists():
        raise UserError("errors.adapter.already_exists", out=args.out)
    rt, engine = _engine(args.model)
    if args.format == "zip":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(rt.adapters.export_zip(rt.adapters.get(args.name).name))
    else:
        rt.adapters.get(args.name)
        rt.adapters.export_tutorial(args.name, base_info(engine), args.out)
    print(f"Wrote {args.out}")
    return 0
