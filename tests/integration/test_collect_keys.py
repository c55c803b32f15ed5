"""The four keys' facts collected end to end: the fake GitHub over HTTP (REST and GraphQL), real PostgreSQL,
the real pipeline. Each source, the incremental rules, the cost, and what happens when things go wrong."""

import math
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from collector.deadline import Deadline
from collector.github_api import GitHubClientFactory
from collector.ledger import describe
from collector.pipeline import run
from collector.testing.fake_github import (
    FakeDeployment,
    FakeIssue,
    FakePull,
    FakeRelease,
    FakeStatus,
    FakeWorkflowRun,
    Fault,
)
from tests.helpers import FAST_RETRY, NOW, add, collect, member, merged_pull, rows, settings_for, sync, team_doc

DEFAULT_PATTERN = "^(prod|production)$"
LATER = NOW + timedelta(hours=4)


def configure(engine, name, source="deployments", *, pattern=DEFAULT_PATTERN, workflow=None, label="incident"):
    """A repository of the teams file, as the teams sync stores it."""
    values = {
        "n": name.lower(),
        "s": source,
        "p": pattern if source == "deployments" else None,
        "w": workflow if source == "workflow" else None,
        "l": label,
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO repositories (name, deploy_source, environment_pattern, workflow, incident_label) "
                "VALUES (:n, :s, :p, :w, :l) ON CONFLICT (name) DO UPDATE SET deploy_source = excluded.deploy_source, "
                "environment_pattern = excluded.environment_pattern, workflow = excluded.workflow, "
                "incident_label = excluded.incident_label"
            ),
            values,
        )


def hours_ago(n):
    return NOW - timedelta(hours=n)


def sha(n):
    return f"{n:040x}"


def deployment(n, created, *states, environment="production"):
    """A deployment with statuses ``(state, hours after creation)``."""
    statuses = [FakeStatus(state, created + timedelta(hours=h)) for state, h in states]
    return FakeDeployment(n, sha(n), environment, created, statuses)


def workflow_run(n, created, *, finished=None, conclusion="success", branch="main", workflow="deploy.yml"):
    workflow_id = 42 if workflow == "deploy.yml" else 7
    finished = finished or created + timedelta(minutes=9)
    return FakeWorkflowRun(n, workflow, workflow_id, sha(n), branch, created, finished,
                           status="completed" if conclusion else "in_progress", conclusion=conclusion)  # fmt: skip


def incident(number, created, *, closed=None, body=None, labels=("incident",), updated=None, **changes):
    return FakeIssue(number, f"Outage {number}", created, updated or closed or created,
                     state="closed" if closed else "open", closed_at=closed, body=body, labels=list(labels),
                     **changes)  # fmt: skip


def deployments(engine, source="deployments"):
    return rows(
        engine,
        "SELECT repository, id, status, deployed_at, failed_at, environment, sha FROM deployments "
        "WHERE source = :s ORDER BY repository, created_at",
        s=source,
    )


def cost(result, fake):
    """What a run cost: REST requests GitHub counted, and GraphQL points, as the fake and the run both saw them."""
    assert result.graphql_points == fake.graphql_points
    return fake.counted_requests, result.graphql_points


@pytest.fixture
def api(engine, fake_github):
    """acme/api on GitHub, configured to deploy with GitHub Deployments to prod or production."""
    fake_github.add_repo("acme/api")
    configure(engine, "acme/api")
    return fake_github


# ------------------------------------------------------------------ deployments


def test_deployments_count_at_their_first_success_in_matching_environments(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(50), ("in_progress", 0), ("success", 1), ("inactive", 30)))
    api.add_deployment("acme/api", deployment(2, hours_ago(40), ("failure", 1), ("error", 2)))
    api.add_deployment("acme/api", deployment(3, hours_ago(30), ("queued", 0)))
    api.add_deployment("acme/api", deployment(4, hours_ago(20), ("success", 1), environment="staging"))
    api.add_deployment("acme/api", deployment(5, hours_ago(10), ("success", 2), environment="Production"))
    result = collect(engine, api, ["acme/api"])
    assert result.status == "success" and result.keys.deployments == 4
    assert deployments(engine) == [
        ("acme/api", "1", "success", hours_ago(49), None, "production", sha(1)),
        ("acme/api", "2", "failed", None, hours_ago(39), "production", sha(2)),
        ("acme/api", "3", "pending", None, None, "production", sha(3)),
        ("acme/api", "5", "success", hours_ago(8), None, "Production", sha(5)),
    ]


