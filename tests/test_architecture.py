"""Rules of the architecture that code can check."""

from __future__ import annotations

import ast

from tests.conftest import REPO


def imported_modules(path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit():
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "core").rglob("*.py") if "streamlit" in imported_modules(p)]
    assert offenders == []


def test_the_runtime_is_the_only_process_wide_singleton():
    """Pages reach shared objects through `core.runtime` alone: a `st.cache_resource` beside it would be a
    second singleton that tests must reset separately (and that outlives an installed runtime)."""
    sources = [REPO / "Home.py", *(REPO / "pages").glob("*.py"), *(REPO / "components").rglob("*.py")]
    offenders = [str(p.relative_to(REPO)) for p in sources if "cache_resource" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_pages_stay_short_scripts():
    long_pages = {p.name: n for p in (REPO / "pages").glob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 110}
    assert long_pages == {}


def test_every_i18n_key_has_chinese_and_english():
    from core import i18n

    table = i18n._table()
    missing = sorted(k for k, v in table.items() if not v["zh"].strip() or not v["en"].strip())
    assert missing == []


def test_every_key_used_in_the_ui_exists():
    """t("…") calls with a literal key must name a key of the tables (a typo shows the raw key)."""
    from core import i18n

    known = i18n.keys()
    unknown = set()
    for path in [*(REPO / "pages").glob("*.py"), *(REPO / "components").rglob("*.py"), REPO / "Home.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            ):
                if node.args[0].value not in known:
                    unknown.add(f"{path.name}: {node.args[0].value}")
    assert sorted(unknown) == []
