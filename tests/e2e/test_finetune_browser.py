"""A training job watched in Chromium runs as fast as the same job nobody watches (issue 19).

The Fine-tune page polls its job every second. Streamlit used to run a full gc.collect(2) after
every script run, fragment reruns included; with a model loaded that walks ~480k objects while
holding the GIL, so a watched Quick job sat at step 0 for minutes and ran once the page was left.
This test starts the same job twice from the page, once with the page left for Home and once
watched to the end on the page, and compares the two durations the jobs recorded themselves.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from core.i18n import t
from tests.conftest import SHARED
from tests.e2e.conftest import go_to, open_expander, wait_idle, wait_model_loaded

RECORDS = 32
EPOCHS = 3  # 12 optimizer steps with the Quick preset: long enough that a few seconds of noise do not decide it
MAX_RATIO = 1.5
MIN_SHOWN = 3  # distinct step values the watching page showed


def zh(key: str, **values) -> str:
    return t(key, "zh", **values)


@pytest.fixture
def huanhuan(tmp_path) -> Path:
    source = SHARED / "data" / "huanhuan.json"
    if not source.exists():
        pytest.skip("../shared/data/huanhuan.json is not present")
    path = tmp_path / "huanhuan32.json"
    path.write_text(json.dumps(json.loads(source.read_text(encoding="utf-8"))[:RECORDS], ensure_ascii=False), encoding="utf-8")
    return path


def job_file(app, name: str) -> dict | None:
    for path in (app.data_dir / "jobs").glob("finetune-*.json"):
        job = json.loads(path.read_text(encoding="utf-8"))
        if job["params"].get("name") == name:
            return job
    return None


def prepare_form(page, dataset: Path) -> None:
    """Dataset, Quick preset, EPOCHS epochs, a persona (the page may have kept them from a previous test)."""
    go_to(page, zh("nav.finetune"))
    page.get_by_test_id("stFileUploader").locator("input[type=file]").first.set_input_files(str(dataset))
    try:
        page.get_by_text(zh("ft.data.format", format="alpaca", records=RECORDS)).wait_for(timeout=60_000)
    except Exception as exc:  # a CI run once timed out here; its screenshot is lost with the runner, the text is not
        shown = page.get_by_test_id("stMain").inner_text()[:3000]
        raise AssertionError(f"the uploaded dataset's summary did not appear; the page showed:\n{shown}") from exc
    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text(zh("ft.preset.quick"), exact=True).click()
    wait_idle(page)
    open_expander(page, zh("ft.set.advanced"))  # epochs sit with the other knobs beyond the preset
    epochs = page.get_by_role("spinbutton", name=zh("ft.set.epochs"))
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    wait_idle(page)
    persona = page.get_by_role("textbox", name=zh("ft.set.persona"))
    persona.fill("现在你要扮演皇帝身边的女人--甄嬛。")
    persona.press("Control+Enter")
    wait_idle(page)


def start_job(page) -> str:
    """Start with the prefilled name; returns it. The button must then be off while the job runs."""
    name = page.get_by_role("textbox", name=zh("ft.start.name")).input_value()
    assert re.fullmatch(r"huanhuan32-\d+", name), name  # prefilled, unique, from the file name
    start = page.get_by_role("button", name=zh("ft.start.button"))
    start.click()
    page.get_by_text(zh("ft.start.started")).wait_for(timeout=60_000)
    assert start.is_disabled()
    return name


def seconds(job: dict) -> float:
    """Seconds per optimizer step, as the job recorded them (the epochs box is not kept across pages)."""
    return (job["finished"] - job["started"]) / job["details"]["total_steps"]


def wait_done(app, name: str, timeout_s: float, page=None) -> tuple[dict, set[str]]:
    """Poll the job file until it ends; with `page`, also read the live step metric the page shows."""
    deadline, seen = time.monotonic() + timeout_s, set()
    step_metric = None if page is None else page.get_by_test_id("stMetric").filter(has_text=zh("ft.jobs.step")).first
    while time.monotonic() < deadline:
        job = job_file(app, name)
        if job and job["status"] not in ("pending", "running"):
            return job, seen
        if step_metric is not None and step_metric.count():
            seen.add(step_metric.get_by_test_id("stMetricValue").inner_text())
        time.sleep(1)
    raise AssertionError(f"job {name} did not finish within {timeout_s:.0f} s: {job_file(app, name)}\n{app.log_tail()}")


def test_a_watched_job_trains_as_fast_as_an_unwatched_one(liandan_app, page, huanhuan):
    wait_model_loaded(page, liandan_app)
    prepare_form(page, huanhuan)

    # Unwatched first: the first job in a process pays one-time costs (the first step took 51 s of 156 s
    # from the CLI), which would otherwise be counted against the watched job.
    unwatched_name = start_job(page)
    go_to(page, zh("nav.home"))
    unwatched, _ = wait_done(liandan_app, unwatched_name, 900)
    assert unwatched["status"] == "done", unwatched["error"]

    prepare_form(page, huanhuan)  # the page restores dataset, persona and preset; epochs again; a new name is prefilled
    watched_name = start_job(page)
    assert watched_name != unwatched_name
    watched, shown = wait_done(liandan_app, watched_name, 900, page=page)
    assert watched["status"] == "done", watched["error"]
    page.get_by_text(re.compile(re.escape(zh("ft.jobs.result", name=watched_name, train="X", val="X")).split("X")[0])).filter(visible=True).first.wait_for()  # the Train tab's, not the hidden Jobs tab's
    steps = watched["details"]["total_steps"]
    assert len(shown) >= MIN_SHOWN, f"the page did not show the job progressing live: {shown}"  # it really polled

    ratio = seconds(watched) / seconds(unwatched)
    print(f"{steps} steps: watched {seconds(watched):.2f} s/step, unwatched {seconds(unwatched):.2f} s/step, ratio {ratio:.2f}")
    assert ratio <= MAX_RATIO, f"watched {seconds(watched):.2f} s/step vs unwatched {seconds(unwatched):.2f} s/step ({ratio:.2f}x)"
