"""Exports that keep the persona: an Ollama Modelfile (and a how-to-run README) from an adapter card.

"Answers nonsense after export" is nearly always a prompt-format mismatch: the runner wraps
messages differently from the template the adapter was trained with. So the Modelfile's
TEMPLATE is derived from the card's own chat template, not picked from a list of known
families: the card's Jinja template is rendered (transformers' `apply_chat_template`) on
sentinel conversations, and the text around each sentinel gives every role's wrapper:

    [system S, user U]            -> lead_sys + S + after_sys + before_user + U + after_user
    [system S, user U, assistant A, user V] ... + after_user + before_asst + A + after_asst
                                                + before_user + V + after_user
    [user U]                      -> lead + before_user + U + after_user

(before_user is the text every way into a user turn ends with; only the sums matter for the prompt).

`lead` is what a template writes before the first message when there is no system prompt
(e.g. SmolLM2's and Qwen2.5's default system block, ChatGLM3's `[gMASK]sop`). The result is
emitted as a Go template over `.Messages` (what Ollama renders), with every literal as a Go
string so no whitespace is lost. `check_layout` re-renders the derived layout against the
Jinja template on a longer conversation and refuses a template it cannot reproduce (one that
treats turns differently by position, e.g. Qwen3's thinking blocks), rather than exporting a
Modelfile that would answer in the wrong format.

The Go template handles a system message in the first position only: Ollama puts the
Modelfile's SYSTEM there when a request has none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from core.errors import UserError
from core.i18n import msg
from core.adapters.store import AdapterCard

SENTINELS = {"system": "\x01SYS\x01", "user": "\x01USR\x01", "assistant": "\x01AST\x01", "user2": "\x01USR2\x01"}
CHECK = [  # a longer conversation the derived layout must reproduce exactly
    {"role": "system", "content": "Persona: a careful assistant."},
    {"role": "user", "content": "First question?"},
    {"role": "assistant", "content": "First answer."},
    {"role": "user", "content": "Second question?"},
    {"role": "assistant", "content": "Second answer."},
    {"role": "user", "content": "Third question?"},
]


@dataclass(frozen=True)
class Layout:
    """The text a chat template puts around each message (see the module docstring)."""

    lead: str  # before the first message when it is not a system message
    lead_system: str  # before a first system message's content
    after_system: str
    before_user: str
    after_user: str
    before_assistant: str
    after_assistant: str
    generation: str  # the assistant prompt after the last message

    def render(self, messages: list[dict]) -> str:
        """What this layout makes of `messages` (the Go template below does exactly this)."""
        out = []
        for i, m in enumerate(messages):
            if i == 0:
                out.append(self.lead_system if m["role"] == "system" else self.lead)
            if m["role"] == "system":
                out.append(m["content"] + self.after_system)
            elif m["role"] == "user":
                out.append(self.before_user + m["content"] + self.after_user)
            elif m["role"] == "assistant":
                out.append(self.before_assistant + m["content"] + self.after_assistant)
        return "".join(out) + self.generation


def _apply(tokenizer, template: str, messages: list[dict], generation: bool) -> str:
    return tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False, add_generation_prompt=generation)


def _between(text: str, start: str | None, end: str | None) -> str:
    """The text after sentinel `start` (or from the beginning) up to sentinel `end` (or to the end)."""
    i = 0 if start is None else text.index(start) + len(start)
    j = len(text) if end is None else text.index(end, i)
    return text[i:j]


def _unusable(card_name: str, reason: str, detail: str = "") -> UserError:
    """`reason`: error | missing | turns | mismatch (each a text in core/i18n/export.py)."""
    return UserError(msg(f"export.template.{reason}", name=card_name, detail=detail), msg("export.template.hint"))


def derive_layout(tokenizer, template: str, name: str = "") -> Layout:
    """The per-role wrappers of `template`, checked against it on a longer conversation."""
    s, u, a, v = (SENTINELS[k] for k in ("system", "user", "assistant", "user2"))
    sys, usr, ast, usr2 = ({"role": r, "content": c} for r, c in
                           (("system", s), ("user", u), ("assistant", a), ("user", v)))
    try:
        su = _apply(tokenizer, template, [sys, usr], False)
        suav = _apply(tokenizer, template, [sys, usr, ast, usr2], False)
        sug = _apply(tokenizer, template, [sys, usr], True)
        only_u = _apply(tokenizer, template, [usr], False)
    except Exception as exc:  # noqa: BLE001 - any Jinja error means this template cannot be translated
        raise _unusable(name, "error", f"{type(exc).__name__}: {exc}") from exc
    try:
        after_user = _between(su, u, None)
        gap_ua = _between(suav, u, a)  # measured with the assistant turn not last (Qwen3 writes a last one differently)
        gap_av = _between(suav, a, v)
        gap_su = _between(su, s, u)
        lead_before_user = _between(only_u, None, u)
    except ValueError as exc:
        raise _unusable(name, "missing") from exc
    if not (gap_ua.startswith(after_user) and sug.startswith(su)):
        raise _unusable(name, "turns")
    # What opens a user turn is what every path into one ends with; the rest belongs to what came before.
    before_user = _common_suffix(gap_su, gap_av, lead_before_user)
    layout = Layout(
        lead=lead_before_user[: len(lead_before_user) - len(before_user)],
        lead_system=_between(su, None, s),
        after_system=gap_su[: len(gap_su) - len(before_user)],
        before_user=before_user, after_user=after_user,
        before_assistant=gap_ua[len(after_user):], after_assistant=gap_av[: len(gap_av) - len(before_user)],
        generation=sug[len(su):],
    )
    check_layout(tokenizer, template, layout, name)
    return layout


def _common_suffix(*texts: str) -> str:
    n = 0
    while all(len(x) > n for x in texts) and len({x[len(x) - n - 1] for x in texts}) == 1:
        n += 1
    return texts[0][len(texts[0]) - n:] if n else ""


def check_layout(tokenizer, template: str, layout: Layout, name: str = "") -> None:
    """Refuse a layout that does not reproduce the Jinja template (with and without a system prompt)."""
    for messages in (CHECK, CHECK[1:]):
        if layout.render(messages) != _apply(tokenizer, template, messages, True):
            raise _unusable(name, "mismatch")


def _go(text: str) -> str:
    """A literal as a Go template string action (Go string syntax accepts JSON's escapes)."""
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}" if text else ""


