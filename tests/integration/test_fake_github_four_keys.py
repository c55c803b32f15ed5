"""The fake's REST listings for the four keys (workflow runs, releases, issues, deployments) answer like GitHub:
GitHub's published shapes, filters, orders, paging and conditional requests."""

from datetime import timedelta

import jsonschema
import pytest
import requests

from collector.testing.fake_github import (
    FakeDeployment,
    FakeIssue,
    FakeRelease,
    FakeStatus,
    FakeWorkflowRun,
    Fault,
)
from tests.github_schemas import AUTH, rest_schema
from tests.helpers import NOW, at, merged_pull

REPO = "acme/api"


def get(fake, path, **params):
    return requests.get(fake.base_url + path, params=params, headers=AUTH, timeout=5)


def run(run_id, created, *, workflow="deploy.yml", workflow_id=42, branch="main", **changes):
    return FakeWorkflowRun(run_id, workflow, workflow_id, f"{run_id:040x}", branch, created,
                           created + timedelta(minutes=5), **changes)  # fmt: skip


def issue(number, created, *, labels=("incident",), **changes):
    return FakeIssue(number, f"Issue {number}", created, changes.pop("updated", created), labels=list(labels),
                     **changes)  # fmt: skip


@pytest.fixture
def fake(fake_github):
    fake_github.add_repo(REPO)
    return fake_github


def runs_of(answer):
    return [r["id"] for r in answer.json()["workflow_runs"]]


# ---------------------------------------------------------------------------------------------- workflow runs
def test_workflow_runs_validate_against_githubs_workflow_run_schema(fake):
    fake.add_workflow_run(REPO, run(1, NOW - timedelta(days=2)))
    fake.add_workflow_run(REPO, run(2, NOW - timedelta(days=1), status="in_progress", conclusion=None,
                                    event="workflow_dispatch", run_started_at=NOW))  # fmt: skip
    answer = get(fake, f"/repos/{REPO}/actions/workflows/deploy.yml/runs").json()
    assert answer["total_count"] == 2
    for item in answer["workflow_runs"]:
        jsonschema.validate(item, rest_schema("workflow-run"))
    newest, oldest = answer["workflow_runs"]
    assert (newest["status"], newest["conclusion"], newest["run_number"]) == ("in_progress", None, 2)
    assert oldest["path"] == ".github/workflows/deploy.yml@main" and oldest["workflow_id"] == 42


def test_workflow_runs_are_newest_created_first_and_only_the_named_workflows(fake):
    fake.add_workflow_run(REPO, run(1, NOW - timedelta(days=3)))
    fake.add_workflow_run(REPO, run(2, NOW - timedelta(days=1)))
    fake.add_workflow_run(REPO, run(3, NOW - timedelta(days=2)))
    fake.add_workflow_run(REPO, run(4, NOW, workflow="ci.yml", workflow_id=7))
    assert runs_of(get(fake, f"/repos/{REPO}/actions/workflows/deploy.yml/runs")) == [2, 3, 1]
    assert runs_of(get(fake, f"/repos/{REPO}/actions/workflows/42/runs")) == [2, 3, 1]  # by id too
    assert runs_of(get(fake, f"/repos/{REPO}/actions/workflows/ci.yml/runs")) == [4]


def test_workflow_runs_status_filter_takes_a_conclusion_or_a_status(fake):
    fake.add_workflow_run(REPO, run(1, NOW - timedelta(days=3)))
    fake.add_workflow_run(REPO, run(2, NOW - timedelta(days=2), conclusion="failure"))
    fake.add_workflow_run(REPO, run(3, NOW - timedelta(days=1), status="in_progress", conclusion=None))
    path = f"/repos/{REPO}/actions/workflows/deploy.yml/runs"
    assert runs_of(get(fake, path, status="success")) == [1]
    assert runs_of(get(fake, path, status="failure")) == [2]
    assert runs_of(get(fake, path, status="completed")) == [2, 1]
    assert runs_of(get(fake, path, status="in_progress")) == [3]


