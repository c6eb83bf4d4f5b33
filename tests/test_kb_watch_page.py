"""AppTest checks of the KB page's watched folders (toggle, status line in both languages) and of a
citation opened at its passage (neighbours, highlight, PDF page) from Chat and from the search test."""

from __future__ import annotations

import time

import pytest

from components.kb.passage import FOCUS
from components.kb.watch import toggle_key
from core.kb import rag
from core.kb.passage import locate
from tests.conftest import app_test
from tests.test_kb_pages import zoo_conversation
from tests.test_kb_watch import settled

PARAGRAPHS = [f"第{i}段：{topic}。" * 3 for i, topic in enumerate(["词向量的由来", "注意力的计算", "位置编码的作用", "残差与归一化", "解码与采样"], 1)]


@pytest.fixture
def watching(app_runtime, tmp_path):
    app_runtime.settings.kb_roots = [tmp_path / "server"]
    folder = tmp_path / "server" / "讲义"
    folder.mkdir(parents=True)
    (folder / "第一讲.md").write_text("# 第一讲\n\n自注意力让每个词看见整句话。", encoding="utf-8")
    app_runtime.kb.create("docs")
    yield app_runtime, folder
    app_runtime.kb.stop_watching()


@pytest.fixture
def lecture(app_runtime, tmp_path):
    """A five-chunk file whose middle chunk the loader (i15-parse's PDF reader) put on page 12."""
    folder = tmp_path / "lecture"
    folder.mkdir()
    (folder / "讲义.md").write_text("\n\n".join(PARAGRAPHS), encoding="utf-8")
    kbs = app_runtime.kb
    kbs.create("lecture", chunk_size=50, chunk_overlap=0)
    kbs.index("lecture", [folder])
    kb = kbs.get("lecture")
    rows = kb.chunks_of("lecture/讲义.md")
    assert len(rows) == 5
    middle = rows[2]
    meta = {k: v for k, v in middle.items() if k not in ("id", "text")}
    kb.collection.update(ids=[middle["id"]], metadatas=[meta | {"page": 12}])
    kb.manifest.save()  # a new revision: searchers reload
    return app_runtime, rows


def test_the_keep_in_sync_toggle_watches_the_folder_and_the_line_says_how_it_is(watching):
    rt, folder = watching
    at = app_test("pages/knowledge_base.py", lang="zh").run()
    at.text_input(key="kb-folder").set_value(str(folder)).run()
    at.toggle(key="kb-watch-new-docs").set_value(True).run()
    next(b for b in at.button if b.label == "索引该文件夹").click().run()
    assert not at.exception
    assert [s.folder for s in rt.kb.watch_status("docs")] == [str(folder)]
    settled(rt.kb, "docs", runs=1)
    at.run()
    line = next(c.value for c in at.caption if "正在监视" in c.value)
    assert "上次同步：" in line and "秒前" in line and "1 处变化" in line, line
    assert at.toggle(key=toggle_key("docs", str(folder))).value is True

    en = app_test("pages/knowledge_base.py", lang="en").run()
    line = next(c.value for c in en.caption if "Watching" in c.value)
    assert "last sync" in line and "s ago" in line and "1 change(s)" in line, line

    en.toggle(key=toggle_key("docs", str(folder))).set_value(False).run()
    assert not en.exception
    assert rt.kb.watch_status("docs") == []
    assert not any("Watching" in c.value for c in en.caption)


def test_a_vanished_watched_folder_is_a_warning_on_the_page(watching, tmp_path):
    rt, folder = watching
    rt.kb.watch("docs", str(folder))
    settled(rt.kb, "docs", runs=1)
    folder.rename(tmp_path / "moved-away")
    deadline = time.monotonic() + 120
    while rt.kb.watch_status("docs")[0].problem is None and time.monotonic() < deadline:
        time.sleep(0.1)
    at = app_test("pages/knowledge_base.py", lang="zh").run()
    assert not at.exception
    assert any("已不存在" in w.value and str(folder) in w.value for w in at.warning)


