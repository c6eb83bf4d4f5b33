import pytest

from core.auth import check_bearer, check_password, hash_password
from core.conversations import ConversationStore, Turn, to_markdown
from core.errors import UserError
from core.personas import DEFAULT_PERSONAS, PersonaStore


def test_conversations_persist_rename_delete_and_export(tmp_path):
    store = ConversationStore(tmp_path)
    conv = store.new(system_prompt="现在你要扮演皇帝身边的女人--甄嬛")
    conv.turns += [Turn("user", "你是谁？"), Turn("assistant", "臣妾甄嬛。", variant="huanhuan")]
    store.save(conv)
    again = ConversationStore(tmp_path).get(conv.id)
    assert again.title == "你是谁？"
    assert again.messages()[0]["role"] == "system" and again.turns[1].variant == "huanhuan"
    store.rename(conv.id, "甄嬛对话")
    assert store.list()[0].title == "甄嬛对话"
    md = to_markdown(store.get(conv.id))
    assert "# 甄嬛对话" in md and "**Assistant (huanhuan):**" in md and "臣妾甄嬛。" in md
    with pytest.raises(UserError):
        store.rename(conv.id, "  ")
    store.delete(conv.id)
    assert store.list() == []


def test_titles_skip_code_fences_and_markup():
    from core.conversations import title_from

    assert title_from("```python\nprint(1)\n```") == "python"
    assert title_from("\n\n## 画一个 y=x^2 的图") == "画一个 y=x^2 的图"
    assert title_from("   ") == ""


def test_conversation_ids_cannot_escape_the_folder(tmp_path):
    with pytest.raises(UserError):
        ConversationStore(tmp_path).get("../../etc/passwd")


def test_persona_presets_are_editable_and_saved(tmp_path):
    store = PersonaStore(tmp_path / "personas.json")
    assert store.all() == DEFAULT_PERSONAS
    store.save("老师", "你是一位耐心的老师。")
    assert PersonaStore(tmp_path / "personas.json").all()["老师"] == "你是一位耐心的老师。"
    store.delete("老师")
    assert "老师" not in store.all()


def test_password_plain_and_hashed():
    assert check_password("秘密", "秘密")
    assert not check_password("wrong", "秘密")
    hashed = hash_password("s3cret")
    assert hashed.startswith("sha256:") and check_password("s3cret", hashed) and not check_password("S3cret", hashed)


def test_bearer_header():
    assert check_bearer("Bearer k-123", "k-123")
    assert not check_bearer("Bearer k-124", "k-123")
    assert not check_bearer(None, "k-123")
    assert not check_bearer("k-123", "k-123")
