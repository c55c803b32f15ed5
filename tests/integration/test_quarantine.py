"""One bad record costs only itself: refused PRs are kept out, recorded, counted, and retried later."""

import logging
import random
from datetime import timedelta

import pytest
from sqlalchemy import text

from collector.testing.fake_github import Fault
from tests.helpers import NOW, add, collect, merged_pull, rows


def hostile(number, **overrides):
    pull = merged_pull(number)
    pull.overrides = overrides
    return pull


def test_refused_prs_are_quarantined_and_the_rest_of_the_run_goes_on(engine, fake_github, team, caplog):
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 151)],
        hostile(151, merged_at="2001-01-01T00:00:00Z"), hostile(152, created_at="last tuesday"))  # fmt: skip
    add(fake_github, "acme/web", merged_pull(1, "bob"))
    with caplog.at_level(logging.WARNING, logger="collector"):
        result = collect(engine, fake_github, ["acme/api", "acme/web"])
    assert result.status == "success" and result.prs_quarantined == 2
    assert rows(engine, "SELECT repository, count(*) FROM pull_requests GROUP BY 1 ORDER BY 1") == [
        ("acme/api", 150), ("acme/web", 1)
    ]  # fmt: skip
    assert rows(engine, "SELECT repository, item, number, reason, times_seen FROM quarantined_prs ORDER BY 2") == [
        ("acme/api", "151", 151, "merged_at is before created_at", 1),
        ("acme/api", "152", 152, "Invalid RFC3339 encoded datetime - at `$.created_at`", 1),
    ]
    assert rows(engine, "SELECT prs_quarantined FROM collector_runs") == [(2,)]
    warnings = [r for r in caplog.records if r.getMessage() == "pull request quarantined"]
    assert sorted(r.item for r in warnings) == ["151", "152"]


def test_a_quarantined_pr_is_retried_by_number_once_a_day_and_leaves_quarantine_once_readable(
    engine, fake_github, team
):
    add(fake_github, "acme/api", merged_pull(1), hostile(2, created_at="last tuesday"))
    collect(engine, fake_github, ["acme/api"])
    fake_github.clear_log()
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))  # too soon: a free 304 only
    assert [(r.path, r.status) for r in fake_github.requests] == [("/repos/acme/api/pulls", 304)]
    fake_github.clear_log()
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(days=2))  # still refused: seen again
    assert [r.path for r in fake_github.requests] == ["/repos/acme/api/pulls", "/repos/acme/api/pulls/2"]
    assert rows(engine, "SELECT times_seen FROM quarantined_prs") == [(2,)]
    # GitHub (or a newer collector) reads it well now, although the PR itself did not change.
    fake_github.set_overrides("acme/api", 2, {})
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(days=4))
    assert rows(engine, "SELECT count(*) FROM quarantined_prs") == [(0,)]
    assert rows(engine, "SELECT number FROM pull_requests ORDER BY 1") == [(1,), (2,)]


def test_a_pr_the_database_refuses_is_found_and_kept_out_alone(engine, fake_github, team):
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 201)])
    with engine.begin() as conn:  # a value our decoder lets through but PostgreSQL refuses
        conn.execute(text("ALTER TABLE pull_requests ADD CONSTRAINT ck_test_no_137 CHECK (number <> 137)"))
    try:
        result = collect(engine, fake_github, ["acme/api"])
        assert result.status == "success" and result.prs_quarantined == 1
        assert rows(engine, "SELECT count(*) FROM pull_requests") == [(199,)]
        (reason,) = rows(engine, "SELECT reason FROM quarantined_prs WHERE number = 137")[0]
        assert "ck_test_no_137" in reason and "\n" not in reason
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE pull_requests DROP CONSTRAINT ck_test_no_137"))


@pytest.mark.parametrize(
    "fault",
    [
        Fault(200, body=b"<html><body>Unicorn! This page is taking too long to load.</body></html>"),
        Fault(200, body=b'{"message": "Moved Permanently"}'),
        Fault(301, "Moved Permanently", headers=(("Location", "https://elsewhere.example/steal"),)),
        Fault(302, "Found", headers=(("Location", "http://127.0.0.1:9/pulls"),)),
        Fault(418, "\x1b[31mI'm a teapot\nFAKE LOG LINE " + "x" * 2000),
    ],
)
def test_a_github_answer_we_cannot_use_costs_only_its_repository_in_one_line(engine, fake_github, team, fault):
    add(fake_github, "acme/api", merged_pull(1))
    add(fake_github, "acme/web", merged_pull(1, "bob"))
    fake_github.inject("/repos/acme/api/pulls", fault)
    result = collect(engine, fake_github, ["acme/api", "acme/web"])
    assert result.failed.keys() == {"acme/api"}
    error = result.failed["acme/api"]
    assert "\n" not in error and "\x1b" not in error and len(error) <= 400
    assert rows(engine, "SELECT repository FROM pull_requests") == [("acme/web",)]
    assert not any("elsewhere.example" in r.path for r in fake_github.requests)


