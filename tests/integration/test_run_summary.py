"""What a run tells people, from real runs (the fake GitHub over HTTP, real PostgreSQL): a warning when teams'
numbers would silently stay zero, and a summary in plain English that says first what needs doing."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from collector.ledger import describe
from collector.pipeline import NO_TEAMS
from tests.helpers import NOW, add, collect, member, merged_pull, open_pull, rows, sync, team_doc


@pytest.fixture
def warnings(caplog):
    """The collector's warnings, as logged (Lambda's log shows the same records)."""
    caplog.set_level(logging.WARNING, logger="collector")
    return lambda: [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("collector")]


# ------------------------------------------------------------------ nothing can be credited


def test_a_run_with_no_teams_synced_warns_and_says_what_to_do(engine, fake_github, warnings):
    add(fake_github, "acme/api", merged_pull(1, "alice"), merged_pull(2, "bob"))
    result = collect(engine, fake_github, ["acme/api"])
    assert result.status == "success" and rows(engine, "SELECT count(*) FROM pull_requests") == [(2,)]
    assert [w.getMessage() for w in warnings()] == [NO_TEAMS]  # said once, not again as "nothing credited"
    assert NO_TEAMS.startswith("no team has a member") and "teams sync --file" in NO_TEAMS and "TEAMS_FILE" in NO_TEAMS
    assert result.warnings == [NO_TEAMS]
    assert describe(result).startswith("No team has a member (no teams file synced, or teams without members)")


def test_teams_without_members_warn_in_words_that_fit_them_too(engine, fake_github, warnings):
    sync(engine, team_doc(("platform", []), ("payments", [])))
    add(fake_github, "acme/api", merged_pull(1, "alice"))
    result = collect(engine, fake_github, ["acme/api"])
    assert result.warnings == [NO_TEAMS] and "teams without members" in NO_TEAMS


def test_a_quiet_run_with_no_teams_synced_warns_too(engine, fake_github, warnings):
    add(fake_github, "acme/api", merged_pull(1, "alice"))
    collect(engine, fake_github, ["acme/api"])
    quiet = collect(engine, fake_github, ["acme/api"], now=NOW + timedelta(hours=4))
    assert quiet.prs_seen == 0 and quiet.warnings == [NO_TEAMS]
    assert [w.getMessage() for w in warnings()] == [NO_TEAMS, NO_TEAMS]


def test_merged_prs_no_team_could_be_credited_with_warn_with_their_number(engine, fake_github, team, warnings):
    add(fake_github, "acme/api", merged_pull(1, "stranger"), merged_pull(2, "newcomer"), merged_pull(3, "stranger"))
    result = collect(engine, fake_github, ["acme/api"])
    (warning,) = warnings()
    assert warning.prs_uncredited == 3
    message = warning.getMessage()
    assert message.startswith("none of the 3 merged PRs this run collected could be credited to any team")
    assert "view_unmapped_authors" in message and "teams sync" in message
    assert rows(engine, "SELECT author, prs_merged FROM view_unmapped_authors ORDER BY 1") == [
        ("newcomer", 1),
        ("stranger", 2),
    ]  # the view the warning names lists them
    assert result.warnings == [message]
    assert describe(result).startswith("None of the 3 merged PRs this run collected could be credited to any team")


def test_one_merged_pr_no_team_could_be_credited_with_is_said_in_the_singular(engine, fake_github, team, warnings):
    add(fake_github, "acme/api", merged_pull(1, "stranger"))
    collect(engine, fake_github, ["acme/api"])
    (warning,) = warnings()
    assert warning.getMessage().startswith(
        "the merged PR this run collected could not be credited to any team: its author was in no team"
    )


def test_a_member_merging_before_joining_counts_as_not_credited(engine, fake_github, warnings):
    sync(engine, team_doc(("platform", [member("alice", joined="2030-01-01")])))
    add(fake_github, "acme/api", merged_pull(1, "alice"))
    collect(engine, fake_github, ["acme/api"])
    (warning,) = warnings()
    assert warning.prs_uncredited == 1 and "view_unattributed_prs" in warning.getMessage()
    assert rows(engine, "SELECT reason FROM view_unattributed_prs") == [("before_joining",)]


def test_one_credited_pr_is_enough_for_no_warning(engine, fake_github, team, warnings):
    add(fake_github, "acme/api", merged_pull(1, "alice"), merged_pull(2, "stranger"))
    result = collect(engine, fake_github, ["acme/api"])
    assert warnings() == [] and result.warnings == []


def test_prs_no_team_is_ever_credited_with_are_no_cause_for_warning(engine, fake_github, team, warnings):
    """Bots, merges into another branch and open PRs are stored but never credited, by design."""
    add(
        fake_github,
        "acme/api",
        merged_pull(1, "dependabot[bot]", user_type="Bot"),
        merged_pull(2, "stranger", base_ref="release/1.x"),
        open_pull(3, "stranger", created=NOW - timedelta(days=1)),
    )
    result = collect(engine, fake_github, ["acme/api"])
    assert result.prs_seen == 3 and warnings() == [] and result.warnings == []


# ------------------------------------------------------------------ the summary of real runs


def test_a_quiet_run_is_summed_up_as_nothing_changed(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1, "alice"))
    add(fake_github, "acme/web", merged_pull(1, "bob"))
    collect(engine, fake_github, ["acme/api", "acme/web"])
    quiet = collect(engine, fake_github, ["acme/api", "acme/web"], now=NOW + timedelta(hours=4))
    assert describe(quiet) == (
        f"Nothing changed since the last run; {quiet.github_requests} GitHub requests "
        f"({quiet.github_requests} answered 304 Not Modified). Run {quiet.run_id} succeeded."
    )


def test_a_rejected_token_is_summed_up_by_what_to_check(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1, "alice"))
    result = collect(engine, fake_github, ["acme/api"], token="ghp_wrongWRONGwrong")
    assert describe(result).startswith(
        "GitHub rejected GITHUB_TOKEN (401 Bad credentials): check the token and its expiry. Nothing was collected;"
    )


def test_a_spent_rate_limit_is_summed_up_with_when_it_resets(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1, "alice"))
    fake_github.rate_remaining = 0
    result = collect(engine, fake_github, ["acme/api"])
    reset = datetime.fromtimestamp(fake_github.rate_reset, UTC)
    assert result.status == "partial"
    assert describe(result).startswith(
        f"GitHub's rate limit stopped the run; it resets at {reset:%Y-%m-%d %H:%M} UTC. Nothing was collected; "
        "1 repository left for the next run;"
    )


def test_every_repository_failing_is_summed_up_first(engine, fake_github, team):
    result = collect(engine, fake_github, ["acme/gone", "acme/missing"])
    assert result.status == "failed"
    assert describe(result).startswith(
        "Both repositories failed: acme/gone (404 Not Found: the repository does not exist or the token cannot "
        "read it); acme/missing (404 Not Found: "
    )
    assert "Nothing was collected" in describe(result)
