"""Watched folder: from a change on disk to the finished index run, against debounce + run time.

Claim checked: a change is picked up within the debounce time plus the run (the watcher adds no
more than its poll tick, debounce/4 capped at 0.5 s, plus starting the job); a burst of 500 files
is one run and no file is embedded twice. Real watchdog observer, real Chroma, real jobs; the
embedder is the settings' default (or `--embedder hash` to time the watcher alone).

    .venv/bin/python bench/watch.py [--debounce 2] [--edits 5] [--burst 500] [--embedder embedded-use]

Timings on a shared, loaded machine are noisy: read the overhead column, not the absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import Settings  # noqa: E402
from core.jobs import Job, JobRegistry  # noqa: E402
from core.kb.manager import INDEX_JOB, KnowledgeBaseManager  # noqa: E402


def watched(kbs: KnowledgeBaseManager) -> list[Job]:
    return [j for j in kbs.jobs.list(INDEX_JOB) if j.params.get("watched")]


def next_run(kbs: KnowledgeBaseManager, seen: int, settle_s: float) -> Job:
    """The first watched run after `seen` runs, once it finished and nothing followed for `settle_s`."""
    while True:
        runs = watched(kbs)
        if len(runs) > seen and all(not j.active for j in runs) and time.time() - max(j.finished or 0 for j in runs) > settle_s:
            return min(runs[: len(runs) - seen], key=lambda j: j.created)
        time.sleep(0.02)


def row(label: str, changed: float, job: Job, debounce: float) -> dict:
    latency = job.finished - changed
    run = job.finished - job.started
    return {"label": label, "latency": latency, "run": run, "indexer": job.result.get("seconds", 0.0),
            "overhead": latency - debounce - run, "indexed": job.result.get("indexed", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debounce", type=float, default=2.0)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--embedder", default=Settings().embedding_model)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "server" / "notes"
        folder.mkdir(parents=True)
        (folder / "a.md").write_text("# 甲\n\n起点。", encoding="utf-8")
        settings = Settings(data_dir=root / "data", load_on_start=False, embedding_model=args.embedder,
                            kb_roots=[root / "server"], kb_watch_debounce_s=args.debounce)
        kbs = KnowledgeBaseManager(settings, JobRegistry(settings.jobs_dir))
        kbs.create("bench")
        kbs.watch("bench", str(folder))
        next_run(kbs, 0, args.debounce * 2)
        rows = []
        for i in range(args.edits):
            seen = len(watched(kbs))
            (folder / "a.md").write_text(f"# 甲\n\n第 {i} 次修改：滑动窗口注意力。" * 20, encoding="utf-8")
            changed = time.time()
            rows.append(row(f"edit {i + 1}", changed, next_run(kbs, seen, args.debounce * 2), args.debounce))
        seen = len(watched(kbs))
        (folder / "pull").mkdir()
        for i in range(args.burst):
            (folder / "pull" / f"f{i:03d}.md").write_text(f"# 文件 {i}\n\n第 {i} 份文档 token{i:03d}。", encoding="utf-8")
        changed = time.time()
        burst = next_run(kbs, seen, args.debounce * 3)
        runs_for_burst = len(watched(kbs)) - seen
        rows.append(row(f"burst {args.burst}", changed, burst, args.debounce))
        embedded = Counter(f["source"] for j in watched(kbs) for f in j.details.get("files", []) if f["status"] == "indexed")
        kbs.stop_watching()

    load = os.getloadavg()[0]
    print(f"embedder {args.embedder}, debounce {args.debounce:g} s, load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'change':<12}{'latency s':>10}{'run s':>8}{'indexer s':>10}{'overhead s':>11}{'files':>7}")
    for r in rows:
        print(f"{r['label']:<12}{r['latency']:>10.2f}{r['run']:>8.2f}{r['indexer']:>10.2f}{r['overhead']:>11.2f}{r['indexed']:>7}")
    edits = [r["overhead"] for r in rows[:-1]]
    print(f"edits: median overhead over debounce + run {statistics.median(edits):.2f} s (max {max(edits):.2f} s)")
    print(f"burst of {args.burst}: {runs_for_burst} run(s); files embedded more than once per version: "
          f"{sum(1 for s, n in embedded.items() if n > (args.edits + 1 if s == 'notes/a.md' else 1))}")


if __name__ == "__main__":
    main()
