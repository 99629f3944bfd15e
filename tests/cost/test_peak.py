import pytest
import torch

from mosaic.cost.peak import measure_matmul_peak, mfu


def test_measured_cpu_peak_is_plausible():
    peak = measure_matmul_peak(torch.float32, n=256, repeats=3)
    assert 1e8 < peak < 1e14  # any CPU this runs on does 0.1 GFLOP/s .. 100 TFLOP/s in fp32


def test_mfu_formula():
    assert mfu(6e12, wall_seconds=10, devices=2, peak_flops_per_device=1e12) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        mfu(1.0, 0, 1, 1.0)
