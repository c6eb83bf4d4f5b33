"""A short list of chat models people download next, with what each needs to run.

Parameter counts are the published ones (model cards); everything else (download size,
memory per precision, whether it fits this machine) is computed from them, so one
number per model is typed by hand and the rest cannot drift from it.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2**30
# Bytes per weight. 4-bit NF4 stores half a byte plus one fp32 scale per 64-weight block
# (bitsandbytes' default), with double quantization ~0.127 bits more: ~0.52 bytes.
BYTES_PER_PARAM = {"float32": 4.0, "float16": 2.0, "bfloat16": 2.0, "8bit": 1.0, "4bit": 0.52}
# Loading and a short chat need more than the weights: the KV cache, activations, the
# CUDA context / allocator slack. 20% plus 0.5 GiB matched the 6B-7B models the tutorial uses
# (ChatGLM3-6B fp16: 12.5 GB weights, ~13.5-14 GB in use for a short chat).
OVERHEAD_FRACTION = 0.20
OVERHEAD_BYTES = int(0.5 * GIB)
PRECISIONS = ("bfloat16", "8bit", "4bit")  # the columns the picker shows; CPU runs float32


@dataclass(frozen=True)
class CatalogEntry:
    key: str
    name: str
    modelscope_id: str
    billions: float  # parameters, from the model card
    family: str  # config model_type once loaded
    stored: str = "bfloat16"  # the precision of the published weights (download size)
    note: str = ""  # English; Chinese in core.i18n ("catalog.note.<key>")

    @property
    def parameters(self) -> int:
        return int(self.billions * 1e9)

    @property
    def download_bytes(self) -> int:
        """Weights as published (one format: the downloader skips .bin copies of .safetensors)."""
        return int(self.parameters * BYTES_PER_PARAM[self.stored])

    def memory_bytes(self, precision: str) -> int:
        return memory_bytes(self.parameters, precision)


def memory_bytes(parameters: int, precision: str) -> int:
    """Memory to load `parameters` weights in `precision` and answer a short chat."""
    weights = parameters * BYTES_PER_PARAM[precision]
    return int(weights * (1 + OVERHEAD_FRACTION) + OVERHEAD_BYTES)


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry("qwen2.5-0.5b", "Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", 0.49, "qwen2"),
    CatalogEntry("qwen2.5-1.5b", "Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", 1.54, "qwen2"),
    CatalogEntry("qwen2.5-3b", "Qwen2.5-3B-Instruct", "Qwen/Qwen2.5-3B-Instruct", 3.09, "qwen2"),
    CatalogEntry("qwen2.5-7b", "Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", 7.62, "qwen2"),
    CatalogEntry("qwen3-4b", "Qwen3-4B", "Qwen/Qwen3-4B", 4.02, "qwen3"),
    CatalogEntry("qwen3-8b", "Qwen3-8B", "Qwen/Qwen3-8B", 8.19, "qwen3"),
    CatalogEntry("chatglm3-6b", "ChatGLM3-6B", "ZhipuAI/chatglm3-6b", 6.24, "chatglm", stored="float16",
                 note="The tutorial's model."),
    CatalogEntry("glm-4-9b-chat", "GLM-4-9B-Chat", "ZhipuAI/glm-4-9b-chat-hf", 9.40, "glm"),
)
# What a machine without a GPU should start with: the largest of these that fits its RAM.
CPU_RECOMMENDATIONS = ("qwen2.5-1.5b", "qwen2.5-0.5b")


def entry(key: str) -> CatalogEntry:
    for e in CATALOG:
        if e.key == key:
            return e
    raise KeyError(key)


@dataclass(frozen=True)
class Fit:
    """Whether `entry` fits the machine in each precision; `device` is where it would run."""

    entry: CatalogEntry
    device: str  # "cuda" | "cpu"
    budget_bytes: int
    fits: dict[str, bool]  # precision -> fits; on CPU only "float32" (what the loader uses there)

    @property
    def best(self) -> str | None:
        """The most precise option that fits: full precision beats 8-bit beats 4-bit."""
        return next((p for p in self.fits if self.fits[p]), None)


def fits(entries: tuple[CatalogEntry, ...], device: str, budget_bytes: int, quantization: bool) -> list[Fit]:
    """Judge each entry against `budget_bytes` (total GPU memory, or RAM without a GPU).

    On CPU the loader runs float32 (bf16 matmuls are slower there), and bitsandbytes'
    8/4-bit kernels need CUDA, so only float32 is judged. `quantization` is whether
    bitsandbytes is importable on this CUDA machine.
    """
    out = []
    for e in entries:
        if device == "cuda":
            options = PRECISIONS if quantization else PRECISIONS[:1]
        else:
            options = ("float32",)
        out.append(Fit(e, device, budget_bytes, {p: e.memory_bytes(p) <= budget_bytes for p in options}))
    return out


def cpu_recommendation(ram_bytes: int) -> CatalogEntry:
    """The largest small Qwen instruct model that fits `ram_bytes` in float32 (the smallest otherwise)."""
    for key in CPU_RECOMMENDATIONS:
        e = entry(key)
        if e.memory_bytes("float32") <= ram_bytes:
            return e
    return entry(CPU_RECOMMENDATIONS[-1])


def gib(n: int) -> str:
    return f"{n / GIB:.1f} GiB"
