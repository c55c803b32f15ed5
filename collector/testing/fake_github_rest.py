"""The fake GitHub's REST listings besides pull requests: the filters and orders GitHub applies, and objects in
GitHub's shapes (built from GitHub's own examples, kept in ``data/templates.json``).

- Workflow runs of one workflow, newest created first, filtered by ``branch``, ``event``, ``head_sha``, ``status``
  (a status such as ``completed`` or a conclusion such as ``success``) and ``created`` (GitHub's date-range syntax).
- Releases, newest created first.
- Issues (with the pull requests GitHub lists among them), filtered by ``state``, ``labels`` (all of them,
  case-insensitive) and ``since`` (updated at or after), sorted by ``created``/``updated``/``comments``.
- Deployments, newest first, filtered by ``sha``, ``ref``, ``task``, ``environment``; their statuses newest first.

Nothing here touches HTTP: the server in ``fake_github`` pages, caches and sends what these functions return.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from collector.testing.fake_github import (
        FakeDeployment,
        FakeIssue,
        FakeRelease,
        FakeRepo,
        FakeStatus,
        FakeWorkflowRun,
    )

TEMPLATES: dict[str, Any] = json.loads(
    resources.files("collector.testing").joinpath("data/templates.json").read_text(encoding="utf-8")
)
ORIGIN = "http://github.local"  # where the objects' own URLs point (never followed by the collector)
GHOST_LOGIN = "ghost"
# GitHub's `status` filter takes a run's status or its conclusion.
RUN_STATUSES = frozenset({"completed", "in_progress", "queued", "requested", "waiting", "pending"})
RUN_CONCLUSIONS = frozenset(
    {"action_required", "cancelled", "failure", "neutral", "skipped", "stale", "success", "timed_out"}
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadParameter(ValueError):
    """A query parameter GitHub would refuse with 422 Validation Failed; the argument names it."""


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def page_params(query: dict[str, str]) -> tuple[int, int]:
    """The page and per_page a listing asks for: per_page is capped at 100 and defaults to 30, as on GitHub."""
    try:
        per_page = min(max(int(query.get("per_page", "30")), 1), 100)
        page = max(int(query.get("page", "1")), 1)
    except ValueError:
        raise BadParameter("per_page") from None
    return page, per_page


def choice(query: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(name, default)
    if value not in allowed:
        raise BadParameter(name)
    return value


def parse_time(value: str, name: str) -> datetime:
    """An ISO 8601 time as GitHub takes it in ``since`` (``YYYY-MM-DDTHH:MM:SSZ``); no zone means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadParameter(name) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _bound(text: str) -> tuple[datetime, datetime, bool]:
    """A date or a time of the search syntax: (start, end, is_date). A date covers its whole (UTC) day."""
    if _ISO_DATE.fullmatch(text):
        start = parse_time(text, "created")
        return start, start + timedelta(days=1), True
    moment = parse_time(text, "created")
    return moment, moment, False


def created_filter(value: str) -> Callable[[datetime], bool]:
    """GitHub's date-range syntax (docs: "Understanding the search syntax", query for dates): ``>=D``, ``>D``,
    ``<=D``, ``<D``, ``D``, ``A..B``, ``A..*``, ``*..B``, each side a date or an ISO 8601 time."""
    value = value.strip()
    if ".." in value:
        low, _, high = value.partition("..")
        lows = None if low == "*" else _bound(low)
        highs = None if high == "*" else _bound(high)
        return lambda t: (lows is None or t >= lows[0]) and (highs is None or _before_end(t, highs))
    match = re.fullmatch(r"(>=|>|<=|<)?(.+)", value)
    assert match is not None  # the pattern matches any non-empty text
    operator, (start, end, is_date) = match[1], _bound(match[2])
    if operator == ">=":
        return lambda t: t >= start
    if operator == ">":
        return (lambda t: t >= end) if is_date else (lambda t: t > start)
    if operator == "<=":
        return lambda t: _before_end(t, (start, end, is_date))
    if operator == "<":
        return lambda t: t < start
    return (lambda t: start <= t < end) if is_date else (lambda t: t == start)


