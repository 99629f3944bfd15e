"""Counted progress (mosaic/progress.py): one line per update in a log, with the count and an ETA."""
import io

from mosaic.progress import CountProgress, clock


def test_a_log_gets_one_line_per_update_ending_at_the_total():
    out = io.StringIO()
    p = CountProgress(5, "generate", "prompt", stream=out, bar=False)
    p.update(2)
    p.update(3)
    lines = out.getvalue().splitlines()
    assert [ln.split("  ")[0] for ln in lines] == ["[generate] 2/5 prompts", "[generate] 5/5 prompts"]
    assert all("elapsed " in ln and "ETA " in ln for ln in lines)
    assert lines[-1].endswith("ETA 0:00")


def test_disabled_or_empty_progress_prints_nothing():
    out = io.StringIO()
    CountProgress(3, "generate", "prompt", stream=out, bar=False, enabled=False).update(3)
    CountProgress(0, "generate", "prompt", stream=out, bar=False).update(0)
    assert out.getvalue() == ""


def test_clock_formats_minutes_and_hours():
    assert clock(59.6) == "1:00" and clock(3600) == "1:00:00" and clock(3725) == "1:02:05"