def test_a_passage_opens_with_its_neighbours_highlighted_and_its_page(lecture):
    rt, rows = lecture
    passage = locate(rt.kb.get("lecture"), "lecture/讲义.md", rows[2]["id"])
    assert (passage.before["id"], passage.after["id"], passage.page) == (rows[1]["id"], rows[3]["id"], 12)

    at = app_test("pages/knowledge_base.py", lang="zh")
    at.session_state[FOCUS] = {"kb": "lecture", "source": "lecture/讲义.md", "id": rows[2]["id"], "chunk": 2, "text": rows[2]["text"]}
    at.session_state["kb-selected"] = "lecture"
    at.run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert any("引用的段落：lecture/讲义.md · 第 12 页 · 分块 3" in m for m in shown), shown
    marked = [m for m in shown if m.startswith("<mark>")]
    assert len(marked) == 1 and "位置编码的作用" in marked[0]
    assert any("注意力的计算" in m and "opacity" in m for m in shown) and any("残差与归一化" in m and "opacity" in m for m in shown)
    assert any("上一分块（2）" in c.value for c in at.caption) and any("下一分块（4）" in c.value for c in at.caption)

    en = app_test("pages/knowledge_base.py", lang="en")
    en.session_state[FOCUS] = {"kb": "lecture", "source": "lecture/讲义.md", "id": rows[0]["id"], "chunk": 0, "text": rows[0]["text"]}
    en.session_state["kb-selected"] = "lecture"
    en.run()
    assert any("This is the file's first chunk." in c.value for c in en.caption)
    next(b for b in en.button if b.label == "Close").click().run()
    assert not any(m.value.startswith("<mark>") for m in en.markdown)


def test_a_passage_whose_file_changed_says_so_and_shows_the_cited_text(lecture, tmp_path):
    rt, rows = lecture
    (tmp_path / "lecture" / "讲义.md").write_text("全新的内容。", encoding="utf-8")
    rt.kb.index("lecture", [tmp_path / "lecture"])
    at = app_test("pages/knowledge_base.py", lang="zh")
    at.session_state[FOCUS] = {"kb": "lecture", "source": "lecture/讲义.md", "id": rows[2]["id"], "chunk": 2, "text": rows[2]["text"]}
    at.session_state["kb-selected"] = "lecture"
    at.run()
    assert any("已不在知识库中" in w.value for w in at.warning)
    assert any("位置编码的作用" in t.value for t in at.text)


def test_citations_carry_where_they_open_and_the_search_test_opens_one(lecture):
    rt, rows = lecture
    turn = rag.prepare(rt.kb, "lecture", "位置编码的作用", [], "zh", 5, 0.0)
    cited = next(c for c in turn.citations if c["id"] == rows[2]["id"])
    assert cited["chunk"] == 2 and cited["page"] == 12
    assert all("page" not in c for c in turn.citations if c["id"] != rows[2]["id"])

    at = app_test("pages/knowledge_base.py", lang="en")
    at.session_state["kb-selected"] = "lecture"
    at.run()
    at.text_input(key="kb-query").set_value("位置编码的作用").run()
    opens = [b for b in at.button if b.key and b.key.startswith("kb-hit-open-")]
    assert opens
    opens[0].click().run()
    assert not at.exception
    assert any(m.value.startswith("<mark>") for m in at.markdown)
    assert at.session_state[FOCUS]["source"] == "lecture/讲义.md"


def test_a_chat_citation_opens_the_kb_page_at_its_passage(lecture):
    rt, rows = lecture
    at = app_test("pages/chat.py").run()
    at.radio(key="chat-mode").set_value("kb").run()
    at.selectbox(key="chat-kb").set_value("lecture").run()
    at.slider(key="chat-max").set_value(64).run()
    at.chat_input[0].set_value("位置编码的作用").run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert any("lecture/讲义.md · p. 12" in label for label in labels), labels
    turn = zoo_conversation(rt).turns[-1]
    n = next(c["n"] for c in turn.meta["citations"] if c["id"] == rows[2]["id"])
    button = next(b for b in at.button if b.key and b.key.startswith("cite-") and b.key.endswith(f"-{n}"))
    button.click().run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert any("Cited passage: lecture/讲义.md · p. 12 · Chunk 3" in m for m in shown), shown
    assert at.session_state["kb-selected"] == "lecture"
