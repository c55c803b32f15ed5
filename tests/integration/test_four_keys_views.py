"""The four DORA keys' views, one rule per test, against facts written as the collector writes them.

Pull requests go through the collector (the local fake GitHub, real attribution into pr_metrics); deployments,
incidents, repositories and their owners are inserted as the four keys' collection stores them.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.helpers import add, at, collect, member, merged_pull, rows, sync, team_doc

API = "acme/api"


def execute(engine, sql, **params):
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def configure(engine, name, source="deployments", owners=()):
    """A repository of the teams file; owners: (team, share, from, until or None)."""
    execute(
        engine,
        "INSERT INTO repositories (name, deploy_source, environment_pattern, workflow) VALUES (:n, :s, :p, :w)",
        n=name,
        s=source,
        p="^(prod|production)$" if source == "deployments" else None,
        w="deploy.yml" if source == "workflow" else None,
    )
    for team, share, since, until in owners:
        execute(
            engine,
            "INSERT INTO repository_owners (repository, team_id, share, owned_from, owned_until) "
            "SELECT :r, id, :share, :since, :until FROM teams WHERE name = :team",
            r=name,
            share=share,
            since=at(since),
            until=until and at(until),
            team=team,
        )


def deploy(engine, repository, deployment_id, when, *, status="success", source="deployments", sha=None):
    moment = when if isinstance(when, datetime) else at(when)
    execute(
        engine,
        "INSERT INTO deployments (repository, source, id, sha, environment, created_at, deployed_at, failed_at, "
        "status, updated_at) VALUES (:r, :source, :id, :sha, 'production', :created, :deployed, :failed, :status, :at)",
        r=repository,
        source=source,
        id=deployment_id,
        sha=sha,
        created=moment - timedelta(minutes=5),
        deployed=moment if status == "success" else None,
        failed=moment if status == "failed" else None,
        status=status,
        at=moment,
    )


def incident(engine, repository, number, opened, closed=None, *, sha=None, pr=None):
    execute(
        engine,
        "INSERT INTO incidents (repository, number, title, state, created_at, closed_at, updated_at, root_cause_sha, "
        "root_cause_pr) VALUES (:r, :n, 'outage', :state, :opened, :closed, :opened, :sha, :pr)",
        r=repository,
        n=number,
        state="closed" if closed else "open",
        opened=at(opened),
        closed=closed and at(closed),
        sha=sha,
        pr=pr,
    )


def first_commit(engine, number, authored, *, read=True):
    """What the first-commit reader stores: the authored time (None: GitHub lists no commit), and that it asked."""
    execute(
        engine,
        "UPDATE pull_requests SET first_commit_at = :at, first_commit_read_at = :read WHERE number = :n",
        at=authored and at(authored),
        read=at("2026-01-01T00:00:00") if read else None,
        n=number,
    )


def reverts(engine, number, reverted):
    execute(engine, "UPDATE pull_requests SET reverts_number = :r WHERE number = :n", r=reverted, n=number)


def bot_pull(number, **kwargs):
    return merged_pull(number, "dependabot[bot]", user_type="Bot", **kwargs)


def merged(engine, fake_github, repository, *pulls):
    """The PRs, collected as the run collects them (the repository spelled as given)."""
    add(fake_github, repository, *pulls)
    collect(engine, fake_github, [repository])


def teams(engine, *names):
    """Teams (alice in the first, bob in the second, carol in the third, ...)."""
    logins = ["alice", "bob", "carol", "dave"]
    sync(engine, team_doc(*((name, [member(login)]) for name, login in zip(names, logins, strict=False))))


# ---------------------------------------------------------------- rule 1: the counted deployments


def test_counted_deployments_are_the_successes_of_the_repositorys_current_source(engine):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    deploy(engine, API, "1", "2025-03-01T10:00:00")
    deploy(engine, API, "2", "2025-03-02T10:00:00", status="failed")  # a failed attempt: stored, not counted
    deploy(engine, API, "3", "2025-03-03T10:00:00", status="pending")
    deploy(engine, API, "v1.0", "2025-03-04T10:00:00", source="releases")  # not the configured source
    deploy(engine, "acme/web", "1", "2025-03-01T10:00:00")  # not in the teams file
    counted = "SELECT repository, source, deployment_id, deployed_at FROM view_dora_deployments ORDER BY 1, 3"
    assert rows(engine, counted) == [(API, "deployments", "1", at("2025-03-01T10:00:00"))]
    # The source is the repository's current one: switching it switches which rows count.
    execute(
        engine, "UPDATE repositories SET deploy_source = 'releases', environment_pattern = NULL WHERE name = :n", n=API
    )
    assert rows(engine, counted) == [(API, "releases", "v1.0", at("2025-03-04T10:00:00"))]


def test_a_repository_that_deploys_on_merge_deploys_every_eligible_merge_into_the_default_branch(engine, fake_github):
    teams(engine, "platform")
    configure(engine, API, source="merges", owners=[("platform", 1, "2025-01-01", None)])
    deploy(engine, API, "99", "2025-03-01T00:00:00")  # a GitHub Deployment: not this repository's source
    merged(
        engine,
        fake_github,
        "Acme/API",  # pull_requests keeps the run's spelling; repositories is lower case
        merged_pull(1, "alice", merged=at("2025-03-02T10:00:00")),
        bot_pull(2, merged=at("2025-03-02T11:00:00")),
        merged_pull(3, "alice", base_ref="release/1.x", merged=at("2025-03-02T12:00:00")),
        merged_pull(4, None, merged=at("2025-03-02T13:00:00")),  # a deleted account
    )
    assert rows(engine, "SELECT repository, source, deployment_id, sha, deployed_at FROM view_dora_deployments") == [
        (API, "merges", "1", None, at("2025-03-02T10:00:00"))
    ]


def test_a_pr_is_shipped_by_the_first_counted_deployment_at_or_after_its_merge(engine, fake_github):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    deploy(engine, API, "1", "2025-03-01T10:00:00")
    deploy(engine, API, "2", "2025-03-01T12:00:00")
    deploy(engine, API, "3", "2025-03-01T12:00:00")  # the same instant: ordered by id, after "2"
    merged(
        engine,
        fake_github,
        "Acme/API",
        merged_pull(1, merged=at("2025-03-01T09:00:00")),
        merged_pull(2, merged=at("2025-03-01T10:00:00")),  # at the deployment's instant: shipped by it
        merged_pull(3, merged=at("2025-03-01T11:00:00")),
        bot_pull(4, merged=at("2025-03-01T11:30:00")),  # bots' changes ship too
        merged_pull(5, merged=at("2025-03-01T12:00:00")),
        merged_pull(6, merged=at("2025-03-01T13:00:00")),  # not deployed yet
        merged_pull(7, base_ref="release/1.x", merged=at("2025-03-01T11:00:00")),  # never shipped from main
    )
    assert rows(
        engine,
        "SELECT deployment_id, previous_deployed_at, next_deployed_at, prs_shipped, pr_numbers "
        "FROM view_dora_deployments ORDER BY deployed_at, deployment_id",
    ) == [
        ("1", None, at("2025-03-01T12:00:00"), 2, [1, 2]),
        ("2", at("2025-03-01T10:00:00"), at("2025-03-01T12:00:00"), 3, [3, 4, 5]),
        ("3", at("2025-03-01T12:00:00"), None, 0, []),
    ]


# ---------------------------------------------------------------- rule 2: deployment frequency


def test_deployment_frequency_weights_each_deployment_by_the_shares_active_at_its_time(engine):
    teams(engine, "platform", "payments", "data")
    configure(
        engine,
        API,
        owners=[
            ("platform", 0.6, "2025-01-01", None),
            ("payments", 0.4, "2025-01-01", "2025-03-15"),
            ("data", 0.4, "2025-03-15", None),  # from (inclusive), until (exclusive): 03-15 00:00 is data's
        ],
    )
    deploy(engine, API, "0", "2024-12-31T12:00:00")  # before any owner: no team's
    for n, day in enumerate(
        ["2025-03-01T12:00:00", "2025-03-10T12:00:00", "2025-03-15T00:00:00", "2025-03-20T12:00:00"]
    ):
        deploy(engine, API, str(n + 1), day)
    assert rows(
        engine,
        "SELECT team_name, month::text, deployments, weighted_deployments, deployment_days, deployments_per_week "
        "FROM view_dora_deployment_frequency ORDER BY 1, 2",
    ) == [
        ("data", "2025-03-01", 2, Decimal("0.8"), 2, pytest.approx(Decimal("0.8") * 7 / 31)),
        ("payments", "2025-03-01", 2, Decimal("0.8"), 2, pytest.approx(Decimal("0.8") * 7 / 31)),
        ("platform", "2025-03-01", 4, Decimal("2.4"), 4, pytest.approx(Decimal("2.4") * 7 / 31)),
    ]


def test_deployment_days_are_distinct_utc_days_whatever_the_session_time_zone(engine):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    for n, moment in enumerate(["2025-03-03T23:30:00", "2025-03-04T00:30:00", "2025-03-04T09:00:00"]):
        deploy(engine, API, str(n), moment)

    def days(zone):
        with engine.connect() as conn:
            conn.execute(text(f"SET TIME ZONE '{zone}'"))
            found = conn.execute(text("SELECT deployments, deployment_days FROM view_dora_deployment_frequency")).all()
            conn.rollback()
        return [tuple(r) for r in found]

    assert days("UTC") == days("Pacific/Auckland") == days("America/Los_Angeles") == [(3, 2)]


def test_deployment_frequency_flags_small_months_and_the_current_month(engine):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    for day in range(1, 6):
        deploy(engine, API, f"feb{day}", f"2025-02-{day:02d}T12:00:00")
    for day in range(1, 5):
        deploy(engine, API, f"mar{day}", f"2025-03-{day:02d}T12:00:00")
    deploy(engine, API, "now", datetime.now(UTC) - timedelta(minutes=1))
    query = "SELECT deployments, low_sample, in_progress FROM view_dora_deployment_frequency ORDER BY month"
    assert rows(engine, query) == [(5, False, False), (4, True, False), (1, True, True)]
    with engine.begin() as conn:
        conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 4"))
    try:
        assert [low for _, low, _ in rows(engine, query)] == [False, False, True]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 5"))


# ---------------------------------------------------------------- rule 3: lead time for changes


def test_change_lead_time_runs_from_the_first_commit_to_the_deployment_that_shipped_the_pr(engine, fake_github):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    merged(
        engine,
        fake_github,
        API,
        merged_pull(1, merged=at("2025-01-31T20:00:00")),
        merged_pull(2, merged=at("2025-02-10T00:00:00")),
        merged_pull(3, merged=at("2025-02-10T06:00:00")),
        merged_pull(4, merged=at("2025-02-20T00:00:00")),  # after the last deployment
    )
    first_commit(engine, 1, "2025-01-30T20:00:00")
    first_commit(engine, 2, "2025-02-09T00:00:00")
    first_commit(engine, 3, "2025-02-10T05:00:00")
    first_commit(engine, 4, "2025-02-19T00:00:00")
    deploy(engine, API, "d1", "2025-02-01T02:00:00")  # ships #1, merged in January: a February change
    deploy(engine, API, "d2", "2025-02-10T12:00:00")
    assert rows(
        engine,
        "SELECT pr_number, deployment_id, lead_time_hours FROM view_dora_change_attribution ORDER BY pr_number",
    ) == [(1, "d1", 30.0), (2, "d2", 36.0), (3, "d2", 7.0)]
    # percentile_cont over [7, 30, 36]: p50 = 30; p95 at position 1.9 = 30 + 0.9 * 6
    ((team, month, changes, median, p95, low_sample),) = rows(
        engine,
        "SELECT team_name, month::text, changes, median_change_lead_time_hours, p95_change_lead_time_hours, low_sample "
        "FROM view_dora_change_lead_time",
    )
    assert (team, month, changes, low_sample) == ("platform", "2025-02-01", 3, True)
    assert median == pytest.approx(30.0) and p95 == pytest.approx(35.4)


def test_change_lead_time_credits_teams_exactly_as_pr_metrics_does(engine, fake_github):
    sync(engine, team_doc(
        ("platform", [member("alice"), member("bob", weight=0.5)]),
        ("payments", [member("bob", weight=0.5)]),
    ))  # fmt: skip
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])  # owners credit deployments, not changes
    merged(
        engine,
        fake_github,
        API,
        merged_pull(1, "bob", merged=at("2025-03-01T10:00:00")),  # both of bob's teams, unweighted
        merged_pull(2, "stranger", merged=at("2025-03-01T10:00:00")),  # in no team
        bot_pull(3, merged=at("2025-03-01T10:00:00")),
    )
    for number in (1, 2, 3):
        first_commit(engine, number, "2025-03-01T08:00:00")
    deploy(engine, API, "d1", "2025-03-01T12:00:00")
    credited = rows(engine, "SELECT team_name, pr_number FROM view_pr_attribution ORDER BY 1, 2")
    assert credited == [("payments", 1), ("platform", 1)]
    assert rows(engine, "SELECT team_name, pr_number FROM view_dora_change_attribution ORDER BY 1, 2") == credited
    assert rows(engine, "SELECT team_name, changes FROM view_dora_change_lead_time ORDER BY 1") == [
        ("payments", 1),
        ("platform", 1),
    ]


def test_undeployed_prs_say_why_they_have_no_lead_time(engine, fake_github):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    configure(engine, "acme/lib", source="merges", owners=[("platform", 1, "2025-01-01", None)])
    merged(
        engine,
        fake_github,
        API,
        merged_pull(1, merged=at("2025-03-01T00:00:00")),  # has a lead time: not listed
        merged_pull(2, "stranger", merged=at("2025-03-01T00:00:00")),
        merged_pull(3, merged=at("2025-03-20T00:00:00")),
        merged_pull(4, merged=at("2025-03-01T00:00:00")),
        merged_pull(5, merged=at("2025-03-01T00:00:00")),
        bot_pull(6, merged=at("2025-03-01T00:00:00")),  # not eligible: not listed
    )
    merged(engine, fake_github, "acme/web", merged_pull(7, merged=at("2025-03-01T00:00:00")))
    merged(engine, fake_github, "acme/lib", merged_pull(8, merged=at("2025-03-01T00:00:00")))
    for number in (1, 2, 3, 7):
        first_commit(engine, number, "2025-02-28T00:00:00")
    first_commit(engine, 4, None, read=False)
    first_commit(engine, 5, None)
    first_commit(engine, 8, None, read=False)  # deployed on merge: waits for its first commit only
    deploy(engine, API, "d1", "2025-03-10T00:00:00")
    assert rows(engine, "SELECT repository, pr_number, reason FROM view_dora_undeployed_prs ORDER BY pr_number") == [
        (API, 2, "no team credited"),
        (API, 3, "no deployment yet at or after the merge"),
        (API, 4, "first commit not read yet"),
        (API, 5, "no first commit (GitHub lists none)"),
        ("acme/web", 7, "repository not in the teams file"),
        ("acme/lib", 8, "first commit not read yet"),
    ]


# ---------------------------------------------------------------- rule 4: change failure rate


def failed(engine):
    return rows(
        engine,
        "SELECT deployment_id, reason, matched_by, incident_number, revert_pr_number FROM view_dora_failed_deployments "
        "ORDER BY deployment_id, incident_number, revert_pr_number",
    )


def test_an_incident_naming_a_commit_fails_the_earliest_deployment_of_that_commit(engine):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    sha = "abc1234" + "0" * 33
    deploy(engine, API, "1", "2025-03-01T10:00:00", sha=sha)
    deploy(engine, API, "2", "2025-03-02T10:00:00", sha=sha)  # the same commit deployed again
    deploy(engine, API, "3", "2025-03-03T10:00:00", sha="def5678" + "0" * 33)
    incident(engine, API, 10, "2025-03-05T00:00:00", sha="abc1234")  # seven hex characters: a prefix
    incident(engine, API, 11, "2025-03-05T00:00:00", sha="fff0000")  # names no deployment: fails none
    assert failed(engine) == [("1", "incident", "root cause commit", 10, None)]


def test_an_incident_naming_a_pr_fails_the_deployment_that_shipped_it(engine, fake_github):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    merged(
        engine,
        fake_github,
        API,
        merged_pull(1, merged=at("2025-03-01T11:00:00")),
        merged_pull(2, base_ref="release/1.x", merged=at("2025-03-01T11:00:00")),  # never shipped
    )
    deploy(engine, API, "1", "2025-03-01T10:00:00")
    deploy(engine, API, "2", "2025-03-01T12:00:00")
    incident(engine, API, 12, "2025-03-02T00:00:00", pr=1)
    incident(engine, API, 13, "2025-03-02T00:00:00", pr=2)
    incident(engine, API, 14, "2025-03-02T00:00:00", pr=99)  # no such PR
    assert failed(engine) == [("2", "incident", "root cause PR", 12, None)]


def test_an_incident_without_root_cause_fails_the_latest_deployment_when_it_opened(engine):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    deploy(engine, API, "1", "2025-03-01T10:00:00")
    deploy(engine, API, "2", "2025-03-02T10:00:00")
    incident(engine, API, 15, "2025-03-02T09:59:59")
    incident(engine, API, 16, "2025-03-02T10:00:00")  # opened as deployment 2 landed: it was live
    incident(engine, API, 17, "2025-02-28T00:00:00")  # before any deployment: fails none
    incident(engine, "acme/web", 18, "2025-03-05T00:00:00")  # a repository with no counted deployment
    assert failed(engine) == [
        ("1", "incident", "latest deployment when opened", 15, None),
        ("2", "incident", "latest deployment when opened", 16, None),
    ]


def test_a_revert_merged_later_fails_the_deployment_that_shipped_the_reverted_pr(engine, fake_github):
    teams(engine, "platform")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    merged(
        engine,
        fake_github,
        API,
        merged_pull(1, merged=at("2025-03-01T09:00:00")),
        bot_pull(2, merged=at("2025-03-03T09:00:00")),  # reverts #1, weeks or days later; a bot's counts too
        merged_pull(3, merged=at("2025-03-05T09:00:00")),
        merged_pull(4, merged=at("2025-03-05T09:30:00")),  # reverts #3 before it was deployed
        merged_pull(5, merged=at("2025-03-06T09:00:00")),
        merged_pull(6, base_ref="release/1.x", merged=at("2025-03-07T09:00:00")),  # reverts #5, elsewhere
    )
    reverts(engine, 2, 1)
    reverts(engine, 4, 3)
    reverts(engine, 6, 5)
    deploy(engine, API, "1", "2025-03-01T10:00:00")
    deploy(engine, API, "2", "2025-03-05T10:00:00")  # ships #3 and its revert together: production never ran #3
    deploy(engine, API, "3", "2025-03-06T10:00:00")
    assert failed(engine) == [("1", "revert", "revert of a shipped PR", None, 2)]


def test_change_failure_rate_weighs_failed_deployments_by_share_and_counts_each_once(engine, fake_github):
    teams(engine, "platform", "payments")
    configure(
        engine,
        API,
        owners=[
            ("platform", 0.5, "2025-01-01", "2025-03-15"),
            ("platform", 1, "2025-03-15", None),
            ("payments", 0.5, "2025-01-01", "2025-03-15"),
        ],
    )
    merged(engine, fake_github, API, merged_pull(1, merged=at("2025-03-01T09:00:00")), merged_pull(2))
    reverts(engine, 2, 1)
    for n, day in enumerate(
        ["2025-03-01T10:00:00", "2025-03-10T10:00:00", "2025-03-20T10:00:00", "2025-03-25T10:00:00"]
    ):
        deploy(engine, API, str(n + 1), day)
    incident(engine, API, 1, "2025-03-01T11:00:00")  # a second cause for deployment 1
    assert len(failed(engine)) == 2
    # platform: 0.5 (failed) + 0.5 + 1 + 1; payments: 0.5 (failed) + 0.5
    assert rows(
        engine,
        "SELECT team_name, deployments, weighted_deployments, failed_deployments, weighted_failed_deployments, "
        "change_failure_rate FROM view_dora_change_failure_rate ORDER BY 1",
    ) == [
        ("payments", 2, Decimal("1.0"), 1, Decimal("0.5"), Decimal("0.5")),
        ("platform", 4, Decimal("3.0"), 1, Decimal("0.5"), pytest.approx(Decimal(1) / 6)),
    ]


# ---------------------------------------------------------------- rule 5: time to restore


def test_time_to_restore_per_owning_team_and_month_of_opening_counts_open_incidents_apart(engine):
    teams(engine, "platform", "payments", "data")
    configure(
        engine,
        API,
        owners=[
            ("platform", 0.9, "2025-01-01", None),
            ("payments", 0.1, "2025-01-01", "2025-03-15"),  # any share: the whole incident
            ("data", 0.1, "2025-03-15", None),
        ],
    )
    incident(engine, API, 1, "2025-03-01T00:00:00", "2025-03-01T02:00:00")
    incident(engine, API, 2, "2025-03-05T00:00:00", "2025-03-05T10:00:00")
    incident(engine, API, 3, "2025-03-10T00:00:00", "2025-03-10T04:00:00")
    incident(engine, API, 4, "2025-03-20T00:00:00")  # still open
    incident(engine, API, 5, "2024-12-31T00:00:00", "2024-12-31T01:00:00")  # before any owner
    found = {
        team: rest
        for team, *rest in rows(
            engine,
            "SELECT team_name, month::text, incidents, restored, open_incidents, median_time_to_restore_hours, "
            "p95_time_to_restore_hours, low_sample FROM view_dora_time_to_restore",
        )
    }
    # percentile_cont over [2, 4, 10]: p50 = 4; p95 at position 1.9 = 4 + 0.9 * 6
    assert found == {
        "platform": ["2025-03-01", 4, 3, 1, pytest.approx(4.0), pytest.approx(9.4), True],
        "payments": ["2025-03-01", 3, 3, 0, pytest.approx(4.0), pytest.approx(9.4), True],
        "data": ["2025-03-01", 1, 0, 1, None, None, True],
    }


# ---------------------------------------------------------------- rule 6: bands


def test_the_benchmarks_cite_each_report_and_end_in_one_catch_all_band(engine):
    per_key = rows(
        engine,
        "SELECT report_year, metric, array_agg(rank ORDER BY rank), array_agg(threshold IS NULL ORDER BY rank), "
        "bool_and(source LIKE '%https://dora.dev/research/' || report_year || '/dora-report/%'), "
        "bool_and(wording <> '') FROM view_dora_benchmarks GROUP BY 1, 2 ORDER BY 1, 2",
    )
    assert {year for year, *_ in per_key} >= {2021, 2022, 2023, 2024}
    assert len(per_key) == 4 * len({year for year, *_ in per_key})
    for year, metric, ranks, catch_all, cited, worded in per_key:
        assert ranks == list(range(1, len(ranks) + 1)), (year, metric)
        assert catch_all == [False] * (len(ranks) - 1) + [True], (year, metric)
        assert cited and worded, (year, metric)


@pytest.mark.parametrize(
    ("year", "metric", "value", "band"),
    [
        (2023, "deployment_frequency", 7, "elite"),  # at the threshold: in the band
        (2023, "deployment_frequency", 6.99, "high"),
        (2023, "deployment_frequency", 1, "high"),
        (2023, "deployment_frequency", Decimal(7) / 31, "medium"),  # one deployment in a 31-day month
        (2023, "deployment_frequency", 0.1, "low"),
        (2023, "change_lead_time", 24, "elite"),  # lower is better: at most the threshold
        (2023, "change_lead_time", 24.01, "high"),
        (2023, "change_lead_time", 5000, "low"),
        (2023, "change_failure_rate", 0.05, "elite"),
        (2023, "change_failure_rate", 0.5, "low"),
        (2024, "change_failure_rate", 0.08, "high"),  # 2024's medium (10%) beats its high (20%): the best that applies
        (2024, "time_to_restore", 2, "high"),
        (2022, "deployment_frequency", 10, "high"),  # 2022 had no elite band
        (2021, "change_lead_time", 12, "high"),  # between 2021's "less than an hour" and "one day to one week"
        (2023, "change_lead_time", None, None),
        (1999, "change_lead_time", 1, None),  # no such report
    ],
)
def test_a_band_applies_when_the_value_is_at_least_as_good_as_its_threshold(engine, year, metric, value, band):
    assert rows(engine, "SELECT dora_band(:y, :m, CAST(:v AS double precision))", y=year, m=metric, v=value) == [
        (band,)
    ]


def test_the_summary_gives_each_key_its_band_by_the_newest_report(engine, fake_github):
    teams(engine, "platform", "payments")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    configure(engine, "acme/web", owners=[("payments", 1, "2025-01-01", None)])
    merged(engine, fake_github, API, *(merged_pull(n, merged=at(f"2025-03-{n:02d}T09:00:00")) for n in range(1, 8)))
    for n in range(1, 8):
        first_commit(engine, n, f"2025-03-{n:02d}T00:00:00")
        deploy(engine, API, str(n), f"2025-03-{n:02d}T12:00:00")  # 12 h lead time each; 7 deployments in March
    incident(engine, API, 1, "2025-03-02T13:00:00", "2025-03-02T13:30:00")  # fails deployment 2, restored in 0.5 h
    incident(engine, "acme/web", 2, "2025-04-01T00:00:00")  # payments: an open incident, no other key
    summary = (
        "SELECT team_name, month::text, report_year, deployments_per_week, deployment_frequency_band, "
        "median_change_lead_time_hours, change_lead_time_band, change_failure_rate, change_failure_rate_band, "
        "median_time_to_restore_hours, open_incidents, time_to_restore_band, change_lead_time_low_sample, "
        "time_to_restore_low_sample FROM {} ORDER BY 1, 2"
    )
    newest = rows(engine, summary.format("view_dora_summary"))
    assert newest == [
        ("payments", "2025-04-01", 2024, None, None, None, None, None, None, None, 1, None, None, True),
        # 7 deployments in 31 days: 1.58 a week, high; 12 h: elite; 1 in 7: 14% > 2024's 5% and 10% but not 20%
        (
            "platform",
            "2025-03-01",
            2024,
            pytest.approx(Decimal(49) / 31),
            "high",
            12.0,
            "elite",
            pytest.approx(Decimal(1) / 7),
            "high",
            0.5,
            0,
            "elite",
            False,
            True,
        ),
    ]
    assert rows(engine, summary.format("dora_summary(2024)")) == newest
    # 2021: "between once per week and once per month" is its high band; 14% is within its elite 0-15%
    bands_2021 = (
        "SELECT deployment_frequency_band, change_lead_time_band, change_failure_rate_band, time_to_restore_band "
        "FROM dora_summary(2021) WHERE team_name = 'platform'"
    )
    assert rows(engine, bands_2021) == [("high", "high", "elite", "elite")]
    # A new report is new rows: the summary follows it with no view change.
    with engine.connect() as conn:
        conn.execute(text(
            "INSERT INTO dora_benchmarks (report_year, metric, band, rank, threshold, unit, wording, source) "
            "SELECT 2099, metric, band, rank, threshold, unit, wording, 'a report from the future' "
            "FROM dora_benchmarks WHERE report_year = 2022"
        ))  # fmt: skip
        years = conn.execute(
            text("SELECT DISTINCT report_year, deployment_frequency_band FROM view_dora_summary")
        ).all()
        conn.rollback()
    assert sorted(years, key=str) == [(2099, "medium"), (2099, None)]


# ---------------------------------------------------------------- rule 7: repositories no team owns


def test_unowned_repositories_say_why(engine):
    teams(engine, "platform")
    now = datetime.now(UTC)
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])  # owned: not listed
    configure(engine, "acme/lib")  # in the teams file, no owner at all
    configure(engine, "acme/old", owners=[("platform", 1, "2024-01-01", "2025-01-01")])
    configure(engine, "acme/new", owners=[("platform", 1, (now + timedelta(days=30)).isoformat()[:19], None)])
    execute(engine, "INSERT INTO collector_state (repository) VALUES ('Acme/Web')")  # collected for PRs only
    deploy(engine, "acme/ops", "1", "2025-03-01T00:00:00")
    incident(engine, "acme/ops", 1, "2025-03-01T00:00:00")
    found = rows(
        engine,
        "SELECT repository, reason, last_owned_until, next_owned_from IS NOT NULL, deployments, incidents "
        "FROM view_dora_unowned_repositories ORDER BY 1",
    )
    assert found == [
        ("acme/lib", "no owner", None, False, 0, 0),
        ("acme/new", "no owner now", None, True, 0, 0),
        ("acme/old", "no owner now", at("2025-01-01T00:00:00"), False, 0, 0),
        ("acme/ops", "not in the teams file", None, False, 1, 1),
        ("acme/web", "not in the teams file", None, False, 0, 0),
    ]
