"""The language tables are the only place texts live: every key has both languages, every key
the code names exists, and no sentence in Chinese sits inline in `core` outside `core/i18n`."""

from __future__ import annotations

import ast
import re
import string
from collections import Counter
from pathlib import Path

from core import i18n

REPO = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
# Texts that only give a shape to other messages (core.i18n.verbatim, stored, with_hint, joined).
BUILDING_BLOCKS = {"text.verbatim", "text.stored", "text.with_hint", "text.joined"}
# Keys whose English is another program's own words passed in ({text}: Python's JSON error), and whose
# Chinese is a translation of them, so the two share no placeholder.
TRANSLATED_SOURCE = "errors.json."
# Calls whose first argument is a key of the tables.
KEY_CALLS = {"msg", "Message", "t"}

# Chinese in core that is content, not a message to a person: (module, the top-level name or
# function that holds it) -> why it stays.
ALLOWED_CHINESE = {
    ("core/answer_text.py", "_GENERIC_CUES"): "answer cues the model echoes (有用的回答：), matched in its output",
    ("core/kb/tokenize.py", "STOPWORDS"): "jieba stopwords: Chinese words the BM25 tokenizer drops",
    ("core/kb/followup.py", "_PRONOUNS_ZH"): "regex of Chinese pronouns that mark a follow-up question",
    ("core/kb/followup.py", "_FOLLOWUP_START"): "regex of Chinese openers (那, 还有) that mark a follow-up",
    ("core/kb/followup.py", "_ZH_STOP"): "regex of Chinese question words stripped from a search",
    ("core/kb/followup.py", "model_rewrite"): "strips the label 问题：/改写： a model puts before its rewrite",
    ("core/kb/rag.py", "DEFAULT_PROMPTS"): "the Chinese RAG prompt given to the model, not shown as UI text",
    ("core/kb/openvino_encoder.py", "OpenVINOEncoder._export"): "tokenizer export input with Chinese pieces",
    ("core/api/snippets.py", "curl_example"): "example request body in the API snippet (the prompt 你好)",
    ("core/api/snippets.py", "python_example"): "example request body in the API snippet (the prompt 你好)",
    ("core/adapters/ollama.py", "readme"): "example request in the exported README (the prompt 你好), content not a message",
    ("core/personas.py", "DEFAULT_PERSONAS"): "built-in persona presets: bilingual names and the prompts given to the model",
    ("core/interpreter/loop.py", "CHATGLM_PROMPT"): "ChatGLM3's own code-interpreter system prompt",
    ("core/cli/chat.py", "_lines"): "the CLI chat prompt label, both languages at once (你 / you>)",
}


def _table_files() -> list[Path]:
    return sorted((REPO / "core" / "i18n").glob("*.py"))


def test_every_key_has_both_languages_with_the_same_placeholders():
    problems = []
    for key, texts in i18n._table().items():
        zh, en = texts["zh"], texts["en"]
        if not zh.strip() or not en.strip():
            problems.append(f"{key}: a language is empty")
            continue
        if key in BUILDING_BLOCKS or key.startswith(TRANSLATED_SOURCE):
            continue
        names = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (zh, en)]
        if names[0] != names[1]:
            problems.append(f"{key}: zh has {sorted(names[0])}, en has {sorted(names[1])}")
    assert problems == []


def test_no_table_defines_a_key_twice():
    """A dict literal keeps the last of two equal keys silently; the merged table would not see it."""
    twice = []
    for path in _table_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                counts = Counter(k.value for k in node.keys if isinstance(k, ast.Constant))
                twice += [f"{path.name}: {k}" for k, n in counts.items() if n > 1]
    assert twice == []


def _named_keys(tree: ast.Module) -> list[tuple[int, str, bool]]:
    """(line, key, is_prefix) for each msg/Message/t call naming a literal key (an f-string: its prefix)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        first = node.args[0]
        if name not in KEY_CALLS:
            continue
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append((node.lineno, first.value, False))
        elif isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
            found.append((node.lineno, first.values[0].value, True))
    return found


def test_the_scan_sees_keys_and_prefixes():
    tree = ast.parse('msg("errors.no_model")\ni18n.Message(f"kb.step.{phase}", {})\nt("x", lang)\nprint("y")')
    assert _named_keys(tree) == [(1, "errors.no_model", False), (2, "kb.step.", True), (3, "x", False)]


def test_every_key_the_code_names_exists():
    known = i18n.keys()
    missing = []
    for folder in ("core", "components", "pages"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.parent.name == "i18n" and folder == "core":
                continue
            for line, key, prefix in _named_keys(ast.parse(path.read_text(encoding="utf-8"))):
                if not (any(k.startswith(key) for k in known) if prefix else key in known):
                    missing.append(f"{path.relative_to(REPO)}:{line}: {key}")
    assert missing == []


def _holder(stack: list[str]) -> str:
    return ".".join(stack)


def _inline_chinese(path: Path) -> list[tuple[int, str, str]]:
    """(line, holder, text) for each string literal with Chinese that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    found: list[tuple[int, str, str]] = []

    def visit(node: ast.AST, stack: list[str]) -> None:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            stack = stack + [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and not stack:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            stack = [t.id for t in targets if isinstance(t, ast.Name)][:1]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if CJK.search(node.value):
                found.append((node.lineno, _holder(stack), node.value))
        for child in ast.iter_child_nodes(node):
            visit(child, stack)

    visit(tree, [])
    return found


def test_the_chinese_scan_skips_docstrings_and_names_the_holder(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('"""模块。"""\nX = ["你好"]\ndef f():\n    """说明。"""\n    raise E(f"坏了 {y}")\n', encoding="utf-8")
    assert [(line, holder) for line, holder, _ in _inline_chinese(source)] == [(2, "X"), (5, "f")]


def test_no_inline_chinese_in_core_outside_the_tables_and_the_allow_list():
    found, used = [], set()
    for path in sorted((REPO / "core").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("core/i18n/"):
            continue
        for line, holder, text in _inline_chinese(path):
            if (rel, holder) in ALLOWED_CHINESE:
                used.add((rel, holder))
            else:
                found.append(f"{rel}:{line} ({holder}): {text[:40]!r}")
    assert found == [], "move these texts into core/i18n (msg(key, ...)), or allow-list content with a reason"
    assert set(ALLOWED_CHINESE) - used == set(), "allow-list entries that no longer match anything"
