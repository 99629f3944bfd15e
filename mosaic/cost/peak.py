"""Per-device peak FLOP/s for model-FLOPs utilisation (MFU).

GPUs: take the vendor's dense peak for the precision used (a config value). CPUs have no published
figure that means much, so we measure one: the best of several square matmuls in the training dtype,
with the thread count training will use. MFU = useful training FLOPs / (wall seconds x devices x peak).
"""
from __future__ import annotations

import time

import torch


def measure_matmul_peak(dtype: torch.dtype = torch.float32, n: int = 1024, repeats: int = 5,
                        threads: int | None = None) -> float:
    """Best observed FLOP/s of an ``n x n`` by ``n x n`` matmul (2 n^3 FLOPs)."""
    if threads is not None:
        torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(dtype)
    b = torch.randn(n, n, generator=gen).to(dtype)
    a @ b  # warm-up: first call pays for kernel selection
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def mfu(useful_flops: float, wall_seconds: float, devices: int, peak_flops_per_device: float) -> float:
    if wall_seconds <= 0 or devices < 1 or peak_flops_per_device <= 0:
        raise ValueError("wall_seconds, devices and peak must be positive")
    return useful_flops / (wall_seconds * devices * peak_flops_per_device)
