"""AppTest of the Fine-tune page on the tiny model: upload, problems by line, train, adapters."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import app_test

GOOD = [{"instruction": f"Where is tower {i}?", "input": "", "output": f"Tower {i} is in Paris."} for i in range(12)]
BAD = b'{"instruction": "a", "output": "b"}\n{"instruction": "q", "output": ""}\n'


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_page_renders_in_both_languages(app_runtime):
    for lang, title in (("zh", "LoRA 微调"), ("en", "LoRA fine-tune")):
        at = app_test("pages/fine_tune.py", lang=lang).run()
        assert not at.exception
        assert at.title[0].value == title
        assert at.radio(key="ft-preset").value == "quick"


def test_bad_file_names_its_line_and_good_file_trains_an_adapter(app_runtime):
    at = app_test("pages/fine_tune.py").run()
    at.file_uploader(key="ft-upload").set_value(("bad.jsonl", BAD, "application/json")).run()
    assert not at.exception
    assert any("1 problem" in e.value for e in at.error)
    assert any("line 2: 'output' is empty" in c.value for c in at.code)
    start = next(b for b in at.button if b.label == "Start training")
    assert start.disabled

    at.file_uploader(key="ft-upload").set_value(("towers.json", json.dumps(GOOD).encode(), "application/json")).run()
    assert not at.exception and not at.error
    assert any("alpaca · 12 records" in c.value for c in at.caption)
    assert any("Mean" in c.value and "max length 256" in c.value for c in at.caption)
    assert any("Memory preflight" in c.value for c in at.caption)
    at.text_area(key="ft-persona").set_value("You are a tour guide.")
    at.text_input(key="ft-name").set_value("guide").run()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    assert any("Training started" in s.value for s in at.success)
    [job] = app_runtime.finetune.jobs()
    finished = app_runtime.jobs.wait(job.id, timeout=120)
    assert finished.status == "done" and (finished.message, finished.status_message.render("zh")) == ("Saved adapter 'guide'.", "已保存适配器“guide”。")

    at = app_test("pages/fine_tune.py").run()  # a refresh: the job list comes from disk
    assert not at.exception
    assert any("Saved adapter 'guide'" in s.value for s in at.success)
    assert any("guide" in e.label and "steps" in e.label for e in at.expander)
    card = app_runtime.adapters.get("guide")
    assert card.system_prompt == "You are a tour guide." and card.dataset["name"] == "towers.json"

    at.text_input(key="ad-name-guide").set_value("guide-2").run()
    next(b for b in at.button if b.key == "ad-rename-guide").click().run()
    assert not at.exception and app_runtime.adapters.exists("guide-2") and not app_runtime.adapters.exists("guide")


def test_a_bad_files_problems_are_shown_in_the_ui_language(app_runtime):
    for lang, header, line, other in (
        ("zh", "数据集有 1 处问题", "第 2 行：'output' 为空", "line 2"),
        ("en", "The dataset has 1 problem(s)", "line 2: 'output' is empty", "第 2 行"),
    ):
        at = app_test("pages/fine_tune.py", lang=lang).run()
        at.file_uploader(key="ft-upload").set_value(("bad.jsonl", BAD, "application/json")).run()
        assert not at.exception
        assert any(header in e.value for e in at.error), [e.value for e in at.error]
        shown = [c.value for c in at.code]
        assert line in shown and not any(other in c for c in shown), shown


def test_uploading_a_zip_from_another_base_shows_a_clear_error(app_runtime, tmp_path):
    from core.adapters.store import AdapterCard, AdapterStore

    other = AdapterStore(tmp_path / "other")
    other.save_card(AdapterCard(name="alien", base_model="ZhipuAI/chatglm3-6b", base_fingerprint="0000000000000000"))
    at = app_test("pages/fine_tune.py").run()
    at.file_uploader(key="ft-adapter-zip").set_value(("alien.zip", other.export_zip("alien"), "application/zip")).run()
    assert not at.exception
    assert any("trained on ZhipuAI/chatglm3-6b" in e.value for e in at.error)
    assert not app_runtime.adapters.exists("alien")


def test_a_cancelled_job_shows_its_checkpoint_and_resumes_from_the_page(app_runtime):
    from core.tuning.presets import preset

    ft = app_runtime.finetune
    path = ft.save_dataset("towers.json", json.dumps(GOOD).encode())
    job = ft.start(path, "later", preset("quick", epochs=40, batch_size=2, grad_accum=1), dataset_name="towers.json")
    while app_runtime.jobs.get(job.id).details.get("step", 0) < 2:
        time.sleep(0.01)
    app_runtime.jobs.cancel(job.id)
    assert app_runtime.jobs.wait(job.id, timeout=60).status == "cancelled"
    at = app_test("pages/fine_tune.py").run()
    assert any("Last checkpoint: step" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Resume from checkpoint").click().run()
    assert not at.exception
    done = app_runtime.jobs.wait(job.id, timeout=300)
    assert done.status == "done" and app_runtime.adapters.get("later").steps == done.details["total_steps"]


def _start(at):
    return at.button(key="ft-start")


def test_start_is_prefilled_with_an_unused_name_and_says_why_it_is_off(app_runtime):
    at = app_test("pages/fine_tune.py").run()
    assert _start(at).disabled
    assert any("Upload a dataset without problems first" in c.value for c in at.caption)

    at.file_uploader(key="ft-upload").set_value(("towers.json", json.dumps(GOOD).encode(), "application/json")).run()
    assert at.text_input(key="ft-name").value == "towers-1"  # a real value, not a grey placeholder
    assert not _start(at).disabled

    at.text_input(key="ft-name").set_value("  ").run()
    assert _start(at).disabled and any("Enter an adapter name" in c.value for c in at.caption)

    app_runtime.adapters.save_card(_card(app_runtime, "taken"))
    at.text_input(key="ft-name").set_value("taken").run()
    assert _start(at).disabled and any("'taken' is used by an adapter" in c.value for c in at.caption)


def _card(rt, name):
    from core.adapters.store import AdapterCard

    return AdapterCard(name=name, base_model="tiny", base_fingerprint=rt.adapter_pool.fingerprint())


def test_start_is_off_while_a_job_runs_and_the_next_name_is_new(app_runtime):
    from core.tuning.presets import preset

    ft = app_runtime.finetune
    path = ft.save_dataset("towers.json", json.dumps(GOOD).encode())
    job = ft.start(path, "towers-1", preset("quick", epochs=40, batch_size=2, grad_accum=1), dataset_name="towers.json")
    try:
        at = app_test("pages/fine_tune.py", lang="zh").run()
        assert not at.exception
        assert at.text_input(key="ft-name").value == "towers-2"  # towers-1 belongs to the running job
        assert _start(at).disabled
        assert any("训练任务“towers-1”正在运行" in c.value for c in at.caption)
    finally:
        app_runtime.jobs.cancel(job.id)
        app_runtime.jobs.wait(job.id, timeout=60)


def test_coming_back_restores_the_dataset_and_settings_and_names_the_dataset(app_runtime):
    at = app_test("pages/fine_tune.py").run()
    at.file_uploader(key="ft-upload").set_value(("towers.json", json.dumps(GOOD).encode(), "application/json")).run()
    at.radio(key="ft-preset").set_value("tutorial").run()
    at.text_area(key="ft-persona").set_value("You are a tour guide.").run()
    at.text_input(key="ft-name").set_value("guide").run()
    assert not at.exception

    at.switch_page("pages/home.py").run()  # Streamlit drops the widgets' values here...
    at.switch_page("pages/fine_tune.py").run()
    for again in (at, app_test("pages/fine_tune.py").run()):  # ...and a reload is a new session
        assert not again.exception
        assert again.text_area(key="ft-persona").value == "You are a tour guide."
        assert again.radio(key="ft-preset").value == "tutorial"
        assert again.text_input(key="ft-name").value == "guide"
        assert any("Using the dataset uploaded last time: towers.json" in i.value for i in again.info)
        assert any("alpaca · 12 records" in c.value for c in again.caption)
        assert not _start(again).disabled

    again.button(key="ft-data-clear").click().run()
    assert not again.exception and _start(again).disabled
    assert not any("towers.json" in i.value for i in again.info)
    assert "dataset" not in app_runtime.finetune.form()


def test_a_suggested_name_kept_from_last_time_still_follows_a_new_dataset(app_runtime):
    """A visit without a dataset remembers the suggestion "adapter-1"; the next session (a reload, a new
    tab) restored it as if typed and kept it after an upload (CI's browser test saw "adapter-1")."""
    assert app_test("pages/fine_tune.py").run().text_input(key="ft-name").value == "adapter-1"
    again = app_test("pages/fine_tune.py").run()
    assert again.text_input(key="ft-name").value == "adapter-1"
    again.file_uploader(key="ft-upload").set_value(("towers.json", json.dumps(GOOD).encode(), "application/json")).run()
    assert again.text_input(key="ft-name").value == "towers-1"

    again.text_input(key="ft-name").set_value("guide").run()  # a typed name is kept, across sessions too
    third = app_test("pages/fine_tune.py").run()
    third.file_uploader(key="ft-upload").set_value(("other.json", json.dumps(GOOD).encode(), "application/json")).run()
    assert third.text_input(key="ft-name").value == "guide"


def test_streamlit_does_not_collect_the_whole_heap_after_every_rerun():
    """Issue 19's stall: with postScriptGC on, each 1 s poll of a job ran gc.collect(2) over the ~480k
    objects of a loaded model, holding the GIL the training thread needs (0/8 steps in 7 min watched).
    tests/e2e/test_finetune_browser.py measures it; this keeps the setting from silently coming back."""
    import tomllib

    from tests.conftest import REPO

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False


@pytest.mark.parametrize(
    ("status", "details", "seconds"),
    [
        ("pending", {}, 1.0),  # nothing measured yet: show the first step as soon as it ends
        ("running", {"step": 0, "total_steps": 12}, 1.0),
        ("running", {"step": 2, "total_steps": 12, "eta_seconds": 30.0}, 1.0),  # 3 s steps
        ("running", {"step": 2, "total_steps": 12, "eta_seconds": 50.0}, 2.0),  # 5 s steps
        ("running", {"step": 2, "total_steps": 12, "eta_seconds": 120.0}, 5.0),  # 12 s steps (CI's machine, 2026-12-03)
        ("running", {"step": 12, "total_steps": 12, "eta_seconds": 0.0}, 1.0),
        ("done", {"step": 12, "total_steps": 12}, None),  # an ended job is not polled
    ],
)
def test_a_running_job_is_read_about_twice_per_step(status, details, seconds):
    from components.finetune.jobs import poll_every
    from core.jobs import Job

    assert poll_every(Job(id="j", kind="train", title="t", params={}, status=status, details=details)) == seconds
    assert poll_every(None) is None
