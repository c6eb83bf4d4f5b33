"""Say what will go wrong before spending minutes loading a model that cannot load."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.errors import ModelSourceError
from core.models import chatglm3

BYTES_PER_PARAM = {"float32": 4, "float16": 2, "bfloat16": 2, "8bit": 1, "4bit": 0.52}  # 4-bit: NF4 + block scales
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    message: str
    hint: str = ""
    zh: str = ""  # Chinese message and hint for the UI (see core.errors.UserError.text)
    zh_hint: str = ""
    code_files: tuple[str, ...] = ()  # the folder's .py files that loading would run (remote code)


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
                "error", f"Cannot read {config_path}: {exc}", "Download the model again.",
                zh=f"无法读取 {config_path}：{exc}", zh_hint="请重新下载模型。",
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
                "error", "No tokenizer files (tokenizer.json / tokenizer.model) in the folder.", "Download the full model folder.",
                zh="文件夹中没有分词器文件（tokenizer.json / tokenizer.model）。", zh_hint="请下载完整的模型文件夹。",
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
                    f"Loading needs about {needed / 2**30:.1f} GiB in {dtype} on {device}; {have / 2**30:.1f} GiB is free.",
                    "Free memory, use a GPU with more memory, or pick a smaller model / half precision.",
                    zh=f"加载大约需要 {needed / 2**30:.1f} GiB（{dtype}，{device}）；当前可用 {have / 2**30:.1f} GiB。",
                    zh_hint="请释放内存、换用显存更大的 GPU，或选择更小的模型 / 半精度。",
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
            "error", f"This model ships its own Python code ({files}) and trust_remote_code is off, so it is not run.",
            "Prefer a model transformers supports natively; only if you trust the folder's author, set LIANDAN_TRUST_REMOTE_CODE=true.",
            zh=f"该模型自带 Python 代码（{files}），而 trust_remote_code 已关闭，因此不会运行这些代码。",
            zh_hint="建议选用 transformers 原生支持的模型；只有在信任该文件夹作者时，才设置 LIANDAN_TRUST_REMOTE_CODE=true。",
            code_files=tuple(present),
        ))
    else:
        findings.append(Finding(
            "warning", f"Loading runs this folder's Python code inside Liandan: {files}.",
            "Load it only if you trust where the folder came from.",
            zh=f"加载时会在 Liandan 进程内运行该文件夹中的 Python 代码：{files}。",
            zh_hint="只有在信任该文件夹来源时才加载。",
            code_files=tuple(present),
        ))
    if missing:
        findings.append(Finding(
            "error", f"Files the model's code needs are missing: {', '.join(missing)}.", "Download the full model folder.",
            zh=f"缺少模型代码所需的文件：{', '.join(missing)}。", zh_hint="请下载完整的模型文件夹。",
        ))
    return findings


def _chatglm_findings(config: dict) -> list[Finding]:
    """ChatGLM2/3 never runs its own code: it is converted once to transformers' native GLM."""
    try:
        chatglm3.check_supported(config)
    except ModelSourceError as exc:
        return [Finding("error", exc.message, exc.hint, zh=exc.zh, zh_hint=exc.zh_hint)]
    return [Finding(
        "info",
        "ChatGLM checkpoint: Liandan runs it on transformers' native GLM code (its own .py files are not run); "
        "the weights are converted once into the data folder (about as much disk as the weights).",
        zh="ChatGLM 检查点：Liandan 使用 transformers 原生的 GLM 代码运行它（不运行其自带的 .py 文件）；"
        "权重会一次性转换到数据文件夹（占用与权重大致相同的磁盘空间）。",
    )]
