"""The ChatGLM3 compatibility path, tested on a stand-in with the old remote-code signatures."""

from __future__ import annotations

from core.models import chat_format, chatglm_compat


class OldTokenizer:
    """Mimics tokenization_chatglm.py: `_pad` predates the `padding_side` keyword."""

    def _pad(self, encoded_inputs, max_length=None, padding_strategy=None, pad_to_multiple_of=None, return_attention_mask=None):
        return {"padded": encoded_inputs, "max_length": max_length}


class OldModel:
    """Mimics modeling_chatglm.py, which calls the removed `_extract_past_from_model_output`."""

    def _update_model_kwargs_for_generation(self, outputs, model_kwargs):
        model_kwargs["past_key_values"] = self._extract_past_from_model_output(outputs)
        return model_kwargs


class Outputs:
    past_key_values = ("k", "v")


def test_old_pad_accepts_padding_side_after_patch():
    tok = OldTokenizer()
    assert chatglm_compat.patch_tokenizer(tok) is True
    assert tok._pad([1, 2], max_length=4, padding_side="left") == {"padded": [1, 2], "max_length": 4}
    assert chatglm_compat.patch_tokenizer(tok) is False  # idempotent


def test_model_gets_the_removed_cache_helper():
    model = OldModel()
    assert chatglm_compat.patch_model(model) is True
    assert model._update_model_kwargs_for_generation(Outputs(), {}) == {"past_key_values": ("k", "v")}


def test_chatglm_template_and_native_tool_roles():
    class Tok:
        chat_template = None

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            from jinja2 import Template

            return Template(self.chat_template).render(messages=messages, add_generation_prompt=add_generation_prompt)

    tok = Tok()
    chat_format.ensure_template(tok, "chatglm")
    messages = [{"role": "system", "content": "你是甄嬛"}, {"role": "user", "content": "你是谁？"}, {"role": "observation", "content": "42"}]
    text = chat_format.render(tok, messages, "chatglm")
    assert text == "[gMASK]sop<|system|>\n 你是甄嬛<|user|>\n 你是谁？<|observation|>\n 42<|assistant|>"
    generic = chat_format.normalize_roles(messages, "llama")
    assert generic[2] == {"role": "user", "content": "Observation (result of running the code):\n42"}


def test_needs_compat_detects_chatglm_configs():
    assert chatglm_compat.needs_compat({"model_type": "chatglm"})
    assert chatglm_compat.needs_compat({"auto_map": {"AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration"}})
    assert not chatglm_compat.needs_compat({"model_type": "llama"})
