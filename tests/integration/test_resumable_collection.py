"""A backfill of any size converges: resumed across runs from a durable cursor, never from page 1."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from collector.github_api import GitHubClientFactory
from collector.pipeline import run
from collector.testing.fake_github import Fault
from tests.helpers import (
    FAST_RETRY,
    NOW,
    add,
    collect,
    merged_pull,
    rows,
    settings_for,
    snapshot,
)


def hourly(first, last):
    """PR n updated n hours before NOW: the listing's order is the numbers' order."""
    return [merged_pull(n, "alice" if n % 2 else "bob", updated=NOW - timedelta(hours=n)) for n in range(first, last)]


def run_with_budget(engine, fake, repos, requests, *, now, since=None):
    """One run that GitHub's rate limit lets make ``requests`` requests before the 10 % reserve."""
    fake.rate_limit, fake.rate_remaining = 100, 10 + requests
    github = GitHubClientFactory(token="test-token", base_url=fake.base_url, policy=FAST_RETRY, rate_limit_reserve=0.10)
    settings = settings_for(fake, engine, repos, max_workers=1)
    return run(settings, github=github, engine=engine, now=now, since=since)


def test_a_backfill_spanning_runs_resumes_where_it_stopped_and_misses_nothing(engine, fake_github, team):
    add(fake_github, "acme/big", *hourly(1, 3001))  # 30 pages
    since = NOW - timedelta(days=400)
    requests, statuses, minute = 0, [], 0
    while not statuses or statuses[-1] == "partial":
        minute += 10
        fake_github.clear_log()
        result = run_with_budget(
            engine, fake_github, ["acme/big"], 12, now=NOW + timedelta(minutes=minute), since=since
        )
        statuses.append(result.status)
        requests += len(fake_github.pull_requests_log())
        if len(statuses) == 1:
            # While the backfill spans runs, PRs are opened and old, unread ones are edited: both move
            # to the top of the listing, above where the backfill stands.
            add(fake_github, "acme/big", *[merged_pull(n, updated=NOW + timedelta(minutes=5)) for n in (3001, 3002)])
            fake_github.update_pull("acme/big", 2900, updated_at=NOW + timedelta(minutes=6), title="edited")
        assert len(statuses) < 10
    assert statuses == ["partial", "partial", "success"]
    # One pass over the 31 pages the listing has now; each resumed run reads one page again.
    assert requests <= 1.1 * 31
    assert rows(engine, "SELECT status, rate_limit_reset IS NOT NULL FROM collector_runs ORDER BY started_at") == [
        ("partial", True), ("partial", True), ("success", False)
    ]  # fmt: skip

    fake_github.rate_limit = fake_github.rate_remaining = 5000  # a new hour
    assert collect(engine, fake_github, ["acme/big"], now=NOW + timedelta(hours=4)).status == "success"  # one more
    resumed = snapshot(engine)
    assert ("acme/big", 2900, "edited") in rows(engine, "SELECT repository, number, title FROM pull_requests")
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE pull_requests, pr_metrics, collector_state"))
    assert collect(engine, fake_github, ["acme/big"], now=NOW + timedelta(hours=4), since=since).status == "success"
    assert snapshot(engine) == resumed


def test_a_run_stopped_by_the_budget_is_partial_with_the_reset_time_in_the_ledger(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 501))
    add(fake_github, "acme/web", *hourly(1, 501))
    result = run_with_budget(engine, fake_github, ["acme/api", "acme/web"], 3, now=NOW)
    assert result.status == "partial" and result.failed == {}
    assert result.repositories_unfinished == 2
    assert result.rate_limit_reset.timestamp() == fake_github.rate_reset
    assert fake_github.rate_remaining == 10  # the reserve is left for other tools
    assert rows(engine, "SELECT status, extract(epoch FROM rate_limit_reset) FROM collector_runs") == [
        ("partial", fake_github.rate_reset)
    ]


def test_a_state_stored_mid_backfill_names_the_next_page(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 1001))
    run_with_budget(engine, fake_github, ["acme/api"], 4, now=NOW, since=NOW - timedelta(days=400))
    assert rows(engine, "SELECT watermark, sweep_kind, sweep_upper, sweep_next_page, sweep_pages_read "
                        "FROM collector_state") == [(None, "top", NOW, 5, 4)]  # fmt: skip
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(400,)]


def test_an_earlier_since_extends_the_history_without_reading_it_again(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 1001))  # 10 pages, one PR an hour
    collect(engine, fake_github, ["acme/api"], since=NOW - timedelta(hours=240))
    assert rows(engine, "SELECT max(number) FROM pull_requests") == [(240,)]
    fake_github.clear_log()
    result = collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=1), since=NOW - timedelta(hours=960))
    assert result.status == "success"
    assert rows(engine, "SELECT count(*), min(number), max(number) FROM pull_requests") == [(960, 1, 960)]
    pages = [(r.query["page"], r.status) for r in fake_github.pull_requests_log()]
    # A free 304 for what changed (nothing), a binary search for where the history ends (pages 1, 5, 3, 2),
    # then pages 3 to 10 once: pages 1 and 2 are not read again for their PRs.
    assert pages == [("1", 304), ("1", 200), ("5", 200), ("3", 200), ("2", 200),
                     *[(str(p), 200) for p in range(3, 11)]]  # fmt: skip
    assert rows(engine, "SELECT extract(epoch FROM covered_since) FROM collector_state") == [
        ((NOW - timedelta(hours=960)).timestamp(),)
    ]


