"""Per-device peak FLOP/s for model-FLOPs utilisation (MFU).

GPUs: the vendor's dense (no sparsity) tensor-core peak for the precision used, from the table below
or from the run's ``peak_flops`` config (device-name substring -> FLOP/s), which wins; a GPU in
neither is measured like a CPU. CPUs have no published figure that means much, so we measure one: the
best of several square matmuls in the training dtype, with the thread count training will use.
MFU = useful training FLOPs / (wall seconds x devices x peak).
"""
from __future__ import annotations

import time

import torch

from ..hardware import synchronize

# Dense peaks in FLOP/s from NVIDIA's datasheets (H100/H200 SXM, H100 PCIe, A100 SXM/PCIe, L40S);
# fp32 means TF32 tensor cores when train.allow_tf32 is on, else the plain fp32 rate. The first
# substring that occurs in the device name is used, so "H100 PCIe" precedes "H100".
VENDOR_PEAKS = {
    "H200": {"bf16": 989e12, "fp16": 989e12, "tf32": 494e12, "fp32": 67e12},
    "H100 PCIe": {"bf16": 756e12, "fp16": 756e12, "tf32": 378e12, "fp32": 51e12},
    "H100": {"bf16": 989e12, "fp16": 989e12, "tf32": 494e12, "fp32": 67e12},
    "A100": {"bf16": 312e12, "fp16": 312e12, "tf32": 156e12, "fp32": 19.5e12},
    "L40S": {"bf16": 362e12, "fp16": 362e12, "tf32": 183e12, "fp32": 91.6e12},
}
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def measure_matmul_peak(dtype: torch.dtype = torch.float32, n: int = 1024, repeats: int = 5,
                        threads: int | None = None, device: str = "cpu") -> float:
    """Best observed FLOP/s of an ``n x n`` by ``n x n`` matmul (2 n^3 FLOPs) on ``device``."""
    if threads is not None:
        torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    a @ b  # warm-up: first call pays for kernel selection
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def device_peak(device: str, device_name: str, precision: str, tf32: bool = False,
                configured: dict | None = None) -> tuple[float, str]:
    """(peak FLOP/s per device, where the figure comes from) for MFU."""
    if device == "cuda":
        for part, value in (configured or {}).items():
            if part in device_name:
                return float(value), f"config peak_flops[{part!r}]"
        key = "tf32" if precision == "fp32" and tf32 else precision
        for part, peaks in VENDOR_PEAKS.items():
            if part in device_name:
                return peaks[key], f"vendor datasheet ({part}, {key}, dense)"
    return measure_matmul_peak(DTYPES[precision], n=4096 if device == "cuda" else 1024, device=device), \
        f"measured {precision} matmul on {device}"


def mfu(useful_flops: float, wall_seconds: float, devices: int, peak_flops_per_device: float) -> float:
    if wall_seconds <= 0 or devices < 1 or peak_flops_per_device <= 0:
        raise ValueError("wall_seconds, devices and peak must be positive")
    return useful_flops / (wall_seconds * devices * peak_flops_per_device)