def test_workflow_runs_branch_and_event_filters(fake):
    fake.add_workflow_run(REPO, run(1, NOW - timedelta(days=2)))
    fake.add_workflow_run(REPO, run(2, NOW - timedelta(days=1), branch="feature"))
    fake.add_workflow_run(REPO, run(3, NOW, event="schedule"))
    path = f"/repos/{REPO}/actions/workflows/deploy.yml/runs"
    assert runs_of(get(fake, path, branch="main")) == [3, 1]
    assert runs_of(get(fake, path, branch="main", event="push")) == [1]


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        pytest.param(">=2026-06-10", [3, 2], id="on-or-after-a-day"),
        pytest.param(">2026-06-10", [3], id="after-a-day-means-the-next-day-on"),
        pytest.param("<=2026-06-10", [2, 1], id="up-to-a-day-includes-all-of-it"),
        pytest.param("<2026-06-10", [1], id="before-a-day"),
        pytest.param("2026-06-10", [2], id="one-day"),
        pytest.param(">=2026-06-10T12:00:00Z", [3, 2], id="on-or-after-a-time"),
        pytest.param(">2026-06-10T12:00:00Z", [3], id="after-a-time"),
        pytest.param("2026-06-01..2026-06-10", [2, 1], id="range-of-days-inclusive"),
        pytest.param("2026-06-10T12:00:01Z..*", [3], id="open-range"),
        pytest.param("*..2026-06-09", [1], id="range-open-below"),
    ],
)
def test_workflow_runs_created_filter_speaks_githubs_date_syntax(fake, created, expected):
    fake.add_workflow_run(REPO, run(1, at("2026-06-09 23:59:59")))
    fake.add_workflow_run(REPO, run(2, at("2026-06-10 12:00:00")))
    fake.add_workflow_run(REPO, run(3, at("2026-06-11 00:00:00")))
    assert runs_of(get(fake, f"/repos/{REPO}/actions/workflows/deploy.yml/runs", created=created)) == expected


@pytest.mark.parametrize("params", [{"status": "done"}, {"created": ">=yesterday"}, {"per_page": "many"}])
def test_workflow_runs_bad_parameters_get_422(fake, params):
    fake.add_workflow_run(REPO, run(1, NOW))
    answer = get(fake, f"/repos/{REPO}/actions/workflows/deploy.yml/runs", **params)
    assert answer.status_code == 422 and answer.json()["message"] == "Validation Failed"


def test_an_unknown_workflow_is_404_by_name_or_id(fake):
    fake.add_workflow_run(REPO, run(1, NOW))
    assert get(fake, f"/repos/{REPO}/actions/workflows/nope.yml/runs").status_code == 404
    assert get(fake, f"/repos/{REPO}/actions/workflows/43/runs").status_code == 404


def test_a_workflow_without_runs_lists_none(fake):
    fake.add_workflow(REPO, "deploy.yml", 42)
    answer = get(fake, f"/repos/{REPO}/actions/workflows/deploy.yml/runs").json()
    assert answer == {"total_count": 0, "workflow_runs": []}


def test_workflow_runs_page_with_links_that_keep_every_parameter(fake):
    for n in range(1, 251):
        fake.add_workflow_run(REPO, run(n, NOW - timedelta(minutes=n)))
    first = get(fake, f"/repos/{REPO}/actions/workflows/deploy.yml/runs", status="success", branch="main",
                created=">=2026-01-01", per_page=100)  # fmt: skip
    assert len(first.json()["workflow_runs"]) == 100 and first.json()["total_count"] == 250
    links = {link["rel"]: link["url"] for link in requests.utils.parse_header_links(first.headers["Link"])}
    assert set(links) == {"next", "last"}
    for param in ("status=success", "branch=main", "created=%3E%3D2026-01-01", "per_page=100", "page=2"):
        assert param in links["next"]
    assert f"/repositories/{fake.repos[REPO].id}/actions/workflows/deploy.yml/runs" in links["next"]
    second = requests.get(links["next"], headers=AUTH, timeout=5)
    assert runs_of(second) == list(range(101, 201))
    assert {link["rel"] for link in requests.utils.parse_header_links(second.headers["Link"])} == {
        "prev", "next", "last", "first"}  # fmt: skip
    assert runs_of(requests.get(links["last"], headers=AUTH, timeout=5)) == list(range(201, 251))


def test_per_page_defaults_to_30_and_is_capped_at_100(fake):
    for n in range(1, 151):
        fake.add_release(REPO, FakeRelease(n, f"v{n}", NOW - timedelta(hours=n), NOW - timedelta(hours=n)))
    assert len(get(fake, f"/repos/{REPO}/releases").json()) == 30
    assert len(get(fake, f"/repos/{REPO}/releases", per_page=500).json()) == 100