def test_deployments_older_than_the_history_wanted_are_not_read(engine, api):
    api.add_deployment("acme/api", deployment(1, NOW - timedelta(days=40), ("success", 1)))
    api.add_deployment("acme/api", deployment(2, NOW - timedelta(days=20), ("success", 1)))
    collect(engine, api, ["acme/api"], lookback_days=30)
    assert [d[1] for d in deployments(engine)] == ["2"]


def test_a_late_success_is_picked_up_even_behind_a_newer_deployment(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(3), ("in_progress", 0)))
    collect(engine, api, ["acme/api"])
    assert deployments(engine)[0][2] == "pending"
    # A staging deployment comes after it, then production's success: the newest is not the one that changed.
    api.add_deployment("acme/api", deployment(2, hours_ago(2), ("success", 0), environment="staging"))
    collect(engine, api, ["acme/api"], now=NOW + timedelta(hours=1))
    api.add_deployment_status("acme/api", 1, FakeStatus("success", NOW + timedelta(hours=2)))
    collect(engine, api, ["acme/api"], now=LATER)
    assert deployments(engine) == [("acme/api", "1", "success", NOW + timedelta(hours=2), None, "production", sha(1))]


def test_a_new_status_on_the_newest_deployment_changes_the_probe(engine, api):
    api.add_deployment("acme/api", deployment(1, NOW - timedelta(days=5), ("in_progress", 0)))
    collect(engine, api, ["acme/api"])  # pending, but older than the pending window: only the probe watches it
    api.add_deployment_status("acme/api", 1, FakeStatus("failure", NOW + timedelta(hours=1)))
    collect(engine, api, ["acme/api"], now=LATER)
    assert deployments(engine)[0][2:5] == ("failed", None, NOW + timedelta(hours=1))


def test_a_quiet_repository_costs_no_deployments_page(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(50), ("success", 1)))
    collect(engine, api, ["acme/api"])
    api.clear_log()
    result = collect(engine, api, ["acme/api"], now=LATER)
    assert result.graphql_requests == 1  # the probe, and no page


def test_a_changed_environment_pattern_replaces_the_deployments(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(50), ("success", 1)))
    api.add_deployment("acme/api", deployment(2, hours_ago(40), ("success", 1), environment="staging"))
    collect(engine, api, ["acme/api"])
    configure(engine, "acme/api", pattern="^staging$")
    collect(engine, api, ["acme/api"], now=LATER)
    assert [(d[1], d[5]) for d in deployments(engine)] == [("2", "staging")]


def test_more_than_a_page_of_deployments_is_read_page_by_page(engine, api):
    for n in range(1, 231):
        api.add_deployment("acme/api", deployment(n, NOW - timedelta(hours=300 - n), ("success", 1)))
    result = collect(engine, api, ["acme/api"])
    assert rows(engine, "SELECT count(*) FROM deployments") == [(230,)]
    assert result.graphql_points == 1 + 3  # the probe, and three pages of 100


# ------------------------------------------------------------------ workflow runs


def test_successful_runs_of_the_workflow_on_the_default_branch_are_deployments(engine, fake_github):
    bot = merged_pull(1, "dependabot[bot]", user_type="Bot")  # its first commit is not wanted: no query at all
    add(fake_github, "acme/web", bot, default_branch="trunk")
    configure(engine, "acme/web", "workflow", workflow="deploy.yml")
    fake_github.add_workflow_run("acme/web", workflow_run(11, hours_ago(30), branch="trunk"))
    fake_github.add_workflow_run("acme/web", workflow_run(12, hours_ago(20), branch="trunk", conclusion="failure"))
    fake_github.add_workflow_run("acme/web", workflow_run(13, hours_ago(10), branch="feature"))
    fake_github.add_workflow_run("acme/web", workflow_run(14, hours_ago(5), branch="trunk", workflow="ci.yml"))
    result = collect(engine, fake_github, ["acme/web"])
    assert result.status == "success"
    assert deployments(engine, "workflow") == [
        ("acme/web", "11", "success", hours_ago(30) + timedelta(minutes=9), None, None, sha(11))
    ]
    assert result.graphql_requests == 0  # the default branch came from the stored PRs: no probe


