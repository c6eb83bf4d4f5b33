"""Turning messages into the prompt a model was trained on: its own chat template, always.

ChatGLM3 gets the layout of its own `build_chat_input` from our tokenizer
(core.models.chatglm3_tokenizer), so fine-tuning and chat agree on one format.
"""

from __future__ import annotations

# A neutral layout for tokenizers without any template (tiny test models, base models).
FALLBACK_TEMPLATE = (
    "{% for m in messages %}"
    "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

NATIVE_TOOL_ROLES = {"chatglm"}  # model families whose template knows observation/interpreter


def ensure_template(tokenizer, model_type: str) -> None:
    if getattr(tokenizer, "chat_template", None):
        return
    tokenizer.chat_template = FALLBACK_TEMPLATE


def family(tokenizer, model_type: str) -> str:
    """'chatglm' for ChatGLM3 (converted to the native `glm` type, recognised by its tokenizer)."""
    return "chatglm" if getattr(tokenizer, "is_chatglm3", False) else model_type


def normalize_roles(messages: list[dict], model_type: str) -> list[dict]:
    """Map tool roles onto user/assistant for templates that only know those.

    ChatGLM3 knows `observation`; its code turns are `assistant` messages whose metadata
    line is `interpreter` (`<|assistant|>interpreter\n```python ...`).
    """
    if model_type in NATIVE_TOOL_ROLES:
        return [
            {"role": "assistant", "metadata": "interpreter", "content": m["content"]} if m["role"] == "interpreter" else m
            for m in messages
        ]
    out = []
    for m in messages:
        role, content = m["role"], m["content"]
        if role == "observation":
            role, content = "user", f"Observation (result of running the code):\n{content}"
        elif role == "interpreter":
            role = "assistant"
        out.append({"role": role, "content": content})
    return out


def render(
    tokenizer, messages: list[dict], model_type: str, add_generation_prompt: bool = True, chat_template: str | None = None
) -> str:
    """`chat_template` overrides the tokenizer's (an adapter trained with another layout)."""
    kwargs = {"chat_template": chat_template} if chat_template else {}
    return tokenizer.apply_chat_template(
        normalize_roles(messages, model_type), tokenize=False, add_generation_prompt=add_generation_prompt, **kwargs
    )
