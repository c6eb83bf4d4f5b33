"""Show problems as messages, never tracebacks: user errors verbatim, bugs as a pointer to the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from components.i18n import lang, t
from core.errors import UserError
from core.jobs import Job

log = logging.getLogger("liandan.ui")


def show(exc: BaseException) -> None:
    if isinstance(exc, UserError):
        st.error(exc.text(lang()), icon="⚠️")
    else:
        log.error("unexpected error in the UI", exc_info=exc)
        st.error(t("error.unexpected"), icon="🛑")


def job_error(job: Job) -> str:
    return job.error_message.render(lang()) if job.error_message else ""


def job_message(job: Job) -> str:
    return job.status_message.render(lang()) if job.status_message else ""


class Outcome:
    failed: bool = False


@contextmanager
def guard() -> Iterator[Outcome]:
    """Run a UI block; a failure is shown in place and recorded on the yielded outcome."""
    outcome = Outcome()
    try:
        yield outcome
    except ScriptControlException:  # Streamlit's rerun/stop signals must pass through
        raise
    except Exception as exc:  # noqa: BLE001 - the UI must never show a traceback
        outcome.failed = True
        show(exc)
