"""Where evaluation computes (evaluation/context.py placement) and the one-engine rule of the vLLM backend."""
import pytest

from evaluation.context import EvalContext, placement
from evaluation.generation.vllm_backend import Engines
from mosaic.hardware import bf16_supported, cuda_available


def test_auto_placement_follows_the_machine_and_keeps_an_fp32_run_in_fp32():
    auto = placement({}, {"precision": "auto"})
    assert auto["device"] == ("cuda" if cuda_available() else "cpu")
    assert auto["bf16"] == bf16_supported(auto["device"]) and not auto["fp16"]
    assert placement({}, {"precision": "fp32"}) == {**auto, "bf16": False}
    assert placement({"device": "cpu", "precision": "fp32"}, {"precision": "bf16"})["bf16"] is False


@pytest.mark.skipif(cuda_available(), reason="checks the errors of a machine without a GPU")
def test_impossible_placements_are_refused_with_the_setting_named():
    with pytest.raises(ValueError, match="CUDA"):
        placement({"device": "cuda"}, {})
    with pytest.raises(ValueError, match="fp16"):
        placement({"device": "cpu", "precision": "fp16"}, {})


def test_the_model_is_loaded_once_on_the_device_and_freed_on_request(tiny_checkpoint, tmp_path):
    import torch

    ctx = EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path, model_id="tiny",
                      device="cpu", bf16=True)
    model = ctx.model
    assert ctx.model is model and model.device.type == "cpu"
    assert next(model.parameters()).dtype == torch.float32  # CPU bf16 is autocast over fp32 weights
    assert ctx.identity()["device"] == "cpu" and ctx.identity()["precision"] == "bf16"
    ctx.release_model()
    assert "model" not in ctx.__dict__ and ctx.model is not model


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not cuda_available(), reason="no GPU here; make gpu-check runs it on one"))])
def test_a_local_judge_is_placed_like_the_evaluated_model(tiny_checkpoint, tmp_path, device):
    import torch

    judge_cfg = {"kind": "local", "model": str(tiny_checkpoint), "template": "vicuna_v1.1", "max_tokens": 4,
                 "batch_size": 2}
    ctx = EvalContext(checkpoint=tiny_checkpoint, template="vicuna_v1.1", out_dir=tmp_path, model_id="tiny",
                      device=device, bf16=True, judge_cfg=judge_cfg)
    weights = next(ctx.judge.generator.model.parameters())
    assert weights.device.type == device
    # a GPU holds bf16 weights; a CPU keeps fp32 weights under bf16 autocast, as the evaluated model does
    assert weights.dtype == (torch.bfloat16 if device == "cuda" else torch.float32)


class Engine:
    """A stand-in vLLM engine that records its lifecycle (the rule under test is ours, not vLLM's)."""
    live = 0

    def __init__(self, model, **kwargs):
        self.model, self.kwargs, self.closed = model, kwargs, False
        Engine.live += 1
        self.llm_engine = self

    def shutdown(self):
        self.closed = True
        Engine.live -= 1


def test_one_engine_at_a_time_shared_for_the_same_model():
    engines = Engines(factory=Engine)
    first = engines.get("/ckpt/a", gpu_memory_utilization=0.5)
    assert engines.get("/ckpt/a", gpu_memory_utilization=0.5) is first and engines.started == 1
    second = engines.get("/ckpt/b", gpu_memory_utilization=0.5)  # pairwise's baseline
    assert first.closed and not second.closed and Engine.live == 1 and engines.started == 2
    engines.release()
    assert second.closed and Engine.live == 0 and engines.engine is None
