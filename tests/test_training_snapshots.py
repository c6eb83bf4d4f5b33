"""A real tiny training: live metrics (loss, validation loss, gradient norm, learning rate) recorded and
kept on the card, and checkpoints saved as adapters `name@stepN` that load, answer and compete blind."""

from __future__ import annotations

import math

import pytest

from core.errors import UserError
from core.models.options import GenerationOptions
from core.compare.runs import new_run, run_all
from core.tuning.presets import preset
from tests.test_tuning_train import CONFIG, dataset, make_runtime

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    rt = make_runtime(tmp_path_factory.mktemp("snap"), tiny_model_dir)
    job = rt.finetune.start(dataset(rt), "towers", preset("quick", **(CONFIG | {"snapshot_every": 4})), dataset_name="towers.json")
    return rt, rt.jobs.wait(job.id, timeout=300)


def test_metrics_are_recorded_every_step_and_kept_on_the_card(trained):
    rt, job = trained
    assert job.status == "done", job.error
    total = job.details["total_steps"]
    steps = [m for m in job.metrics if "loss" in m]
    assert [m["step"] for m in steps] == list(range(1, total + 1))
    assert all(m["grad_norm"] > 0 and math.isfinite(m["grad_norm"]) for m in steps)
    lrs = [m["lr"] for m in steps]
    assert max(lrs) <= 5e-3 * 1.0001 and lrs[-1] < lrs[len(lrs) // 2]  # linear decay after warmup
    vals = [m for m in job.metrics if "val_loss" in m]
    assert vals and vals[-1]["step"] == total and all(v["val_loss"] > 0 for v in vals)
    card = rt.adapters.get("towers")
    kept = card.extra["metrics"]
    assert [m["step"] for m in kept if "loss" in m] == list(range(1, total + 1))
    assert any("grad_norm" in m for m in kept) and any("val_loss" in m for m in kept)
    assert card.val_loss == vals[-1]["val_loss"]


def test_checkpoints_are_adapters_that_load_answer_and_compete_blind(trained):
    rt, job = trained
    total = job.details["total_steps"]  # 12: snapshots at 4 and 8, the final adapter at 12
    names = sorted(c.name for c in rt.adapters.list())
    assert names == ["towers", "towers@step4", "towers@step8"]
    snap = rt.adapters.get("towers@step4")
    assert snap.steps == 4 and snap.extra["checkpoint_of"] == "towers" and snap.extra["step"] == 4
    assert [m["step"] for m in snap.extra["metrics"] if "loss" in m] == [1, 2, 3, 4]  # its own curve, up to step 4
    assert rt.adapters.get("towers").extra["snapshots"] == ["towers@step4", "towers@step8"]
    assert rt.adapters.get("towers").steps == total
    pool = rt.adapter_pool
    assert {"towers@step4", "towers@step8"} <= {c.name for c in pool.compatible()}
    run = run_all(pool, new_run(pool, ["towers@step4", "towers"], ["Question 1: where is the tower?"],
                                GenerationOptions(temperature=0, max_new_tokens=8, seed=1)))
    early, final = run.answers[0]
    assert early.finish_reason and final.finish_reason and not early.error and not final.error
    assert early.text and final.text
    engine = rt.models.engine
    assert "towers@step4" in engine.adapter_names()
    # The checkpoint's weights are its own, not the final adapter's.
    import torch

    ids = torch.tensor([engine.encode([{"role": "user", "content": "Question 1: where is the tower?"}])])
    with engine.lock.hold(), torch.no_grad():
        with engine.variant("towers@step4") as m:
            at4 = m(input_ids=ids).logits
        with engine.variant("towers") as m:
            at12 = m(input_ids=ids).logits
    assert not torch.allclose(at4, at12, atol=1e-4)


def test_a_training_name_cannot_take_the_checkpoint_suffix(trained):
    rt, _ = trained
    with pytest.raises(UserError, match="'@'"):
        rt.finetune.start(dataset(rt), "x@step3", preset("quick", **CONFIG), dataset_name="towers.json")
    with pytest.raises(UserError):
        rt.adapters.path("x@3")  # only '@step' and digits form a checkpoint name
