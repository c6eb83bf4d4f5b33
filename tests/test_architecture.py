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


# --- the import graph: layers and cycles ------------------------------------------------------
# Lowest first; a module may import its own layer or a lower one, never a higher one. A node is a
# top-level module or a package of a layer (`core.kb`, `components.chat`, `pages.chat`): files inside
# one package may import each other freely, packages may not import each other in a circle.
FEATURES = ("chat", "kb", "finetune", "compare")  # components/<feature>/: the parts of one page
LAYERS = (
    "core",  # the domain: models, adapters, compare, tuning, kb, api, cli; no Streamlit
    "components",  # shared UI parts (errors, i18n, resources, pickers) in components/*.py
    "components.features",  # one page's parts, components/{chat,kb,finetune,compare}/
    "pages",  # the page scripts and the entry point Home.py
)
BENCH_MAY_IMPORT = ("core",)  # the benchmarks measure the domain without a UI
TOPS = ("core", "components", "pages", "bench", "Home")


def module_name(root, path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def node_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in ("core", "components", "pages") else parts[0]


def layer_of(node: str) -> str | None:
    top, _, rest = node.partition(".")
    if top == "components":
        return "components.features" if rest in FEATURES else "components"
    return {"core": "core", "pages": "pages", "Home": "pages"}.get(top)


def source_files(root) -> list:
    files = [p for top in TOPS[:-1] for p in (root / top).rglob("*.py")]
    return files + ([root / "Home.py"] if (root / "Home.py").exists() else [])


def imports_of(root, path, known: set[str]) -> set[str]:
    """Modules of the repository that `path` imports, lazy and TYPE_CHECKING imports included
    (a lazy import is still an arrow), relative imports resolved."""
    me = module_name(root, path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m.split(".")[0] in TOPS}


def import_graph(root) -> dict[str, set[str]]:
    files = source_files(root)
    known = {module_name(root, p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        source = node_of(module_name(root, path))
        targets = {node_of(m) for m in imports_of(root, path, known)} - {source}
        graph.setdefault(source, set()).update(targets)
    return graph


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    rank = {name: i for i, name in enumerate(LAYERS)}
    wrong = []
    for source, targets in graph.items():
        for target in targets:
            if source == "bench":
                if target.split(".")[0] not in BENCH_MAY_IMPORT:
                    wrong.append(f"{source} -> {target}")
            elif layer_of(target) is not None and rank[layer_of(target)] > rank[layer_of(source)]:
                wrong.append(f"{source} -> {target}")
    return sorted(wrong)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                found.append(sorted([v, *group]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_no_import_runs_up_the_layers():
    assert upward_arrows(import_graph(REPO)) == []


def test_no_import_cycles_between_packages():
    assert cycles(import_graph(REPO)) == []


def test_every_source_folder_has_a_layer():
    """A new top-level folder must be placed in LAYERS (or named as the benchmarks are) to be checked."""
    assert {n for n in import_graph(REPO) if n != "bench" and layer_of(n) is None} == set()


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    for name, text in {
        "core/__init__.py": "", "core/engine.py": "from components import view\n",
        "components/__init__.py": "", "components/view.py": "from core import engine\n",
        "components/chat/__init__.py": "", "components/chat/picker.py": "from ..chat import picker\n",
        "components/errors.py": "def guard():\n    from components.chat import picker\n",
        "pages/__init__.py": "", "pages/chat.py": "import components.view\n",
        "bench/__init__.py": "", "bench/speed.py": "from pages import chat\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path)
    assert upward_arrows(graph) == ["bench -> pages.chat", "components.errors -> components.chat", "core.engine -> components.view"]
    assert cycles(graph) == [["components.view", "core.engine"]]