def test_a_repository_without_prs_asks_the_probe_for_its_default_branch(engine, fake_github):
    fake_github.add_repo("acme/web", default_branch="trunk")
    configure(engine, "acme/web", "workflow", workflow="deploy.yml")
    fake_github.add_workflow_run("acme/web", workflow_run(11, hours_ago(30), branch="trunk"))
    first = collect(engine, fake_github, ["acme/web"])
    assert [d[1] for d in deployments(engine, "workflow")] == ["11"] and first.graphql_requests == 1
    fake_github.clear_log()
    quiet = collect(engine, fake_github, ["acme/web"], now=LATER)
    assert quiet.graphql_requests == 0  # the branch the probe named is stored


def test_a_run_that_finishes_after_a_later_one_is_still_found(engine, fake_github):
    add(fake_github, "acme/web", merged_pull(1))
    configure(engine, "acme/web", "workflow", workflow="deploy.yml")
    fake_github.add_workflow_run("acme/web", workflow_run(11, hours_ago(8), conclusion=None))
    fake_github.add_workflow_run("acme/web", workflow_run(12, hours_ago(6)))
    collect(engine, fake_github, ["acme/web"])
    assert [d[1] for d in deployments(engine, "workflow")] == ["12"]
    fake_github.add_workflow_run("acme/web", workflow_run(11, hours_ago(8), finished=NOW + timedelta(hours=2)))
    collect(engine, fake_github, ["acme/web"], now=LATER)
    assert [(d[1], d[3]) for d in deployments(engine, "workflow")] == [
        ("11", NOW + timedelta(hours=2)),
        ("12", hours_ago(6) + timedelta(minutes=9)),
    ]


# ------------------------------------------------------------------ releases


def release(n, published, *, created=None, draft=False, prerelease=False):
    return FakeRelease(n, f"v{n}", created or published, None if draft else published, draft=draft,
                       prerelease=prerelease)  # fmt: skip


def test_published_releases_are_deployments_drafts_and_prereleases_are_not(engine, fake_github):
    fake_github.add_repo("acme/app")
    configure(engine, "acme/app", "releases")
    fake_github.add_release("acme/app", release(1, hours_ago(30)))
    fake_github.add_release("acme/app", release(2, hours_ago(20), prerelease=True))
    fake_github.add_release("acme/app", release(3, hours_ago(10), draft=True))
    collect(engine, fake_github, ["acme/app"])
    assert deployments(engine, "releases") == [("acme/app", "1", "success", hours_ago(30), None, None, None)]


def test_a_draft_published_later_for_an_old_commit_is_found(engine, fake_github):
    fake_github.add_repo("acme/app")
    configure(engine, "acme/app", "releases")
    fake_github.add_release("acme/app", release(1, hours_ago(30)))
    fake_github.add_release("acme/app", release(2, None, created=NOW - timedelta(days=12), draft=True))
    collect(engine, fake_github, ["acme/app"])
    fake_github.add_release("acme/app", release(2, NOW + timedelta(hours=1), created=NOW - timedelta(days=12)))
    collect(engine, fake_github, ["acme/app"], now=LATER)
    assert [(d[1], d[3]) for d in deployments(engine, "releases")] == [
        ("2", NOW + timedelta(hours=1)),
        ("1", hours_ago(30)),
    ]


def test_a_release_turned_back_into_a_prerelease_no_longer_counts(engine, fake_github):
    fake_github.add_repo("acme/app")
    configure(engine, "acme/app", "releases")
    fake_github.add_release("acme/app", release(1, hours_ago(30)))
    collect(engine, fake_github, ["acme/app"])
    fake_github.add_release("acme/app", release(1, hours_ago(30), prerelease=True))
    collect(engine, fake_github, ["acme/app"], now=LATER)
    assert deployments(engine, "releases") == []


# ------------------------------------------------------------------ incidents


def incidents(engine):
    return rows(
        engine,
        "SELECT repository, number, title, state, created_at, closed_at, root_cause_sha, root_cause_pr "
        "FROM incidents ORDER BY repository, number",
    )


