"""Collection runs end to end: fake GitHub over HTTP, real PostgreSQL, the real pipeline."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from collector import store
from collector.deadline import Deadline
from collector.errors import DatabaseError
from collector.github_api import GitHubClientFactory
from collector.testing.fake_github import FakePull, Fault
from tests.helpers import NOW, add, collect, merged_pull, open_pull, rows, snapshot


def closed_unmerged(number, user="alice"):
    when = NOW - timedelta(days=3)
    return FakePull(number, "abandoned", user, when - timedelta(days=1), when, state="closed", closed_at=when)


# ------------------------------------------------------------------ what is stored


def test_every_merged_pr_is_stored_once_with_flags_and_only_eligible_ones_attributed(engine, fake_github, team):
    add(
        fake_github,
        "acme/api",
        merged_pull(1, "alice"),
        merged_pull(2, "dependabot[bot]", user_type="Bot"),
        merged_pull(3, "alice", base_ref="release/1.x"),
        merged_pull(4, None),
        merged_pull(5, "stranger"),
        closed_unmerged(6),
        open_pull(7, created=NOW - timedelta(days=1)),
    )
    result = collect(engine, fake_github, ["acme/api"])
    assert result.status == "success"
    stored = rows(
        engine,
        "SELECT number, author, is_bot, base_ref, state, merged_at IS NOT NULL FROM pull_requests ORDER BY 1",
    )
    assert stored == [
        (1, "alice", False, "main", "closed", True),
        (2, "dependabot[bot]", True, "main", "closed", True),
        (3, "alice", False, "release/1.x", "closed", True),
        (4, None, False, "main", "closed", True),
        (5, "stranger", False, "main", "closed", True),
        (7, "alice", False, "main", "open", False),
    ]
    assert rows(engine, "SELECT pr_number, state FROM pr_metrics") == [(1, "merged")]


def test_pr_metrics_rows_carry_the_contracted_columns(engine, fake_github, team):
    pull = merged_pull(1, "Alice", title="Add retries")
    add(fake_github, "acme/api", pull)
    collect(engine, fake_github, ["acme/api"])
    ((_team_id, repo, number, author, title, created, merged, closed, hours, state, created_date, weight),) = rows(
        engine,
        "SELECT team_id, repository, pr_number, author, title, created_at, merged_at, closed_at, cycle_time_hours, "
        "state, created_date, allocation_weight FROM pr_metrics",
    )
    assert (repo, number, author, title, state) == ("acme/api", 1, "Alice", "Add retries", "merged")
    assert (created, merged, closed) == (pull.created_at, pull.merged_at, pull.closed_at)
    assert hours == pytest.approx(5.0) and created_date == pull.created_at.date() and weight == 1


def test_repository_with_another_default_branch_uses_it(engine, fake_github, team):
    legacy = [merged_pull(1, "alice", base_ref="master"), merged_pull(2, "alice", base_ref="main")]
    add(fake_github, "acme/legacy", *legacy, default_branch="master")
    collect(engine, fake_github, ["acme/legacy"])
    assert rows(engine, "SELECT pr_number FROM pr_metrics") == [(1,)]


# ------------------------------------------------------------------ cost


def test_backfill_costs_one_request_per_100_prs_per_repository(engine, fake_github, team):
    add(
        fake_github,
        "acme/big",
        *[merged_pull(n) for n in range(1, 251)],
        *[closed_unmerged(n) for n in range(251, 281)],
    )
    add(fake_github, "acme/small", *[merged_pull(n) for n in range(1, 100)])
    add(fake_github, "acme/empty")
    result = collect(engine, fake_github, ["acme/big", "acme/small", "acme/empty"])
    # ceil(280 / 100) + ceil(99 / 100) + 1 for the empty repository's single empty page
    assert result.github_requests == fake_github.counted_requests == 3 + 1 + 1
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(250 + 99,)]


def test_quiet_run_costs_one_uncounted_request_per_repository(engine, fake_github, team):
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 151)])
    add(fake_github, "acme/web", merged_pull(1, "bob"))
    collect(engine, fake_github, ["acme/api", "acme/web"])
    before = snapshot(engine)
    fake_github.clear_log()
    result = collect(engine, fake_github, ["acme/api", "acme/web"], now=NOW + timedelta(hours=4))
    assert result.status == "success"
    assert len(fake_github.requests) == 2 and fake_github.counted_requests == 0
    assert all(r.status == 304 for r in fake_github.requests)
    assert result.github_not_modified == 2 and result.prs_seen == 0
    assert snapshot(engine) == before


def test_a_changed_repository_reads_only_the_first_page_again(engine, fake_github, team):
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 351)])
    collect(engine, fake_github, ["acme/api"])
    fake_github.update_pull("acme/api", 7, updated_at=NOW + timedelta(hours=1), title="renamed")
    fake_github.clear_log()
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))
    assert fake_github.counted_requests == 1


# ------------------------------------------------------------------ incremental correctness


def test_an_edited_title_is_picked_up_by_the_next_run(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1, "alice", title="old"))
    collect(engine, fake_github, ["acme/api"])
    fake_github.update_pull("acme/api", 1, updated_at=NOW + timedelta(hours=1), title="new")
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))
    assert rows(engine, "SELECT title FROM pull_requests") == [("new",)]
    assert rows(engine, "SELECT title FROM pr_metrics") == [("new",)]


def test_a_late_merge_is_picked_up_and_attributed(engine, fake_github, team):
    add(fake_github, "acme/api", open_pull(1, created=NOW - timedelta(days=2)))
    collect(engine, fake_github, ["acme/api"])
    assert rows(engine, "SELECT state FROM pull_requests") == [("open",)]
    merged_at = NOW + timedelta(hours=2)
    fake_github.update_pull(
        "acme/api", 1, updated_at=merged_at, state="closed", merged_at=merged_at, closed_at=merged_at
    )
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))
    assert rows(engine, "SELECT state, merged_at FROM pull_requests") == [("closed", merged_at)]
    assert rows(engine, "SELECT pr_number, cycle_time_hours FROM pr_metrics") == [(1, pytest.approx(50.0))]


def test_an_open_pr_closed_without_merging_is_dropped(engine, fake_github, team):
    add(fake_github, "acme/api", open_pull(1, created=NOW - timedelta(days=2)))
    collect(engine, fake_github, ["acme/api"])
    closed = NOW + timedelta(hours=1)
    fake_github.update_pull("acme/api", 1, updated_at=closed, state="closed", closed_at=closed)
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(0,)]


def test_an_update_stamped_before_the_watermark_by_a_skewed_clock_is_not_missed(engine, fake_github, team):
    add(fake_github, "acme/api", *[merged_pull(n, updated=NOW - timedelta(minutes=n)) for n in range(1, 120)])
    collect(engine, fake_github, ["acme/api"])
    # GitHub's clock runs 5 minutes behind ours: the edit carries a time older than the watermark.
    fake_github.update_pull("acme/api", 119, updated_at=NOW - timedelta(seconds=30), title="edited")
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))
    assert rows(engine, "SELECT title FROM pull_requests WHERE number = 119") == [("edited",)]


def test_watermark_never_passes_the_run_start(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1, updated=NOW + timedelta(hours=3)))  # GitHub's clock ahead
    collect(engine, fake_github, ["acme/api"])
    assert rows(engine, "SELECT watermark FROM collector_state") == [(NOW,)]


def test_since_bounds_only_the_first_collection(engine, fake_github, team):
    add(
        fake_github,
        "acme/api",
        merged_pull(1, updated=NOW - timedelta(days=30)),
        merged_pull(2, updated=NOW - timedelta(days=3)),
    )
    collect(engine, fake_github, ["acme/api"], since=NOW - timedelta(days=10))
    assert rows(engine, "SELECT number FROM pull_requests") == [(2,)]
    fake_github.update_pull("acme/api", 1, updated_at=NOW + timedelta(hours=1), title="touched")
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4), since=NOW)
    assert rows(engine, "SELECT number FROM pull_requests ORDER BY 1") == [(1,), (2,)]


def test_repeating_a_run_changes_nothing(engine, fake_github, team):
    add(fake_github, "acme/api", *[merged_pull(n, "alice" if n % 2 else "bob") for n in range(1, 230)])
    collect(engine, fake_github, ["acme/api"])
    once = snapshot(engine)
    with engine.begin() as conn:  # forget the ETag and watermark: everything is re-sent and re-upserted
        conn.execute(text("DELETE FROM collector_state"))
    collect(engine, fake_github, ["acme/api"])
    assert snapshot(engine) == once


# ------------------------------------------------------------------ failures


def test_a_failing_repository_does_not_stop_the_others(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1))
    add(fake_github, "acme/web", merged_pull(1, "bob"))
    fake_github.inject("/repos/acme/web/pulls", *[Fault(500)] * 10)
    result = collect(engine, fake_github, ["acme/api", "acme/web", "acme/gone"])
    assert result.status == "failed"
    assert set(result.failed) == {"acme/web", "acme/gone"}
    assert "500" in result.failed["acme/web"] and "404" in result.failed["acme/gone"]
    assert rows(engine, "SELECT repository FROM pull_requests") == [("acme/api",)]
    assert rows(engine, "SELECT repository FROM collector_state") == [("acme/api",)]
    (ledger,) = rows(
        engine,
        "SELECT status, repositories_done, repositories_failed, failed_repositories, error FROM collector_runs",
    )
    assert ledger[:4] == ("failed", 1, 2, ["acme/gone", "acme/web"])
    assert "acme/web: GitHub answered 500" in ledger[4]


def test_a_bad_token_fails_fast_and_changes_no_data(engine, fake_github, team):
    for i in range(12):
        add(fake_github, f"acme/r{i}", merged_pull(1))
    before = snapshot(engine)
    result = collect(engine, fake_github, [f"acme/r{i}" for i in range(12)], token="ghp_not_valid_000")
    assert result.status == "failed"
    assert "GITHUB_TOKEN" in (result.error or "") and "ghp_not_valid_000" not in (result.error or "")
    assert len(fake_github.requests) <= 4  # at most one per worker before the others stop
    assert snapshot(engine) == before
    assert rows(engine, "SELECT count(*) FROM collector_state") == [(0,)]


def test_a_secondary_rate_limit_mid_listing_is_waited_out(engine, fake_github, team):
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 201)])
    fake_github.inject(
        "/repositories/", Fault(403, "You have exceeded a secondary rate limit.", (("Retry-After", "0"),))
    )
    result = collect(engine, fake_github, ["acme/api"])
    assert result.status == "success" and rows(engine, "SELECT count(*) FROM pull_requests") == [(200,)]


def test_the_deadline_ends_a_run_as_partial_and_the_next_run_completes_it(engine, fake_github, team):
    for i in range(3):
        add(fake_github, f"acme/r{i}", *[merged_pull(n, "alice" if n % 3 else "bob") for n in range(1, 301)])
    repos = [f"acme/r{i}" for i in range(3)]
    ticks = iter(range(0, 10_000, 15))  # every look at the clock costs 15 s of a 100 s budget
    lock = threading.Lock()

    def clock():
        with lock:
            return float(next(ticks))

    partial = collect(engine, fake_github, repos, deadline=Deadline(100, clock=clock), max_workers=1)
    assert partial.status == "partial" and partial.repositories_unfinished >= 1
    stored = rows(engine, "SELECT count(*) FROM pull_requests")[0][0]
    assert 0 < stored < 900
    assert rows(engine, "SELECT status FROM collector_runs") == [("partial",)]
    finished = collect(engine, fake_github, repos, now=NOW + timedelta(hours=4))
    assert finished.status == "success"
    resumed = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE pull_requests, pr_metrics, collector_state"))
    collect(engine, fake_github, repos)
    assert resumed == snapshot(engine)


def test_the_request_pace_ends_a_run_as_partial_not_failed(engine, fake_github, team):
    from collector.github_api import GitHubClientFactory
    from collector.pipeline import run
    from tests.helpers import settings_for

    for i in range(3):
        add(fake_github, f"acme/r{i}", *[merged_pull(n) for n in range(1, 151)])
    repos = [f"acme/r{i}" for i in range(3)]
    # 2 requests a minute and 30 s left: the third request would have to wait past the deadline.
    github = GitHubClientFactory(
        token="test-token", base_url=fake_github.base_url, deadline=Deadline(30), max_requests_per_minute=2
    )
    result = run(settings_for(fake_github, engine, repos, max_workers=1), github=github, engine=engine, now=NOW)
    assert result.status == "partial" and result.failed == {}
    assert len(fake_github.requests) == 2
    assert collect(engine, fake_github, repos, now=NOW + timedelta(hours=4)).status == "success"
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(450,)]


# ------------------------------------------------------------------ scheduling: the longest listing first


def _listed_pages(fake):
    """(repository, page) of every list request, in the order GitHub answered them."""
    names = {str(repo.id): repo.full_name for repo in fake.repos.values()}
    order = []
    for r in fake.pull_requests_log():
        parts = r.path.split("/")  # /repos/{owner}/{name}/pulls, or /repositories/{id}/pulls from Link URLs
        order.append((f"{parts[2]}/{parts[3]}" if parts[1] == "repos" else names[parts[2]], r.query.get("page", "1")))
    return order


def test_first_pages_come_first_then_the_longest_listings(engine, fake_github, team):
    sizes = {"acme/small": 150, "acme/medium": 350, "acme/big": 550}
    for repo, count in sizes.items():
        add(fake_github, repo, *[merged_pull(n) for n in range(1, count + 1)])
    result = collect(engine, fake_github, list(sizes), max_workers=1)
    assert result.status == "success"
    assert _listed_pages(fake_github) == [
        ("acme/small", "1"), ("acme/medium", "1"), ("acme/big", "1"),
        *[("acme/big", str(p)) for p in range(2, 7)],
        *[("acme/medium", str(p)) for p in range(2, 5)],
        ("acme/small", "2"),
    ]  # fmt: skip
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(1050,)]


# ------------------------------------------------------------------ ledger, lock, concurrency


def test_the_run_ledger_records_counts(engine, fake_github, team):
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 121)])
    result = collect(engine, fake_github, ["acme/api"])
    (row,) = rows(
        engine,
        "SELECT run_id, status, started_at, finished_at IS NOT NULL, repositories_total, repositories_done, "
        "repositories_failed, prs_seen, rows_written, github_requests, rate_limit_remaining, error "
        "FROM collector_runs",
    )
    assert row == (
        result.run_id,
        "success",
        NOW,
        True,
        1,
        1,
        0,
        120,
        240,
        2,
        fake_github.rate_remaining,
        None,
    )


def test_repositories_are_fetched_concurrently_with_one_client_per_thread(engine, fake_github, team):
    factory = GitHubClientFactory(token="test-token", base_url=fake_github.base_url)
    clients = []
    threads = [threading.Thread(target=lambda: clients.append(factory.client())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in clients}) == 3
    assert factory.client() is factory.client()
    fake_github.latency = 0.05
    for i in range(4):
        add(fake_github, f"acme/r{i}", merged_pull(1))
    collect(engine, fake_github, [f"acme/r{i}" for i in range(4)], max_workers=4)
    assert fake_github.max_in_flight > 1


def test_dropped_database_connections_are_replaced(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1))
    collect(engine, fake_github, ["acme/api"])
    with engine.connect() as conn:  # a failover: every other connection of ours is cut
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))  # fmt: skip
    fake_github.update_pull("acme/api", 1, updated_at=NOW + timedelta(hours=1), title="after failover")
    assert collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4)).status == "success"
    assert rows(engine, "SELECT title FROM pull_requests") == [("after failover",)]


def _save(engine, prs):
    """Write PRs as a run writes a batch: attributed with the stored memberships."""
    import uuid

    from collector.attribute import attribute
    from collector.cursor import RepoState
    from collector.membership import MembershipIndex

    index = MembershipIndex(store.memberships(engine))
    metric_rows = [row for pr in prs for row in attribute(pr, index)]
    return store.save_batch(engine, "acme/api", prs, metric_rows, [], RepoState(), uuid.uuid4(), NOW)


def _merged_model(number, author, title="t"):
    from collector.models import PullRequest

    merged = NOW - timedelta(days=2)
    return PullRequest("acme/api", number, title, author, False, "closed", False, "main", "main",
                       merged - timedelta(hours=3), merged, merged, merged)  # fmt: skip


def test_a_rewritten_pr_loses_the_team_rows_that_no_longer_apply(engine, team):
    # A renamed GitHub account lists its PRs under the new login, which belongs to no team.
    _save(engine, [_merged_model(1, "alice"), _merged_model(2, "bob")])
    _save(engine, [_merged_model(1, "alice-renamed")])
    assert rows(engine, "SELECT pr_number, author FROM pr_metrics") == [(2, "bob")]
    assert rows(engine, "SELECT number, author FROM pull_requests ORDER BY number") == [
        (1, "alice-renamed"),
        (2, "bob"),
    ]


def test_a_database_failure_that_is_no_records_fault_ends_the_run_in_one_line_and_in_the_ledger(
    engine, fake_github, team
):
    add(fake_github, "acme/api", merged_pull(1), merged_pull(150))
    with engine.begin() as conn:  # every write refused for a reason no record causes: privileges
        conn.execute(text(
            "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'test: permission denied for table pull_requests' USING ERRCODE = '42501'; END $$; "
            "CREATE TRIGGER test_refuse BEFORE INSERT ON pull_requests "
            "FOR EACH STATEMENT EXECUTE FUNCTION test_refuse()"
        ))  # fmt: skip
    try:
        with pytest.raises(DatabaseError, match="permission denied") as info:
            collect(engine, fake_github, ["acme/api"])
        assert "\n" not in str(info.value)
        assert rows(engine, "SELECT status, error LIKE '%permission denied%' FROM collector_runs") == [("failed", True)]
        assert rows(engine, "SELECT count(*) FROM pull_requests") == [(0,)]
        assert rows(engine, "SELECT count(*) FROM collector_state") == [(0,)]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER test_refuse ON pull_requests; DROP FUNCTION test_refuse()"))


def test_an_edit_is_not_missed_when_our_clock_runs_ahead_of_githubs(engine, fake_github, team):
    from datetime import UTC, datetime

    github_now = datetime.now(UTC).replace(microsecond=0)  # the fake answers with the real Date header
    add(fake_github, "acme/api", merged_pull(1, updated=github_now - timedelta(days=1)))
    collect(engine, fake_github, ["acme/api"], now=github_now + timedelta(minutes=20))  # we are 20 min ahead
    (watermark,) = rows(engine, "SELECT watermark FROM collector_state")[0]
    assert github_now <= watermark < github_now + timedelta(minutes=1)  # GitHub's time, not ours
    # GitHub stamps an edit a minute after our first run, by its own clock.
    fake_github.update_pull("acme/api", 1, updated_at=github_now + timedelta(minutes=1), title="edited")
    collect(engine, fake_github, ["acme/api"], now=github_now + timedelta(minutes=30))
    assert rows(engine, "SELECT title FROM pull_requests") == [("edited",)]


def test_a_repository_respelt_in_the_configuration_is_still_one_repository(engine, fake_github, team):
    add(fake_github, "Acme/API", *[merged_pull(n) for n in range(1, 6)])
    collect(engine, fake_github, ["Acme/API"])
    fake_github.update_pull("Acme/API", 1, updated_at=NOW + timedelta(hours=1), title="edited")
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))  # GitHub ignores the case
    assert rows(engine, "SELECT DISTINCT repository FROM pull_requests") == [("Acme/API",)]
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(5,)]
    assert rows(engine, "SELECT title FROM pull_requests WHERE number = 1") == [("edited",)]
