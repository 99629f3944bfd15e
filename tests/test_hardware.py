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
