"""The benchmark's own arithmetic (bench/run.py), which its reported shares and orders rest on."""

import pytest

from bench.run import write_share


def test_write_share_counts_overlapping_transactions_once_when_busy_and_each_when_summed():
    writes = [("o/big", 0.0, 2.0), ("o/small", 1.0, 3.0), ("o/small", 5.0, 6.0)]
    share = write_share(writes, "o/big", run_seconds=10.0)
    assert share["write_seconds"] == pytest.approx(5.0)  # 2 + 2 + 1, an upper bound on database time
    assert share["write_busy_seconds"] == pytest.approx(4.0)  # [0, 3] and [5, 6]
    assert share["largest_repository_write_seconds"] == pytest.approx(2.0)
    assert share["database_share"] == pytest.approx(0.5)
    assert share["write_transactions"] == 3


def test_write_share_of_a_run_without_writes_is_zero():
    assert write_share([], "o/big", run_seconds=10.0)["database_share"] == 0.0


def test_small_mode_judges_only_the_scale_free_targets_and_names_every_other():
    from bench.run import SCALE_FREE, TARGETS, small_note, verdicts

    # Each target reads a value just past its own limit, so a judged target can only be unmet.
    past = [
        (name, lambda r, v=(target - 1 if op == ">=" else target + 1): v, target, op)
        for name, _, target, op in TARGETS
        if target is not None
    ]
    unmet = {small: {r["target"] for r in verdicts({}, small=small, targets=past) if r["met"] is False}
             for small in (False, True)}  # fmt: skip
    limited = {name for name, *_ in past}
    assert unmet[False] == limited
    assert unmet[True] == SCALE_FREE
    assert limited > SCALE_FREE
    note = small_note()
    assert all(name in note for name in limited - SCALE_FREE)
    assert not any(name in note for name in SCALE_FREE)


def test_only_analyst_judges_the_analyst_and_api_targets_which_hold_at_full_scale_only():
    from bench.run import ANALYST_TARGETS, SCALE_FREE, TARGETS

    assert {name for name, *_ in TARGETS} >= ANALYST_TARGETS
    assert "API one-team 12 weeks p95 ms" in ANALYST_TARGETS and not ANALYST_TARGETS & SCALE_FREE
    (api,) = (t for t in TARGETS if t[0] == "API one-team 12 weeks p95 ms")
    assert api[2:] == (50, "<=")
