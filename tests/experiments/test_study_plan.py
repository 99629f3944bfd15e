"""The sizes of `make reproduce` and the estimate that picks one (experiments/study_plan.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments"))
import study_plan as sp  # noqa: E402


def run(tokens: int, points: int, baseline: bool) -> dict:
    return {"processed_tokens": tokens, "probe_points": points, "probe_tokens": 1000, "baseline": baseline}


def test_estimate_adds_training_probes_evaluations_and_fixed_stages_at_the_reference_rate():
    size = sp.SIZES["small"]
    rate = size.reference_rate
    runs = [run(1000, 2, False), run(500, 1, True)]
    want = (sp.TRAIN_FIT * 1500 / rate + 3 * 1000 / (rate * sp.FORWARD_SPEEDUP)
            + size.eval_s + size.baseline_eval_s + 2 * sp.RUN_OVERHEAD_S + size.fixed_s)
    assert sp.estimate_seconds(size, runs, rate) == pytest.approx(want)


def test_a_machine_half_as_fast_gets_twice_the_estimate():
    size = sp.SIZES["full"]
    runs = [run(4000, 3, False), run(4000, 1, True)]
    assert sp.estimate_seconds(size, runs, size.reference_rate / 2) == pytest.approx(
        2 * sp.estimate_seconds(size, runs, size.reference_rate))


def test_arms_put_the_headline_pair_first_and_baselines_read_only_their_measures():
    arms = sp.arms(sp.SIZES["small"])
    assert [(v, s) for v, s, _ in arms[:4]] == [("none", 0), ("all", 0), ("none", 1), ("all", 1)]
    baselines = [a for a in arms if a[0] in sp.BASELINES]
    assert len(baselines) == len(sp.BASELINES) * len(sp.SIZES["small"].baseline_seeds)
    assert all(sp.END_ONLY in o and sp.BASELINE_EVAL in o for _, _, o in baselines)
    assert not [a for a in sp.arms(sp.SIZES["small"], baselines=False) if a[0] in sp.BASELINES]


def test_probe_points_count_each_milestone_and_the_end():
    assert sp.probe_points(7080, 2000) == 4
    assert sp.probe_points(7080, None) == 0
    assert sp.clock(3725) == "1:02:05" and sp.clock(95) == "1:35"
