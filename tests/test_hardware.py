"""Device and precision resolution (mosaic/hardware.py) and the errors a config gets for bad values."""
import pytest

from mosaic import hardware
from mosaic.settings import ConfigError, check
from mosaic.train.config import train_config
from tests.test_runner import composed


def test_auto_resolves_to_what_the_machine_has():
    expected = "cuda" if hardware.cuda_available() else "cpu"
    assert hardware.resolve_device("auto") == expected
    assert hardware.resolve_device("cpu") == "cpu"
    assert hardware.resolve_precision("auto", "cpu") == ("bf16" if hardware.bf16_supported("cpu") else "fp32")
    assert hardware.resolve_precision("fp32", "cpu") == "fp32"
    assert hardware.dist_backend("cuda") == "nccl" and hardware.dist_backend("cpu") == "gloo"
    assert hardware.ds_accelerator("cpu") == "cpu"
    info = hardware.describe("cpu")
    assert info["device"] == "cpu" and info["device_count"] == 1 and info["device_name"]


def test_explicit_values_reach_the_training_config():
    cfg = composed("experiment=smoke", "device=cpu", "train.precision=fp32")
    check(cfg)
    tc = train_config(cfg)
    assert tc.device == "cpu" and tc.bf16 is False


@pytest.mark.parametrize("override,key", [("device=tpu", "device"), ("train.precision=fp8", "train.precision")])
def test_an_invalid_value_names_its_key(override, key):
    with pytest.raises(ConfigError, match=rf"^{key} must be one of"):
        check(composed("experiment=smoke", override))


@pytest.mark.skipif(hardware.cuda_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="device=cuda but no CUDA device"):
        check(composed("experiment=smoke", "device=cuda"))
    with pytest.raises(ValueError, match="no CUDA device"):
        hardware.resolve_device("cuda")


@pytest.mark.parametrize("override,key", [("model.attn_implementation=flash", "model.attn_implementation"),
                                          ("deepspeed=zero2", None), ("deepspeed.nproc=many", "deepspeed.nproc"),
                                          ("+peak_flops.H100=-1", "peak_flops")])
def test_attention_workers_and_peaks_are_checked(override, key):
    overrides = ["experiment=smoke", override] + (["deepspeed=zero2"] if override.startswith("deepspeed.") else [])
    if key is None:
        check(composed(*overrides, "deepspeed.nproc=auto"))  # auto is a valid worker count
        return
    with pytest.raises(ConfigError, match=rf"^{key} must be"):
        check(composed(*overrides))


@pytest.mark.skipif(hardware.cuda_available(), reason="this machine has a GPU")
def test_gpu_only_options_are_refused_on_a_cpu():
    with pytest.raises(ConfigError, match="train.precision=fp16 needs a CUDA device"):
        check(composed("experiment=smoke", "train.precision=fp16"))
    with pytest.raises(ConfigError, match="model.attn_implementation=flash_attention_2 needs the flash-attn"):
        check(composed("experiment=smoke", "model.attn_implementation=flash_attention_2"))
    assert hardware.attention_available("sdpa", "cpu") and hardware.attention_available("eager", "cpu")
    assert not hardware.attention_available("flash_attention_2", "cpu")


def test_precision_names_map_to_autocast():
    import torch

    with hardware.autocast("cpu", "bf16"):
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
    with hardware.autocast("cpu", "fp32"):
        assert not torch.is_autocast_enabled("cpu")
    tc = train_config(composed("experiment=smoke", "train.precision=bf16", "train.allow_tf32=true"))
    assert (tc.precision, tc.bf16, tc.fp16, tc.tf32) == ("bf16", True, False, True)


def test_peaks_come_from_config_then_datasheet_then_measurement():
    from mosaic.cost.peak import device_peak

    assert device_peak("cuda", "NVIDIA H200", "bf16", configured={"H200": 5e14}) == (5e14, "config peak_flops['H200']")
    assert device_peak("cuda", "NVIDIA H100 PCIe", "bf16")[0] == 756e12
    assert device_peak("cuda", "NVIDIA H100 80GB HBM3", "fp32", tf32=True)[0] == 494e12
    value, source = device_peak("cpu", hardware.describe("cpu")["device_name"], "fp32", configured={"": 1.0})
    assert value > 1e9 and source == "measured fp32 matmul on cpu"  # a CPU's peak is always measured


# glibc raises its mmap threshold after a large free; later blocks below it come from the heap, and
# freed ones between live small blocks stay resident. Plain malloc/free through ctypes keeps it exact.
FRAGMENT = """
import ctypes, sys
from mosaic.hardware import HOST_MMAP_THRESHOLD, host_memory_policy
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "1":  # what a CPU training process with activation checkpointing does
    assert host_memory_policy("cpu", checkpointing=True) == HOST_MMAP_THRESHOLD
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
libc.free(libc.malloc(16 << 20))  # a 16 MiB block, freed: glibc's threshold rises to it
blocks, small = [], []
for i in range(64):  # 4 MiB blocks (touched), each followed by a 200 KiB live block
    blocks.append(libc.malloc(4 << 20))
    ctypes.memset(blocks[-1], 1, 4 << 20)
    small.append(libc.malloc(200 << 10))
held = rss()
for b in blocks:
    libc.free(b)
print(held - rss())
"""


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="glibc only")
def test_a_fixed_mmap_threshold_returns_freed_tensors_to_the_os():
    import subprocess
    import sys

    assert hardware.host_memory_policy("cpu", False) is None and hardware.host_memory_policy("cuda", True) is None

    returned = {flag: float(subprocess.run([sys.executable, "-c", FRAGMENT, flag], capture_output=True, text=True,
                                           check=True).stdout) for flag in ("0", "1")}
    assert returned["1"] > 200 and returned["0"] < 64, returned  # MiB of the 256 freed that left the process


def test_evaluation_keys_name_the_placement_only_off_the_cpu():
    """A GPU evaluation is its own stage (bf16 outputs are not the CPU's fp32 ones); on a CPU the settings
    are what they were before the placement existed, so committed keys stay. gpu-check asserts the GPU side."""
    from mosaic.stages import eval_settings

    cfg = {"generation": {}, "train": {"precision": "fp32"}, "model": {"template": "vicuna_v1.1"}, "seed": 0}
    assert hardware.eval_placement({}, {"precision": "fp32"}) == ("cpu", "fp32")  # a run trained in fp32 stays so
    if not hardware.cuda_available():
        assert "placement" not in eval_settings(cfg)
        with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
            eval_settings({**cfg, "generation": {"precision": "fp16"}})
    else:
        assert eval_settings(cfg)["placement"] == "cuda/fp32"
