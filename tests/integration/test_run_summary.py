"""What a run tells people, from real runs (the fake GitHub over HTTP, real PostgreSQL): a summary in plain
English that says first what needs doing."""

from datetime import UTC, datetime, timedelta

from collector.ledger import describe
from tests.helpers import NOW, add, collect, merged_pull

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