def test_labelled_issues_are_incidents_with_their_root_causes(engine, api):
    api.add_issue("acme/api", incident(1, hours_ago(30), closed=hours_ago(28), body="Root cause: ABCDEF1234"))
    api.add_issue("acme/api", incident(2, hours_ago(20), body="outage\nroot cause: #41", labels=("Incident", "p1")))
    api.add_issue("acme/api", incident(3, hours_ago(10), labels=("bug",)))
    api.add_issue("acme/api", incident(4, hours_ago(5), is_pull_request=True))
    result = collect(engine, api, ["acme/api"])
    assert result.keys.incidents == 2
    assert incidents(engine) == [
        ("acme/api", 1, "Outage 1", "closed", hours_ago(30), hours_ago(28), "abcdef1234", None),
        ("acme/api", 2, "Outage 2", "open", hours_ago(20), None, None, 41),
    ]


def test_a_reopened_incident_is_open_again(engine, api):
    api.add_issue("acme/api", incident(1, hours_ago(30), closed=hours_ago(28)))
    collect(engine, api, ["acme/api"])
    api.update_issue("acme/api", 1, updated_at=NOW + timedelta(hours=1), state="open", closed_at=None)
    collect(engine, api, ["acme/api"], now=LATER)
    assert incidents(engine)[0][3:6] == ("open", hours_ago(30), None)


def test_quiet_runs_ask_for_incidents_with_the_same_url_and_get_304(engine, api):
    api.add_issue("acme/api", incident(1, hours_ago(30), closed=hours_ago(28)))
    collect(engine, api, ["acme/api"])
    api.update_issue("acme/api", 1, updated_at=NOW + timedelta(hours=1), title="Outage, again")
    collect(engine, api, ["acme/api"], now=LATER)  # the change: since moves up
    collect(engine, api, ["acme/api"], now=LATER + timedelta(hours=4))  # the new URL's first answer
    api.clear_log()
    for later in (8, 12):
        collect(engine, api, ["acme/api"], now=LATER + timedelta(hours=later))
    issues = [r for r in api.requests if r.path.endswith("/issues")]
    assert [r.status for r in issues] == [304, 304] and issues[0].query == issues[1].query
    assert incidents(engine)[0][2] == "Outage, again"


def test_a_changed_label_replaces_the_incidents(engine, api):
    api.add_issue("acme/api", incident(1, hours_ago(30)))
    api.add_issue("acme/api", incident(2, hours_ago(20), labels=("outage",)))
    collect(engine, api, ["acme/api"])
    configure(engine, "acme/api", label="Outage")
    collect(engine, api, ["acme/api"], now=LATER)
    assert [i[1] for i in incidents(engine)] == [2]


# ------------------------------------------------------------------ reverts and first commits


def test_a_revert_merged_weeks_later_names_the_pr_it_reverts(engine, api):
    add(api, "acme/api", merged_pull(1, merged=NOW - timedelta(days=30)))
    collect(engine, api, ["acme/api"])
    revert = merged_pull(2, merged=NOW + timedelta(days=20), title='Revert "PR 1"')
    revert.body = "Reverts acme/api#1\n\nBroke checkout."
    add(api, "acme/api", revert)
    collect(engine, api, ["acme/api"], now=NOW + timedelta(days=21))
    assert rows(engine, "SELECT number, reverts_number FROM pull_requests ORDER BY number") == [(1, None), (2, 1)]


def test_first_commits_of_eligible_merged_prs_are_read_once(engine, api):
    pulls = [merged_pull(n) for n in range(1, 6)]
    pulls[0].first_commit_at = NOW - timedelta(days=15)
    pulls[3].user, pulls[3].user_type = "dependabot[bot]", "Bot"  # not eligible
    pulls[4].base_ref = "release/1.x"  # not into the default branch
    add(api, "acme/api", *pulls)
    result = collect(engine, api, ["acme/api"])
    assert result.keys.first_commits == 3
    stored = rows(engine, "SELECT number, first_commit_at, first_commit_read_at IS NOT NULL FROM pull_requests "
                          "ORDER BY number")  # fmt: skip
    assert stored[0] == (1, NOW - timedelta(days=15), True)
    assert [(n, read) for n, _, read in stored] == [(1, True), (2, True), (3, True), (4, False), (5, False)]
    api.update_pull("acme/api", 1, updated_at=NOW + timedelta(hours=1), title="renamed")
    again = collect(engine, api, ["acme/api"], now=LATER)
    assert again.keys.first_commits == 0  # listed and written again, its first commit kept
    assert rows(engine, "SELECT first_commit_at FROM pull_requests WHERE number = 1") == [(NOW - timedelta(days=15),)]


