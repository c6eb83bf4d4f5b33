"""Machine facts for the System page: CPU, RAM, GPUs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import psutil
import torch


@dataclass(frozen=True)
class GpuInfo:
    name: str
    total_gb: float
    used_gb: float


@dataclass(frozen=True)
class SystemInfo:
    cpu_count: int
    cpu_percent: float
    ram_total_gb: float
    ram_used_gb: float
    process_rss_gb: float
    torch_version: str
    cuda: str
    gpus: list[GpuInfo]
    native_bf16: bool = False  # the CPU computes bfloat16 itself (AVX512_BF16 or AMX)


@cache  # a fact of the machine: probed once, not on every rerun of the System page
def cpu_has_native_bf16() -> bool:
    """Whether bf16 matmuls run natively here; without it they are emulated and slower than fp32."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, hence looked up
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def collect() -> SystemInfo:
    vm = psutil.virtual_memory()
    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            gpus.append(GpuInfo(torch.cuda.get_device_name(i), total / 2**30, (total - free) / 2**30))
    return SystemInfo(
        cpu_count=os.cpu_count() or 1,
        cpu_percent=psutil.cpu_percent(interval=None),
        ram_total_gb=vm.total / 2**30,
        ram_used_gb=(vm.total - vm.available) / 2**30,
        process_rss_gb=psutil.Process().memory_info().rss / 2**30,
        torch_version=torch.__version__,
        cuda=torch.version.cuda or "-",
        gpus=gpus,
        native_bf16=cpu_has_native_bf16(),
    )
