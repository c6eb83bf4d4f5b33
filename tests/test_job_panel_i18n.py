"""AppTest: a job's stored note and a compare answer's error read in the UI's language."""

from __future__ import annotations

import json

import pytest

from core.jobs import INTERRUPTED

INTERRUPTED_MESSAGE, INTERRUPTED_MESSAGE_ZH = INTERRUPTED.render("en"), INTERRUPTED.render("zh")
from core.models.manager import LOAD_JOB
from core.models.options import GenerationOptions
from core.compare.runs import RunStore, new_run, run_all
from tests.conftest import app_test
from tests.factories import build_lora_adapter

JOB_ID = "load-20260101-000000-abcdef"


@pytest.fixture
def rt(settings, request):
    """A load job left 'running' on disk by a process that died, then the app's runtime starts."""
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    job = {"id": JOB_ID, "kind": LOAD_JOB, "title": "Load old-model", "params": {"spec": "old-model"},
           "status": "running", "progress": 0.3, "message": "Loading old-model…", "created": 1.0, "started": 1.0}
    (settings.jobs_dir / f"{JOB_ID}.json").write_text(json.dumps(job), encoding="utf-8")
    return request.getfixturevalue("app_runtime")


def progress_texts(at) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


@pytest.mark.parametrize(("lang", "shown", "hidden"), [
    ("zh", INTERRUPTED_MESSAGE_ZH, INTERRUPTED_MESSAGE),
    ("en", INTERRUPTED_MESSAGE, INTERRUPTED_MESSAGE_ZH),
])
def test_an_interrupted_job_says_so_in_the_ui_language(rt, lang, shown, hidden):
    assert rt.jobs.get(JOB_ID).status == "interrupted"
    at = app_test("pages/system.py", lang)
    at.session_state["load_job"] = JOB_ID
    at.run()
    assert not at.exception
    texts = progress_texts(at)
    assert any(shown in text for text in texts) and not any(hidden in text for text in texts)


def test_a_failed_compare_answer_shows_the_user_errors_chinese(rt, tiny_model_dir):
    build_lora_adapter(tiny_model_dir, rt.adapters, "beta", seed=2)
    pool = rt.adapter_pool
    run = run_all(pool, new_run(pool, ["base", "beta"], ["word " * 2000], GenerationOptions(max_new_tokens=8, temperature=0.0)))
    RunStore(rt.settings.compare_dir / "runs").save(run)

    for lang, expected in (("zh", "出错：消息太长"), ("en", "Error: The message is too long")):
        at = app_test("pages/compare.py", lang)
        at.session_state["compare-run-id"] = run.id
        at.run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 2 and all(e.startswith(expected) for e in errors), errors
