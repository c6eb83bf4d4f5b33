"""Can this transformers load that config? Asked of a folder, or of a ModelScope id before
anything but its config.json is downloaded.

Two things make a model unloadable here whatever the hardware: a `model_type` this
transformers does not know (the model is newer than our transformers), and code the
checkpoint ships (`auto_map`) while trust_remote_code is off.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from packaging.version import InvalidVersion, Version

from core.models.preflight import Finding, raise_errors  # noqa: F401 - raise_errors: callers find it here
from core.i18n import msg

# Model types whose `auto_map` code we never need because Liandan loads them natively
# (ChatGLM2/3: converted once to transformers' `glm`, core.models.chatglm3).
NATIVE_WITHOUT_REMOTE_CODE: set[str] = {"chatglm"}


def installed_transformers() -> str:
    import transformers

    return transformers.__version__


def known_model_types() -> set[str]:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return set(CONFIG_MAPPING_NAMES)


def python_files(folder: Path) -> list[str]:
    """The .py files a folder ships: what trust_remote_code would let run inside the app."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py") if p.is_file())


def _newer(wanted: str, have: str) -> bool:
    try:
        w, h = Version(wanted), Version(have)
    except InvalidVersion:
        return False
    return (w.major, w.minor) > (h.major, h.minor)


def check_config(config: dict, trust_remote_code: bool, py_files: list[str] | None = None, name: str = "") -> list[Finding]:
    """Findings from a config.json alone; `py_files` are the .py files the model ships."""
    findings: list[Finding] = []
    model_type = str(config.get("model_type") or "")
    remote = bool(config.get("auto_map")) and model_type not in NATIVE_WITHOUT_REMOTE_CODE
    label = name or model_type or "this model"
    files = ", ".join(py_files or []) or "—"
    if remote and not trust_remote_code:
        findings.append(Finding(
            "error",
            msg("errors.compatibility.runs_own_python_code", label=label, files=files),
            msg("errors.compatibility.runs_own_python_code.hint"),
        ))
    elif remote:
        findings.append(Finding(
            "warning",
            msg("errors.compatibility.will_run_own_python", label=label, files=files),
            msg("errors.compatibility.will_run_own_python.hint"),
        ))
    if not remote:
        findings += version_findings(config, label)
    return findings


def version_findings(config: dict, label: str = "") -> list[Finding]:
    """A model_type this transformers does not know (error) or a newer saving version (warning)."""
    findings: list[Finding] = []
    have = installed_transformers()
    model_type = str(config.get("model_type") or "")
    wanted = str(config.get("transformers_version") or "")
    label = label or model_type or "this model"
    if model_type and model_type not in known_model_types():
        saved = msg("errors.compatibility.unknown_model_type.saved", wanted=wanted) if wanted else msg(
            "errors.compatibility.unknown_model_type.end")
        findings.append(Finding(
            "error",
            msg("errors.compatibility.unknown_model_type", label=label, model_type=model_type, have=have, saved=saved),
            msg("errors.compatibility.unknown_model_type.hint", version=">=" + wanted if wanted else ""),
        ))
    elif wanted and _newer(wanted, have):
        findings.append(Finding(
            "warning",
            msg("errors.compatibility.saved_transformers_newer_ours", label=label, wanted=wanted, have=have),
            msg("errors.compatibility.saved_transformers_newer_ours.hint", wanted=wanted),
        ))
    return findings


def check_remote(hub, model_id: str, trust_remote_code: bool) -> tuple[list[Finding], list]:
    """Preflight a ModelScope id from its file list and config.json only (no weights).

    Returns the findings and the file list (the download job reuses it). Offline, the
    hub raises a ModelSourceError saying it could not reach ModelScope.
    """
    from core.models.downloads import chosen

    files = hub.list_files(model_id)
    names = {f.path for f in files}
    if "config.json" not in names:
        return [Finding(
            "error",
            msg("errors.compatibility.config_json_so_transformers", model_id=model_id),
            msg("errors.compatibility.config_json_so_transformers.hint"),
        )], files
    with tempfile.TemporaryDirectory(prefix="liandan-preflight-") as scratch:
        config = hub.read_json(model_id, "config.json", Path(scratch))
    py_files = sorted(n for n in names if n.endswith(".py"))
    findings = check_config(config, trust_remote_code, py_files, name=model_id)
    if not any(f.path.endswith((".safetensors", ".bin", ".pt", ".pth")) for f in files):
        findings.append(Finding(
            "error",
            msg("errors.compatibility.weight_files_safetensors_bin", model_id=model_id),
            msg("errors.compatibility.weight_files_safetensors_bin.hint"),
        ))
    return findings, chosen(files)
