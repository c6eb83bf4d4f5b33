"""Merge an adapter into its base and export a standalone model folder.

Merging into the shared model would change every chat's answers, so this loads a copy
of the base on the CPU (never on the GPU the shared model uses), merges there and saves.
Runs as a job: on a 6B model it takes minutes and ~2x the weights in RAM.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict

import torch

from core.errors import UserError
from core.jobs import JobContext
from core.models.capabilities import require_mergeable
from core.adapters import ollama
from core.adapters.store import fingerprint
from core.i18n import msg

log = logging.getLogger(__name__)
MERGE_JOB = "merge-adapter"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def run_merge(runtime, ctx: JobContext) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    name = ctx.job.params["name"]
    engine = require_mergeable(runtime.models.require())
    card = runtime.adapters.get(name)
    if card.base_fingerprint != fingerprint(engine.base_config):
        raise UserError("errors.merge.adapter_trained_another_base", name=name)
    out = runtime.settings.finetune_dir / "exports" / name
    staging = out.with_name(f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    ctx.report(0.05, msg("job.merge.loading_cpu_copy_base"))
    base = AutoModelForCausalLM.from_pretrained(
        engine.info.path, dtype=DTYPES.get(engine.info.dtype, torch.float32),
        trust_remote_code=runtime.settings.trust_remote_code,
    )
    ctx.check_cancel()
    ctx.report(0.5, msg("job.merge.merging_adapter"))
    merged = PeftModel.from_pretrained(base, str(runtime.adapters.path(name))).merge_and_unload()
    ctx.check_cancel()
    ctx.report(0.7, msg("job.merge.saving_merged_model"))
    merged.save_pretrained(staging)
    engine.save_tokenizer(staging)
    (staging / "liandan_adapter.json").write_text(json.dumps(asdict(card), ensure_ascii=False, indent=1), encoding="utf-8")
    try:
        files = ollama.export_files(card, engine.tokenizer, card.base_model, merged=True)
    except UserError as exc:  # a template Ollama's cannot express: the merged model is still exported, without a Modelfile
        log.warning("no Modelfile for %s: %s", name, exc)
        files = {}
    for file, text in files.items():
        (staging / file).write_text(text, encoding="utf-8")  # Modelfile, README, chat template: the persona travels
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    ctx.set_result(path=str(out), modelfile=bool(files))
    ctx.report(1.0, msg("job.merge.exported", out=out))