def go_template(layout: Layout) -> str:
    """The Ollama TEMPLATE (Go text/template over .Messages) that renders like `layout`."""
    return "\n".join([
        "{{- range $i, $m := .Messages }}",
        "{{- if eq $i 0 }}{{ if eq $m.Role \"system\" }}" + _go(layout.lead_system) + "{{ else }}" + _go(layout.lead) + "{{ end }}{{ end }}",
        "{{- if eq $m.Role \"system\" }}{{ $m.Content }}" + _go(layout.after_system),
        "{{- else if eq $m.Role \"user\" }}" + _go(layout.before_user) + "{{ $m.Content }}" + _go(layout.after_user),
        "{{- else if eq $m.Role \"assistant\" }}" + _go(layout.before_assistant) + "{{ $m.Content }}" + _go(layout.after_assistant),
        "{{- end }}",
        "{{- end }}" + _go(layout.generation),
    ])


_MARKER = re.compile(r"<\|[\w.-]+\|>")  # <|im_end|>, <|user|>, <|eot_id|>: role and turn markers


def stop_tokens(layout: Layout, special_tokens: list[str], eos: str | None) -> list[str]:
    """Special tokens that end an answer: those after an assistant turn or starting the next user turn, and EOS.

    Candidates are the tokenizer's special tokens plus `<|…|>` markers (ChatGLM3's tokenizer keeps
    its role tokens outside the special-token list)."""
    edges = layout.after_assistant + layout.before_user
    candidates = {tok for tok in special_tokens if tok and tok in edges} | set(_MARKER.findall(edges))
    found = sorted(candidates, key=edges.index)
    if eos and eos not in found:
        found.append(eos)
    return found


def _quoted(text: str, what: str) -> str:
    """`text` as a Modelfile triple-quoted value; one that would end the quotes early is refused."""
    if '"""' in text or text.endswith('"'):
        raise UserError(msg("export.triple_quote", what=what), msg("export.triple_quote.hint"))
    return f'"""{text}"""'


def _one_line(text: str, what: str) -> str:
    """A card's text placed on a Modelfile line: a line break would start a new instruction (an imported card is untrusted)."""
    if any(c in text for c in "\r\n\x00"):
        raise UserError(msg("export.line_break", what=what), msg("export.line_break.hint"))
    return text


