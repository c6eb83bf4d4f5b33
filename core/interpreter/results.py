"""What one code cell produced, as plain JSON-able data (it is stored in conversation turns).

Outputs are dicts with a `type`: stream (stdout/stderr text), text (a result's text/plain),
markdown, table (a DataFrame as columns/index/data plus its text form), image (base64
PNG), error (name, value, traceback without ANSI codes) and note (something the sandbox
did: `key` is translated by the UI, e.g. "timeout", "truncated").
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")

# English wording of each note for the model's observation; the UI has its own translations.
NOTE_TEXT = {
    "timeout": "Execution stopped: it ran longer than {seconds:.0f} s (time limit).",
    "budget": "Not run: the time budget for code in this answer is used up.",
    "restarted": "The kernel did not stop, so it was restarted: all variables are lost.",
    "died": "The kernel died (memory limit or crash) and was restarted: all variables are lost.",
    "truncated": "Output truncated: {hidden} more characters not shown.",
    "images_dropped": "{count} more images not shown (limit reached).",
}


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


@dataclass
class ExecResult:
    """status: ok | error | timeout | interrupted | died | skipped."""

    outputs: list[dict] = field(default_factory=list)
    status: str = "ok"
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ExecResult:
        return cls(outputs=list(data.get("outputs", [])), status=data.get("status", "ok"), seconds=data.get("seconds", 0.0))

    def text(self) -> str:
        """Everything textual, in order: what stdout/stderr and results would show in a terminal."""
        parts = []
        for out in self.outputs:
            kind = out["type"]
            if kind in ("stream", "text", "markdown", "table"):
                parts.append(out["text"])
            elif kind == "image":
                parts.append("[an image (PNG) was shown to the user]\n")
            elif kind == "error":
                parts.append(out["traceback"] or f"{out['ename']}: {out['evalue']}")
            elif kind == "note":
                parts.append("[" + NOTE_TEXT[out["key"]].format(**out.get("args", {})) + "]\n")
        return "".join(p if p.endswith("\n") else p + "\n" for p in parts)

    def observation(self, limit: int) -> str:
        """The text the model reads back; long output keeps its head and its tail (where errors are)."""
        text = self.text().strip() or "[the code ran and printed nothing]"
        if len(text) > limit:
            head = limit * 2 // 3
            tail = limit - head
            text = text[:head] + f"\n[... {len(text) - limit} characters omitted ...]\n" + text[-tail:]
        return text

    def images(self) -> list[str]:
        return [o["png"] for o in self.outputs if o["type"] == "image"]

    def errors(self) -> list[dict]:
        return [o for o in self.outputs if o["type"] == "error"]


class OutputCollector:
    """Turns Jupyter iopub messages into outputs, capped in size (a runaway print must not fill memory)."""

    def __init__(self, max_chars: int, max_images: int = 10) -> None:
        self.result = ExecResult()
        self.max_chars = max_chars
        self.max_images = max_images
        self.chars = 0
        self.hidden = 0
        self.images_dropped = 0

    def _room(self, text: str) -> str:
        room = max(0, self.max_chars - self.chars)
        kept = text[:room]
        self.chars += len(kept)
        self.hidden += len(text) - len(kept)
        return kept

    def add(self, msg_type: str, content: dict) -> None:
        outs = self.result.outputs
        if msg_type == "stream":
            text = self._room(content.get("text", ""))
            if not text:
                return
            if outs and outs[-1]["type"] == "stream" and outs[-1]["name"] == content.get("name"):
                outs[-1]["text"] += text
            else:
                outs.append({"type": "stream", "name": content.get("name", "stdout"), "text": text})
        elif msg_type in ("execute_result", "display_data"):
            self._add_data(content.get("data", {}))
        elif msg_type == "error":
            traceback = strip_ansi("\n".join(content.get("traceback", [])))
            outs.append({"type": "error", "ename": content.get("ename", ""), "evalue": strip_ansi(content.get("evalue", "")), "traceback": self._room(traceback)})
        elif msg_type == "clear_output":
            outs[:] = [o for o in outs if o["type"] == "note"]

    def _add_data(self, data: dict) -> None:
        outs = self.result.outputs
        plain = self._room(data.get("text/plain", ""))
        table = data.get("application/json")
        if isinstance(table, dict) and table.get("liandan") == "table":
            outs.append({"type": "table", "columns": table["columns"], "index": table["index"], "data": table["data"], "shape": table["shape"], "text": plain})
        elif "image/png" in data:
            if len(self.result.images()) >= self.max_images:
                self.images_dropped += 1
            else:
                outs.append({"type": "image", "png": data["image/png"].replace("\n", "")})
        elif "text/markdown" in data:
            outs.append({"type": "markdown", "text": self._room(data["text/markdown"])})
        elif plain:
            outs.append({"type": "text", "text": plain})

    def note(self, key: str, **args: object) -> None:
        self.result.outputs.append({"type": "note", "key": key, "args": args})

    def finish(self, status: str, seconds: float) -> ExecResult:
        if self.hidden:
            self.note("truncated", hidden=self.hidden)
        if self.images_dropped:
            self.note("images_dropped", count=self.images_dropped)
        self.result.status = status
        self.result.seconds = round(seconds, 3)
        return self.result
