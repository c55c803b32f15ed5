"""The sample organisation (demo, benchmark, report tests): its four keys' signals are as realistic as GitHub's.

Each test pins one property the demo's and the benchmark's figures rest on."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from datetime import timedelta

import pytest

from collector.membership import parse_organisation
from collector.testing.fake_github import FakeGitHub
from collector.testing.sample_org import (
    DEMO_TEAMS,
    DEPLOY_WORKFLOW,
    ENVIRONMENT_PATTERN,
    INCIDENT_LABEL,
    SampleOrg,
    generate_org,
    merge_sha,
)
from tests.helpers import NOW

SIZES = (400, 250, 150, 90, 60, 30)
ROOT_CAUSE = re.compile(r"^root cause: *(?:#(\d+)|([0-9a-f]{7,40}))$", re.M | re.I)


@pytest.fixture(scope="module")
def org() -> SampleOrg:
    return generate_org(seed=3, now=NOW, repo_sizes=SIZES)


def sources(sample: SampleOrg) -> dict[str, str]:
    return {r["name"]: r["deployments"]["source"] for r in sample.teams_document["repositories"]}


def incidents(sample: SampleOrg) -> list[tuple[str, object]]:
    return [(repo, i) for repo, issues in sample.issues.items() for i in issues
            if INCIDENT_LABEL in i.labels and not i.is_pull_request]  # fmt: skip


def merged(sample: SampleOrg, repo: str) -> dict[int, object]:
    return {p.number: p for p in sample.pulls[repo] if p.merged_at is not None}


def final_states(deployment) -> set[str]:
    return {s.state for s in deployment.statuses} & {"success", "failure", "error"}


# ---------------------------------------------------------------- the same seed, the same organisation


def test_the_same_seed_makes_the_same_organisation(org):
    again = generate_org(seed=3, now=NOW, repo_sizes=SIZES)
    assert again == org
    assert generate_org(seed=4, now=NOW, repo_sizes=SIZES).deployments != org.deployments


def test_the_generated_prs_are_numbered_as_before_and_reverts_follow_them(org):
    for repo, size in zip(org.repositories, SIZES, strict=True):
        numbers = [p.number for p in org.pulls[repo]]
        assert numbers[:size] == list(range(1, size + 1))
        assert all(p.title.startswith('Revert "') for p in org.pulls[repo][size:])
        assert numbers == sorted(set(numbers))


# ---------------------------------------------------------------- the teams file's repositories


def test_the_teams_file_with_its_repositories_is_valid(org):
    parsed = parse_organisation(json.dumps(org.teams_document))
    assert sorted(r.name for r in parsed.repositories) == sorted(org.repositories)


@pytest.mark.parametrize("sizes", [(180, 90), (260, 140, 90), SIZES])
def test_every_repository_is_owned_and_every_team_owns_a_share_of_one(sizes):
    sample = generate_org(seed=7, now=NOW, repo_sizes=sizes)
    repositories = sample.teams_document["repositories"]
    assert all(r["owners"] for r in repositories)
    assert {o["team"] for r in repositories for o in r["owners"]} == set(DEMO_TEAMS)


def test_some_repositories_are_shared_and_one_is_handed_over(org):
    owners = [r["owners"] for r in org.teams_document["repositories"]]
    shared = [o for o in owners if sorted(x.get("share", 1) for x in o if "until" not in x) == [0.4, 0.6]]
    handed = [o for o in owners if any("until" in x for x in o)]
    assert shared
    assert len(handed) == 1
    ((until,),) = [[x["until"] for x in handed[0] if "until" in x]]
    assert [x["from"] for x in handed[0] if "from" in x] == [until]


def test_sources_are_mixed_the_largest_repository_deploying_with_github_deployments(org):
    by_size = sorted(org.repositories, key=lambda r: -len(org.pulls[r]))
    assert sources(org)[by_size[0]] == "deployments"
    assert Counter(sources(org).values()) == {"deployments": 3, "workflow": 1, "releases": 1, "merges": 1}
    rules = {r["name"]: r for r in org.teams_document["repositories"]}
    assert all(r["incidents"] == {"label": INCIDENT_LABEL} for r in rules.values())
    assert {
        r["deployments"].get("environment") for r in rules.values() if r["deployments"]["source"] == "deployments"
    } == {ENVIRONMENT_PATTERN}


def test_a_small_organisation_still_has_github_deployments_and_a_workflow():
    assert sorted(sources(generate_org(seed=7, now=NOW, repo_sizes=(180, 90))).values()) == ["deployments", "workflow"]


# ---------------------------------------------------------------- deployments


def test_deployments_are_made_only_where_the_source_says_and_deploy_merged_commits(org):
    for repo in org.repositories:
        assert bool(org.deployments.get(repo)) == (sources(org)[repo] == "deployments")
    for repo, deployments in org.deployments.items():
        shas = {merge_sha(repo, n): p.merged_at for n, p in merged(org, repo).items()}
        for deployment in deployments:
            assert deployment.sha in shas and shas[deployment.sha] < deployment.created_at < NOW


def test_successful_deployments_go_queued_in_progress_success_then_inactive_once_superseded(org):
    for deployments in org.deployments.values():
        for environment in ("production", "staging"):
            succeeded = sorted(
                (d for d in deployments if d.environment == environment and "success" in final_states(d)),
                key=lambda d: next(s.created_at for s in d.statuses if s.state == "success"),
            )
            for older, newer in itertools.pairwise(succeeded):
                assert [s.state for s in older.statuses] == ["queued", "in_progress", "success", "inactive"]
                assert older.statuses[-1].created_at == newer.statuses[2].created_at
            assert [s.state for s in succeeded[-1].statuses] == ["queued", "in_progress", "success"]


def test_staging_deployments_exist_and_the_pattern_does_not_count_them(org):
    environments = Counter(d.environment for ds in org.deployments.values() for d in ds)
    assert environments["staging"] > 0 and environments["production"] > environments["staging"]
    assert not re.search(ENVIRONMENT_PATTERN, "staging", re.I) and re.search(ENVIRONMENT_PATTERN, "production", re.I)


def test_failed_attempts_fail_or_err_without_success_and_are_retried(org):
    failed = [(repo, d) for repo, ds in org.deployments.items() for d in ds if final_states(d) & {"failure", "error"}]
    assert failed and {s for _, d in failed for s in final_states(d)} == {"failure", "error"}
    for repo, attempt in failed:
        assert "success" not in final_states(attempt)
        retries = [d for d in org.deployments[repo] if d.sha == attempt.sha and d.created_at > attempt.created_at]
        assert any("success" in final_states(d) for d in retries)


def test_a_few_deployments_have_no_final_status(org):
    unfinished = [d for ds in org.deployments.values() for d in ds if not final_states(d)]
    running = sorted(
        (d.environment, [s.state for s in d.statuses]) for d in unfinished if NOW - d.created_at < timedelta(minutes=10)
    )
    assert running == [("production", ["queued", "in_progress"]), ("staging", ["queued", "in_progress"])]
    stuck = [d for d in unfinished if NOW - d.created_at > timedelta(days=2)]
    assert [(d.environment, [s.state for s in d.statuses]) for d in stuck] == [("production", ["queued"])]
    assert len(unfinished) == 3


def test_running_deployments_are_those_in_progress_at_now(org):
    running = org.running_deployments()
    assert sorted(d.environment for _, d in running) == ["production", "staging"]
    assert all(d in org.deployments[repo] and d.statuses[-1].state == "in_progress" for repo, d in running)


def test_the_busiest_repositories_deploy_a_few_times_a_day_and_small_ones_less():
    sample = generate_org(seed=5, now=NOW, repo_sizes=(3000, 300, 200, 150, 40), days=180)
    per_day = {repo: sum(1 for d in ds if d.environment == "production" and "success" in final_states(d)) / 180
               for repo, ds in sample.deployments.items()}  # fmt: skip
    assert sorted(per_day) == ["acme/service-00", "acme/service-04"]
    assert 2 <= per_day["acme/service-00"] <= 4
    assert per_day["acme/service-04"] < 0.25  # about one deployment per merge: 40 PRs in 180 days


# ---------------------------------------------------------------- workflow runs and releases


def test_workflow_runs_succeed_on_main_some_fail_and_some_run_elsewhere(org):
    (runs,) = org.workflow_runs.values()
    assert {r.workflow for r in runs} == {DEPLOY_WORKFLOW}
    conclusions = Counter(r.conclusion for r in runs if r.head_branch == "main")
    assert conclusions["success"] > 10 * sum(n for c, n in conclusions.items() if c != "success") > 0
    assert any(r.head_branch != "main" for r in runs)
    assert sorted(r.run_number for r in runs) == list(range(1, len(runs) + 1))


def test_releases_include_drafts_and_prereleases_which_are_not_deployments(org):
    (releases,) = org.releases.values()
    assert any(r.draft and r.published_at is None for r in releases)
    assert any(r.prerelease and r.published_at is not None for r in releases)
    published = [r for r in releases if not (r.draft or r.prerelease)]
    assert len(published) > len(releases) / 2
    assert all(r.created_at <= r.published_at <= NOW for r in published)


# ---------------------------------------------------------------- incidents, issues and reverts


def test_incidents_name_a_deployed_sha_a_merged_pr_or_nothing(org):
    named_sha = named_pr = unnamed = 0
    for repo, incident in incidents(org):
        match = ROOT_CAUSE.search(incident.body or "")
        if match is None:
            unnamed += 1
        elif match[1]:
            named_pr += 1
            assert int(match[1]) in merged(org, repo)
        else:
            named_sha += 1
            assert any(merge_sha(repo, n).startswith(match[2]) for n in merged(org, repo))
    assert min(named_sha, named_pr, unnamed) > 0


def test_incidents_are_restored_hours_later_a_few_are_open_and_one_was_reopened(org):
    found = [i for _, i in incidents(org)]
    closed = [i for i in found if i.state == "closed"]
    assert all(timedelta(0) < i.closed_at - i.created_at <= timedelta(days=14) for i in closed)
    assert sorted(i.closed_at - i.created_at for i in closed)[len(closed) // 2] < timedelta(days=1)
    still_open = [i for i in found if i.state == "open"]
    assert 2 <= len(still_open) <= 4 and all(i.closed_at is None for i in still_open)
    reopened = [i for i in found if "Reopened" in (i.body or "")]
    assert (
        len(reopened) == 1
        and reopened[0].state == "open"
        and reopened[0].updated_at - reopened[0].created_at > timedelta(days=1)
    )


def test_every_repository_with_deployments_has_incidents_and_ordinary_issues(org):
    for repo in org.repositories:
        issues = org.issues[repo]
        assert sum(1 for i in issues if INCIDENT_LABEL in i.labels) >= 2
        assert any(INCIDENT_LABEL not in i.labels for i in issues)
        numbers = [i.number for i in issues if not i.is_pull_request]
        assert min(numbers) > max(p.number for p in org.pulls[repo])  # one numbering for issues and PRs


def test_one_pr_labelled_incident_appears_among_the_issues_and_is_a_revert(org):
    (labelled,) = [(repo, i) for repo, issues in org.issues.items() for i in issues if i.is_pull_request]
    repo, issue = labelled
    pull = next(p for p in org.pulls[repo] if p.number == issue.number)
    assert pull.title.startswith('Revert "') and INCIDENT_LABEL in issue.labels


def test_reverts_name_a_merged_pr_of_their_repository_and_merge_days_or_weeks_later(org):
    reverts = [(repo, p) for repo, pulls in org.pulls.items() for p in pulls if p.title.startswith('Revert "')]
    assert len(reverts) >= 3
    for repo, revert in reverts:
        match = re.fullmatch(r"Reverts (\S+)#(\d+)", revert.body or "")
        assert match and match[1] == repo
        original = merged(org, repo)[int(match[2])]
        assert revert.title == f'Revert "{original.title}"'
        assert timedelta(hours=6) < revert.merged_at - original.merged_at < timedelta(days=42)


def test_first_commits_come_hours_to_days_before_the_pr_was_opened(org):
    gaps = [p.created_at - p.first_commit_at for pulls in org.pulls.values() for p in pulls]
    assert all(timedelta(0) < gap <= timedelta(days=21) for gap in gaps)
    assert max(gaps) > timedelta(days=2) and sorted(gaps)[len(gaps) // 2] > timedelta(hours=1)


# ---------------------------------------------------------------- served


def test_serve_puts_every_signal_on_the_fake(org):
    fake = FakeGitHub()
    org.serve(fake)
    for repo in org.repositories:
        served = fake.repos[repo]
        assert len(served.pulls) == len(org.pulls[repo])
        assert len(served.deployments) == len(org.deployments.get(repo, ()))
        assert len(served.workflow_runs) == len(org.workflow_runs.get(repo, ()))
        assert len(served.releases) == len(org.releases.get(repo, ()))
        assert len(served.issues) == len(org.issues[repo])