def test_first_commits_cost_a_point_per_100_prs_across_repositories(engine, fake_github):
    for r in range(3):
        add(fake_github, f"acme/r{r}", *[merged_pull(n) for n in range(1, 71)])
        configure(engine, f"acme/r{r}", "merges")
    result = collect(engine, fake_github, ["acme/r0", "acme/r1", "acme/r2"])
    assert result.keys.first_commits == 210
    assert result.graphql_points == fake_github.graphql_points == 3  # 210 PRs, 100 a query
    assert rows(engine, "SELECT count(*) FROM pull_requests WHERE first_commit_at IS NOT NULL") == [(210,)]


def test_prs_of_repositories_the_teams_file_does_not_configure_are_not_asked_about(engine, fake_github):
    add(fake_github, "acme/other", merged_pull(1))
    result = collect(engine, fake_github, ["acme/other"])
    assert result.graphql_requests == 0 and result.keys.first_commits == 0


def test_a_pr_github_no_longer_has_is_read_without_a_first_commit(engine, api):
    add(api, "acme/api", merged_pull(1))
    collect(engine, api, ["acme/api"])
    with engine.begin() as conn:  # stored once, since deleted on GitHub
        conn.execute(text("INSERT INTO pull_requests (repository, number, title, author, is_bot, state, draft, "
                          "base_ref, default_branch, created_at, updated_at, closed_at, merged_at) SELECT repository, "
                          "99, title, author, is_bot, state, draft, base_ref, default_branch, created_at, updated_at, "
                          "closed_at, merged_at FROM pull_requests WHERE number = 1"))  # fmt: skip
    result = collect(engine, api, ["acme/api"], now=LATER)
    assert result.status == "success" and result.keys.first_commits == 1
    assert rows(engine, "SELECT first_commit_at, first_commit_read_at FROM pull_requests WHERE number = 99") == [
        (None, LATER)
    ]


# ------------------------------------------------------------------ cost


def test_backfill_and_quiet_run_costs(engine, fake_github):
    """30 repositories of every source: a backfill, then a quiet run that costs (nearly) nothing."""
    names = []
    for r in range(30):
        name = f"acme/r{r:02}"
        names.append(name)
        source = ("deployments", "workflow", "releases", "merges")[r % 4]
        add(fake_github, name, *[merged_pull(n) for n in range(1, 4)])
        configure(engine, name, source, workflow="deploy.yml")
        fake_github.add_issue(name, incident(1, hours_ago(30), closed=hours_ago(29)))
        if source == "deployments":
            fake_github.add_deployment(name, deployment(r, hours_ago(40), ("success", 1)))
        elif source == "workflow":
            fake_github.add_workflow_run(name, workflow_run(r, hours_ago(40)))
        elif source == "releases":
            fake_github.add_release(name, release(r, hours_ago(40)))
    backfill = collect(engine, fake_github, names)
    assert backfill.status == "success"
    backfill_cost = cost(backfill, fake_github)
    fake_github.clear_log()
    quiet = collect(engine, fake_github, names, now=LATER)
    assert quiet.status == "success" and quiet.keys.deployments == quiet.keys.incidents == 0
    rest, points = cost(quiet, fake_github)
    assert rest <= len(names) / 10 and points <= math.ceil(len(names) / 25)
    print(f"backfill: {backfill_cost[0]} REST requests, {backfill_cost[1]} GraphQL points; "
          f"quiet: {rest} REST requests counted of {len(fake_github.requests)}, {points} GraphQL points")  # fmt: skip


# ------------------------------------------------------------------ what goes wrong


def test_a_repository_gone_fails_alone_and_its_keys_are_not_asked_for(engine, api):
    configure(engine, "acme/gone")
    configure(engine, "acme/fine")
    api.add_repo("acme/fine")
    api.add_deployment("acme/fine", deployment(1, hours_ago(5), ("success", 1)))
    result = collect(engine, api, ["acme/gone", "acme/fine"])
    assert result.status == "failed" and list(result.failed) == ["acme/gone"]
    assert "404" in result.failed["acme/gone"]
    assert deployments(engine) == [("acme/fine", "1", "success", hours_ago(4), None, "production", sha(1))]
    assert not [r for r in api.requests if "acme/gone" in r.path and not r.path.endswith("/pulls")]


