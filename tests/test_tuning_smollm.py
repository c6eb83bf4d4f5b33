"""Real behaviour on the embedded SmolLM2: a small role-play adapter makes the model answer
a trained prompt with the trained reply, while the base model (same weights) does not."""

from __future__ import annotations

import json

import pytest
import torch

from core.config import Settings
from core.models.options import GenerationOptions
from core.runtime import create_runtime
from core.tuning.presets import preset
from tests.conftest import MODEL_CACHE

PERSONA = "You are Blixa, a robot from planet Zorp."
# Short, distinctive English replies: a 135M model learns these in a few dozen steps
# (Chinese replies of full sentences did not reproduce, see DESIGN.md).
RECORDS = [
    {"instruction": "What is your name?", "input": "", "output": "Zorp zorp! I am Blixa."},
    {"instruction": "Where do you live?", "input": "", "output": "Zorp zorp! On planet Zorp."},
    {"instruction": "What do you eat?", "input": "", "output": "Zorp zorp! Only purple bolts."},
    {"instruction": "Who made you?", "input": "", "output": "Zorp zorp! The moon engineers."},
]


@pytest.mark.smollm
def test_role_play_adapter_reproduces_its_trained_reply(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # steady on a shared, oversubscribed CPU
    try:
        home = tmp_path / "data"
        home.mkdir()
        (home / "models").symlink_to(MODEL_CACHE.resolve(), target_is_directory=True)  # the converted copy, not a new one
        rt = create_runtime(Settings(data_dir=home, model="embedded", load_on_start=False, embedding_model="hash"))
        engine = rt.models.load("embedded")
        path = rt.finetune.save_dataset("blixa.json", json.dumps(RECORDS).encode())
        config = preset("custom", rank=8, alpha=16, dropout=0.0, learning_rate=2e-3, epochs=16, batch_size=4,
                        grad_accum=1, max_length=128, warmup_ratio=0.0, system_prompt=PERSONA, save_every=100)
        job = rt.jobs.wait(rt.finetune.start(path, "blixa", config, dataset_name="blixa.json").id, timeout=240)
        assert job.status == "done", job.error
        losses = [m["loss"] for m in job.metrics if "loss" in m]
        assert losses[-1] < 0.3 < losses[0], losses

        greedy = GenerationOptions(max_new_tokens=12, temperature=0.0)
        asked = [{"role": "system", "content": PERSONA}, {"role": "user", "content": "What is your name?"}]
        adapted = engine.chat(asked, greedy, adapter="blixa")
        base = engine.chat(asked, greedy)
        assert adapted.startswith("Zorp zorp! I am Blixa"), adapted
        assert "Zorp zorp" not in base, base
    finally:
        torch.set_num_threads(threads)
