"""Training-cost accounting: model FLOPs from the model shape, and tokens/sequences/steps under the
three batching regimes (``static_pad``, ``dynamic``, ``packed``), so that cost claims can be checked
in real tokens and FLOPs rather than in sequences."""
from .batching import REGIMES, BatchPlan, plan_batches
from .flops import ModelShape

__all__ = ["REGIMES", "BatchPlan", "plan_batches", "ModelShape"]