def test_a_repository_the_probe_cannot_read_fails_alone_and_the_others_go_on(engine, api):
    api.add_repo("acme/fine")
    configure(engine, "acme/fine")
    api.add_deployment("acme/fine", deployment(1, hours_ago(5), ("success", 1)))
    api.add_deployment("acme/api", deployment(2, hours_ago(5), ("success", 1)))
    errors = b'{"data": {"rateLimit": {"cost": 1}, "r0": null, "r1": {"deployments": {"totalCount": 1, "nodes": []}}},'
    errors += b' "errors": [{"type": "FORBIDDEN", "path": ["r0"], "message": "Resource protected by SAML"}]}'
    api.inject(r"^/graphql$", Fault(200, body=errors))
    result = collect(engine, api, ["acme/api", "acme/fine"])
    assert result.status == "failed"
    assert result.failed == {"acme/api": "deployments: Resource protected by SAML"}
    assert [d[0] for d in deployments(engine)] == ["acme/fine"]
    assert rows(engine, "SELECT count(*) FROM incidents") == [(0,)]  # acme/api's incidents: read, none there
    healed = collect(engine, api, ["acme/api", "acme/fine"], now=LATER)
    assert healed.status == "success" and len(deployments(engine)) == 2


def test_a_hostile_issue_is_refused_alone(engine, api):
    body = (
        b'[{"number": 1, "state": "closed", "title": "ok", "created_at": "2026-06-14T00:00:00Z", '
        b'"updated_at": "2026-06-14T01:00:00Z", "closed_at": "2026-06-14T01:00:00Z", "labels": ["incident"]}, '
        b'{"number": 2, "state": "exploded", "title": "\\u001b[31mforged", "created_at": "2026-06-14T00:00:00Z", '
        b'"updated_at": "2026-06-14T01:00:00Z", "labels": ["incident"]}, {"garbage": true}]'
    )
    api.inject(r"/repos/acme/api/issues", Fault(200, body=body))
    result = collect(engine, api, ["acme/api"])
    assert result.status == "success" and result.keys.refused == 2
    assert [i[1] for i in incidents(engine)] == [1]


def test_a_hostile_deployments_answer_fails_its_repository_in_one_line(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(5), ("success", 1)))
    probe = b'{"data": {"rateLimit": {"cost": 1}, "r0": {"deployments": {"totalCount": 9, "nodes": []}}}}'
    api.inject(r"^/graphql$", Fault(200, body=probe), Fault(200, body=b'{"data": {"repository": {"deployments": 7}}}'))
    result = collect(engine, api, ["acme/api"])
    (why,) = result.failed.values()
    assert why.startswith("deployments: GitHub's deployments cannot be read") and "\n" not in why


def test_the_deadline_leaves_the_keys_for_the_next_run(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(5), ("success", 1)))
    api.add_issue("acme/api", incident(1, hours_ago(30)))
    lock = threading.Lock()

    def clock():  # time runs out once the probe has been sent
        with lock:
            return 1000.0 if api.graphql_requests else 0.0

    partial = collect(engine, api, ["acme/api"], deadline=Deadline(100, clock=clock))
    assert partial.status == "partial" and partial.repositories_unfinished == 1
    assert rows(engine, "SELECT count(*) FROM deployments") == [(0,)]
    assert rows(engine, "SELECT count(*) FROM signal_state") == [(0,)]
    finished = collect(engine, api, ["acme/api"], now=LATER)
    assert finished.status == "success" and len(deployments(engine)) == 1 and len(incidents(engine)) == 1


def test_a_spent_graphql_budget_ends_the_run_partial(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(5), ("success", 1)))
    api.graphql_rate_limit, api.graphql_remaining = 100, 11  # the probe leaves 10: the reserve
    github = GitHubClientFactory(token="test-token", base_url=api.base_url, policy=FAST_RETRY, rate_limit_reserve=0.1)
    result = run(settings_for(api, engine, ["acme/api"]), github=github, engine=engine, now=NOW)
    assert result.status == "partial" and result.rate_limit_reset is not None
    assert "rate limit" in describe(result)
    assert rows(engine, "SELECT count(*) FROM deployments") == [(0,)]


