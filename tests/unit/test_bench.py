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


def test_costs_are_split_by_listing_and_by_graphql_operation():
    from bench.run import CliRun, added_kinds, costs_by_kind
    from collector.testing.fake_github import RequestRecord

    def record(path, status=200, counted=True, cost=0, operation=""):
        return RequestRecord("GET", path, {}, status, counted, status == 304, graphql_cost=cost,
                             graphql_operation=operation)  # fmt: skip

    log = [
        record("/repos/o/a/pulls", 304, counted=False),
        record("/repositories/7/pulls"),  # a next page, where GitHub's Link points
        record("/repos/o/a/issues"),
        record("/repos/o/a/actions/workflows/deploy.yml/runs", 304, counted=False),
        record("/repos/o/a/releases"),
        record("/graphql", counted=False, cost=1, operation="Probe"),
        record("/graphql", counted=False, cost=2, operation="Deployments"),
        record("/graphql", counted=False, cost=3, operation="Deployments"),
        record("/graphql", counted=False, cost=1),
        record("/rate_limit", counted=False),
    ]
    kinds = costs_by_kind(log)
    assert kinds["pulls"] == {"requests": 2, "counted": 1, "not_modified": 1, "points": 0}
    assert kinds["workflow runs"] == {"requests": 1, "counted": 0, "not_modified": 1, "points": 0}
    assert kinds["issues"]["counted"] == kinds["releases"]["counted"] == 1
    assert kinds["graphql Deployments"] == {"requests": 2, "counted": 0, "not_modified": 0, "points": 5}
    assert kinds["graphql Probe"]["points"] == kinds["graphql (unnamed)"]["points"] == 1
    assert kinds["other"]["requests"] == 1
    runs = [CliRun(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, by_kind=kinds), CliRun(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, by_kind=kinds)]
    assert added_kinds(runs)["graphql Deployments"] == {"requests": 4, "counted": 0, "not_modified": 0, "points": 10}
