"""What the machine offers a run: bf16 support (the one place training, the cost probes, generation
and the benchmarks ask). Device placement and the distributed backend build on this module."""
from __future__ import annotations

from pathlib import Path


def bf16_supported() -> bool:
    """bf16 on a CUDA device that supports it, or on a CPU with AVX512-BF16 / AMX-BF16 kernels."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