def test_a_conditional_first_page_answers_304_uncounted_until_a_run_is_added(fake):
    fake.add_workflow_run(REPO, run(1, NOW - timedelta(days=1)))
    path = f"/repos/{REPO}/actions/workflows/deploy.yml/runs"
    first = get(fake, path, status="success", per_page=100)
    again = requests.get(first.url, headers={**AUTH, "If-None-Match": first.headers["ETag"]}, timeout=5)
    assert again.status_code == 304
    assert again.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]
    assert [r.counted for r in fake.requests] == [True, False]
    fake.add_workflow_run(REPO, run(2, NOW))
    changed = requests.get(first.url, headers={**AUTH, "If-None-Match": first.headers["ETag"]}, timeout=5)
    assert changed.status_code == 200 and runs_of(changed) == [2, 1]


def test_injected_faults_apply_to_the_new_listings(fake):
    fake.add_workflow_run(REPO, run(1, NOW))
    fake.inject(r"/actions/workflows/.*/runs", Fault(502), Fault(429, headers=(("Retry-After", "1"),)))
    path = f"/repos/{REPO}/actions/workflows/deploy.yml/runs"
    assert [get(fake, path).status_code for _ in range(3)] == [502, 429, 200]


# ---------------------------------------------------------------------------------------------- releases
def test_releases_validate_against_githubs_schema_newest_created_first(fake):
    fake.add_release(REPO, FakeRelease(1, "v1.0.0", NOW - timedelta(days=9), NOW - timedelta(days=9), name="One"))
    fake.add_release(REPO, FakeRelease(3, "v1.1.0-rc1", NOW - timedelta(days=5), NOW - timedelta(days=5),
                                       prerelease=True))  # fmt: skip
    fake.add_release(REPO, FakeRelease(2, "v2.0.0", NOW - timedelta(days=1), None, draft=True))
    items = get(fake, f"/repos/{REPO}/releases").json()
    for item in items:
        jsonschema.validate(item, rest_schema("release"))
    assert [i["tag_name"] for i in items] == ["v2.0.0", "v1.1.0-rc1", "v1.0.0"]
    assert (items[0]["draft"], items[0]["published_at"]) == (True, None)
    assert items[1]["prerelease"] is True and items[2]["name"] == "One"


# ---------------------------------------------------------------------------------------------- issues
def numbers(answer):
    assert answer.status_code == 200, answer.text
    return [i["number"] for i in answer.json()]


def test_issues_and_pull_requests_validate_against_githubs_issue_schema(fake):
    fake.add_issue(REPO, issue(1, NOW - timedelta(days=2), body="root cause: #12", user=None))
    fake.add_issue(REPO, issue(2, NOW - timedelta(days=1), state="closed", closed_at=NOW, labels=["Incident", "p1"]))
    fake.add_issue(REPO, issue(3, NOW, labels=[], is_pull_request=True))
    items = get(fake, f"/repos/{REPO}/issues", state="all").json()
    for item in items:
        jsonschema.validate(item, rest_schema("issue"))
    by_number = {i["number"]: i for i in items}
    assert "pull_request" in by_number[3] and "pull_request" not in by_number[1]
    assert by_number[1]["user"] is None and by_number[1]["body"] == "root cause: #12"
    assert [label["name"] for label in by_number[2]["labels"]] == ["Incident", "p1"]
    assert by_number[2]["closed_at"] is not None


def test_issues_state_defaults_to_open(fake):
    fake.add_issue(REPO, issue(1, NOW - timedelta(days=2)))
    fake.add_issue(REPO, issue(2, NOW - timedelta(days=1), state="closed", closed_at=NOW))
    assert numbers(get(fake, f"/repos/{REPO}/issues")) == [1]
    assert numbers(get(fake, f"/repos/{REPO}/issues", state="closed")) == [2]
    assert numbers(get(fake, f"/repos/{REPO}/issues", state="all")) == [2, 1]


def test_issues_labels_filter_needs_every_label_case_insensitively(fake):
    fake.add_issue(REPO, issue(1, NOW - timedelta(days=3), labels=["Incident"]))
    fake.add_issue(REPO, issue(2, NOW - timedelta(days=2), labels=["incident", "sev1"]))
    fake.add_issue(REPO, issue(3, NOW - timedelta(days=1), labels=["bug"]))
    assert numbers(get(fake, f"/repos/{REPO}/issues", labels="INCIDENT")) == [2, 1]
    assert numbers(get(fake, f"/repos/{REPO}/issues", labels="incident,sev1")) == [2]


