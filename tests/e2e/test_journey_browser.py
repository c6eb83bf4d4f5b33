"""The new user's whole journey (issue 19) in one real Chromium at 1400×900 on the embedded SmolLM2:

Home → Chat (中文/English, a short answer, Stop, reload keeps the conversation, Regenerate, Edit
with Cancel) → Knowledge Base (create with the knobs folded under 高级设置, five Markdown files plus
a refused .exe and a broken PDF, the per-file report, a retrieval test, KB mode in Chat) → Fine-tune
(32 huanhuan records, Quick preset with one epoch, a persona, watched to the end) → Compare (base
against the new adapter, one blind vote) → System (a folder that is no model gets a clear message).

Every page is checked for a traceback or a Streamlit exception box. One function: each step needs
the last. Kept small for CI: 16-token chat answers, 4 training steps, one compare prompt.
The parts of each step are tested in depth elsewhere (test_chat_browser, test_kb_browser,
test_finetune_browser, test_compare_browser, test_ui_journey_browser); this one proves they
work one after another for the same user, the way issue 19 tried them.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from core.i18n import t
from core.compare.votes import VoteStore
from tests.conftest import SHARED
from tests.e2e.conftest import choose, go_to, open_expander, open_page, wait_idle, wait_model_loaded
from tests.e2e.test_chat_browser import STREAMING_LONGER_THAN, messages, send
from tests.e2e.test_finetune_browser import wait_done
from tests.e2e.test_kb_browser import TABLE_ROWS
from tests.e2e.test_ui_journey_browser import answered, new_chat, settings_slider, visible_buttons

pytestmark = [pytest.mark.browser, pytest.mark.smollm]

RECORDS = 32
PERSONA = "现在你要扮演皇帝身边的女人--甄嬛。"
ANIMALS = {
    "熊猫.md": "# 大熊猫\n\n大熊猫生活在四川的竹林里，每天要吃十几公斤竹子。",
    "企鹅.md": "# 企鹅\n\n帝企鹅生活在南极，雄企鹅把蛋放在脚上孵化。",
    "骆驼.md": "# 骆驼\n\n骆驼的驼峰里储存的是脂肪，不是水。",
    "海豚.md": "# 海豚\n\n海豚用回声定位寻找食物，睡觉时只有半个大脑休息。",
    "树懒.md": "# 树懒\n\n树懒一周只下树一次，身上会长藻类。",
}


def zh(key: str, **values) -> str:
    return t(key, "zh", **values)


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def assert_clean(page, where: str) -> None:
    """No traceback text and no Streamlit exception box on the page as shown."""
    wait_idle(page)
    assert page.get_by_test_id("stException").count() == 0, f"{where}: an exception box is shown"
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, f"{where}: a traceback is shown:\n{body[:2000]}"


@pytest.fixture
def huanhuan(tmp_path) -> Path:
    source = SHARED / "data" / "huanhuan.json"
    if not source.exists():
        pytest.skip(f"the journey trains on {source}, which is not present (../shared is missing)")
    path = tmp_path / "huanhuan32.json"
    records = json.loads(source.read_text(encoding="utf-8"))[:RECORDS]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def chat_step(page) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    go_to(page, zh("nav.chat"))
    new_chat(page)
    sidebar.get_by_text("English", exact=True).click()  # the language switch, both ways
    wait_idle(page)
    page.get_by_role("heading", name=t("chat.title", "en")).wait_for()
    sidebar.get_by_text("中文", exact=True).click()
    wait_idle(page)
    page.get_by_role("heading", name=zh("chat.title")).wait_for()
    assert_clean(page, "Chat")

    settings_slider(page).press("Home")  # 16 tokens: short answers
    wait_idle(page)
    send(page, "Name three colours.")
    answered(page, 1)

    slider = settings_slider(page)
    slider.press("End")  # room to press Stop
    wait_idle(page)
    send(page, "Write a long story about a dragon who learns to cook.")
    page.wait_for_function(STREAMING_LONGER_THAN, arg=20, timeout=120_000)
    page.get_by_role("button", name="⏹ 停止").click()
    wait_idle(page)
    settings_slider(page).press("Home")
    wait_idle(page)

    page.reload()  # the same browser: the conversation and the stopped answer are still there
    page.get_by_test_id("stSidebarNav").wait_for(timeout=60_000)
    messages(page, "assistant").last.get_by_text("（已停止）").wait_for(timeout=60_000)
    expect(messages(page, "user").filter(has_text="Name three colours.")).to_have_count(1)
    expect(messages(page, "user")).to_have_count(2)
    assert_clean(page, "Chat after a reload")

    visible_buttons(page, "🔄 重新生成").click()  # replaces the stopped answer
    expect(messages(page, "assistant").last).not_to_contain_text("已停止", timeout=180_000)
    answered(page, 2)

    visible_buttons(page, "✏️ 编辑上一条").click()
    wait_idle(page)
    box = page.get_by_test_id("stChatMessage").get_by_role("textbox", name="修改上一条消息")
    expect(box).to_have_value("Write a long story about a dragon who learns to cook.")
    visible_buttons(page, "取消").click()
    wait_idle(page)
    expect(box).to_have_count(0)
    expect(messages(page, "user")).to_have_count(2)
    assert_clean(page, "Chat after Regenerate and Edit")


def kb_step(page, folder: Path, base: str) -> None:
    folder.mkdir()
    files = []
    for name, text in ANIMALS.items():
        (folder / name).write_text(text, encoding="utf-8")
        files.append(folder / name)
    (folder / "安装程序.exe").write_bytes(b"MZ\x90\x00" + bytes(200))  # refused by the uploader
    (folder / "损坏的报告.pdf").write_bytes(b"this is not a PDF at all")  # accepted, fails to parse
    files += [folder / "安装程序.exe", folder / "损坏的报告.pdf"]

    go_to(page, zh("nav.kb"))
    create = page.get_by_test_id("stExpander").filter(has_text=zh("kb.create"))
    name_box = page.get_by_role("textbox", name=zh("common.name"), exact=True)
    if not name_box.is_visible():  # open only while there is no base at all
        create.locator("summary").first.click()
    name_box.fill(base)
    size = page.get_by_role("spinbutton", name=zh("kb.chunk_size"))
    expect(size).to_be_hidden()  # chunking waits under 高级设置
    open_expander(page, zh("help.advanced"), root=create)
    expect(size).to_be_visible()
    page.get_by_role("button", name=zh("kb.create_button"), exact=True).click()
    wait_idle(page)
    expect(page.get_by_role("combobox", name=zh("kb.select"), exact=True)).to_have_value(base)

    uploader = page.get_by_test_id("stFileUploader").filter(has_text="上传文件（可多选")
    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files)
    wait_idle(page)
    expect(page.get_by_test_id("stAlertContentError").filter(has_text="安装程序.exe")).to_contain_text("不支持 .exe 文件")
    index = page.get_by_role("button", name=zh("kb.index_uploads"))
    expect(index).to_be_enabled()
    index.click()
    expect(page.get_by_text(re.compile(r"已索引 5 · 未变化 0 · 重复 0 · 已移除 0 · 失败 1"))).to_be_visible(timeout=120_000)
    grid = page.get_by_test_id("stDataFrame").filter(has=page.locator("table[role=grid]")).first
    expect(grid.locator("td[role=gridcell]").filter(has_text="损坏的报告.pdf")).to_have_count(1, timeout=15_000)
    rows = {r[0]: r[1:] for r in grid.evaluate(TABLE_ROWS) if r}  # file -> status, chunks, reason
    assert set(rows) == {*ANIMALS, "损坏的报告.pdf"}, rows
    assert "失败" in rows["损坏的报告.pdf"][0] and re.search(r"[\u4e00-\u9fff]", rows["损坏的报告.pdf"][-1]), rows
    assert all("已索引" in rows[name][0] for name in ANIMALS), rows
    assert_clean(page, "Knowledge Base after indexing")

    page.get_by_role("tab", name=zh("kb.tab.search")).click()
    query = page.get_by_role("textbox", name=zh("kb.query"))
    query.fill("大熊猫吃什么")
    query.press("Enter")
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"\[1\] .+\.md · 相关度")).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(r"\[\d\] 熊猫\.md · 相关度")).first).to_be_visible()
    assert_clean(page, "Knowledge Base retrieval test")

    go_to(page, zh("nav.chat"))
    sidebar = page.get_by_test_id("stSidebar")
    new_chat(page)
    sidebar.get_by_test_id("stRadio").filter(has_text=zh("chat.mode")).get_by_text(zh("chat.mode.kb"), exact=True).click()
    wait_idle(page)
    picker = sidebar.get_by_role("combobox", name=zh("kb.chat.pick"))
    choose(page, picker, base)
    send(page, "大熊猫吃什么？")
    answer = messages(page, "assistant").last
    answer.get_by_text("token/秒").wait_for(timeout=180_000)
    expect(answer.get_by_text(f"出处 · {base}")).to_be_visible()
    expect(answer.get_by_test_id("stExpander").filter(has_text="熊猫.md").first).to_be_visible()
    sidebar.get_by_test_id("stRadio").filter(has_text=zh("chat.mode")).get_by_text(zh("chat.mode.chat"), exact=True).click()
    assert_clean(page, "Chat in knowledge-base mode")


def finetune_step(page, app, dataset: Path) -> str:
    go_to(page, zh("nav.finetune"))
    page.get_by_test_id("stFileUploader").locator("input[type=file]").first.set_input_files(str(dataset))
    page.get_by_text(zh("ft.data.format", format="alpaca", records=RECORDS)).wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text(zh("ft.preset.quick"), exact=True).click()
    wait_idle(page)
    epochs = page.get_by_role("spinbutton", name=zh("ft.set.epochs"))
    expect(epochs).to_be_hidden()  # beyond the preset: folded
    open_expander(page, zh("ft.set.advanced"))
    epochs.fill("1")  # 32 records, 8 per step: 4 steps
    epochs.press("Enter")
    wait_idle(page)
    persona = page.get_by_role("textbox", name=zh("ft.set.persona"))
    persona.fill(PERSONA)
    persona.press("Control+Enter")
    wait_idle(page)
    name = page.get_by_role("textbox", name=zh("ft.start.name")).input_value()
    assert name, "no adapter name was prefilled"
    start = page.get_by_role("button", name=zh("ft.start.button"))
    start.click()
    page.get_by_text(zh("ft.start.started")).wait_for(timeout=60_000)
    job, _ = wait_done(app, name, 900, page=page)  # watched on the page to the end
    assert job["status"] == "done", job.get("error")
    prefix = zh("ft.jobs.result", name=name, train="X", val="X").split("X")[0]
    page.get_by_text(re.compile(re.escape(prefix))).filter(visible=True).first.wait_for(timeout=60_000)
    assert_clean(page, "Fine-tune after training")
    return name


def compare_step(page, app, adapter: str) -> None:
    go_to(page, zh("nav.compare"))
    page.get_by_text(zh("compare.mode.blind"), exact=True).click()
    wait_idle(page)
    variants = page.get_by_test_id("stMultiSelect").filter(has_text=zh("compare.variants_blind"))
    if variants.get_by_text(f"🧩 {adapter}").count() == 0:  # other adapters exist: put this one beside the base
        field = variants.locator("input").first
        field.click()
        field.press("Backspace")
        wait_idle(page)
        field.click()
        field.fill(adapter)
        page.get_by_role("option", name=f"🧩 {adapter}").click()
        page.keyboard.press("Escape")
        wait_idle(page)
    expect(variants.get_by_text(zh("compare.base"))).to_have_count(1)
    expect(variants.get_by_text(f"🧩 {adapter}")).to_have_count(1)
    settings_slider(page).press("Home")  # 16 tokens per answer
    wait_idle(page)
    page.get_by_role("button", name=zh("compare.blind_start")).click()
    better = page.get_by_role("button", name="👈 A 更好")
    better.wait_for(timeout=240_000)
    better.click()
    page.get_by_text("本轮盲评完成").wait_for(timeout=60_000)
    votes = VoteStore(app.data_dir / "compare" / "votes.jsonl").all()
    assert votes and votes[-1].choice == "A" and {votes[-1].a, votes[-1].b} == {"base", adapter}, votes[-1:]
    assert_clean(page, "Compare after a blind vote")


def system_step(page, not_a_model: Path) -> None:
    not_a_model.mkdir()
    (not_a_model / "读我.txt").write_text("这里没有模型。", encoding="utf-8")
    go_to(page, zh("nav.system"))
    page.get_by_test_id("stRadio").get_by_text(zh("system.source.local"), exact=True).click()
    wait_idle(page)
    path = page.get_by_role("textbox", name=zh("system.path"))
    path.fill(str(not_a_model))
    path.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=zh("system.preflight")).click()
    wait_idle(page)
    problem = page.get_by_test_id("stAlertContentError").first
    expect(problem).to_be_visible(timeout=30_000)
    assert re.search(r"[\u4e00-\u9fff]", problem.inner_text()), problem.inner_text()  # said in Chinese
    page.get_by_role("button", name=zh("system.load"), exact=True).click()
    expect(page.get_by_text(re.compile(r" · 失败$")).first).to_be_visible(timeout=60_000)  # the load job's title
    failed = page.get_by_test_id("stAlertContentError").filter(has_text="config.json")
    expect(failed.first).to_be_visible()
    assert re.search(r"[\u4e00-\u9fff]", failed.first.inner_text()), failed.first.inner_text()  # why, in Chinese
    # A failed load keeps the model that was loaded.
    expect(page.get_by_test_id("stSidebar").get_by_test_id("stAlertContentSuccess").first).to_be_visible()
    assert_clean(page, "System after a bad model folder")


def test_the_new_users_journey(own_app, page, huanhuan, tmp_path):
    wait_model_loaded(page, own_app)
    assert_clean(page, "Home")
    chat_step(page)
    kb_step(page, tmp_path / "动物资料", f"旅程-{uuid.uuid4().hex[:6]}")
    adapter = finetune_step(page, own_app, huanhuan)
    compare_step(page, own_app, adapter)
    system_step(page, tmp_path / "不是模型")
    open_page(page, own_app)
    assert_clean(page, "Home at the end")
