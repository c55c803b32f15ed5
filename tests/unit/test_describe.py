"""describe(): the run for people, in plain English. Each rule of its phrasing has its own test."""

import uuid
from datetime import UTC, datetime

from collector.ledger import KeysCounts, RepoOutcome, RunResult, describe

RUN = uuid.UUID("5b1e0f6a-3c2d-4e8f-9a7b-1c2d3e4f5a6b")
NOT_FOUND = "404 Not Found: the repository does not exist or the token cannot read it"


def result(*outcomes, status="success", **fields):
    return RunResult(RUN, status=status, outcomes=list(outcomes), **fields)


def done(repository="acme/api", **counts):
    return RepoOutcome(repository, **counts)


def test_counts_are_singular_for_one():
    text = describe(result(done(prs_seen=1, rows_written=1, quarantined=1), github_requests=1))
    assert text.startswith("1 PR collected from 1 repository, 1 row written, 1 PR quarantined; 1 GitHub request.")


def test_counts_are_plural_for_several():
    text = describe(
        result(done(prs_seen=2, rows_written=4), done("acme/web", prs_seen=1, rows_written=2), github_requests=3)
    )
    assert text.startswith("3 PRs collected from 2 repositories, 6 rows written; 3 GitHub requests.")


def test_zero_clauses_that_say_nothing_are_left_out():
    text = describe(result(done(prs_seen=3, rows_written=6), github_requests=2))
    for silent in ("0 ", "failed", "quarantined", "left for the next run", "304"):
        assert silent not in text.replace(str(RUN), ""), silent


def test_the_run_and_how_it_ended_come_last():
    assert describe(result(done(prs_seen=1, rows_written=2))).endswith(f"Run {RUN} succeeded.")
    assert describe(result(done(status="unfinished"), status="partial")).endswith(f"Run {RUN} is partial.")


def test_a_rejected_token_is_said_first_with_what_to_do():
    error = "GitHub rejected GITHUB_TOKEN (401 Bad credentials): check the token and its expiry"
    text = describe(
        result(done(status="unfinished"), done("acme/web", status="unfinished"), status="failed", error=error,
               github_requests=2)
    )  # fmt: skip
    assert text == f"{error}. Nothing was collected; 2 GitHub requests. Run {RUN} failed."


def test_a_spent_rate_limit_says_when_it_resets():
    reset = datetime(2026, 6, 15, 13, 5, tzinfo=UTC)
    text = describe(
        result(done(prs_seen=100, rows_written=200), done("acme/web", status="unfinished"), status="partial",
               rate_limit_reset=reset, stop_reason="GitHub's rate limit is spent until 2026-06-15T13:05:00Z",
               github_requests=4)
    )  # fmt: skip
    assert text.startswith(
        "GitHub's rate limit stopped the run; it resets at 2026-06-15 13:05 UTC. 100 PRs collected from 1 repository, "
        "200 rows written; 1 repository left for the next run; 4 GitHub requests."
    )


def test_time_running_out_says_so():
    text = describe(result(done("acme/web", status="unfinished"), status="partial", stop_reason="the run's time is up"))
    assert (
        text
        == f"The run's time is up. Nothing was collected; 1 repository left for the next run. Run {RUN} is partial."
    )


def test_every_repository_failing_is_said_first():
    web = done("acme/web", status="failed", error="GitHub answered 500 (gave up after retries)")
    api = done("acme/api", status="failed", error=NOT_FOUND)
    assert describe(result(web, api, status="failed")).startswith(
        f"Both repositories failed: acme/api ({NOT_FOUND}); acme/web (GitHub answered 500 (gave up after retries)). "
        "Nothing was collected."
    )
    three = [done(f"acme/r{i}", status="failed", error=NOT_FOUND) for i in range(3)]
    assert describe(result(*three, status="failed")).startswith("All 3 repositories failed: acme/r0 (")
    only = describe(result(done(status="failed", error=NOT_FOUND), status="failed"))
    assert only.startswith(f"The only repository, acme/api, failed ({NOT_FOUND}). Nothing was collected.")


def test_one_failed_repository_among_others_is_named_first():
    text = describe(
        result(
            done(prs_seen=3, rows_written=6), done("acme/missing", status="failed", error=NOT_FOUND), status="failed"
        )
    )
    assert text.startswith(f"Repository acme/missing failed ({NOT_FOUND}). 3 PRs collected from 1 repository")


def test_a_quiet_run_says_nothing_changed_since_the_last_run():
    quiet = result(done(not_modified=True), done("acme/web", not_modified=True), github_requests=2,
                   github_not_modified=2)  # fmt: skip
    assert describe(quiet) == (
        f"Nothing changed since the last run; 2 GitHub requests (2 answered 304 Not Modified). Run {RUN} succeeded."
    )


def test_a_failed_repository_beside_quiet_ones_does_not_make_the_run_unchanged():
    failed = {"status": "failed", "error": NOT_FOUND}
    one = result(done(not_modified=True), done("acme/nope", **failed), status="failed")
    assert f"({NOT_FOUND}). Nothing changed in the other repository since the last run" in describe(one)
    two = result(done(not_modified=True), done("acme/web", not_modified=True), done("acme/nope", **failed),
                 status="failed")  # fmt: skip
    assert "Nothing changed in the other 2 repositories since the last run" in describe(two)


def test_no_prs_without_github_saying_not_modified_is_not_called_unchanged():
    text = describe(result(done(not_modified=False), github_requests=1))
    assert text.startswith("No new or updated PRs; 1 GitHub request.")


def test_warnings_come_before_what_was_done():
    text = describe(result(done(prs_seen=1, rows_written=1), warnings=["no teams are synced: run this"]))
    assert text.startswith("No teams are synced: run this. 1 PR collected")


# ------------------------------------------------------------------ the four keys


def test_the_four_keys_facts_read_are_said_after_the_prs_without_zeros():
    keys = KeysCounts(deployments=3, incidents=1, first_commits=40)
    text = describe(result(done(prs_seen=2, rows_written=4), keys=keys, github_requests=2))
    assert text.startswith(
        "2 PRs collected from 1 repository, 4 rows written; 3 deployments, 1 incident and 40 first commits read; "
        "2 GitHub requests."
    )
    assert "; 1 deployment read." in describe(result(done(), keys=KeysCounts(deployments=1)))
    assert "2 incidents and 1 first commit read" in describe(result(done(), keys=KeysCounts(0, 2, 1)))


def test_items_refused_for_the_four_keys_point_to_the_log():
    text = describe(result(done(), keys=KeysCounts(deployments=2, refused=1)))
    assert "2 deployments read, 1 item GitHub sent for the four keys refused (see the log)" in text


def test_graphql_queries_are_counted_with_their_points_apart_from_rest_requests():
    text = describe(result(done(not_modified=True), github_requests=4, github_not_modified=4, graphql_requests=2,
                           graphql_points=3))  # fmt: skip
    assert "; 4 GitHub requests (4 answered 304 Not Modified); 2 GraphQL queries costing 3 points." in text
    one = describe(result(done(), graphql_requests=1, graphql_points=1))
    assert "1 GraphQL query costing 1 point." in one


def test_a_run_that_read_deployments_is_not_called_unchanged():
    text = describe(result(done(not_modified=True), keys=KeysCounts(deployments=1), github_requests=1,
                           github_not_modified=1))  # fmt: skip
    assert "Nothing changed" not in text and text.startswith("No new or updated PRs; 1 deployment read;")