def test_issues_since_is_updated_at_or_after_and_sees_a_reopened_incident(fake):
    fake.add_issue(REPO, issue(1, NOW - timedelta(days=30), state="closed", closed_at=NOW - timedelta(days=29),
                               updated=NOW - timedelta(days=29)))  # fmt: skip
    fake.add_issue(REPO, issue(2, NOW - timedelta(days=1)))
    since = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert numbers(get(fake, f"/repos/{REPO}/issues", state="all", since=since)) == [2]  # at counts
    fake.update_issue(REPO, 1, updated_at=NOW, state="open", closed_at=None)
    assert numbers(get(fake, f"/repos/{REPO}/issues", state="all", since=since)) == [2, 1]


def test_issues_sort_and_direction(fake):
    fake.add_issue(REPO, issue(1, NOW - timedelta(days=3), updated=NOW))
    fake.add_issue(REPO, issue(2, NOW - timedelta(days=2), updated=NOW - timedelta(days=2)))
    assert numbers(get(fake, f"/repos/{REPO}/issues")) == [2, 1]  # created, desc by default
    assert numbers(get(fake, f"/repos/{REPO}/issues", sort="updated")) == [1, 2]
    assert numbers(get(fake, f"/repos/{REPO}/issues", sort="updated", direction="asc")) == [2, 1]


@pytest.mark.parametrize("params", [{"state": "merged"}, {"since": "last week"}, {"sort": "title"},
                                    {"direction": "up"}])  # fmt: skip
def test_issues_bad_parameters_get_422(fake, params):
    assert get(fake, f"/repos/{REPO}/issues", **params).status_code == 422


# ---------------------------------------------------------------------------------------------- deployments
def deployment(deployment_id, created, environment="production", *states):
    statuses = [FakeStatus(state, created + timedelta(minutes=n + 1)) for n, state in enumerate(states)]
    return FakeDeployment(deployment_id, f"{deployment_id:x}".rjust(40, "a"), environment, created, statuses)


def test_deployments_and_statuses_validate_against_githubs_schemas(fake):
    fake.add_deployment(REPO, deployment(1, NOW - timedelta(days=1), "production", "in_progress", "success"))
    fake.add_deployment(REPO, deployment(2, NOW, "staging"))
    items = get(fake, f"/repos/{REPO}/deployments").json()
    for item in items:
        jsonschema.validate(item, rest_schema("deployment"))
    assert [i["id"] for i in items] == [2, 1]  # newest first
    statuses = get(fake, f"/repos/{REPO}/deployments/1/statuses").json()
    for item in statuses:
        jsonschema.validate(item, rest_schema("deployment-status"))
    assert [s["state"] for s in statuses] == ["success", "in_progress"]  # newest first, as GitHub lists them


def test_deployments_environment_filter_is_exact(fake):
    fake.add_deployment(REPO, deployment(1, NOW - timedelta(days=1), "production"))
    fake.add_deployment(REPO, deployment(2, NOW, "production-eu"))
    answer = get(fake, f"/repos/{REPO}/deployments", environment="production").json()
    assert [i["id"] for i in answer] == [1]


def test_a_new_status_moves_the_deployments_updated_at(fake):
    fake.add_deployment(REPO, deployment(1, NOW - timedelta(hours=2), "production", "in_progress"))
    before = get(fake, f"/repos/{REPO}/deployments").json()[0]["updated_at"]
    fake.add_deployment_status(REPO, 1, FakeStatus("success", NOW))
    after = get(fake, f"/repos/{REPO}/deployments").json()[0]["updated_at"]
    assert before == "2026-06-15T10:01:00Z" and after == "2026-06-15T12:00:00Z"


def test_statuses_of_an_unknown_deployment_are_404(fake):
    assert get(fake, f"/repos/{REPO}/deployments/99/statuses").status_code == 404


# ---------------------------------------------------------------------------------------------- elsewhere
def test_pull_request_items_carry_their_body(fake):
    pull = merged_pull(7)
    pull.body = "Reverts acme/api#3"
    fake.add_pull(REPO, pull)
    (item,) = get(fake, f"/repos/{REPO}/pulls", state="closed").json()
    jsonschema.validate(item, rest_schema("pull-request-simple"))
    assert item["body"] == "Reverts acme/api#3"


def test_rate_limit_reports_the_graphql_budget_apart(fake):
    fake.graphql_remaining = 4000
    resources = get(fake, "/rate_limit").json()["resources"]
    assert resources["graphql"]["remaining"] == 4000 and resources["graphql"]["used"] == 1000
    assert resources["core"]["remaining"] == fake.rate_remaining
