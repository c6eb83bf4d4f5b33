"""Conversation-aware retrieval: a follow-up such as "那它需要多少显存？" is rewritten into a question that
stands on its own before it is searched, because "它" matches nothing in the knowledge base.

Two ways, chosen by the loaded model's size:
- the model rewrites it (a short instruction with the last turns), when it has at least
  MODEL_REWRITE_MIN_PARAMS parameters; its answer is used only if it looks like a question (not empty,
  not much longer than the inputs), else the rule below is;
- a rule, for tiny models and when no model is loaded: the subject of the previous question (its model
  names / English terms, else its Chinese keywords) replaces the pronoun, or is put in front.
Measured on bench/data/datawhale_followups.jsonl by bench/followups.py.
"""

from __future__ import annotations

import re

import rjieba

from core.kb.tokenize import tokens

MODEL_REWRITE_MIN_PARAMS = 1_000_000_000  # SmolLM2-135M echoes or drifts; a 6B chat model does this well
_PRONOUNS_ZH = re.compile(r"(这个模型|那个模型|该模型|这个框架|这个方法|这种方法|这一步|它们|它的|它|其|这个|那个|该)")
_PRONOUNS_EN = re.compile(r"\b(it|its|this model|that model|this|that|they|them|their)\b", re.IGNORECASE)
_FOLLOWUP_START = re.compile(r"^\s*(那|那么|还有|另外|以及|and\b|what about\b|how about\b|also\b)", re.IGNORECASE)
_WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z0-9]")
_ZH_STOP = re.compile(r"这个|那个|是什么|是谁|是怎么|是|怎么|如何|为什么|有哪些|哪些|什么|多少|哪|吗|的|能|会|要|用")
_EN_SKIP = frozenset("what how why which who when where does do did is are was were can could should would the a an "
                     "and or of in on for to with from about this that it its used use say says happened happen".split())
_CJK = re.compile(r"[\u3400-\u9fff]")
PROMPT = (
    "Rewrite the last question so that it can be understood without the conversation, in the same language. "
    "Keep it short and reply with the question only.\n\n{history}\nLast question: {question}\nStandalone question:"
)


def last_user_questions(history: list[dict], n: int = 2) -> list[str]:
    return [m["content"] for m in history if m.get("role") == "user" and str(m.get("content", "")).strip()][-n:]


def needs_rewrite(question: str, history: list[dict]) -> bool:
    """A follow-up: there is an earlier question, and this one points back (pronoun, "那…") or is very short."""
    if not last_user_questions(history, 1):
        return False
    q = question.strip()
    short = len(q) <= (12 if _CJK.search(q) else 25)
    return bool(_PRONOUNS_ZH.search(q) or _PRONOUNS_EN.search(q) or _FOLLOWUP_START.match(q) or short)


def subject(previous: str) -> str:
    """What the previous question was about. Chinese: its opening words up to the first question word
    ("天机这个项目是做什么的" -> "天机"; "GPT-3 的训练数据…" -> "GPT-3"). English: its names (a capital or a
    digit: Gemma3, GRPO, Blendle), else its longer content words."""
    q = previous.strip()
    if _CJK.search(q):
        head = _ZH_STOP.split(q, maxsplit=1)[0].strip(" ，,？?")
        words = [w for w in rjieba.cut(head) if w.strip()]
        while len(words) > 1 and len(words[-1]) == 1 and _CJK.match(words[-1]):
            words.pop()  # a trailing one-character verb: "大熊猫吃" -> "大熊猫"
        head = "".join(words).strip()
        if len(head) >= 2:
            return head
        words = sorted({w for w in tokens(q) if _CJK.search(w)}, key=len, reverse=True)
        return "".join(words[:2])
    names = [w for w in _WORDS.findall(q) if re.search(r"[A-Z0-9]", w[1:] if w[:1].isupper() and w.lower() in _EN_SKIP else w)]
    names = [w for w in names if len(w) >= 2 and w.lower() not in _EN_SKIP]
    if not names:
        names = [w for w in _WORDS.findall(q) if len(w) >= 4 and w.lower() not in _EN_SKIP][:3]
    return " ".join(names[:3])


def rule_rewrite(question: str, history: list[dict]) -> str:
    previous = last_user_questions(history, 1)
    if not previous or not needs_rewrite(question, history):
        return question
    topic = subject(previous[0])
    if not topic:
        return f"{previous[0]} {question}"
    q = _FOLLOWUP_START.sub("", question.strip(), count=1).strip() or question.strip()
    pattern = _PRONOUNS_ZH if _CJK.search(q) else _PRONOUNS_EN
    replaced, count = pattern.subn(topic, q, count=1)
    return replaced if count else f"{topic} {q}"


def model_rewrite(engine, question: str, history: list[dict]) -> str | None:
    """The loaded model's standalone version, or None when it gave nothing usable."""
    from core.models.options import GenerationOptions

    turns = "\n".join(f"{m['role']}: {str(m['content'])[:300]}" for m in history[-4:] if m.get("role") in ("user", "assistant"))
    prompt = PROMPT.format(history=turns, question=question)
    try:
        text = engine.chat([{"role": "user", "content": prompt}], GenerationOptions(max_new_tokens=64, temperature=0.0))
    except Exception:  # noqa: BLE001 - rewriting only helps retrieval; the rule still works
        return None
    text = text.strip().splitlines()[0].strip() if text.strip() else ""
    text = re.sub(r"^(standalone question|问题|改写)[:：]\s*", "", text, flags=re.IGNORECASE).strip()
    if not text or len(text) > 3 * (len(question) + 40):
        return None
    return text


def standalone(question: str, history: list[dict], engine=None) -> tuple[str, str]:
    """(query to search, how it was made: "as-is" | "rule" | "model")."""
    if not needs_rewrite(question, history):
        return question, "as-is"
    info = getattr(engine, "info", None)
    if engine is not None and getattr(info, "parameters", 0) >= MODEL_REWRITE_MIN_PARAMS:
        rewritten = model_rewrite(engine, question, history)
        if rewritten:
            return rewritten, "model"
    return rule_rewrite(question, history), "rule"
