"""LoRA training on the shared tiny model: loss falls, cancel/restart/resume, cards, sharing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from core.config import Settings
from core.errors import UserError
from core.models.options import GenerationOptions
from core.runtime import create_runtime
from core.tuning import loop, memory
from core.adapters.store import fingerprint
from core.tuning.presets import preset, target_modules
from core.tuning.train import CHECKPOINT, TrainingRun
from tests.conftest import REPO
from tests.factories import build_model

RECORDS = [{"instruction": f"Question {i}: where is the tower?", "input": "",
            "output": f"The tower is in Paris, number {i % 3}."} for i in range(24)]
CONFIG = dict(epochs=4, learning_rate=3e-3, batch_size=4, grad_accum=2, val_fraction=0.2, save_every=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_runtime(tmp_path, model_dir):
    rt = create_runtime(Settings(data_dir=tmp_path / "data", model=str(model_dir), load_on_start=False, embedding_model="hash"))
    rt.models.load(str(model_dir))
    return rt


@pytest.fixture
def rt(tmp_path, tiny_model_dir):
    return make_runtime(tmp_path, tiny_model_dir)


def dataset(rt, records=RECORDS):
    return rt.finetune.save_dataset("towers.json", json.dumps(records).encode())


def train(rt, name, **overrides):
    job = rt.finetune.start(dataset(rt), name, preset("quick", **(CONFIG | overrides)), dataset_name="towers.json")
    return rt.jobs.wait(job.id, timeout=300)


def losses(job):
    return {m["step"]: m["loss"] for m in job.metrics if "loss" in m}


def base_pointers(engine):
    """Storage of every base tensor (names change when LoRA wraps a layer; storage must not)."""
    return sorted(p.data_ptr() for n, p in engine.model.named_parameters() if "lora_" not in n)


def test_loss_falls_and_the_card_says_how_the_adapter_was_made(rt):
    job = train(rt, "towers")
    assert job.status == "done", job.error
    curve = losses(job)
    total = job.details["total_steps"]
    assert sorted(curve) == list(range(1, total + 1)) and total == 4 * 3  # 19 train records → 5 batches → 3 steps/epoch
    first, last = curve[1], sum(curve[s] for s in range(total - 2, total + 1)) / 3
    assert last < first - 0.3, curve
    assert any("val_loss" in m for m in job.metrics)
    card = rt.adapters.get("towers")
    engine = rt.models.engine
    assert card.base_fingerprint == fingerprint(engine.model.config)
    assert card.dataset["name"] == "towers.json" and card.dataset["records"] == 24 and card.dataset["val_records"] == 5
    assert card.dataset["sha256"] == hashlib.sha256(json.dumps(RECORDS).encode()).hexdigest()
    assert card.hyperparameters["rank"] == 8 and card.hyperparameters["target_modules"] == target_modules(engine.model)
    assert card.steps == total and card.train_loss is not None and card.val_loss is not None
    assert card.chat_template == engine.tokenizer.chat_template and card.duration_seconds > 0
    assert "towers" in engine.adapter_names()  # usable in chat right away
    # The saved files reproduce the in-place adapter on a fresh copy of the base.
    fresh = make_runtime(rt.settings.home.parent / "fresh", engine.info.path).models.engine
    fresh.load_adapter("towers", rt.adapters.path("towers"))
    ids = torch.tensor([engine.encode([{"role": "user", "content": "Question 1: where is the tower?"}])])
    with engine.lock.hold(), engine.variant("towers") as m1, torch.no_grad():
        trained = m1(input_ids=ids).logits
    with fresh.lock.hold(), fresh.variant("towers") as m2, torch.no_grad():
        reloaded = m2(input_ids=ids).logits
    with fresh.lock.hold(), fresh.variant(None) as m3, torch.no_grad():
        base = m3(input_ids=ids).logits
    assert torch.allclose(trained, reloaded, atol=1e-5) and not torch.allclose(trained, base, atol=1e-3)


def test_bad_dataset_and_taken_name_are_refused_before_the_job_starts(rt):
    bad = rt.finetune.save_dataset("bad.jsonl", b'{"instruction": "a", "output": "b"}\n{"instruction": "q", "output": ""}\n')
    with pytest.raises(UserError, match="line 2: 'output' is empty"):
        rt.finetune.start(bad, "x", preset("quick"))
    with pytest.raises(UserError, match="'.'"):
        rt.finetune.start(dataset(rt), "v1.0", preset("quick"))
    assert rt.finetune.jobs() == []


def test_chat_is_served_while_training_on_the_same_base_weights(rt):
    engine = rt.models.engine
    before = base_pointers(engine)
    job = rt.finetune.start(dataset(rt), "busy", preset("quick", **(CONFIG | {"epochs": 60})), dataset_name="towers.json")
    deadline = time.time() + 60
    while time.time() < deadline and rt.jobs.get(job.id).details.get("step", 0) < 2:
        time.sleep(0.05)
    answer = engine.stream([{"role": "user", "content": "hello"}], GenerationOptions(max_new_tokens=4, temperature=0))
    answer.result()
    during = rt.jobs.get(job.id)
    assert during.status == "running" and answer.stats.completion_tokens > 0
    assert during.details["step"] < during.details["total_steps"]
    # One copy: the trained model is the engine's model; every base tensor is the same storage.
    assert engine.peft.base_model.model is engine.model
    assert base_pointers(engine) == before
    assert any(p.requires_grad for n, p in engine.model.named_parameters() if ".busy." in n)
    rt.jobs.cancel(job.id)
    done = rt.jobs.wait(job.id, timeout=60)
    assert done.status == "cancelled" and not engine.model.training


def test_cancel_then_resume_matches_an_uninterrupted_run(rt, monkeypatch):
    reference = losses(train(rt, "straight"))
    original = TrainingRun._step

    def press_cancel_after_five(self, *args):  # the user clicks Cancel during step 5
        loss = original(self, *args)
        if sum("loss" in m for m in self.ctx.job.metrics) == 4:
            rt.jobs.cancel(self.ctx.job.id)
        return loss

    monkeypatch.setattr(TrainingRun, "_step", press_cancel_after_five)
    job = rt.finetune.start(dataset(rt), "stopped", preset("quick", **CONFIG), dataset_name="towers.json")
    cancelled = rt.jobs.wait(job.id, timeout=60)
    assert cancelled.status == "cancelled"
    stopped_at = max(losses(cancelled))
    assert stopped_at == 5 and cancelled.details["checkpoint_step"] == 5
    assert not rt.adapters.exists("stopped")
    monkeypatch.setattr(TrainingRun, "_step", original)
    resumed = rt.jobs.wait(rt.finetune.resume(job.id).id, timeout=300)
    assert resumed.status == "done", resumed.error
    curve = losses(resumed)
    assert sorted(curve) == sorted(reference)  # same total steps, each once
    for step, value in reference.items():
        assert curve[step] == pytest.approx(value, rel=1e-3, abs=1e-4), step
    assert rt.adapters.get("stopped").steps == len(reference)


CRASH = """
import json, os, sys, time
sys.path.insert(0, {repo!r})
import torch
torch.set_num_threads(1)
from core.config import Settings
from core.runtime import create_runtime
from core.tuning.presets import preset
rt = create_runtime(Settings(data_dir={data!r}, model={model!r}, load_on_start=False, embedding_model="hash"))
rt.models.load({model!r})
path = rt.finetune.save_dataset("towers.json", json.dumps({records!r}).encode())
from core.tuning.train import TrainingRun
original, calls = TrainingRun._step, []

