"""Training progress lines: step, loss, real tokens/s, elapsed and an ETA from the mean step time."""
import io

from mosaic.train.progress import StepProgress, _clock


def rec(step, seconds=2.0, tokens=100, loss=1.5):
    return {"step": step, "seconds": seconds, "real_tokens": tokens, "loss": loss}


def test_a_line_every_n_steps_with_an_eta_from_the_mean_step_time():
    out = io.StringIO()
    p = StepProgress(total=10, label="run-a", every=4, stream=out, bar=False)
    for s in range(1, 11):
        p(rec(s, seconds=2.0 if s % 2 else 4.0))
    lines = out.getvalue().splitlines()
    assert [ln.split("step ")[1].split("/")[0] for ln in lines] == ["1", "4", "8", "10"]  # first, every 4, last
    assert "ETA 0:00" in lines[-1] and "run-a" in lines[0]
    assert "ETA 0:18" in lines[0]  # 2 s per step so far, 9 steps left
    assert "ETA 0:18" in lines[1]  # mean 3 s after 4 steps, 6 left
    assert "33 real tok/s" in lines[1]  # 400 tokens in 12 s


def test_a_resumed_run_times_only_its_own_steps():
    out = io.StringIO()
    p = StepProgress(total=10, label="r", every=100, stream=out, bar=False)
    p(rec(7, seconds=5.0))  # resumed at step 7: one step timed, 3 left
    assert "step 7/10" in out.getvalue() and "ETA 0:15" in out.getvalue()


def test_clock_formats():
    assert _clock(5) == "0:05" and _clock(125) == "2:05" and _clock(3725) == "1:02:05"
