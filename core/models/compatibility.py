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

from core.errors import PreflightError
from core.models.preflight import Finding

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
            f"{label} runs its own Python code ({files}) and trust_remote_code is off.",
            "Only if you trust its authors: set LIANDAN_TRUST_REMOTE_CODE=true and restart; otherwise pick a model "
            "transformers supports natively (e.g. from the System page's list).",
            zh=f"{label} 需要运行其自带的 Python 代码（{files}），而 trust_remote_code 已关闭。",
            zh_hint="仅在信任其作者时：设置 LIANDAN_TRUST_REMOTE_CODE=true 并重启；否则请选择 transformers 原生支持的模型（例如“系统”页列表中的模型）。",
        ))
    elif remote:
        findings.append(Finding(
            "warning",
            f"{label} will run its own Python code inside the app: {files}.",
            "Load it only if you trust its authors.",
            zh=f"{label} 会在应用内运行其自带的 Python 代码：{files}。", zh_hint="仅在信任其作者时加载。",
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
        findings.append(Finding(
            "error",
            f"{label} is a '{model_type}' model, which transformers {have} does not know"
            + (f" (it was saved with transformers {wanted})." if wanted else "."),
            f"Upgrade transformers in the app's environment (pip install -U transformers{'>=' + wanted if wanted else ''}), "
            "or pick another model.",
            zh=f"{label} 的模型类型为“{model_type}”，transformers {have} 不认识它"
            + (f"（它由 transformers {wanted} 保存）。" if wanted else "。"),
            zh_hint=f"请在应用环境中升级 transformers（pip install -U transformers{'>=' + wanted if wanted else ''}），或选择其他模型。",
        ))
    elif wanted and _newer(wanted, have):
        findings.append(Finding(
            "warning",
            f"{label} was saved with transformers {wanted}, newer than ours ({have}); it may not load or behave the same.",
            f"If loading fails, upgrade transformers (pip install -U transformers>={wanted}).",
            zh=f"{label} 由 transformers {wanted} 保存，比本机的 {have} 更新；可能无法加载或表现不同。",
            zh_hint=f"如果加载失败，请升级 transformers（pip install -U transformers>={wanted}）。",
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
            "error", f"{model_id} has no config.json, so it is not a transformers model.",
            "Check the id (on ModelScope, open the model's 'Files' tab).",
            zh=f"{model_id} 没有 config.json，因此不是 transformers 模型。",
            zh_hint="请检查模型 ID（在 ModelScope 上打开该模型的“模型文件”页）。",
        )], files
    with tempfile.TemporaryDirectory(prefix="liandan-preflight-") as scratch:
        config = hub.read_json(model_id, "config.json", Path(scratch))
    py_files = sorted(n for n in names if n.endswith(".py"))
    findings = check_config(config, trust_remote_code, py_files, name=model_id)
    if not any(f.path.endswith((".safetensors", ".bin", ".pt", ".pth")) for f in files):
        findings.append(Finding(
            "error", f"{model_id} has no weight files (*.safetensors, *.bin).", "Pick another repository of this model.",
            zh=f"{model_id} 没有权重文件（*.safetensors、*.bin）。", zh_hint="请选择该模型的其他仓库。",
        ))
    return findings, chosen(files)


def raise_errors(findings: list[Finding]) -> None:
    """Refuse with every error finding at once (both languages), as the loader does."""
    errors = [f for f in findings if f.level == "error"]
    if errors:
        raise PreflightError(
            " ".join(f.message for f in errors), " ".join(f.hint for f in errors if f.hint),
            zh=" ".join(f.zh or f.message for f in errors),
            zh_hint=" ".join(f.zh_hint or f.hint for f in errors if f.zh_hint or f.hint),
        )
