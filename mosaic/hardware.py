"""Where a run computes and in which precision: the one module that asks Torch about devices.

``device``: ``auto`` (CUDA when available, else the CPU), ``cpu`` or ``cuda``. ``precision``: ``auto``
(bf16 on a CUDA device that supports it and on a CPU with AVX512-BF16/AMX kernels, else fp32), ``bf16``,
``fp16`` (CUDA only, with dynamic loss scaling) or ``fp32``. Half precision is autocast over fp32
master weights (single process) or DeepSpeed's own bf16/fp16 mode.
Training, the DeepSpeed workers and launcher, the cost probes and evaluation ask here; nothing else
calls ``torch.cuda``.
"""
from __future__ import annotations

import contextlib
import ctypes
import importlib.util
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
# ``model.attn_implementation``: Transformers' names. Every collator leaves masks to Transformers (position
# ids that restart mark packed examples), so each of these keeps packed examples apart (tests/train/test_collate.py).
ATTENTION = ("sdpa", "eager", "flash_attention_2")
HOST_MMAP_THRESHOLD = 128 * 1024  # bytes; see host_memory_policy


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def free_accelerator_memory() -> None:
    """Collect dropped models and return cached GPU memory to the driver (before another engine starts)."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


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
    if requested == "fp16" and device != "cuda":
        raise ValueError("train.precision=fp16 needs a CUDA device (loss scaling for fp16 is a GPU path here); "
                         "use bf16 or fp32 on the CPU")
    return requested


def eval_placement(generation: dict, train: dict) -> tuple[str, str]:
    """(device, precision) an evaluation computes in, from the ``generation`` group (``device``,
    ``precision``: auto, bf16, fp16, fp32); ``precision: auto`` keeps a run trained in fp32 in fp32."""
    device = resolve_device(generation.get("device") or "auto")
    requested = generation.get("precision") or "auto"
    if requested == "auto" and train.get("precision") == "fp32":
        requested = "fp32"
    return device, resolve_precision(requested, device)


def autocast(device: str, precision: str):
    """The mixed-precision context of a forward pass on ``device`` (a no-op in fp32)."""
    import torch

    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return torch.autocast(device, dtype=half) if half is not None else contextlib.nullcontext()


def synchronize(device: str) -> None:
    """Wait for queued kernels (timing on a GPU); nothing to wait for on a CPU."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def allow_tf32(device: str, allowed: bool) -> None:
    """TF32 matmuls and convolutions on Ampere or newer GPUs (fp32 runs only; ~10 bits of mantissa)."""
    import torch

    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = allowed
        torch.backends.cudnn.allow_tf32 = allowed


def attention_available(implementation: str, device: str) -> bool:
    """sdpa and eager run anywhere; flash_attention_2 needs the ``flash-attn`` package and a CUDA device."""
    if implementation == "flash_attention_2":
        return device == "cuda" and importlib.util.find_spec("flash_attn") is not None
    return implementation in ATTENTION


def limit_host_fragmentation(threshold: int = HOST_MMAP_THRESHOLD) -> bool:
    """Serve every host allocation of ``threshold`` bytes or more with its own mmap, returned on free.
    glibc otherwise raises its mmap threshold each time a large block is freed (up to 32 MiB), and from
    then on activation-sized tensors come from the heap, which a step's changing sizes fragment. Returns
    False where libc is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_mmap_threshold = -3  # from glibc's malloc.h
    return bool(libc.mallopt(m_mmap_threshold, threshold))


def host_memory_policy(device: str, checkpointing: bool) -> int | None:
    """What a training process does about host-heap fragmentation; returns the mmap threshold it set
    (process-wide, for the rest of the process: mallopt cannot be scoped).

    With activation checkpointing on a CPU, a fixed threshold halves peak RSS (SmolLM2-135M, 4 x 2000
    tokens, chunked loss: 6.6 -> 3.2 GiB fp32, 5.0 -> 3.2 GiB bf16) with no speed cost that runs on a
    shared machine could separate from noise. Without checkpointing every step maps and faults in
    gigabytes afresh: 25% fewer tokens/s for 15% less memory in one quiet run, so glibc keeps its
    default there (``make bench-train``, README "Training memory")."""
    if device == "cpu" and checkpointing and limit_host_fragmentation():
        return HOST_MMAP_THRESHOLD
    return None


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
