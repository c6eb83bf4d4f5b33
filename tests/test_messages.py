"""A `Message` is a key plus parameters, rendered in the language of whoever reads it."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import UserError
from core.i18n import Message, msg
from core.jobs import JobRegistry


def test_user_error_from_messages_renders_each_language() -> None:
    error = UserError(msg("errors.no_model"), msg("errors.no_model.hint"))
    assert error.text("zh") == "尚未加载模型。 请在“系统”页面加载一个模型。"
    assert error.text("en") == str(error) == "No model is loaded. Load one on the System page."


def test_message_parameters_and_json_round_trip() -> None:
    message = msg("model.loaded", name="报告-6b")
    assert message.render("zh") == "模型：报告-6b" and message.render("en") == "Model: 报告-6b"
    assert Message.from_json(message.to_json()) == message


def test_job_progress_keeps_both_languages(tmp_path) -> None:
    registry = JobRegistry(tmp_path)
    job = registry.start("demo", "demo", {}, runner=lambda ctx: ctx.report(0.5, msg("errors.no_model")))
    finished = registry.wait(job.id, timeout=10)
    assert finished is not None and finished.status == "done", finished
    assert (finished.message, finished.status_message.render("zh")) == ("No model is loaded.", "尚未加载模型。")


def test_a_key_with_parameters_raises_and_finds_its_hint() -> None:
    error = UserError("errors.jobs.jobs_kind_resumed", kind="merge")
    assert error.text("en") == "Jobs of kind 'merge' cannot be resumed." and "merge" in error.text("zh")
    assert UserError("errors.engine.message_empty").hint == "Type a question first."


def test_nested_messages_render_in_the_same_language_and_survive_json() -> None:
    message = msg("errors.datasets.line", line=3, message=msg("errors.datasets.output_empty"))
    assert message.render("zh") == "第 3 行：'output' 为空" and message.render("en") == "line 3: 'output' is empty"
    assert Message.from_json(json.loads(json.dumps(message.to_json()))) == message


def test_parameters_that_are_not_json_are_kept_as_text() -> None:
    message = msg("errors.paths.skipped_nested_deeper_folder", path=Path("/srv/a"), max_walk_depth=64)
    assert message.params["path"] == "/srv/a" and json.dumps(message.to_json())
