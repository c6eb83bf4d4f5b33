"""Say what will go wrong before spending minutes loading a model that cannot load."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.models.chatglm_compat import needs_compat

BYTES_PER_PARAM = {"float32": 4, "float16": 2, "bfloat16": 2, "8bit": 1, "4bit": 0.52}  # 4-bit: NF4 + block scales
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    message: str
    hint: str = ""
    zh: str = ""  # Chinese message and hint for the UI (see core.errors.UserError.text)
    zh_hint: str = ""


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

    if config.get("auto_map"):
        if not trust_remote_code:
            findings.append(
                Finding(
                    "error", "This model ships its own code and trust_remote_code is off.", "Set LIANDAN_TRUST_REMOTE_CODE=true.",
                    zh="该模型自带代码，但 trust_remote_code 已关闭。", zh_hint="请设置 LIANDAN_TRUST_REMOTE_CODE=true。",
                )
            )
        missing = sorted(
            {ref.split(".")[0].split("--")[-1] + ".py" for ref in _auto_map_refs(config["auto_map"])}
            - {p.name for p in folder.glob("*.py")}
        )
        if missing:
            findings.append(
                Finding(
                    "error", f"Files the model's code needs are missing: {', '.join(missing)}.", "Download the full model folder.",
                    zh=f"缺少模型代码所需的文件：{', '.join(missing)}。", zh_hint="请下载完整的模型文件夹。",
                )
            )
    if not config.get("auto_map"):  # a model_type newer than our transformers (remote code brings its own)
        from core.models.compatibility import version_findings

        findings += version_findings(config, folder.name)
    if needs_compat(config):
        import transformers

        findings.append(
            Finding(
                "info",
                f"ChatGLM remote code was written for transformers 4.3x; with {transformers.__version__} "
                "Liandan patches tokenizer padding and cache handling and streams through generate().",
                zh=f"ChatGLM 的远程代码是为 transformers 4.3x 编写的；在 {transformers.__version__} 下，"
                "Liandan 会修补分词器的填充和缓存处理，并通过 generate() 流式输出。",
            )
        )
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
