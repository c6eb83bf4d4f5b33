"""ChatGLM3's tokenizer, reproduced in our own code so no checkpoint Python ever runs.

`tokenization_chatglm.py` (THUDM, 2023-12-07) is a sentencepiece model plus nine command
tokens appended after the sentencepiece vocabulary, in this order: [MASK] [gMASK] [sMASK]
sop eop <|system|> <|user|> <|assistant|> <|observation|>. Its `build_chat_input` encodes
every message as separate sentencepiece calls:

    <|role|> + sp.encode(f"{metadata}\\n") + sp.encode(content)   ... + <|assistant|>

after the prefix `[gMASK] sop`. Each `sp.encode` call adds its own dummy-prefix "▁", so
encoding the concatenated text once would give different ids on the real 65k vocabulary
(e.g. "▁\\n▁你" vs "▁\\n你"). We keep that segmentation as a text-level rule, so a Jinja
chat template can render the prompt and tokenizing the rendered text still gives exactly
the ids of `build_chat_input`:

- the text is split at [gMASK], at `sop` directly after [gMASK] (only there: "sop" is an
  ordinary word elsewhere) and at the four role tokens;
- after a role token, the text up to and including the first newline is the metadata line
  (one `sp.encode` call), the rest is the content (another call).

`build_chat_input(query, history, role)` is kept with the original signature (it is what
the tutorial's code calls) and builds ids directly, never parsing role markers inside
contents. Ids are produced straight from sentencepiece (never via piece strings), so a
sentencepiece piece spelled like a command token cannot be confused with it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from transformers import PreTrainedTokenizer

ROLES = ("system", "user", "assistant", "observation")
COMMAND_TOKENS = ("[MASK]", "[gMASK]", "[sMASK]", "sop", "eop") + tuple(f"<|{r}|>" for r in ROLES)
ROLE_TOKENS = {f"<|{r}|>" for r in ROLES}
# What the text form may contain: [gMASK], `sop` right after it, and the role markers.
_SPLIT = re.compile(r"(\[gMASK\]|(?<=\[gMASK\])sop|<\|system\|>|<\|user\|>|<\|assistant\|>|<\|observation\|>)")

# The layout of `build_chat_input` as a template: same ids once tokenized by this class.
CHAT_TEMPLATE = (
    "[gMASK]sop"
    "{% for m in messages %}"
    "{% set content = m['content'] %}"
    "{% if m['role'] == 'system' and m.get('tools') %}"
    "{% set content = content + '\\n' + (m['tools'] | tojson(indent=4)) %}"
    "{% endif %}"
    "<|{{ m['role'] }}|>{{ m.get('metadata') or '' }}\n{{ content }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
TOKENIZER_CLASS = "LiandanChatGLM3Tokenizer"  # the name written to tokenizer_config.json


class LiandanChatGLM3Tokenizer(PreTrainedTokenizer):
    """Same ids as ChatGLM3's `ChatGLMTokenizer` for chats, plain text and decoding.

    Its class name is what `save_pretrained` writes as `tokenizer_class`, so a saved copy (a
    merged export) is recognised by `is_chatglm3_tokenizer_folder` and loaded by us again.
    """

    vocab_files_names = {"vocab_file": "tokenizer.model"}
    model_input_names = ["input_ids", "attention_mask"]
    is_chatglm3 = True  # read by core.models.chat_format.family

    def __init__(self, vocab_file: str, padding_side: str = "left", **kwargs) -> None:
        from sentencepiece import SentencePieceProcessor

        self.vocab_file = vocab_file
        self.sp = SentencePieceProcessor(model_file=vocab_file)
        self.n_sp = self.sp.vocab_size()
        self.command = {token: self.n_sp + i for i, token in enumerate(COMMAND_TOKENS)}
        self.command_of_id = {i: t for t, i in self.command.items()}
        for key in ("bos_token", "eos_token", "unk_token", "pad_token", "added_tokens_decoder", "tokenizer_class"):
            kwargs.pop(key, None)
        kwargs.setdefault("chat_template", CHAT_TEMPLATE)
        super().__init__(
            padding_side=padding_side, clean_up_tokenization_spaces=False,
            unk_token="<unk>", eos_token="</s>", bos_token="<s>", pad_token="<unk>", **kwargs,
        )

    # --- ids of the original ----------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.n_sp + len(COMMAND_TOKENS)

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def eos_token_id(self) -> int:
        return self.sp.eos_id()

    @property
    def bos_token_id(self) -> int:
        return self.sp.bos_id()

    @property
    def pad_token_id(self) -> int:
        return self.sp.unk_id()  # the original pads with <unk> (id 0)

    @property
    def unk_token_id(self) -> int:
        return self.sp.unk_id()

    @property
    def all_special_ids(self) -> list[int]:
        """Skipped by `decode(skip_special_tokens=True)`: control ids and the command tokens."""
        return sorted({self.sp.bos_id(), self.sp.eos_id(), self.sp.unk_id(), *self.command.values()} - {-1})

    def get_command(self, token: str) -> int:
        """The original's name for a command token's id (`<eos>`, `<|user|>`, `[gMASK]`…)."""
        if token == "<eos>":
            return self.sp.eos_id()
        if token == "<bos>":
            return self.sp.bos_id()
        if token == "<pad>":
            return self.sp.unk_id()
        return self.command[token]

    def stop_token_ids(self) -> list[int]:
        """What `model.chat` stops on: eos, <|user|> and <|observation|>."""
        return [self.sp.eos_id(), self.command["<|user|>"], self.command["<|observation|>"]]

    def get_vocab(self) -> dict[str, int]:
        vocab = {self.sp.id_to_piece(i): i for i in range(self.n_sp)}
        vocab.update(self.command)
        return vocab

    def get_prefix_tokens(self) -> list[int]:
        return [self.command["[gMASK]"], self.command["sop"]]

    def build_single_message(self, role: str, metadata: str, message: str) -> list[int]:
        if role not in ROLES:
            raise ValueError(f"unknown ChatGLM3 role {role!r}; expected one of {ROLES}")
        return [self.command[f"<|{role}|>"]] + self.sp.encode(f"{metadata}\n") + self.sp.encode(message)

    def chat_ids(self, query: str, history: list[dict] | None = None, role: str = "user") -> list[int]:
        """The ids of the original `build_chat_input`, including the [gMASK] sop prefix."""
        ids = self.get_prefix_tokens()
        for item in history or []:
            content = item["content"]
            if item["role"] == "system" and "tools" in item:
                content = content + "\n" + json.dumps(item["tools"], indent=4, ensure_ascii=False)
            ids.extend(self.build_single_message(item["role"], item.get("metadata", ""), content))
        ids.extend(self.build_single_message(role, "", query))
        ids.append(self.command["<|assistant|>"])
        return ids

    def build_chat_input(self, query: str, history: list[dict] | None = None, role: str = "user"):
        """The tutorial's entry point: a batch of one, as tensors (no padding needed)."""
        import torch
        from transformers import BatchEncoding

        ids = self.chat_ids(query, history, role)
        return BatchEncoding({
            "input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
            "position_ids": torch.arange(len(ids)).unsqueeze(0),
        })

    def encode_text(self, text: str) -> list[int]:
        """Ids of a text that may hold the chat layout's markers (see the module docstring)."""
        ids: list[int] = []
        after_role = False
        for part in _SPLIT.split(text):
            if part in self.command and (part != "sop" or ids[-1:] == [self.command["[gMASK]"]]):
                ids.append(self.command[part])
                after_role = part in ROLE_TOKENS
                continue
            if not part:
                continue
            if after_role and "\n" in part:
                metadata, content = part.split("\n", 1)
                ids.extend(self.sp.encode(metadata + "\n"))
                ids.extend(self.sp.encode(content))
            else:
                ids.extend(self.sp.encode(part))
            after_role = False
        return ids

    # --- the transformers tokenizer interface ---------------------------------------
    def _encode_plus(self, text, text_pair=None, **kwargs):
        """Turn strings into ids ourselves; the base class then pads/truncates/tensorises."""
        if isinstance(text, str):
            text = self.encode_text(text)
        if isinstance(text_pair, str):
            text_pair = self.encode_text(text_pair)
        return super()._encode_plus(text, text_pair, **kwargs)

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        ids = self.get_prefix_tokens() + token_ids_0
        if token_ids_1 is not None:
            ids = ids + token_ids_1 + [self.sp.eos_id()]
        return ids

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        return self.sp.encode_as_pieces(text)

    def tokenize(self, text: str, **kwargs) -> list[str]:
        return [self._convert_id_to_token(i) for i in self.encode_text(text)]

    def _convert_token_to_id(self, token: str) -> int:
        if token in self.command:
            return self.command[token]
        return self.sp.piece_to_id(token)

    def _convert_id_to_token(self, index: int) -> str:
        if index in self.command_of_id:
            return self.command_of_id[index]
        if 0 <= index < self.n_sp:
            return self.sp.id_to_piece(index)
        return ""

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self.sp.decode_pieces(tokens)

    def _decode(self, token_ids, skip_special_tokens: bool = False, **kwargs) -> str:
        """Like the original `SPTokenizer.decode`: command tokens as their text, the rest via sentencepiece."""
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        text, buffer = "", []
        for i in token_ids:
            i = int(i)
            if i in skip:
                continue
            if i in self.command_of_id:
                if buffer:
                    text += self.sp.decode(buffer)
                    buffer = []
                text += self.command_of_id[i]
            elif 0 <= i < self.n_sp:
                buffer.append(i)
        if buffer:
            text += self.sp.decode(buffer)
        return text

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        target = Path(save_directory) / ((filename_prefix + "-" if filename_prefix else "") + "tokenizer.model")
        if os.path.abspath(self.vocab_file) != os.path.abspath(target):
            target.write_bytes(Path(self.vocab_file).read_bytes())
        return (str(target),)


def is_chatglm3_tokenizer_folder(folder: Path) -> bool:
    """A folder whose tokenizer is ours (a converted ChatGLM3, or a merged export of one)."""
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return config.get("tokenizer_class") == TOKENIZER_CLASS


ChatGLM3Tokenizer = LiandanChatGLM3Tokenizer


def load(folder: Path) -> LiandanChatGLM3Tokenizer:
    return LiandanChatGLM3Tokenizer(vocab_file=str(folder / "tokenizer.model"))