def test_a_later_since_leaves_the_history_as_it_is(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 301))
    collect(engine, fake_github, ["acme/api"], since=NOW - timedelta(hours=200))
    fake_github.clear_log()
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=1), since=NOW - timedelta(hours=10))
    assert [r.status for r in fake_github.pull_requests_log()] == [304]
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(200,)]


def test_a_listing_without_rel_last_is_read_to_its_end(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 3001))
    fake_github.repos["acme/api"].omit_last_link = True
    result = collect(engine, fake_github, ["acme/api"])
    assert result.status == "success"
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(3000,)]


def test_an_empty_page_that_says_more_follow_costs_only_its_repository(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 201))
    fake_github.inject(r"/pulls\?(?=.*[?&]page=2(&|$))", Fault(200, body=b"[]", headers=(
        ("Link", '<http://x/repos/acme/api/pulls?page=3>; rel="next", <http://x/repos/acme/api/pulls?page=99999999>; '
                 'rel="last"'),)))  # fmt: skip
    result = collect(engine, fake_github, ["acme/api"])
    assert result.failed == {"acme/api": "GitHub sent an empty page 2 that says more pages follow"}
    assert len(fake_github.pull_requests_log()) == 2


def test_a_listing_that_never_ends_costs_only_its_repository(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 301))
    add(fake_github, "acme/web", *hourly(1, 51))
    fake_github.repos["acme/api"].endless_links = True
    result = collect(engine, fake_github, ["acme/api", "acme/web"])
    assert result.failed.keys() == {"acme/api"}
    assert "past the 3 pages it announced" in result.failed["acme/api"]
    listed = [r for r in fake_github.pull_requests_log() if "/acme/api/" in r.path]
    assert len(listed) == 3 + 10  # what the first page promised, plus the margin
    assert rows(engine, "SELECT count(*) FROM pull_requests WHERE repository = 'acme/web'") == [(50,)]


def test_a_token_revoked_mid_listing_leaves_its_repository_unfinished(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 301))
    fake_github.inject(r"/pulls\?(?=.*[?&]page=2(&|$))", Fault(401, "Bad credentials"))
    result = collect(engine, fake_github, ["acme/api"])
    assert result.status == "failed" and "GITHUB_TOKEN" in result.error
    assert result.repositories_done == 0 and result.repositories_unfinished == 1
    assert rows(engine, "SELECT repositories_done FROM collector_runs") == [(0,)]
    assert rows(engine, "SELECT sweep_next_page FROM collector_state") == [(2,)]  # page 1 is kept


def test_ctrl_c_closes_the_ledger_row_and_keeps_what_was_written(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 301))
    fake_github.inject(r"/pulls\?(?=.*[?&]page=3(&|$))", Fault(503))

    def interrupt(_seconds):  # Ctrl-C arrives while the client waits to retry page 3
        raise KeyboardInterrupt

    github = GitHubClientFactory(token="test-token", base_url=fake_github.base_url, sleep=interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(settings_for(fake_github, engine, ["acme/api"]), github=github, engine=engine, now=NOW)
    assert rows(engine, "SELECT status, error FROM collector_runs") == [("failed", "interrupted")]
    assert rows(engine, "SELECT sweep_next_page FROM collector_state") == [(3,)]
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(200,)]


def test_a_history_sweeps_start_once_found_is_kept_when_the_budget_ends_the_run(engine, fake_github, team):
    add(fake_github, "acme/api", *hourly(1, 1001))
    collect(engine, fake_github, ["acme/api"], since=NOW - timedelta(hours=240))
    later, since = NOW + timedelta(hours=1), NOW - timedelta(hours=960)
    # A free 304, then the search (pages 1, 5, 3, 2): the budget ends the run before page 3 is read.
    assert run_with_budget(engine, fake_github, ["acme/api"], 4, now=later, since=since).status == "partial"
    assert rows(engine, "SELECT sweep_kind, sweep_next_page, sweep_pages_read FROM collector_state") == [
        ("history", 3, 0)
    ]
    fake_github.clear_log()
    assert run_with_budget(engine, fake_github, ["acme/api"], 50, now=later, since=since).status == "success"
    # The sweep in progress goes on at page 3 without a new search; then the top sweep's free 304.
    pages = [(r.query["page"], r.status) for r in fake_github.pull_requests_log()]
    assert pages == [*[(str(p), 200) for p in range(3, 11)], ("1", 304)]
