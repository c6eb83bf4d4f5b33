"""Does watching a knowledge-base indexing run in a browser slow it down?

The Fine-tune page once did (issue 19: every poll of the job ran a full garbage collection and redrew
charts beside the training thread). The Knowledge Base page polls a running index job every second
(its progress bar and per-file table), in the same process as the indexer, so the same question
applies here. This starts the real app (default embedder, USE) and a real Chromium, indexes copies of
the same Datawhale files into fresh bases from the page, alternately leaving the page for Home
(unwatched) and staying on it (watched), and prints each run's own recorded duration and the ratio.
A first small run pays the embedder's loading so that it is not counted against either side.

    .venv/bin/python bench/kb_watched.py [--files 120] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.i18n import t  # noqa: E402
from tests.conftest import MODEL_CACHE, SHARED  # noqa: E402
from tests.e2e.app_server import find_chromium, launch_chromium, run_app  # noqa: E402
from tests.e2e.conftest import go_to, wait_idle, wait_model_loaded  # noqa: E402
from tests.e2e.test_kb_browser import create_base  # noqa: E402

CORPUS = SHARED / "corpus" / "datawhale" / "self-llm" / "models"


def copy_files(files: list[Path], folder: Path, tag: str) -> None:
    """A copy with one distinct line per file, so no base meets another's chunks as duplicates."""
    for f in files:
        target = folder / f.relative_to(CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes() + f"\n\n<!-- {tag} -->\n".encode())


def finished_job(app, kb: str, timeout_s: float = 1800) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in (app.data_dir / "jobs").glob("kb-index-*.json"):
            job = json.loads(path.read_text(encoding="utf-8"))
            if job["params"].get("kb") == kb and job["status"] not in ("pending", "running"):
                return job
        time.sleep(1)
    raise SystemExit(f"{kb}: no finished index job after {timeout_s:.0f} s (app log: {app.log_path})")


def index_from_page(page, app, kb: str, folder: Path, watched: bool) -> dict:
    go_to(page, t("nav.kb", "zh"))
    create_base(page, kb)
    box = page.get_by_role("textbox", name=t("kb.folder", "zh"))
    box.fill(str(folder))
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=t("kb.index_folder", "zh")).click()
    page.get_by_test_id("stProgress").first.wait_for(timeout=60_000)  # the job is running and in view
    if not watched:
        go_to(page, t("nav.home", "zh"))
    job = finished_job(app, kb)
    if job["status"] != "done":
        raise SystemExit(f"{kb}: the index job ended {job['status']}: {job.get('error')}")
    return job


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not CORPUS.exists() or find_chromium() is None:
        print(f"skip: needs {CORPUS} (../shared) and Chromium (apt-get install chromium)")
        return 0
    from playwright.sync_api import sync_playwright

    files = sorted(p for p in CORPUS.rglob("*.md") if p.stat().st_size > 2000)[: args.files]
    root = Path(tempfile.mkdtemp(prefix="kb-watched-"))
    server = root / "server"
    runs = [("warm-up", files[:5])] + [(mode, files) for _ in range(args.rounds) for mode in ("unwatched", "watched")]
    for i, (mode, chosen) in enumerate(runs):
        copy_files(chosen, server / f"run{i}", f"run {i}")
    seconds: dict[str, list[float]] = {"unwatched": [], "watched": []}
    with run_app(root / "data", model="embedded", model_cache=MODEL_CACHE, LIANDAN_EMBEDDING_MODEL="embedded-use",
                 LIANDAN_KB_ROOTS=json.dumps([str(server)])) as app, sync_playwright() as pw:
        browser = launch_chromium(pw, find_chromium())
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        wait_model_loaded(page, app)
        for i, (mode, chosen) in enumerate(runs):
            job = index_from_page(page, app, f"run{i}", server / f"run{i}", watched=mode == "watched")
            took = job["finished"] - job["started"]
            print(f"{mode:9} {len(chosen):4d} files, {job['result']['chunks']:5d} chunks: {took:6.1f} s", flush=True)
            if mode in seconds:
                seconds[mode].append(took)
        browser.close()
    ratio = statistics.mean(seconds["watched"]) / statistics.mean(seconds["unwatched"])
    print(f"\nwatched / unwatched: {ratio:.2f}x (mean of {args.rounds} runs each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