def die_in_step_six(self, *args):
    calls.append(1)
    if len(calls) == 6:
        os._exit(0)  # the app dies mid-run: no cancel, no cleanup
    return original(self, *args)

TrainingRun._step = die_in_step_six
job = rt.finetune.start(path, "crashy", preset("quick", **{config!r}), dataset_name="towers.json")
rt.jobs.wait(job.id)
"""


def test_a_job_interrupted_by_a_restart_resumes_from_its_checkpoint(tmp_path, tiny_model_dir, rt):
    reference = losses(train(rt, "reference"))
    data = tmp_path / "crash-data"
    script = CRASH.format(repo=str(REPO), data=str(data), model=str(tiny_model_dir), records=RECORDS, config=CONFIG)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=180, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    restarted = create_runtime(Settings(data_dir=data, model=str(tiny_model_dir), load_on_start=False, embedding_model="hash"))
    [job] = restarted.finetune.jobs()
    assert job.status == "interrupted" and max(losses(job)) == 5
    assert torch.load(restarted.finetune.run_dir(job.id) / CHECKPOINT, weights_only=False)["step"] == 4
    restarted.models.load(str(tiny_model_dir))
    resumed = restarted.jobs.wait(restarted.finetune.resume(job.id).id, timeout=300)
    assert resumed.status == "done", resumed.error
    curve = losses(resumed)
    assert sorted(curve) == sorted(reference)  # points after the checkpoint were replaced, not duplicated
    for step, value in reference.items():
        assert curve[step] == pytest.approx(value, rel=1e-3, abs=1e-4), step


def test_zip_from_another_base_is_refused_and_same_base_accepted(rt, tmp_path):
    assert train(rt, "portable", epochs=1).status == "done"
    data = rt.adapters.export_zip("portable")
    other = make_runtime(tmp_path / "other", build_model(tmp_path / "qwen", "qwen2"))
    with pytest.raises(UserError, match="different base"):
        other.adapters.import_zip(data, fingerprint(other.models.engine.model.config))
    assert other.adapters.list() == []
    card = rt.adapters.import_zip(data, fingerprint(rt.models.engine.model.config), name="portable-copy")
    assert card.name == "portable-copy" and rt.adapters.get("portable-copy").steps == rt.adapters.get("portable").steps


def test_length_grouping_pads_less_within_the_token_budget_and_uses_every_example_once():
    lengths = [5, 50, 6, 48, 7, 51, 5, 49] * 4
    grouped = preset("custom", batch_size=4, grad_accum=2, max_length=128, epochs=1)
    plain = grouped.model_copy(update={"group_by_length": False})
    padded = plain.model_copy(update={"pad_to_max_length": True, "batch_size": 1, "grad_accum": 8})

    def passes(cfg):
        return [b for _, micro in loop.step_plan(lengths, cfg) for b in micro]

    def padding(cfg):
        width = (lambda b: cfg.max_length) if cfg.pad_to_max_length else (lambda b: max(lengths[i] for i in b))
        return sum(width(b) * len(b) - sum(lengths[i] for i in b) for b in passes(cfg))

    assert sorted(i for b in passes(grouped) for i in b) == list(range(len(lengths)))
    assert padding(grouped) < padding(plain) / 4 and padding(plain) < padding(padded)
    assert all(max(lengths[i] for i in b) * len(b) <= 128 and len(b) <= 4 for b in passes(grouped))
    assert [len(sum(micro, [])) for _, micro in loop.step_plan(lengths, grouped)] == [8] * 4  # 8 examples per step
    assert len(loop.step_plan(lengths, grouped.model_copy(update={"epochs": 3}))) == 3 * loop.steps_per_epoch(32, grouped)


def test_target_modules_and_memory_preflight(rt):
    model = rt.models.engine.model
    assert target_modules(model) == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    small = memory.estimate(model, preset("quick"), longest=64)
    padded = memory.estimate(model, preset("tutorial", pad_to_max_length=True, answer_only_logits=False), longest=64)
    assert 0 < small.need_gb < padded.need_gb and small.fits and small.available_gb > 0
    assert memory.lora_parameters(model, preset("quick")) > 0


def test_cli_trains_with_a_progress_bar_and_names_bad_lines(tmp_path, tiny_model_dir, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("LIANDAN_DATA_DIR", str(tmp_path / "cli-data"))
    good = tmp_path / "towers.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in RECORDS[:8]), encoding="utf-8")
    assert main(["train", "--data", str(good), "--name", "cli", "--model", str(tiny_model_dir), "--epochs", "1"]) == 0
    out = capsys.readouterr()
    assert "Saved adapter 'cli'" in out.out and "step" in out.err  # tqdm draws on stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "q", "output": ""}\n', encoding="utf-8")
    assert main(["train", "--data", str(bad), "--name", "x", "--model", str(tiny_model_dir)]) == 2
    assert "line 2: 'output' is empty" in capsys.readouterr().err


def test_merge_into_the_base_exports_a_standalone_model_with_the_same_answers(rt):
    from transformers import AutoModelForCausalLM

    assert train(rt, "merged", epochs=1, learning_rate=1e-2).status == "done"
    job = rt.jobs.wait(rt.finetune.merge("merged").id, timeout=120)
    assert job.status == "done", job.error
    exported = AutoModelForCausalLM.from_pretrained(job.result["path"])
    engine = rt.models.engine
    ids = torch.tensor([engine.encode([{"role": "user", "content": "Question 2: where is the tower?"}])])
    with engine.lock.hold(), engine.variant("merged") as adapted, torch.no_grad():
        expected = adapted(input_ids=ids).logits
    with torch.no_grad():
        assert torch.allclose(exported(input_ids=ids).logits, expected, atol=1e-4)
    assert json.loads((rt.settings.finetune_dir / "exports" / "merged" / "liandan_adapter.json").read_text())["name"] == "merged"


def test_an_oversized_dataset_upload_is_refused_by_name(tmp_path):
    from core.errors import UserError

    rt = create_runtime(Settings(data_dir=tmp_path / "data", load_on_start=False, max_upload_mb=1))
    with pytest.raises(UserError, match="big.jsonl is too large"):
        rt.finetune.save_dataset("big.jsonl", b"x" * 1_100_000)
    assert rt.finetune.save_dataset("small.jsonl", b"{}").exists()
