"""Where a run computes and in which precision: the one module that asks Torch about devices.

``device``: ``auto`` (CUDA when available, else the CPU), ``cpu`` or ``cuda``. ``precision``: ``auto``
(bf16 on a CUDA device that supports it and on a CPU with AVX512-BF16/AMX kernels, else fp32), ``bf16``
or ``fp32``. bf16 is autocast over fp32 master weights (single process) or DeepSpeed's own bf16 mode.
Training, the DeepSpeed workers and launcher, the cost probes and evaluation ask here; nothing else
calls ``torch.cuda``.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "bf16", "fp32")


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_device(requested: str = "auto") -> str:
    if requested not in DEVICES:
        raise ValueError(f"device must be one of {list(DEVICES)}, got {requested!r}")
    if requested == "cuda" and not cuda_available():
        raise ValueError("device=cuda but no CUDA device is visible (CUDA_VISIBLE_DEVICES, driver); use device=auto")
    return ("cuda" if cuda_available() else "cpu") if requested == "auto" else requested


def bf16_supported(device: str | None = None) -> bool:
    """bf16 on a CUDA device that supports it, or on a CPU with AVX512-BF16 / AMX-BF16 kernels."""
    import torch

    if (device or resolve_device()) == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(requested: str, device: str) -> str:
    if requested not in PRECISIONS:
        raise ValueError(f"train.precision must be one of {list(PRECISIONS)}, got {requested!r}")
    if requested == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return requested


def autocast(device: str, bf16: bool):
    """The mixed-precision context of a forward pass on ``device`` (a no-op in fp32)."""
    import torch

    return torch.autocast(device, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def dist_backend(device: str) -> str:
    return "nccl" if device == "cuda" else "gloo"


def ds_accelerator(device: str) -> str:
    """The value of ``DS_ACCELERATOR`` DeepSpeed must see (it guesses wrongly on CPU-only hosts)."""
    return "cuda" if device == "cuda" else "cpu"


def visible_devices(device: str) -> int:
    import torch

    return torch.cuda.device_count() if device == "cuda" else 1


def describe(device: str) -> dict:
    """What a run records about where it ran."""
    import platform

    import torch

    if device == "cuda":
        return {"device": "cuda", "device_name": torch.cuda.get_device_name(0), "device_count": torch.cuda.device_count()}
    name = platform.machine()
    try:
        name = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                    if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"device": "cpu", "device_name": name, "device_count": 1}
