"""Merge an adapter into its base and export a standalone model folder.

Merging into the shared model would change every chat's answers, so this loads a copy
of the base on the CPU (never on the GPU the shared model uses), merges there and saves.
Runs as a job: on a 6B model it takes minutes and ~2x the weights in RAM.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict

import torch

from core.errors import UserError
from core.jobs import JobContext
from core.models.capabilities import require_mergeable
from core.tuning.adapters import fingerprint

MERGE_JOB = "merge-adapter"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def run_merge(runtime, ctx: JobContext) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    name = ctx.job.params["name"]
    engine = require_mergeable(runtime.models.require())
    card = runtime.adapters.get(name)
    if card.base_fingerprint != fingerprint(engine.base_config):
        raise UserError(
            f"Adapter '{name}' was trained on another base.", "Load its base model first.",
            zh=f"适配器“{name}”是在另一个基座模型上训练的。",
            zh_hint="请先加载它的基座模型。",
        )
    out = runtime.settings.finetune_dir / "exports" / name
    staging = out.with_name(f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    ctx.report(0.05, "Loading a CPU copy of the base model…", message_zh="正在加载基座模型的 CPU 副本……")
    base = AutoModelForCausalLM.from_pretrained(
        engine.info.path, dtype=DTYPES.get(engine.info.dtype, torch.float32),
        trust_remote_code=runtime.settings.trust_remote_code,
    )
    ctx.check_cancel()
    ctx.report(0.5, "Merging the adapter…", message_zh="正在合并适配器……")
    merged = PeftModel.from_pretrained(base, str(runtime.adapters.path(name))).merge_and_unload()
    ctx.check_cancel()
    ctx.report(0.7, "Saving the merged model…", message_zh="正在保存合并后的模型……")
    merged.save_pretrained(staging)
    engine.save_tokenizer(staging)
    (staging / "liandan_adapter.json").write_text(json.dumps(asdict(card), ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    ctx.set_result(path=str(out))
    ctx.report(1.0, f"Exported to {out}", message_zh=f"已导出到 {out}")
