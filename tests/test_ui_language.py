"""Every page, rendered in 中文 with the state a user builds up, shows no English.

State: the tiny model loaded, a knowledge base indexed by a background job (with a failed
file), a refused upload, a dataset and a finished LoRA job, a failed model load, a chat in
both modes, a side-by-side comparison and a blind vote. The check reads the rendered
element tree (`tests/ui_text.py`), so new keys and widgets are covered as they appear;
allowed Latin (names, units, code, file names) is listed in `tests/latin_allowlist.txt`.
Also: the jargon's tooltips exist in both languages.
"""

from __future__ import annotations

import json
import re

import pytest

from core.config import Settings
from tests.conftest import REPO, app_test
from tests.ui_text import allowlist, latin_leaks, shown_texts

CJK = re.compile(r"[\u4e00-\u9fff]")
RECORDS = [{"instruction": f"你是谁？（第 {i} 问）", "input": "", "output": f"臣妾是甄嬛，这是第 {i} 个回答。"} for i in range(12)]


@pytest.fixture(scope="module")
def journey(tmp_path_factory, tiny_model_dir):
    """The app as a user leaves it after trying every page once (built with the real components)."""
    import torch

    from core.runtime import create_runtime
    from tests.conftest import installed
    from core.tuning.presets import preset

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("journey")
    docs = root / "server" / "动物"
    docs.mkdir(parents=True)
    (docs / "熊猫.md").write_text("# 大熊猫\n大熊猫生活在四川的竹林里，主要吃竹子。", encoding="utf-8")
    (docs / "企鹅.md").write_text("# 企鹅\n企鹅生活在南极，很会游泳。", encoding="utf-8")
    (docs / "空白.md").write_bytes(b"")
    settings = Settings(data_dir=root / "data", model=str(tiny_model_dir), load_on_start=False, embedding_model="hash",
                        kb_roots=[root / "server"], max_new_tokens=16)
    rt = create_runtime(settings)
    rt.models.load(settings.model)
    with installed(rt):
        rt.kb.create("动物")
        assert rt.jobs.wait(rt.kb.start_index("动物", [docs]).id, timeout=120).status == "done"
        data = rt.finetune.save_dataset("甄嬛.json", json.dumps(RECORDS, ensure_ascii=False).encode())
        bad = rt.finetune.save_dataset("坏数据.jsonl", '{"instruction": "你好", "output": "好"}\n{"instruction": "问" "output": ""}\n'.encode())
        job = rt.finetune.start(data, "甄嬛", preset("quick", epochs=1, val_fraction=0.0), dataset_name="甄嬛.json")
        assert rt.jobs.wait(job.id, timeout=300).status == "done"
        failed = rt.jobs.wait(rt.models.start_load(str(root / "没有这个模型")), timeout=60)
        assert failed.status == "failed"

        chat = app_test("pages/chat.py", lang="zh").run()
        chat.chat_input[0].set_value("你好，请介绍一下你自己").run(timeout=120)
        chat.radio(key="chat-mode").set_value("kb").run()
        chat.chat_input[0].set_value("大熊猫吃什么").run(timeout=120)
        compare = app_test("pages/compare.py", lang="zh").run()
        compare.text_area(key="compare-prompts").set_value("你是谁？")
        compare.button(key="compare-start").click().run(timeout=120)
        compare.radio(key="compare-mode").set_value("blind").run()
        compare.button(key="blind-start").click().run(timeout=120)
        blind = compare.session_state["compare-blind"]
        compare.button(key=f"vote-{blind['run']}-0-A").click().run()
        state = {"data": str(data), "bad": str(bad), "load_job": failed.id, "run": compare.session_state["compare-run-id"],
                 "blind": compare.session_state["compare-blind"]}
        yield rt, state
    torch.set_num_threads(threads)


def answers(rt) -> set[str]:
    """What the model wrote in comparisons: content, not UI (chat bodies are skipped by position)."""
    from core.compare.runs import RunStore

    runs = RunStore(rt.settings.compare_dir / "runs")
    return {a.text.strip() for run_id in runs.list() for row in runs.get(run_id).answers for a in row}


def model_words(rt) -> set[str]:
    """The loaded model's own facts (its folder name, class, dtype) are names and code."""
    info = rt.models.engine.info
    values = (info.name, info.architecture, info.dtype, info.device)
    return {*values, *(w for v in values for w in re.findall(r"[A-Za-z0-9]+", v))}


def render(page: str, state: dict | None = None, **widgets):
    at = app_test(page, lang="zh")
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    for key, value in widgets.items():
        at.radio(key=key).set_value(value).run()
    assert not at.exception, at.exception
    return at


def leaks_of(at, rt) -> list:
    return latin_leaks(list(shown_texts(at._tree, skip_bodies=answers(rt))), allowlist(model_words(rt)))


def views(state: dict):
    """(name, how to get there) for every page and its states worth a look."""
    upload = ("病毒.exe", b"MZ\x90\x00", "application/octet-stream")
    return [
        ("home", lambda: render("pages/home.py")),
        ("chat", lambda: render("pages/chat.py")),
        ("chat-kb", lambda: render("pages/chat.py", **{"chat-mode": "kb"})),
        ("chat-code", lambda: render("pages/chat.py", **{"chat-mode": "code"})),
        ("kb", lambda: render("pages/knowledge_base.py")),
        ("kb-refused-upload", lambda: _upload(render("pages/knowledge_base.py"), "kb-upload-动物", upload)),
        ("fine-tune", lambda: render("pages/fine_tune.py", {"ft-dataset": {"path": state["data"], "name": "甄嬛.json"}})),
        ("fine-tune-bad-data", lambda: render("pages/fine_tune.py", {"ft-dataset": {"path": state["bad"], "name": "坏数据.jsonl"}})),
        ("compare", lambda: render("pages/compare.py", {"compare-run-id": state["run"]})),
        ("compare-blind", lambda: render("pages/compare.py", {"compare-blind": state["blind"]}, **{"compare-mode": "blind"})),
        ("system", lambda: render("pages/system.py", {"load_job": state["load_job"]})),
        ("entry-point-sidebar", _entry_point),
    ]


