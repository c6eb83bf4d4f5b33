"""LoRA training on ChatGLM3 (native GLM) and export back to the tutorial's PEFT format.

The opt-in `peft011` test hands the export to the tutorial's own stack (transformers 4.41.2 +
peft 0.11.1 in a scratch virtualenv, the ORIGINAL remote-code model) and requires the same greedy
tokens. Make that virtualenv with:
  python -m venv /tmp/peft011 && /tmp/peft011/bin/pip install torch==2.13.0 transformers==4.41.2 peft==0.11.1 sentencepiece
and run:  LIANDAN_TEST_PEFT011_PYTHON=/tmp/peft011/bin/python pytest -m peft011
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from core.config import Settings
from core.runtime import create_runtime
from core.adapters.store import base_info
from core.tuning.presets import preset
from tests.chatglm3_fixture import chatglm3_dir, reference  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")
RECORDS = [{"instruction": f"Question {i}: where is the tower?", "input": "", "output": f"The tower is in Paris, number {i % 3}."}
           for i in range(16)]
GLM_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"]


def _greedy(engine, adapter, ids):
    with engine.lock.hold(), engine.variant(adapter) as module, torch.no_grad():
        logits = module(input_ids=torch.tensor([ids])).logits[0, -1]
        out = module.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                              max_new_tokens=10, do_sample=False)[0, len(ids):].tolist()
    return out, logits


@pytest.fixture(scope="module")
def trained(chatglm3_dir, tmp_path_factory):
    """A runtime on the ChatGLM3 fixture with one adapter trained by Liandan's own job."""
    data = tmp_path_factory.mktemp("glm-train") / "data"
    rt = create_runtime(Settings(data_dir=data, model=str(chatglm3_dir / "model"), load_on_start=False, embedding_model="hash",
                                 device="cpu", dtype="float32"))
    rt.models.load(str(chatglm3_dir / "model"))
    path = rt.finetune.save_dataset("towers.json", json.dumps(RECORDS).encode())
    job = rt.finetune.start(path, "towers", preset("quick", epochs=2, learning_rate=1e-2, batch_size=4, grad_accum=1,
                                                   val_fraction=0.0), dataset_name="towers.json")
    job = rt.jobs.wait(job.id, timeout=300)
    assert job.status == "done", job.error
    return rt


def test_lora_training_on_chatglm3_uses_the_native_targets(trained):
    card = trained.adapters.get("towers")
    assert card.hyperparameters["target_modules"] == GLM_TARGETS
    assert card.steps > 0 and card.train_loss is not None
    engine = trained.models.engine
    ids = engine.encode([{"role": "user", "content": "Question 2: where is the tower?"}])
    assert _greedy(engine, "towers", ids)[0] != _greedy(engine, None, ids)[0]  # the adapter changes the answer


def test_export_in_the_tutorial_format_round_trips_exactly(trained, tmp_path):
    engine = trained.models.engine
    base = base_info(engine)
    folder = trained.adapters.export_tutorial("towers", base, tmp_path / "tutorial-format")
    config = json.loads((folder / "adapter_config.json").read_text())
    assert sorted(config["target_modules"]) == ["dense", "dense_4h_to_h", "dense_h_to_4h", "query_key_value"]
    assert config["rank_pattern"] == {"query_key_value": 3 * config["r"]}
    assert config["base_model_name_or_path"] == "/root/autodl-tmp/ZhipuAI/chatglm3-6b"
    back = trained.adapters.import_folder(folder, trained.adapter_pool.fingerprint(), "towers-back", base)
    engine.load_adapter(back.name, trained.adapters.path(back.name))
    for case in reference()["cases"]:
        ids = engine.encode(case["history"] + [{"role": "user", "content": case["query"]}])
        original, logits = _greedy(engine, "towers", ids)
        again, logits_again = _greedy(engine, back.name, ids)
        assert again == original
        assert (logits - logits_again).abs().max().item() < 1e-5


@pytest.mark.peft011
def test_the_tutorials_peft_011_accepts_the_export_with_the_same_greedy_output(trained, chatglm3_dir, tmp_path):
    python = os.environ.get("LIANDAN_TEST_PEFT011_PYTHON", "")
    if not python or not Path(python).exists():
        pytest.skip("set LIANDAN_TEST_PEFT011_PYTHON to a Python with transformers==4.41.2 and peft==0.11.1 (see the module docstring)")
    engine = trained.models.engine
    folder = trained.adapters.export_tutorial("towers", base_info(engine), tmp_path / "towers-tutorial")
    cases = reference()["cases"]
    (tmp_path / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    done = subprocess.run([python, str(Path(__file__).with_name("peft011_probe.py")), str(chatglm3_dir / "model"), str(folder),
                           str(tmp_path / "cases.json")], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert theirs["peft_type"] == "PeftModelForCausalLM"
    for case, result in zip(cases, theirs["cases"]):
        assert result["input_ids"] == case["input_ids"]
        ours, _ = _greedy(engine, "towers", case["input_ids"])
        assert result["greedy_10"] == ours, (result["greedy_10"], ours)
    # the adapter really acted on their side: the base answers (reference_outputs.json) differ
    assert any(r["greedy_10"] != c["greedy_10"] for r, c in zip(theirs["cases"], cases))
