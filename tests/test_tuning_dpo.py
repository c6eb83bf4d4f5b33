"""DPO on the shared tiny model, through the real Fine-tune job: the loss falls, the chosen answers
gain probability over the rejected ones, and the card names its parent and vote set."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from core.errors import UserError
from core.tuning import dpo, pairs, preferences
from core.tuning.presets import preset
from core.compare.votes import Vote
from tests.test_tuning_train import RECORDS, make_runtime

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PAIRS = [{"prompt": f"Question {i}: where is the tower?", "chosen": "Yes, the tower is in Paris.",
          "rejected": f"No idea, number {i % 3}."} for i in range(16)]
DPO = dict(epochs=4, learning_rate=5e-3, batch_size=4, grad_accum=2, val_fraction=0.25, save_every=4, beta=0.5)


@pytest.fixture
def rt(tmp_path, tiny_model_dir):
    return make_runtime(tmp_path, tiny_model_dir)


def pairs_file(rt, items=PAIRS):
    return rt.finetune.save_dataset("votes-pairs.jsonl", pairs.to_jsonl(items))


def margin(rt, adapter: str | None) -> float:
    """Mean log-prob gap chosen − rejected over all pairs, for `adapter` (None = base)."""
    engine = rt.models.engine
    config = preset("dpo")
    encoded = [dpo.PairExample(dpo._encode(engine, p, p["chosen"], config), dpo._encode(engine, p, p["rejected"], config))
               for p in PAIRS]
    from core.tuning import loop

    batch = loop.collate([e.chosen for e in encoded] + [e.rejected for e in encoded], 0, None, "cpu")
    with engine.lock.hold(), torch.no_grad(), engine.variant(adapter):
        logps = dpo.sequence_logps(engine.model, batch)
    n = len(encoded)
    return float((logps[:n] - logps[n:]).mean())


def test_dpo_from_the_base_learns_the_preference_and_records_the_vote_set(rt):
    path = pairs_file(rt)
    job = rt.jobs.wait(rt.finetune.start(path, "prefers", preset("dpo", **DPO), dataset_name="votes-pairs.jsonl").id,
                       timeout=300)
    assert job.status == "done", job.error
    curve = [m["loss"] for m in job.metrics if "loss" in m]
    assert curve[0] == pytest.approx(0.6931, abs=0.02)  # -log σ(0): the new adapter starts as the base exactly
    assert sum(curve[-3:]) / 3 < curve[0] - 0.2, curve
    assert any("val_loss" in m for m in job.metrics)
    card = rt.adapters.get("prefers")
    assert card.extra["method"] == "dpo" and card.extra["parent"] == "base"
    assert card.extra["vote_set_sha256"] == hashlib.sha256(pairs.to_jsonl(PAIRS)).hexdigest() == card.dataset["sha256"]
    assert card.dataset["format"] == "preference" and card.dataset["records"] == 16
    assert card.extra["train_prompts"] == [p["prompt"] for p in PAIRS]
    assert (rt.adapters.path("prefers") / "adapter_model.safetensors").exists()
    assert margin(rt, "prefers") > margin(rt, None) + 1.0


def test_dpo_on_top_of_a_parent_starts_from_its_weights_and_keeps_its_persona(rt):
    sft = rt.finetune.save_dataset("towers.json", json.dumps(RECORDS).encode())
    parent_job = rt.finetune.start(sft, "towers", preset("quick", epochs=1, system_prompt="You are a guide."),
                                   dataset_name="towers.json")
    assert rt.jobs.wait(parent_job.id, timeout=300).status == "done"
    job = rt.finetune.start(pairs_file(rt), "towers-dpo", preset("dpo", parent="towers", **DPO),
                            dataset_name="votes-pairs.jsonl")
    job = rt.jobs.wait(job.id, timeout=300)
    assert job.status == "done", job.error
    curve = [m["loss"] for m in job.metrics if "loss" in m]
    # Starting as an exact copy of the parent, the first step's loss is -log σ(0) against it.
    assert curve[0] == pytest.approx(0.6931, abs=0.02)
    card = rt.adapters.get("towers-dpo")
    assert card.extra["parent"] == "towers" and card.system_prompt == "You are a guide."
    parent = rt.adapters.get("towers")
    assert card.hyperparameters["rank"] == parent.hyperparameters["rank"]
    assert margin(rt, "towers-dpo") > margin(rt, "towers") + 1.0
    # Without learning, the new adapter is the parent itself (its weights were copied, not a fresh LoRA).
    still = rt.finetune.start(pairs_file(rt), "towers-same", preset("dpo", parent="towers", **(DPO | {"learning_rate": 1e-12,
                              "epochs": 1})), dataset_name="votes-pairs.jsonl")
    assert rt.jobs.wait(still.id, timeout=300).status == "done"
    assert margin(rt, "towers-same") == pytest.approx(margin(rt, "towers"), abs=1e-3)
    assert abs(margin(rt, "towers") - margin(rt, None)) > 0.01


def test_a_bad_pairs_file_or_parent_is_refused_before_the_job_starts(rt):
    bad = rt.finetune.save_dataset("votes-pairs.jsonl", b'{"prompt": "q", "chosen": "a"}\nnot json\n')
    with pytest.raises(UserError) as refused:
        rt.finetune.start(bad, "x", preset("dpo"), dataset_name="votes-pairs.jsonl")
    assert "line 1" in str(refused.value) and "第 1 行" in refused.value.text("zh")
    with pytest.raises(UserError, match="No adapter named 'missing'"):
        rt.finetune.start(pairs_file(rt), "x", preset("dpo", parent="missing"), dataset_name="votes-pairs.jsonl")
    assert rt.finetune.jobs() == []


def test_exported_votes_train_directly(rt):
    votes = [Vote(a="base", b="towers", choice="B" if i % 2 else "A", prompt=f"问题 {i}：塔在哪里？",
                  answer_a=f"不知道 {i}", answer_b="塔在巴黎。") for i in range(10)]
    result = preferences.export(rt.finetune.save_dataset, votes, [])
    assert result.pairs == 8 and len(result.heldout) == 2  # 20% of 10 prompts held out
    config = dpo.check(rt.models.engine, rt.adapters, result.pairs_path, result.pairs_path.name, preset("dpo"))
    assert config.parent == ""
