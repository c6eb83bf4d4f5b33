"""The real ChatGLM3 remote code's tiny checkpoint (../shared/fixtures/chatglm3-tiny) for tests.

Third-party code stays in ../shared. In CI (CI=true) a missing fixture fails the test; elsewhere
it is skipped with the reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "chatglm3-tiny"


def require_fixture() -> Path:
    if not (FIXTURE / "model" / "config.json").exists():
        reason = f"the ChatGLM3 fixture {FIXTURE} is not present (../shared)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " and CI=true: CI must have ../shared")
        pytest.skip(reason)
    return FIXTURE


def reference(name: str = "reference_outputs.json") -> dict:
    return json.loads((require_fixture() / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def chatglm3_dir() -> Path:
    return require_fixture()


@pytest.fixture(scope="session")
def chatglm3_models_dir(tmp_path_factory) -> Path:
    """One conversion cache per test session (converting the fixture takes well under a second)."""
    return tmp_path_factory.mktemp("chatglm3-models")


@pytest.fixture(scope="session")
def chatglm3_engine(chatglm3_dir, chatglm3_models_dir):
    from core.models import loader, sources

    return loader.load(sources.resolve(str(chatglm3_dir / "model"), chatglm3_models_dir), device="cpu", dtype="float32")