def test_the_token_never_reaches_the_ledger_even_when_github_echoes_it(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1))
    fake_github.inject("/repos/acme/api/pulls", Fault(422, "Validation failed for token test-token"))
    result = collect(engine, fake_github, ["acme/api"])
    assert "test-token" not in result.error and "***" in result.error
    assert rows(engine, "SELECT error LIKE '%test-token%' FROM collector_runs") == [(False,)]


def test_a_value_past_what_an_index_can_hold_is_quarantined_by_postgresql_itself(engine, fake_github, team):
    # A 16,000-character login decodes fine, but no btree index row can hold it (ix_pull_requests_author),
    # even compressed: random characters do not compress.
    huge = random.Random(7).randbytes(8000).hex()
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 50)],
        hostile(50, user={"login": huge, "type": "User"}))  # fmt: skip
    result = collect(engine, fake_github, ["acme/api"])
    assert result.status == "success" and result.prs_quarantined == 1
    (reason,) = rows(engine, "SELECT reason FROM quarantined_prs WHERE number = 50")[0]
    assert reason.startswith("PostgreSQL refused it: index row") and len(reason) <= 400
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(49,)]


def test_prs_that_stay_unreadable_do_not_starve_the_retries_of_others(engine, fake_github, team):
    add(fake_github, "acme/api", *[hostile(n, created_at="never") for n in range(1, 13)])
    collect(engine, fake_github, ["acme/api"])
    for n in range(1, 12):  # eleven are deleted from GitHub: their retries fail (404) ...
        del fake_github.repos["acme/api"].pulls[n]
    fake_github.repos["acme/api"].listings.clear()
    fake_github.set_overrides("acme/api", 12, {})  # ... and the twelfth, the last in line, is readable now
    for day in (2, 4):
        collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(days=day))
    assert rows(engine, "SELECT number FROM pull_requests") == [(12,)]
    assert rows(engine, "SELECT count(*), min(times_seen) FROM quarantined_prs") == [(11, 2)]


def test_a_pr_whose_new_version_is_refused_no_longer_counts_in_its_old_one(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1), merged_pull(2))
    collect(engine, fake_github, ["acme/api"])
    assert rows(engine, "SELECT count(*) FROM pr_metrics WHERE pr_number = 2") == [(1,)]
    fake_github.update_pull("acme/api", 2, updated_at=NOW + timedelta(hours=1))
    fake_github.set_overrides("acme/api", 2, {"merged_at": "2001-01-01T00:00:00Z"})
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))
    assert rows(engine, "SELECT number FROM pull_requests") == [(1,)]
    assert rows(engine, "SELECT pr_number FROM pr_metrics") == [(1,)]
    assert rows(engine, "SELECT number FROM quarantined_prs") == [(2,)]


@pytest.mark.parametrize("answer", [b"null", b"{}", b"[]"])
def test_a_retry_answered_with_something_else_counts_against_the_pr_asked_for(engine, fake_github, team, answer):
    add(fake_github, "acme/api", merged_pull(1), hostile(2, created_at="last tuesday"))
    collect(engine, fake_github, ["acme/api"])
    fake_github.inject(r"/repos/acme/api/pulls/2$", Fault(200, body=answer))
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(days=2))
    assert rows(engine, "SELECT item, times_seen FROM quarantined_prs") == [("2", 2)]
    assert rows(engine, "SELECT number FROM pull_requests") == [(1,)]


def test_a_retry_answered_with_another_pr_stores_nothing_of_it(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1), hostile(2, created_at="last tuesday"), merged_pull(3))
    collect(engine, fake_github, ["acme/api"])
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM pull_requests WHERE number = 3"))
    pr3 = fake_github.render_pull(fake_github.repos["acme/api"], fake_github.repos["acme/api"].pulls[3])
    fake_github.inject(r"/repos/acme/api/pulls/2$", Fault(200, body=pr3))
    collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(days=2))
    assert rows(engine, "SELECT reason, times_seen FROM quarantined_prs") == [
        ("GitHub's answer is not pull request #2", 2)
    ]
    assert rows(engine, "SELECT number FROM pull_requests") == [(1,)]


def test_a_pr_postgresql_refuses_is_logged_like_one_the_decoder_refuses(engine, fake_github, team, caplog):
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 20)])
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE pull_requests ADD CONSTRAINT ck_test_no_7 CHECK (number <> 7)"))
    try:
        with caplog.at_level(logging.WARNING, logger="collector"):
            collect(engine, fake_github, ["acme/api"])
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE pull_requests DROP CONSTRAINT ck_test_no_7"))
    assert [r.item for r in caplog.records if r.getMessage() == "pull request quarantined"] == ["7"]
