"""A `Message` is a key plus parameters, rendered in the language of whoever reads it."""

from __future__ import annotations

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
    assert (finished.message, finished.message_zh) == ("No model is loaded.", "尚未加载模型。")
