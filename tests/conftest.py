"""Fixtures shared by every test: offline mode, tiny models, isolated data folders."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Iterator  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from core.config import Settings  # noqa: E402
from tests.factories import build_model  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
# The embedded model's safetensors cache is shared by all tests (converting takes ~30 s).
MODEL_CACHE = Path(os.environ.get("LIANDAN_TEST_MODEL_CACHE", REPO / "data" / "models"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_model(tmp_path_factory.mktemp("tiny-llama") / "tiny-llama")


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir):
    from core.models import loader, sources

    return loader.load(sources.resolve(str(tiny_model_dir), MODEL_CACHE))


@pytest.fixture(scope="session")
def smol_engine():
    from core.models import loader, sources

    return loader.load(sources.resolve("embedded", MODEL_CACHE))


@pytest.fixture
def settings(tmp_path, tiny_model_dir) -> Settings:
    return Settings(data_dir=tmp_path / "data", model=str(tiny_model_dir), load_on_start=False, embedding_model="hash")


@pytest.fixture
def one_torch_thread():
    """A 100k-parameter model gains nothing from threads, and oversubscribed cores make them crawl."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is not present (opt-in data)")
    return SHARED


@contextmanager
def installed(runtime) -> Iterator:
    """The one way a test replaces the app's composition root: `runtime` is what pages, the API and
    the CLI get from `get_runtime()` inside the block, and the process has none again after it."""
    from core.runtime import install_runtime

    install_runtime(runtime)
    try:
        yield runtime
    finally:
        install_runtime(None)


@pytest.fixture
def use_runtime() -> Iterator:
    """`installed` for a test that builds its runtime as it goes: call it with the runtime."""
    with ExitStack() as stack:
        yield lambda runtime: stack.enter_context(installed(runtime))


@pytest.fixture
def app_runtime(settings):
    """A runtime with the tiny model loaded, installed for AppTest pages of this test."""
    from core.runtime import create_runtime

    rt = create_runtime(settings)
    rt.models.load(settings.model)
    with installed(rt):
        yield rt


def app_test(page: str, lang: str = "en", timeout: float = 60):
    """AppTest of one page through the real entry point's sidebar and gate."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=timeout)
    at.session_state["lang"] = lang
    at.run()  # the entry point registers the pages with st.navigation first
    at.switch_page(page)
    return at