def _upload(at, key: str, file):
    at.file_uploader(key=key).set_value(file).run()
    assert not at.exception
    return at


def _entry_point():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=60)
    at.session_state["lang"] = "zh"
    return at.run()


def test_every_page_in_chinese_shows_no_english(journey):
    rt, state = journey
    found = {}
    for name, make in views(state):
        at = make()
        leaks = leaks_of(at, rt)
        if leaks:
            found[name] = sorted(set(leaks))
    report = "\n".join(f"{page}: {word!r} in {where}: {text!r}" for page, leaks in found.items() for word, where, text in leaks)
    assert not found, "English in the Chinese UI (translate it, or add a name/unit/code to tests/latin_allowlist.txt):\n" + report


def test_the_check_catches_english(journey):
    """The scanner itself: an English sentence on a page is found, allowed names are not."""
    from tests.ui_text import Shown

    texts = [Shown("x", "Upload files · 200MB per file"), Shown("y", "模型：SmolLM2-135M-Instruct · 8 个 token · q_proj · 熊猫.md")]
    words = {w for w, _, _ in latin_leaks(texts, allowlist())}
    assert words == {"Upload", "files", "per", "file"}
    rt, state = journey
    at = render("pages/system.py")
    assert any("加载耗时" in s.text for s in shown_texts(at._tree))  # the walk reaches st.table cells


def widget(at, key: str):
    def walk(node):
        if getattr(node, "key", None) == key:
            return node
        for child in getattr(node, "children", {}).values():
            if (found := walk(child)) is not None:
                return found
        return None

    found = walk(at._tree)
    assert found is not None, f"no widget {key}"
    return found


JARGON = {
    "pages/chat.py": ["chat-max", "chat-temp", "chat-top-p", "chat-top-k", "chat-rep", "chat-seed"],
    "pages/chat.py#kb": ["chat-kb-k", "chat-kb-threshold"],
    "pages/knowledge_base.py": ["kb-search-k", "kb-search-mode", "kb-new-model", "kb-new-size", "kb-new-overlap"],
    "pages/fine_tune.py": ["ft-preset", "ft-quick-epochs", "ft-quick-lr", "ft-quick-rank", "ft-quick-alpha", "ft-quick-dropout",
                           "ft-quick-len", "ft-quick-batch", "ft-quick-accum", "ft-quick-val", "ft-quick-targets"],
    "pages/compare.py": ["compare-variants"],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_jargon_explains_itself_in_both_languages(journey, lang):
    for target, keys in JARGON.items():
        page, _, mode = target.partition("#")
        at = app_test(page, lang=lang).run()
        if mode:
            at.radio(key="chat-mode").set_value(mode).run()
        for key in keys:
            help_text = widget(at, key).proto.help
            assert len(help_text) > 12, (key, help_text)
            assert bool(CJK.search(help_text)) == (lang == "zh"), (lang, key, help_text)
    at = app_test("pages/compare.py", lang=lang).run()
    at.radio(key="compare-mode").set_value("blind").run()
    tally = next(s for s in at.subheader if s.proto.help)
    assert "Wilson" in tally.proto.help and bool(CJK.search(tally.proto.help)) == (lang == "zh")


def keys_in(node) -> set[str]:
    """The widget keys drawn inside `node`, at any depth."""
    found = {node.key} if isinstance(getattr(node, "key", None), str) else set()
    for child in getattr(node, "children", {}).values():
        found |= keys_in(child)
    return found


def advanced_keys(at, label: str) -> set[str]:
    """The keys inside every expander titled `label` (the page's "高级设置 / Advanced settings")."""
    def walk(node):
        if getattr(node, "type", None) == "expander" and node.label == label:
            yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return set().union(*(keys_in(e) for e in walk(at._tree)))


# page: (knobs behind 高级设置, everyday controls that stay in front)
ADVANCED = {
    "pages/chat.py": (["chat-top-p", "chat-top-k", "chat-rep", "chat-seed"], ["chat-max", "chat-temp"]),
    "pages/knowledge_base.py": (["kb-new-model", "kb-new-size", "kb-new-overlap"], ["kb-new-name"]),
    "pages/fine_tune.py": (["ft-quick-epochs", "ft-quick-lr", "ft-quick-rank", "ft-quick-alpha", "ft-quick-dropout",
                            "ft-quick-len", "ft-quick-batch", "ft-quick-accum", "ft-quick-val", "ft-quick-records",
                            "ft-quick-targets"], ["ft-preset", "ft-persona"]),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_advanced_knobs_sit_behind_advanced_settings(journey, lang):
    """A first-time user sees the everyday controls; the jargon waits, folded, under one title."""
    label = {"zh": "高级设置", "en": "Advanced settings"}[lang]
    for page, (inside, outside) in ADVANCED.items():
        at = app_test(page, lang=lang).run()
        assert not at.exception, (page, at.exception)
        behind = advanced_keys(at, label)
        missing = [k for k in inside if k not in behind]
        assert not missing, f"{page}: {missing} not under {label}"
        assert not behind & set(outside), f"{page}: everyday controls folded away: {behind & set(outside)}"
        drawn = keys_in(at._tree)
        assert set(outside) <= drawn, f"{page}: {set(outside) - drawn} not drawn"