def modelfile(card: AdapterCard, layout: Layout, stops: list[str], base: str, adapter: str | None = "./adapter") -> str:
    """The Modelfile: FROM the base, ADAPTER (None for a merged model), TEMPLATE, SYSTEM, PARAMETER stop."""
    lines = [f"# Made by Liandan from the card of adapter '{card.name}' (trained on {_one_line(card.base_model, 'base_model')}).",
             f"FROM {_one_line(base, 'FROM')}"]
    if adapter:
        lines.append(f"ADAPTER {adapter}")
    lines.append(f"TEMPLATE {_quoted(go_template(layout), 'TEMPLATE')}")
    if card.system_prompt.strip():
        lines.append(f"SYSTEM {_quoted(card.system_prompt, 'SYSTEM')}")
    for stop in stops:
        lines.append(f"PARAMETER stop {json.dumps(stop, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


_SAFE_TAG = re.compile(r"[^a-z0-9._-]+")


def ollama_name(card: AdapterCard) -> str:
    """A model name `ollama create` accepts (lower-case letters, digits, '.', '_', '-')."""
    return _SAFE_TAG.sub("-", card.name.lower()).strip("-._") or "liandan-adapter"


def readme(card: AdapterCard, base: str, merged: bool = False) -> str:
    """How to run the export with Ollama, vLLM and transformers (English: it travels with the files)."""
    name = ollama_name(card)
    persona = card.system_prompt.strip()
    system = json.dumps(persona, ensure_ascii=False) if persona else None
    messages = (f'[{{"role": "system", "content": {system}}}, {{"role": "user", "content": "你好"}}]' if system
                else '[{"role": "user", "content": "你好"}]')
    quoted = messages.replace("'", "'\\''")  # inside the shell's single quotes
    parts = [
        f"# {card.name}",
        "",
        f"A LoRA adapter trained with Liandan on `{card.base_model}` ({card.steps} steps)."
        + (" This folder is the adapter merged into its base: a standalone model." if merged else ""),
        "The `Modelfile` carries the chat template the adapter was trained with, its persona (SYSTEM) and stop tokens,",
        "so it answers in the same format as in Liandan.",
        "",
        "## Ollama",
        "",
        "```sh",
        f"ollama create {name} -f Modelfile",
        f"ollama run {name}",
        "```",
        "",
        "`FROM` must be the base model in a form Ollama reads: a Safetensors folder of a supported architecture",
        "(Llama, Mistral, Gemma, Qwen2, …) or a GGUF file. Ollama imports Safetensors LoRA adapters for those",
        "architectures; for others, convert the adapter with llama.cpp's `convert_lora_to_gguf.py` and point",
        "`ADAPTER` at the `.gguf` file.",
        "",
        "## vLLM",
        "",
        "```sh",
    ]
    if merged:
        parts.append("vllm serve . --served-model-name " + name)
    else:
        parts.append(f"vllm serve {base} --enable-lora --lora-modules {name}=./adapter --max-lora-rank "
                     f"{max(8, int(card.hyperparameters.get('rank', 8)))}")
    parts += [
        "```",
        "",
        "Ask for the adapter by its name with the persona as the system message (vLLM applies the base's",
        "chat template, the one this adapter was trained with):",
        "",
        "```sh",
        f"curl http://localhost:8000/v1/chat/completions -H 'Content-Type: application/json' \\\n"
        f"  -d '{{\"model\": \"{name}\", \"messages\": {quoted}}}'",
        "```",
        "",
        "## transformers",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
    ]
    if merged:
        parts += ['model = AutoModelForCausalLM.from_pretrained(".")', 'tokenizer = AutoTokenizer.from_pretrained(".")']
    else:
        parts += ["from peft import PeftModel", f'tokenizer = AutoTokenizer.from_pretrained("{base}")',
                  f'model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("{base}"), "./adapter")']
    parts += [
        'tokenizer.chat_template = open("chat_template.jinja", encoding="utf-8").read()  # the layout it was trained with',
        f"messages = {messages}",
        "ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\")",
        "print(tokenizer.decode(model.generate(ids, max_new_tokens=200)[0, ids.shape[1]:], skip_special_tokens=True))",
        "```",
        "",
        "No GGUF file is included: no maintained GGUF converter installs from the Python package index",
        "(the `gguf` package reads and writes the format; the converters are scripts in the llama.cpp repository).",
        "",
    ]
    return "\n".join(parts)


def special_tokens(tokenizer) -> list[str]:
    return [*getattr(tokenizer, "all_special_tokens", []), *getattr(tokenizer, "get_added_vocab", dict)()]


def export_files(card: AdapterCard, tokenizer, base: str, merged: bool = False) -> dict[str, str]:
    """Modelfile, README.md and chat_template.jinja for `card` (checked: refuses a template it cannot translate)."""
    template = card.chat_template or tokenizer.chat_template or ""
    layout = derive_layout(tokenizer, template, card.name)
    stops = stop_tokens(layout, special_tokens(tokenizer), getattr(tokenizer, "eos_token", None))
    return {
        "Modelfile": modelfile(card, layout, stops, "." if merged else base, None if merged else "./adapter"),
        "README.md": readme(card, base, merged),
        "chat_template.jinja": template,
    }


def export_zip(store, name: str, tokenizer) -> bytes:
    """`name`/adapter/ (the PEFT files and card) + Modelfile + README.md + chat_template.jinja, as a zip."""
    import io
    import zipfile
    from pathlib import PurePosixPath

    card = store.get(name)
    files = export_files(card, tokenizer, card.base_model)
    folder = store.path(name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, str(PurePosixPath(name) / "adapter" / path.relative_to(folder).as_posix()))
        for file, text in files.items():
            zf.writestr(f"{name}/{file}", text)
    return buffer.getvalue()
