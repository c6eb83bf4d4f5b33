"""Process memory with three LoRA adapters on the embedded model vs the base alone.

Claim checked: adapters are PEFT named adapters on the one loaded base, so loading three
of them costs a few percent of the process, not a copy of the model each (target: within
5% of the base alone). The adapters are random LoRA weights in the tutorial's shape
(r=8 on every linear layer), written by a child process so building them does not
inflate this process's memory.

    .venv/bin/python bench/adapters_memory.py [--rank 8] [--adapters 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

from core.config import Settings  # noqa: E402
from core.models.options import GenerationOptions  # noqa: E402

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
OPTIONS = GenerationOptions(max_new_tokens=16, temperature=0.0)
QUESTION = [{"role": "user", "content": "你是谁？"}]


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def make_adapters(model_dir: Path, folder: Path, count: int, rank: int) -> None:
    """(Child process) save `count` random LoRA adapters with cards for the model in `model_dir`."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from core.adapters.store import AdapterCard, AdapterStore, fingerprint

    store = AdapterStore(folder)
    for i in range(count):
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        peft = get_peft_model(model, LoraConfig(r=rank, lora_alpha=4 * rank, target_modules=TARGETS))
        with torch.no_grad():
            for name, param in peft.named_parameters():
                if "lora_B" in name:
                    param.normal_(0, 0.02, generator=torch.Generator().manual_seed(i))
        peft.save_pretrained(store.path(f"adapter-{i}"))
        store.save_card(AdapterCard(
            name=f"adapter-{i}", base_model=model_dir.name, base_fingerprint=fingerprint(model.config),
            system_prompt=f"You are persona number {i}.",
        ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--adapters", type=int, default=3)
    parser.add_argument("--make", nargs=2, metavar=("MODEL_DIR", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_adapters(Path(args.make[0]), Path(args.make[1]), args.adapters, args.rank)
        return

    from core.models import loader, sources
    from core.adapters.pool import AdapterPool
    from core.adapters.store import AdapterStore

    settings = Settings()
    resolved = sources.resolve("embedded", settings.models_dir)
    start = rss_mb()
    engine = loader.load(resolved, device="cpu", dtype="float32")
    base_answer = engine.chat(QUESTION, OPTIONS)  # warm: allocator pools and caches as in real use
    base = rss_mb()
    params_mb = sum(p.numel() * p.element_size() for p in engine.model.parameters()) / 2**20

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, __file__, "--make", str(resolved.path), tmp, "--adapters", str(args.adapters), "--rank", str(args.rank)],
            check=True,
        )
        store = AdapterStore(Path(tmp))
        pool = AdapterPool(store, lambda: engine, limit=args.adapters)
        files_mb = sum(f.stat().st_size for f in Path(tmp).rglob("adapter_model.safetensors")) / 2**20
        answers = {}
        for card in store.list():
            answers[card.name] = pool.stream(card.name, QUESTION, OPTIONS).result()
        base_again = pool.stream(None, QUESTION, OPTIONS).result()
        loaded = rss_mb()
        names = pool.loaded()

    growth = loaded - base
    print(f"model: {engine.info.name} ({engine.info.parameters / 1e6:.0f}M parameters, {params_mb:.0f} MB of weights, {engine.info.dtype})")
    print(f"process RSS before loading:           {start:8.1f} MB")
    print(f"process RSS, base alone (warm):        {base:8.1f} MB")
    print(f"process RSS, {len(names)} adapters loaded (r={args.rank}): {loaded:8.1f} MB   ({', '.join(names)})")
    print(f"adapter files on disk (all):           {files_mb:8.1f} MB")
    print(f"growth: {growth:+.1f} MB = {100 * growth / base:+.2f}% of the base alone (target: within 5%)")
    print(f"a second copy of the base instead would add ~{params_mb:.0f} MB = {100 * params_mb / base:.0f}% per variant")
    print(f"base answer unchanged after adapters were used: {base_again == base_answer}")
    print(f"adapters answer differently from the base: {sum(a != base_answer for a in answers.values())}/{len(answers)}")
    if growth / base > 0.05:
        sys.exit("FAIL: more than 5% growth")


if __name__ == "__main__":
    main()