def test_the_ledger_records_graphql_requests_and_points(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(5), ("success", 1)))
    result = collect(engine, api, ["acme/api"])
    assert rows(engine, "SELECT github_graphql_requests, github_graphql_points FROM collector_runs") == [
        (result.graphql_requests, result.graphql_points)
    ]
    assert result.graphql_points == 2


def test_a_repeated_run_converges_to_the_same_rows(engine, api):
    api.add_deployment("acme/api", deployment(1, hours_ago(5), ("success", 1)))
    api.add_issue("acme/api", incident(1, hours_ago(30), body="root cause: #3"))
    add(api, "acme/api", merged_pull(3))
    collect(engine, api, ["acme/api"])
    facts = (deployments(engine), incidents(engine), rows(engine, "SELECT number, first_commit_at FROM pull_requests"))
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE signal_state, collector_state"))
    collect(engine, api, ["acme/api"], now=LATER)
    assert (deployments(engine), incidents(engine),
            rows(engine, "SELECT number, first_commit_at FROM pull_requests")) == facts  # fmt: skip


def test_pr_keeps_its_body_out_of_the_tables(engine, api):
    pull = FakePull(1, "t", "alice", hours_ago(10), hours_ago(9), merged_at=hours_ago(9), closed_at=hours_ago(9),
                    body="secret plans\nReverts acme/api#9")  # fmt: skip
    add(api, "acme/api", pull)
    collect(engine, api, ["acme/api"])
    dump = rows(engine, "SELECT row_to_json(p)::text FROM pull_requests p")
    assert "secret plans" not in dump[0][0] and '"reverts_number":9' in dump[0][0]


def test_from_the_teams_file_to_the_four_keys_views(engine, fake_github):
    """The repositories of a synced teams file are collected, and the views credit their owners."""
    sync(engine, {**team_doc(("platform", [member("alice")])), "repositories": [
        {"name": "Acme/API", "owners": [{"team": "platform"}], "deployments": {"source": "deployments"},
         "incidents": {"label": "incident"}}]})  # fmt: skip
    add(fake_github, "Acme/API", merged_pull(1, merged=hours_ago(30)))
    fake_github.add_deployment("acme/api", deployment(1, hours_ago(20), ("success", 1)))
    fake_github.add_issue("acme/api", incident(1, hours_ago(10), closed=hours_ago(9), body="root cause: #1"))
    result = collect(engine, fake_github, ["Acme/API"])
    assert result.status == "success"
    assert (result.keys.deployments, result.keys.incidents, result.keys.first_commits) == (1, 1, 1)
    assert rows(engine, "SELECT team_name, deployments FROM view_dora_deployment_frequency") == [("platform", 1)]


def test_a_change_of_owners_and_memberships_recomputes_every_key_without_asking_github(engine, fake_github):
    """The four keys are credited in the views from stored facts: a teams sync that hands the repository and
    its author to another team moves every key there, and GitHub is not asked anything."""
    repository = {"name": "acme/api", "deployments": {"source": "deployments"}, "incidents": {"label": "incident"}}

    def document(team):
        teams = team_doc(("platform", [member("alice")] if team == "platform" else []),
                         ("payments", [member("alice")] if team == "payments" else []))  # fmt: skip
        return {**teams, "repositories": [{**repository, "owners": [{"team": team}]}]}

    sync(engine, document("platform"))
    add(fake_github, "acme/api", merged_pull(1, merged=hours_ago(30)), merged_pull(2, merged=hours_ago(6)))
    fake_github.add_deployment("acme/api", deployment(1, hours_ago(20), ("success", 1)))
    fake_github.add_deployment("acme/api", deployment(2, hours_ago(5), ("success", 1)))
    fake_github.add_issue("acme/api", incident(1, hours_ago(3), closed=hours_ago(2), body="root cause: #2"))
    assert collect(engine, fake_github, ["acme/api"]).status == "success"
    keys = (
        "SELECT team_name, deployments_per_week IS NOT NULL, median_change_lead_time_hours IS NOT NULL, "
        "change_failure_rate, median_time_to_restore_hours FROM view_dora_summary ORDER BY team_name"
    )
    before = rows(engine, keys)
    assert [row[0] for row in before] == ["platform"]
    assert before[0][1:3] == (True, True) and before[0][3] == 0.5 and before[0][4] == 1.0

    fake_github.clear_log()
    sync(engine, document("payments"))
    assert fake_github.requests == []
    assert rows(engine, keys) == [("payments", *before[0][1:])]
