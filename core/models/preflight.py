"""Say what will go wrong before spending minutes loading a model that cannot load."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.errors import ModelSourceError, PreflightError, UserError
from core.models import chatglm3
from core.i18n import Message, joined, msg, with_hint

BYTES_PER_PARAM = {"float32": 4, "float16": 2, "bfloat16": 2, "8bit": 1, "4bit": 0.52}  # 4-bit: NF4 + block scales
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    message_text: Message
    hint_text: Message | None = None
    code_files: tuple[str, ...] = ()  # the folder's .py files that loading would run (remote code)

    @property
    def message(self) -> str:
        """English, like UserError.message (logs, the CLI); the UI renders `text(lang)`."""
        return str(self.message_text)

    @property
    def hint(self) -> str:
        return str(self.hint_text) if self.hint_text else ""

    @classmethod
    def of(cls, exc: UserError) -> "Finding":
        """A user error (the source cannot be resolved) shown where findings are."""
        return cls("error", exc.message_text, exc.hint_text)

    def text(self, lang: str) -> str:
        return with_hint(self.message_text, self.hint_text).render(lang)


def raise_errors(findings: list[Finding]) -> None:
    """Refuse with every error finding at once, as the loader and the download job do."""
    errors = [f for f in findings if f.level == "error"]
    if errors:
        raise PreflightError(joined([f.message_text for f in errors]), joined([f.hint_text for f in errors if f.hint_text]))


def weight_bytes(folder: Path) -> int:
    files = [p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES]
    # Checkpoints often ship the same weights as .bin and .safetensors; transformers reads one.
    safetensors = [p for p in files if p.suffix == ".safetensors"]
    return sum(p.stat().st_size for p in (safetensors or files))


def stored_bytes_per_param(config: dict) -> int:
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "float32").replace("torch.", "")
    return BYTES_PER_PARAM.get(dtype, 4)


def available_bytes(device: str) -> int:
    if device == "cuda":
        import torch

        return sum(torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count()))
    return psutil.virtual_memory().available


def check(folder: Path, device: str, dtype: str, trust_remote_code: bool) -> list[Finding]:
    """Findings for a local model folder; any 'error' means loading would fail."""
    findings: list[Finding] = []
    config_path = folder / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [
            Finding(
                "error",
                msg("errors.preflight.read", config_path=config_path, exc=exc),
                msg("errors.preflight.read.hint"),
            )
        ]

    if chatglm3.is_chatglm(config):
        findings.extend(_chatglm_findings(config))
    elif config.get("auto_map"):
        findings.extend(remote_code_findings(folder, config, trust_remote_code))
    if not config.get("auto_map"):  # a model_type newer than our transformers (remote code brings its own)
        from core.models.compatibility import version_findings

        findings += version_findings(config, folder.name)
    tokenizer_files = {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json"}
    if not tokenizer_files & {p.name for p in folder.iterdir()}:
        findings.append(
            Finding(
                "error",
                msg("errors.preflight.tokenizer_files_tokenizer_json"),
                msg("errors.preflight.tokenizer_files_tokenizer_json.hint"),
            )
        )

    stored = weight_bytes(folder)
    if stored:
        target = BYTES_PER_PARAM.get(dtype, 4)
        needed = int(stored / stored_bytes_per_param(config) * target * 1.15)
        have = available_bytes(device)
        if needed > have:
            findings.append(
                Finding(
                    "error",
                    msg("errors.preflight.loading_needs_about_gib", needed=needed / 2**30, dtype=dtype, device=device, have=have / 2**30),
                    msg("errors.preflight.loading_needs_about_gib.hint"),
                )
            )
    return findings


def _auto_map_refs(auto_map: dict) -> list[str]:
    refs: list[str] = []
    for value in auto_map.values():
        refs.extend(v for v in (value if isinstance(value, list) else [value]) if v)
    return refs


def remote_code_files(folder: Path, config: dict) -> tuple[list[str], list[str]]:
    """(present, missing) .py files loading this folder would import: auto_map's modules and their relative imports."""
    from transformers.dynamic_module_utils import get_relative_import_files

    wanted = sorted({ref.split("--")[-1].split(".")[0] + ".py" for ref in _auto_map_refs(config.get("auto_map") or {})})
    present: set[str] = set()
    for name in wanted:
        path = folder / name
        if path.is_file():
            present.add(name)
            try:
                present.update(Path(p).name for p in get_relative_import_files(str(path)))
            except (OSError, ValueError):
                pass
    missing = sorted(n for n in wanted if n not in present)
    return sorted(present), missing


def remote_code_findings(folder: Path, config: dict, trust_remote_code: bool) -> list[Finding]:
    """Remote code is refused while LIANDAN_TRUST_REMOTE_CODE is off; when on, the files are named."""
    present, missing = remote_code_files(folder, config)
    files = ", ".join(present) or "(none found)"
    findings: list[Finding] = []
    if not trust_remote_code:
        findings.append(Finding(
            "error",
            msg("errors.preflight.model_ships_own_python", files=files),
            msg("errors.preflight.model_ships_own_python.hint"),
            code_files=tuple(present),
        ))
    else:
        findings.append(Finding(
            "warning",
            msg("errors.preflight.loading_runs_folder_s", files=files),
            msg("errors.preflight.loading_runs_folder_s.hint"),
            code_files=tuple(present),
        ))
    if missing:
        findings.append(Finding(
            "error",
            msg("errors.preflight.files_model_s_code", missing=', '.join(missing)),
            msg("errors.preflight.files_model_s_code.hint"),
        ))
    return findings


def _chatglm_findings(config: dict) -> list[Finding]:
    """ChatGLM2/3 never runs its own code: it is converted once to transformers' native GLM."""
    try:
        chatglm3.check_supported(config)
    except ModelSourceError as exc:
        return [Finding.of(exc)]
    return [Finding("info", msg("errors.preflight.chatglm_checkpoint_liandan_runs"))]
