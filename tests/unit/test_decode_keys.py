"""Decoding the four keys' answers (collector/fetch_keys.py): models out, one bad item refused alone."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector import fetch_keys
from collector.fetch import decode_page
from collector.fetch_keys import ProbeAsk
from collector.github_api import GitHubRequestError

DATA = Path(__file__).parent.parent / "data"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SHA = "a" * 40


def at(hour):
    return f"2026-06-01T{hour:02d}:00:00Z"


def when(hour):
    return T0.replace(hour=hour)


# ------------------------------------------------------------------ a PR's revert


def pr_item(number, body):
    item = json.loads((DATA / "list-pulls.example-200.json").read_text())[0]
    item.update(number=number, body=body)
    return item


def test_a_listed_pr_carries_the_pr_its_body_reverts_and_not_its_body():
    prs, refused, _ = decode_page(json.dumps([pr_item(9, "Reverts octocat/hello-world#4")]), "octocat/Hello-World")
    assert refused == () and prs[0].reverts_number == 4
    assert "Reverts" not in repr(prs[0])


def test_a_pr_reverting_another_repository_or_itself_reverts_nothing_here():
    body = json.dumps([pr_item(9, "Reverts octocat/other#4"), pr_item(10, "Reverts octocat/Hello-World#10")])
    prs, _, _ = decode_page(body, "octocat/Hello-World")
    assert [pr.reverts_number for pr in prs] == [None, None]


def test_a_body_that_is_not_text_refuses_that_pr_alone():
    prs, refused, _ = decode_page(json.dumps([pr_item(9, 12), pr_item(10, None)]), "octocat/Hello-World")
    assert [pr.number for pr in prs] == [10] and refused[0].number == 9


# ------------------------------------------------------------------ the probe


def probe_node(total=2, node_id=7, updated="2026-06-01T03:00:00Z", state="SUCCESS", branch="main"):
    newest = {"databaseId": node_id, "updatedAt": updated, "latestStatus": {"state": state}}
    nodes = [] if node_id is None else [newest]
    return {"defaultBranchRef": {"name": branch}, "deployments": {"totalCount": total, "nodes": nodes}}


def test_the_probe_gives_each_repository_its_fingerprint_and_default_branch():
    asks = [ProbeAsk("acme/api", True, True), ProbeAsk("acme/web", True, False)]
    answers, failures = fetch_keys.decode_probe({"r0": probe_node(), "r1": probe_node(0, None)}, asks)
    assert failures == {}
    assert answers["acme/api"] == fetch_keys.Probed("2:7:2026-06-01T03:00:00+00:00:SUCCESS", "main", "7")
    assert answers["acme/web"].fingerprint == "0:::" and answers["acme/web"].newest_id is None


def test_a_repository_gone_fails_alone_in_the_probe():
    asks = [ProbeAsk("acme/api", True, False), ProbeAsk("acme/gone", True, False)]
    answers, failures = fetch_keys.decode_probe({"r0": probe_node(), "r1": None}, asks)
    assert list(answers) == ["acme/api"] and "NOT_FOUND" in failures["acme/gone"]


def test_a_probe_answer_of_the_wrong_shape_fails_its_repository_alone():
    asks = [ProbeAsk("acme/api", True, False), ProbeAsk("acme/odd", True, False)]
    odd = {"deployments": {"totalCount": "many", "nodes": []}}
    answers, failures = fetch_keys.decode_probe({"r0": probe_node(), "r1": odd}, asks)
    assert list(answers) == ["acme/api"] and "cannot be read" in failures["acme/odd"]


def test_aliases_github_refused_fail_their_repositories():
    asks = [ProbeAsk("acme/api", True, False)]
    answers, failures = fetch_keys.decode_probe({"r0": None}, asks, {0: "FORBIDDEN: SAML"})
    assert answers == {} and failures == {"acme/api": "FORBIDDEN: SAML"}


# ------------------------------------------------------------------ deployments


def deployment(node_id, created, statuses, environment="production", oid=SHA):
    status_nodes = [{"state": s, "createdAt": t} for s, t in statuses]
    return {"databaseId": node_id, "commitOid": oid, "environment": environment, "createdAt": created,
            "updatedAt": created, "statuses": {"nodes": status_nodes}}  # fmt: skip


def page(*nodes, has_next=False, cursor="c1"):
    return {"repository": {"deployments": {"pageInfo": {"hasNextPage": has_next, "endCursor": cursor},
                                           "nodes": list(nodes)}}}  # fmt: skip


def test_deployments_are_settled_by_their_statuses():
    decoded = fetch_keys.decode_deployments(
        page(
            deployment(3, at(5), [("INACTIVE", at(9)), ("SUCCESS", at(6))]),
            deployment(2, at(3), [("FAILURE", at(4))]),
            deployment(1, at(1), [("IN_PROGRESS", at(2))], environment="staging"),
        ),
        "Acme/API",
    )
    assert [(d.id, d.status, d.deployed_at, d.failed_at, d.environment) for d in decoded.deployments] == [
        ("3", "success", when(6), None, "production"),
        ("2", "failed", None, when(4), "production"),
        ("1", "pending", None, None, "staging"),
    ]
    assert {d.repository for d in decoded.deployments} == {"acme/api"} and decoded.deployments[0].sha == SHA


def test_a_deployment_github_sends_badly_is_refused_alone():
    decoded = fetch_keys.decode_deployments(
        page(deployment(3, at(5), []), deployment(2, "yesterday", []), deployment(1, "1970-01-01T00:00:00Z", [])),
        "acme/api",
    )
    assert [d.id for d in decoded.deployments] == ["3"]
    assert [r.item for r in decoded.refused] == ["2", "1"]
    assert "not a plausible time" in decoded.refused[1].reason


def test_a_commit_that_is_not_a_sha_is_not_kept():
    decoded = fetch_keys.decode_deployments(page(deployment(3, at(5), [], oid="main")), "acme/api")
    assert decoded.deployments[0].sha is None


def test_a_deployments_page_of_the_wrong_shape_is_the_repositorys_error():
    with pytest.raises(GitHubRequestError, match="deployments cannot be read"):
        fetch_keys.decode_deployments({"repository": {"deployments": {"nodes": "x"}}}, "acme/api")
    with pytest.raises(GitHubRequestError, match="NOT_FOUND"):
        fetch_keys.decode_deployments({"repository": None}, "acme/api")


# ------------------------------------------------------------------ first commits


def commits(authored):
    return {"commits": {"nodes": [] if authored is None else [{"commit": {"authoredDate": authored}}]}}


def test_first_commits_come_back_per_pr_across_repositories():
    prs = [("acme/api", 1), ("acme/api", 2), ("Acme/Web", 5)]
    data = {"r0": {"p1": commits(at(1)), "p2": None}, "r1": {"p5": commits(None)}}
    decoded = fetch_keys.decode_first_commits(data, prs)
    assert decoded.found == {("acme/api", 1): when(1), ("acme/api", 2): None, ("Acme/Web", 5): None}
    assert decoded.failed == {} and decoded.refused == ()


def test_an_implausible_first_commit_time_is_refused_and_read():
    decoded = fetch_keys.decode_first_commits({"r0": {"p1": commits("1980-01-01T00:00:00Z")}}, [("acme/api", 1)])
    assert decoded.found == {("acme/api", 1): None} and decoded.refused[0].number == 1


def test_a_repository_gone_leaves_its_prs_unread():
    decoded = fetch_keys.decode_first_commits({"r0": None, "r1": {"p3": commits(at(2))}}, [("a/gone", 1), ("a/b", 3)])
    assert decoded.found == {("a/b", 3): when(2)} and "NOT_FOUND" in decoded.failed["a/gone"]


# ------------------------------------------------------------------ workflow runs


def run(run_id, created, updated, conclusion="success", branch="main"):
    return {"id": run_id, "name": "Deploy", "head_branch": branch, "head_sha": SHA, "event": "push",
            "status": "completed", "conclusion": conclusion, "workflow_id": 161335, "created_at": created,
            "updated_at": updated, "run_attempt": 1}  # fmt: skip


def test_successful_runs_on_the_branch_are_deployments_at_their_update():
    runs = [run(3, at(5), at(6)), run(2, at(3), at(4), conclusion="failure"), run(1, at(1), at(2), branch="dev")]
    body = json.dumps({"total_count": 3, "workflow_runs": runs})
    decoded = fetch_keys.decode_workflow_runs(body, "acme/api", "main")
    assert [(d.id, d.source, d.created_at, d.deployed_at, d.status, d.sha) for d in decoded.deployments] == [
        ("3", "workflow", when(5), when(6), "success", SHA)
    ]
    assert decoded.oldest_created == when(1) and decoded.items == 3


def test_a_run_github_sends_badly_is_refused_alone():
    body = json.dumps({"workflow_runs": [run(3, at(5), at(6)), run("x", at(3), at(4)), {"no": "id"}]})
    decoded = fetch_keys.decode_workflow_runs(body, "acme/api", "main")
    assert [d.id for d in decoded.deployments] == ["3"] and len(decoded.refused) == 2
    assert decoded.refused[1].item.startswith("sha256:")


@pytest.mark.parametrize("body", ["[]", "not json", '{"workflow_runs": 3}'])
def test_a_runs_page_of_the_wrong_shape_is_one_clear_error(body):
    with pytest.raises(GitHubRequestError, match="not a list of workflow runs"):
        fetch_keys.decode_workflow_runs(body, "acme/api", "main")


# ------------------------------------------------------------------ releases


def test_githubs_example_release_is_a_deployment_at_its_publication():
    decoded = fetch_keys.decode_releases((DATA / "list-releases.example-200.json").read_text(), "octocat/Hello-World")
    (release,) = decoded.deployments
    assert (release.repository, release.id, release.source, release.status) == ("octocat/hello-world", "1",
                                                                                 "releases", "success")  # fmt: skip
    assert release.deployed_at == datetime(2013, 2, 27, 19, 35, 32, tzinfo=UTC)
    assert release.sha is None  # target_commitish "master" names a branch


def release(release_id, created, published, *, draft=False, prerelease=False, target="main"):
    return {"id": release_id, "tag_name": f"v{release_id}", "draft": draft, "prerelease": prerelease,
            "created_at": created, "published_at": published, "target_commitish": target}  # fmt: skip


def test_drafts_and_prereleases_are_named_not_deployments():
    body = json.dumps([release(4, at(4), None, draft=True), release(3, at(3), at(3), prerelease=True),
                       release(2, at(2), at(5), target=SHA.upper())])  # fmt: skip
    decoded = fetch_keys.decode_releases(body, "acme/api")
    assert [(d.id, d.deployed_at, d.sha) for d in decoded.deployments] == [("2", when(5), SHA)]
    assert decoded.not_deployments == ("4", "3") and decoded.oldest_created == when(2)


# ------------------------------------------------------------------ incidents


def issue(number, *, state="closed", closed="2026-06-01T05:00:00Z", body=None, labels=("incident",),
          pull_request=False, **extra):  # fmt: skip
    label_items = [{"id": 1, "name": name, "color": "f00"} for name in labels]
    item = {"number": number, "title": f"Outage {number}", "state": state, "created_at": at(1),
            "updated_at": at(6), "closed_at": closed, "body": body, "labels": label_items,
            "user": {"login": "alice"}}  # fmt: skip
    if pull_request:
        item["pull_request"] = {"url": "http://github.local/pulls/1"}
    return {**item, **extra}


def test_an_incident_carries_its_times_and_root_cause():
    body = json.dumps([issue(7, body="Down.\r\nroot cause: #41"), issue(8, body="Root cause: ABCDEF12")])
    decoded = fetch_keys.decode_incidents(body, "Acme/API", "incident")
    assert [(i.repository, i.number, i.title, i.state, i.created_at, i.closed_at, i.root_cause_sha,
             i.root_cause_pr) for i in decoded.incidents] == [
        ("acme/api", 7, "Outage 7", "closed", when(1), when(5), None, 41),
        ("acme/api", 8, "Outage 8", "closed", when(1), when(5), "abcdef12", None),
    ]  # fmt: skip


def test_pull_requests_in_the_issues_listing_are_skipped():
    decoded = fetch_keys.decode_incidents(json.dumps([issue(1, pull_request=True), issue(2)]), "a/b", "incident")
    assert [i.number for i in decoded.incidents] == [2]


def test_the_label_is_confirmed_in_any_case_and_may_be_a_plain_name():
    body = json.dumps([issue(1, labels=("Incident",)), issue(2, labels=("bug",)), {**issue(3), "labels": ["INCIDENT"]}])
    assert [i.number for i in fetch_keys.decode_incidents(body, "a/b", "incident").incidents] == [1, 3]


def test_a_reopened_incident_is_open_without_closed_at():
    decoded = fetch_keys.decode_incidents(json.dumps([issue(1, state="open", closed=at(5))]), "a/b", "incident")
    assert (decoded.incidents[0].state, decoded.incidents[0].closed_at) == ("open", None)


def test_a_title_is_cleaned_like_a_prs():
    decoded = fetch_keys.decode_incidents(json.dumps([issue(1, title="Down\x00 " + "x" * 2000)]), "a/b", "incident")
    assert "\x00" not in decoded.incidents[0].title and len(decoded.incidents[0].title) == 1000


@pytest.mark.parametrize(
    "bad",
    [{"state": "merged"}, {"closed_at": None}, {"number": -1}, {"created_at": "2099-01-01T00:00:00Z"},
     {"labels": "incident"}, {"body": 3}],
)  # fmt: skip
def test_an_issue_github_sends_badly_is_refused_alone(bad):
    decoded = fetch_keys.decode_incidents(json.dumps([{**issue(1), **bad}, issue(2)]), "a/b", "incident")
    assert [i.number for i in decoded.incidents] == [2] and len(decoded.refused) == 1


def test_an_issues_page_that_is_not_a_list_is_one_clear_error():
    with pytest.raises(GitHubRequestError, match="not a list of issues"):
        fetch_keys.decode_incidents('{"message": "Moved"}', "a/b", "incident")
