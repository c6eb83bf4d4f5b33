"""bench/gpu_check.py runs on CPU in the suite (CUDA rows skipped) so it cannot rot before a GPU
is lent; its exit status fails on any failed row."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.chatglm3_fixture import require_fixture
from tests.conftest import REPO



def test_gpu_check_runs_its_cpu_rows_and_skips_cuda(tmp_path, tiny_model_dir):
    require_fixture()  # the ChatGLM3 rows read ../shared (a failure in CI, a skip elsewhere)
    out = tmp_path / "rows.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu_check.py"), "--device", "cpu", "--model",
         str(tiny_model_dir), "--data-dir", str(tmp_path / "data"), "--json", str(out)],
        capture_output=True, text=True, timeout=600, env=env, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = json.loads(out.read_text())
    base = [r for r in rows if r["group"] == "base" and r["device"] == "cpu"]
    assert [r["check"] for r in base] == ["load", "stream", "stop", "train 5 LoRA steps + chat", "compare"]
    assert all(r["status"] == "ok" for r in base), base
    assert "5 steps" in base[3]["note"] and "tokens" in base[4]["note"]
    cuda = [r for r in rows if r["device"] == "cuda"]
    assert cuda and all(r["status"].startswith("skipped") for r in cuda)
    assert {r["dtype"] for r in cuda} >= {"bfloat16", "float16"}
    glm = [r for r in rows if r["group"] == "chatglm3" and r["device"] == "cpu"]
    assert [r["check"] for r in glm] == ["load", "stream", "stop"]
    assert all(r["status"] == "ok" for r in glm), glm
    assert "| group | check | device | dtype | status |" in proc.stdout


def test_a_failed_row_fails_the_run_and_skips_what_needs_it():
    sys.path.insert(0, str(REPO / "bench"))
    import gpu_check

    def boom() -> str:
        raise RuntimeError("no such attribute")

    strict = gpu_check.Checker()
    strict.run("chatglm3", "load", "cpu", "float32", boom)
    strict.run("chatglm3", "stream", "cpu", "float32", lambda: "never runs")
    assert strict.exit_code == 1
    assert strict.rows[0].status == "failed: RuntimeError: no such attribute"
    assert strict.rows[1].status.startswith("skipped: an earlier check")