def _before_end(moment: datetime, bound: tuple[datetime, datetime, bool]) -> bool:
    start, end, is_date = bound
    return moment < end if is_date else moment <= start


# ---------------------------------------------------------------------------------------------- listings
def workflow_runs(repo: FakeRepo, workflow_id: int, query: dict[str, str]) -> list[FakeWorkflowRun]:
    status = query.get("status")
    if status is not None and status not in RUN_STATUSES | RUN_CONCLUSIONS:
        raise BadParameter("status")
    created = created_filter(query["created"]) if query.get("created") else None
    runs = [
        run
        for run in repo.workflow_runs.values()
        if run.workflow_id == workflow_id
        and query.get("branch", run.head_branch) == run.head_branch
        and query.get("event", run.event) == run.event
        and query.get("head_sha", run.head_sha) == run.head_sha
        and (status is None or status == (run.status if status in RUN_STATUSES else run.conclusion))
        and (created is None or created(run.created_at))
    ]
    runs.sort(key=lambda run: (run.created_at, run.id), reverse=True)
    return runs


def releases(repo: FakeRepo) -> list[FakeRelease]:
    return sorted(repo.releases.values(), key=lambda release: (release.created_at, release.id), reverse=True)


def issues(repo: FakeRepo, query: dict[str, str]) -> list[FakeIssue]:
    state = choice(query, "state", ("open", "closed", "all"), "open")
    sort = choice(query, "sort", ("created", "updated", "comments"), "created")
    direction = choice(query, "direction", ("asc", "desc"), "desc")
    since = parse_time(query["since"], "since") if query.get("since") else None
    wanted = {label.strip().lower() for label in query.get("labels", "").split(",") if label.strip()}
    found = [
        issue
        for issue in repo.issues.values()
        if (state == "all" or issue.state == state)
        and (since is None or issue.updated_at >= since)
        and wanted <= {label.lower() for label in issue.labels}
    ]
    key: dict[str, Callable[[FakeIssue], tuple[Any, ...]]] = {
        "created": lambda issue: (issue.created_at, issue.number),
        "updated": lambda issue: (issue.updated_at, issue.number),
        "comments": lambda issue: (0, issue.number),  # the fake's issues have no comments
    }
    found.sort(key=key[sort], reverse=direction == "desc")
    return found


def deployments(repo: FakeRepo, query: dict[str, str]) -> list[FakeDeployment]:
    found = [
        deployment
        for deployment in repo.deployments.values()
        if query.get("sha", deployment.sha) == deployment.sha
        and query.get("ref", deployment.ref) == deployment.ref
        and query.get("task", "deploy") == "deploy"
        and query.get("environment", deployment.environment) == deployment.environment
    ]
    found.sort(key=lambda deployment: (deployment.created_at, deployment.id), reverse=True)
    return found


def statuses_newest_first(deployment: FakeDeployment) -> list[tuple[int, FakeStatus]]:
    """A deployment's statuses with their index (order of creation), newest first as GitHub lists them."""
    return sorted(enumerate(deployment.statuses), key=lambda pair: (pair[1].created_at, pair[0]), reverse=True)


# ---------------------------------------------------------------------------------------------- shapes
def user_id(login: str) -> int:
    return 10137 if login == GHOST_LOGIN else int(hashlib.sha256(login.lower().encode()).hexdigest()[:7], 16)


@functools.lru_cache(maxsize=4096)
def _user_json_cached(login: str, user_type: str, origin: str) -> str:
    template = TEMPLATES["bot_user"] if user_type == "Bot" else TEMPLATES["pull_request_simple"]["user"]
    user = copy.deepcopy(template)
    for key, value in list(user.items()):
        if isinstance(value, str):
            user[key] = re.sub(r"https://api\.github\.com/users/[^/{]+", f"{origin}/users/{login}", value)
    user.update(login=login, id=user_id(login), type=user_type, html_url=f"https://github.com/{login}")
    return json.dumps(user)


def user_json(login: str | None, user_type: str = "User", origin: str = ORIGIN) -> dict[str, Any] | None:
    if login is None:
        return None
    value: dict[str, Any] = json.loads(_user_json_cached(login, user_type, origin))
    return value


def pull_id(repo: FakeRepo, number: int) -> int:
    """A PR's id (GraphQL's databaseId): GraphQL's Int is 32-bit, which this fits for 21,000 repositories of
    fewer than 100,000 PRs each."""
    return (repo.id - 1_000_000) * 100_000 + number


def _api(repo: FakeRepo) -> str:
    return f"{ORIGIN}/repos/{repo.full_name}"


def _sha(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


def minimal_repository_json(repo: FakeRepo) -> dict[str, Any]:
    """A minimal-repository object (what workflow runs carry), from GitHub's example with this repository in it."""
    template = TEMPLATES["minimal_repository"]
    api = _api(repo)
    value: dict[str, Any] = {
        key: text.replace("https://api.github.com/repos/octo-org/octo-repo", api) if isinstance(text, str) else text
        for key, text in template.items()
    }
    value.update(
        id=repo.id,
        node_id=f"R_{repo.id}",
        name=repo.name,
        full_name=repo.full_name,
        html_url=f"https://github.com/{repo.full_name}",
        url=api,
        owner=user_json(repo.owner, "Organization"),
    )
    return value


def workflow_run_json(repo: FakeRepo, run: FakeWorkflowRun) -> dict[str, Any]:
    api = _api(repo)
    runs = f"{api}/actions/runs/{run.id}"
    actor = user_json("octocat")
    value = dict(TEMPLATES["workflow_run"])
    value.update(
        id=run.id,
        name=run.workflow.rsplit(".", 1)[0],
        node_id=f"WFR_{repo.id}_{run.id}",
        check_suite_id=run.id,
        check_suite_node_id=f"CS_{repo.id}_{run.id}",
        head_branch=run.head_branch,
        head_sha=run.head_sha,
        path=f".github/workflows/{run.workflow}@{run.head_branch}",
        run_number=run.run_number,
        event=run.event,
        display_title=f"Run {run.run_number} of {run.workflow}",
        status=run.status,
        conclusion=run.conclusion,
        workflow_id=run.workflow_id,
        url=runs,
        html_url=f"https://github.com/{repo.full_name}/actions/runs/{run.id}",
        pull_requests=[],
        created_at=iso(run.created_at),
        updated_at=iso(run.updated_at),
        actor=actor,
        triggering_actor=actor,
        run_started_at=iso(run.run_started_at or run.created_at),
        jobs_url=f"{runs}/jobs",
        logs_url=f"{runs}/logs",
        check_suite_url=f"{api}/check-suites/{run.id}",
        artifacts_url=f"{runs}/artifacts",
        cancel_url=f"{runs}/cancel",
        rerun_url=f"{runs}/rerun",
        previous_attempt_url=None,
        workflow_url=f"{api}/actions/workflows/{run.workflow_id}",
        head_commit=dict(
            TEMPLATES["workflow_run"]["head_commit"],
            id=run.head_sha,
            tree_id=_sha("tree", run.head_sha),
            message=f"Commit {run.head_sha[:7]}",
            timestamp=iso(run.created_at),
        ),
        repository=minimal_repository_json(repo),
        head_repository=minimal_repository_json(repo),
    )
    return value


def release_json(repo: FakeRepo, release: FakeRelease) -> dict[str, Any]:
    api = _api(repo)
    value = dict(TEMPLATES["release"])
    value.update(
        url=f"{api}/releases/{release.id}",
        html_url=f"https://github.com/{repo.full_name}/releases/tag/{release.tag_name}",
        assets_url=f"{api}/releases/{release.id}/assets",
        upload_url=f"https://uploads.github.local/repos/{repo.full_name}/releases/{release.id}/assets{{?name,label}}",
        tarball_url=f"{api}/tarball/{release.tag_name}",
        zipball_url=f"{api}/zipball/{release.tag_name}",
        id=release.id,
        node_id=f"RE_{repo.id}_{release.id}",
        tag_name=release.tag_name,
        target_commitish=release.target_commitish,
        name=release.name,
        body=None,
        draft=release.draft,
        prerelease=release.prerelease,
        created_at=iso(release.created_at),
        published_at=iso(release.published_at),
        author=user_json("octocat"),
        assets=[],
    )
    return value


def issue_json(repo: FakeRepo, issue: FakeIssue) -> dict[str, Any]:
    api = _api(repo)
    own = f"{api}/issues/{issue.number}"
    value = dict(TEMPLATES["issue"])
    value.update(
        id=int(_sha("issue", repo.id, issue.number)[:8], 16),
        node_id=f"I_{repo.id}_{issue.number}",
        url=own,
        repository_url=api,
        labels_url=f"{own}/labels{{/name}}",
        comments_url=f"{own}/comments",
        events_url=f"{own}/events",
        html_url=f"https://github.com/{repo.full_name}/{'pull' if issue.is_pull_request else 'issues'}/{issue.number}",
        number=issue.number,
        state=issue.state,
        state_reason="completed" if issue.state == "closed" else None,
        title=issue.title,
        body=issue.body,
        user=user_json(issue.user),
        labels=[_label_json(repo, name) for name in issue.labels],
        comments=0,
        closed_at=iso(issue.closed_at),
        created_at=iso(issue.created_at),
        updated_at=iso(issue.updated_at),
        closed_by=user_json("octocat") if issue.state == "closed" else None,
        author_association="MEMBER" if issue.user else "NONE",
    )
    if issue.is_pull_request:
        pull = f"https://github.com/{repo.full_name}/pull/{issue.number}"
        value["pull_request"] = {
            "url": f"{api}/pulls/{issue.number}",
            "html_url": pull,
            "diff_url": f"{pull}.diff",
            "patch_url": f"{pull}.patch",
            "merged_at": None,
        }
    return value


def _label_json(repo: FakeRepo, name: str) -> dict[str, Any]:
    label_id = int(_sha("label", repo.id, name.lower())[:8], 16)
    return dict(
        TEMPLATES["label"],
        id=label_id,
        node_id=f"LA_{label_id}",
        url=f"{_api(repo)}/labels/{name}",
        name=name,
        description=None,
        color="d73a4a",
        default=False,
    )


def deployment_node_id(repo: FakeRepo, deployment: FakeDeployment) -> str:
    return f"DE_{repo.id}_{deployment.id}"


def deployment_json(repo: FakeRepo, deployment: FakeDeployment) -> dict[str, Any]:
    api = _api(repo)
    value = dict(TEMPLATES["deployment"])
    value.update(
        url=f"{api}/deployments/{deployment.id}",
        id=deployment.id,
        node_id=deployment_node_id(repo, deployment),
        sha=deployment.sha,
        ref=deployment.ref,
        task="deploy",
        payload={},
        original_environment=deployment.environment,
        environment=deployment.environment,
        description=None,
        creator=user_json("octocat"),
        created_at=iso(deployment.created_at),
        updated_at=iso(deployment.updated_at),
        statuses_url=f"{api}/deployments/{deployment.id}/statuses",
        repository_url=api,
        transient_environment=False,
        production_environment=deployment.environment.lower() in ("production", "prod"),
    )
    return value


def status_id(deployment: FakeDeployment, index: int) -> int:
    """A status's id: unique within the fake (a deployment has fewer than 1000 statuses)."""
    return deployment.id * 1000 + index + 1


def deployment_status_json(
    repo: FakeRepo, deployment: FakeDeployment, index: int, status: FakeStatus
) -> dict[str, Any]:
    api = _api(repo)
    value = dict(TEMPLATES["deployment_status"])
    value.update(
        url=f"{api}/deployments/{deployment.id}/statuses/{status_id(deployment, index)}",
        id=status_id(deployment, index),
        node_id=f"DES_{repo.id}_{deployment.id}_{index}",
        state=status.state,
        creator=user_json("octocat"),
        description="",
        environment=deployment.environment,
        target_url="",
        created_at=iso(status.created_at),
        updated_at=iso(status.created_at),
        deployment_url=f"{api}/deployments/{deployment.id}",
        repository_url=api,
        environment_url="",
        log_url="",
    )
    return value
