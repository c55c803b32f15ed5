"""Read the four keys' facts from GitHub; models out, one item GitHub sends that we cannot read refused alone.

GraphQL where it saves requests: a probe of many repositories' newest deployment in one query, a
repository's deployments with their statuses 100 at a time, and merged PRs' first commits 100 at a time
across repositories. REST listings (``per_page=100``, first page conditional) for workflow runs,
releases and labelled issues: a quiet run's ``304`` costs no rate limit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from collector import keys
from collector.fetch import (
    EXCERPT,
    MAX_TITLE,
    Implausible,
    check_time,
    etag_worth_keeping,
    faithful_text,
    listing_links,
    server_time,
)
from collector.github_api import GitHubRequestError, GraphQLPartialError, clean_text
from collector.models import Deployment, Incident, Refusal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from collector.github_api import GitHubClient, Response

PER_PAGE = 100
# A listing may grow while it is read, but not without end: GitHub's Link rel="last" plus this margin.
EXTRA_PAGES = 10
MAX_PAGES = 1000  # a listing that names no last page
_INT4 = 2**31 - 1
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1, or SHA-256 for repositories that use it


# ---------------------------------------------------------------- GraphQL: the probe

_PROBE_DEPLOYMENTS = (
    "deployments(first: 1, orderBy: {field: CREATED_AT, direction: DESC}) "
    "{ totalCount nodes { databaseId updatedAt latestStatus { state } } }"
)


@dataclass(frozen=True, slots=True)
class ProbeAsk:
    repository: str  # owner/name
    deployments: bool  # its deployments' fingerprint
    branch: bool  # its default branch


@dataclass(frozen=True, slots=True)
class Probed:
    fingerprint: str | None
    default_branch: str | None
    newest_id: str | None = None  # the newest deployment's databaseId: its status is in the fingerprint


def probe_query(asks: Sequence[ProbeAsk]) -> tuple[str, dict[str, Any]]:
    """One query for all ``asks``, each repository under its alias ``r<i>``, names passed as variables."""
    variables: dict[str, Any] = {}
    declared, selected = [], []
    for i, ask in enumerate(asks):
        variables[f"o{i}"], variables[f"n{i}"] = _owner_and_name(ask.repository)
        declared.append(f"$o{i}: String!, $n{i}: String!")
        fields = [f for f, wanted in (("defaultBranchRef { name }", ask.branch), (_PROBE_DEPLOYMENTS, ask.deployments))
                  if wanted]  # fmt: skip
        selected.append(f"r{i}: repository(owner: $o{i}, name: $n{i}) {{ {' '.join(fields or ['id'])} }}")
    return f"query Probe({', '.join(declared)}) {{ rateLimit {{ cost }} {' '.join(selected)} }}", variables


def probe(client: GitHubClient, asks: Sequence[ProbeAsk]) -> tuple[dict[str, Probed], dict[str, str]]:
    """What each repository's probe says, and why it could not say it for the others."""
    query, variables = probe_query(asks)
    data, failed = _batched_answer(client, query, variables, len(asks))
    return decode_probe(data, asks, failed)


def decode_probe(
    data: dict[str, Any], asks: Sequence[ProbeAsk], failed: dict[int, str] | None = None
) -> tuple[dict[str, Probed], dict[str, str]]:
    """The probe's answers by repository, and why there is none for the others (``failed``: the aliases,
    by index, that GitHub refused)."""
    failed = failed or {}
    answers: dict[str, Probed] = {}
    failures = {asks[i].repository: why for i, why in failed.items()}
    for i, ask in enumerate(asks):
        node = data.get(f"r{i}")
        if i in failed:
            continue
        if node is None:
            failures[ask.repository] = _gone(ask.repository)
            continue
        try:
            answers[ask.repository] = _probed(msgspec.convert(node, _ProbeRepository), ask)
        except (msgspec.ValidationError, Implausible) as exc:
            failures[ask.repository] = f"GitHub's answer to the probe cannot be read: {clean_text(str(exc))}"
    return answers, failures


class _Ref(msgspec.Struct):
    name: str


class _LatestStatus(msgspec.Struct):
    state: str


class _ProbeNode(msgspec.Struct, rename="camel"):
    updated_at: datetime
    database_id: int | None = None
    latest_status: _LatestStatus | None = None


class _ProbeDeployments(msgspec.Struct, rename="camel"):
    total_count: int
    nodes: list[_ProbeNode]


class _ProbeRepository(msgspec.Struct, rename="camel"):
    default_branch_ref: _Ref | None = None
    deployments: _ProbeDeployments | None = None


def _probed(node: _ProbeRepository, ask: ProbeAsk) -> Probed:
    fingerprint = None
    if ask.deployments:
        if node.deployments is None:
            raise Implausible("it has no deployments connection")
        newest = node.deployments.nodes[0] if node.deployments.nodes else None
        if newest is not None:
            check_time("updatedAt", newest.updated_at)
        fingerprint = keys.fingerprint(
            node.deployments.total_count,
            newest.database_id if newest else None,
            newest.updated_at if newest else None,
            newest.latest_status.state if newest and newest.latest_status else None,
        )
    branch = node.default_branch_ref.name if node.default_branch_ref else None
    newest_id = str(newest.database_id) if ask.deployments and newest and newest.database_id is not None else None
    return Probed(fingerprint, faithful_text(branch) if branch else None, newest_id)


# ---------------------------------------------------------------- GraphQL: one repository's deployments

DEPLOYMENTS_QUERY = f"""
query Deployments($owner: String!, $name: String!, $after: String) {{
  rateLimit {{ cost }}
  repository(owner: $owner, name: $name) {{
    deployments(first: {keys.DEPLOYMENTS_PAGE}, after: $after, orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        databaseId commitOid environment createdAt updatedAt
        statuses(last: {keys.STATUSES_PAGE}) {{ nodes {{ state createdAt }} }}
      }}
    }}
  }}
}}
"""


@dataclass(frozen=True, slots=True)
class DeploymentsRead:
    deployments: tuple[Deployment, ...]  # every environment: the caller keeps those its pattern matches
    refused: tuple[Refusal, ...]
    newest_created: datetime | None  # of every deployment read, refused ones aside
    pages: int


@dataclass(frozen=True, slots=True)
class DeploymentsPage:
    deployments: tuple[Deployment, ...]
    refused: tuple[Refusal, ...]
    has_next: bool
    end_cursor: str | None


def read_deployments(
    client: GitHubClient, repository: str, stop_at: datetime, between_pages: Callable[[], None]
) -> DeploymentsRead:
    """The repository's deployments newest first, 100 a page, until one created before ``stop_at``."""
    owner, name = _owner_and_name(repository)
    found: list[Deployment] = []
    refused: list[Refusal] = []
    after: str | None = None
    pages = 0
    while True:
        page = decode_deployments(
            client.graphql(DEPLOYMENTS_QUERY, {"owner": owner, "name": name, "after": after}), repository
        )
        pages += 1
        found.extend(page.deployments)
        refused.extend(page.refused)
        oldest = min((d.created_at for d in page.deployments), default=None)
        if not page.has_next or (oldest is not None and oldest < stop_at):
            break
        if not (page.deployments or page.refused) or page.end_cursor in (None, after):
            raise GitHubRequestError(f"GitHub's deployments of {repository} go on without moving to a next page")
        after = page.end_cursor
        between_pages()
    newest = max((d.created_at for d in found), default=None)
    return DeploymentsRead(tuple(found), tuple(refused), newest, pages)


def decode_deployments(data: dict[str, Any], repository: str) -> DeploymentsPage:
    """A page of ``repository.deployments``: each deployment settled by its statuses, one bad one refused alone."""
    node = data.get("repository")
    if node is None:
        raise GitHubRequestError(_gone(repository))
    try:
        page = msgspec.convert(node.get("deployments") if isinstance(node, dict) else None, _DeploymentsPage)
    except msgspec.ValidationError as exc:
        raise GitHubRequestError(f"GitHub's deployments cannot be read: {clean_text(str(exc))}") from None
    found, refused = [], []
    for item in page.nodes:
        try:
            found.append(_deployment(msgspec.convert(item, _DeploymentNode), repository))
        except (msgspec.ValidationError, Implausible) as exc:
            refused.append(_refusal(item, repository, str(exc), "databaseId"))
    return DeploymentsPage(tuple(found), tuple(refused), page.page_info.has_next_page, page.page_info.end_cursor)


class _PageInfo(msgspec.Struct, rename="camel"):
    has_next_page: bool
    end_cursor: str | None = None


class _DeploymentsPage(msgspec.Struct, rename="camel"):
    page_info: _PageInfo
    nodes: list[Any]  # decoded one by one: one bad deployment is refused alone


class _Status(msgspec.Struct, rename="camel"):
    state: str
    created_at: datetime


class _Statuses(msgspec.Struct):
    nodes: list[_Status]


class _DeploymentNode(msgspec.Struct, rename="camel"):
    database_id: int
    created_at: datetime
    updated_at: datetime
    commit_oid: str | None = None
    environment: str | None = None
    statuses: _Statuses | None = None


def _deployment(node: _DeploymentNode, repository: str) -> Deployment:
    if not 0 < node.database_id <= 2**53:
        raise Implausible(f"databaseId {node.database_id} is out of range")
    statuses = node.statuses.nodes if node.statuses else []
    for name, value in (("createdAt", node.created_at), ("updatedAt", node.updated_at),
                        *(("a status's createdAt", s.created_at) for s in statuses)):  # fmt: skip
        check_time(name, value)
    status, deployed_at, failed_at = keys.settle((s.state, s.created_at) for s in statuses)
    return Deployment(
        repository=repository.lower(),
        source="deployments",
        id=str(node.database_id),
        sha=_sha(node.commit_oid),
        environment=faithful_text(node.environment)[:MAX_TITLE] if node.environment is not None else None,
        created_at=node.created_at,
        deployed_at=deployed_at,
        failed_at=failed_at,
        status=status,
        updated_at=node.updated_at,
    )


# ---------------------------------------------------------------- GraphQL: first commits of merged PRs


@dataclass(frozen=True, slots=True)
class FirstCommits:
    found: dict[tuple[str, int], datetime | None]  # (repository, number): authored time; None: no such PR
    refused: tuple[Refusal, ...]  # read, but not a time we believe: stored as read, without a time
    failed: dict[str, str]  # repositories whose PRs could not be asked about, and why


def first_commits_query(prs: Sequence[tuple[str, int]]) -> tuple[str, dict[str, Any], list[str]]:
    """One query for the PRs, grouped by repository (alias ``r<i>``, each PR ``p<number>``)."""
    repositories = list(dict.fromkeys(repository for repository, _ in prs))
    variables: dict[str, Any] = {}
    declared, selected = [], []
    for i, repository in enumerate(repositories):
        variables[f"o{i}"], variables[f"n{i}"] = _owner_and_name(repository)
        declared.append(f"$o{i}: String!, $n{i}: String!")
        numbers = sorted({number for r, number in prs if r == repository})
        fields = " ".join(
            f"p{n}: pullRequest(number: {int(n)}) {{ commits(first: 1) {{ nodes {{ commit {{ authoredDate }} }} }} }}"
            for n in numbers
        )
        selected.append(f"r{i}: repository(owner: $o{i}, name: $n{i}) {{ {fields} }}")
    query = f"query FirstCommits({', '.join(declared)}) {{ rateLimit {{ cost }} {' '.join(selected)} }}"
    return query, variables, repositories


def read_first_commits(client: GitHubClient, prs: Sequence[tuple[str, int]]) -> FirstCommits:
    query, variables, repositories = first_commits_query(prs)
    data, failed = _batched_answer(client, query, variables, len(repositories))
    return decode_first_commits(data, prs, {repositories[i]: why for i, why in failed.items()})


def decode_first_commits(
    data: dict[str, Any], prs: Sequence[tuple[str, int]], failed: dict[str, str] | None = None
) -> FirstCommits:
    """Each PR's first commit's authored time, from the answer to ``first_commits_query(prs)``; ``failed``:
    the repositories whose alias GitHub refused."""
    repositories = list(dict.fromkeys(repository for repository, _ in prs))
    failures = dict(failed or {})
    found: dict[tuple[str, int], datetime | None] = {}
    refused: list[Refusal] = []
    for repository, number in prs:
        if repository in failures:
            continue
        node = data.get(f"r{repositories.index(repository)}")
        if not isinstance(node, dict):
            failures[repository] = _gone(repository) if node is None else "GitHub's answer cannot be read"
            continue
        pull = node.get(f"p{number}")
        try:
            found[(repository, number)] = _authored(pull)
        except (msgspec.ValidationError, Implausible) as exc:
            found[(repository, number)] = None  # asked: not asked again
            refused.append(Refusal(repository, str(number), number, clean_text(str(exc)), _excerpt(pull)))
    return FirstCommits(found, tuple(refused), failures)


class _Commit(msgspec.Struct, rename="camel"):
    authored_date: datetime


class _CommitNode(msgspec.Struct):
    commit: _Commit


class _Commits(msgspec.Struct):
    nodes: list[_CommitNode]


class _PullCommits(msgspec.Struct):
    commits: _Commits


def _authored(pull: Any) -> datetime | None:
    """The first commit's authored time; None for a PR GitHub no longer has, or one without commits."""
    if pull is None:
        return None
    commits = msgspec.convert(pull, _PullCommits).commits.nodes
    if not commits:
        return None
    check_time("the first commit's authoredDate", commits[0].commit.authored_date)
    return commits[0].commit.authored_date


# ---------------------------------------------------------------- GraphQL: shared


def _batched_answer(
    client: GitHubClient, query: str, variables: dict[str, Any], aliases: int
) -> tuple[dict[str, Any], dict[int, str]]:
    """The data of a query over aliases ``r0``..., and the aliases GitHub refused (by index), with why."""
    try:
        return client.graphql(query, variables), {}
    except GraphQLPartialError as partial:
        failed = {}
        for alias, why in partial.failed.items():
            index = int(alias[1:]) if re.fullmatch(r"r[0-9]{1,4}", alias) else -1
            if not 0 <= index < aliases:
                raise GitHubRequestError(str(partial)) from None  # not ours: the answer is not what we asked
            failed[index] = why
        return partial.data, failed


def _owner_and_name(repository: str) -> tuple[str, str]:
    owner, _, name = repository.partition("/")
    return owner, name


def _gone(repository: str) -> str:
    return f"GitHub has no repository {repository}, or the token cannot read it (NOT_FOUND)"


# ---------------------------------------------------------------- REST listings


@dataclass(frozen=True, slots=True)
class Listing:
    """What a listing's pages brought: rows, refused items, and (for a whole read) its first page's ETag."""

    deployments: tuple[Deployment, ...] = ()
    incidents: tuple[Incident, ...] = ()
    not_deployments: tuple[str, ...] = ()  # ids of releases read as drafts or pre-releases: not deployments
    refused: tuple[Refusal, ...] = ()
    oldest_created: datetime | None = None  # of the items read: where a listing by creation time has got to
    items: int = 0  # items on the pages, whatever they were
    etag: str | None = None
    not_modified: bool = False
    server_time: datetime | None = None
    pages: int = 0

    def then(self, page: Listing) -> Listing:
        """This listing followed by the next page."""
        olds = [t for t in (self.oldest_created, page.oldest_created) if t is not None]
        return replace(
            self,
            deployments=self.deployments + page.deployments,
            incidents=self.incidents + page.incidents,
            not_deployments=self.not_deployments + page.not_deployments,
            refused=self.refused + page.refused,
            oldest_created=min(olds, default=None),
            items=self.items + page.items,
            pages=self.pages + 1,
        )


def read_workflow_runs(
    client: GitHubClient, repository: str, workflow: str, branch: str, *, etag: str | None, stop_at: datetime,
    between_pages: Callable[[], None],
) -> Listing:  # fmt: skip
    """Successful runs of the workflow on the branch, newest created first, until one created before ``stop_at``."""
    path = f"/repos/{repository}/actions/workflows/{quote(workflow, safe='')}/runs"
    params = {"branch": branch, "status": "success", "exclude_pull_requests": "true", "per_page": PER_PAGE}
    decode = functools.partial(decode_workflow_runs, repository=repository, branch=branch)
    return _read(client, path, params, etag, stop_at, decode, between_pages)


def decode_workflow_runs(body: str | bytes, repository: str, branch: str) -> Listing:
    """A page of ``/actions/workflows/{w}/runs``: the successful runs on ``branch`` (GitHub filters by
    ``branch`` and ``status=success``, which accepts a conclusion; checked again here)."""
    found, refused, oldest = [], [], None
    items = _items(body, "workflow runs", key="workflow_runs")
    for raw in items:
        try:
            run = _WORKFLOW_RUN.decode(raw)
            _check_times(run.created_at, run.updated_at)
            if not 0 < run.id < 2**63:
                raise Implausible(f"id {run.id} is out of range")
        except (msgspec.DecodeError, Implausible) as exc:
            refused.append(_refusal(raw, repository, str(exc), "id"))
            continue
        oldest = run.created_at if oldest is None else min(oldest, run.created_at)
        if run.conclusion == "success" and run.head_branch == branch:
            found.append(_workflow_deployment(run, repository))
    return Listing(deployments=tuple(found), refused=tuple(refused), oldest_created=oldest, items=len(items))


class _WorkflowRun(msgspec.Struct):
    id: int
    created_at: datetime
    updated_at: datetime
    head_sha: str | None = None
    head_branch: str | None = None
    conclusion: str | None = None


_WORKFLOW_RUN = msgspec.json.Decoder(_WorkflowRun)


def _workflow_deployment(run: _WorkflowRun, repository: str) -> Deployment:
    return Deployment(
        repository=repository.lower(),
        source="workflow",
        id=str(run.id),
        sha=_sha(run.head_sha),
        environment=None,
        created_at=run.created_at,
        deployed_at=run.updated_at,  # a run is updated last when it completes
        failed_at=None,
        status="success",
        updated_at=run.updated_at,
    )


def read_releases(
    client: GitHubClient, repository: str, *, etag: str | None, stop_at: datetime, between_pages: Callable[[], None]
) -> Listing:
    """Releases newest first (by ``created_at``, the date of their commit) until one created before ``stop_at``."""
    decode = functools.partial(decode_releases, repository=repository)
    return _read(client, f"/repos/{repository}/releases", {"per_page": PER_PAGE}, etag, stop_at, decode, between_pages)


def decode_releases(body: str | bytes, repository: str) -> Listing:
    """A page of ``/releases``: published ones that are neither drafts nor pre-releases are deployments, at
    ``published_at``; the others are named, so that one stored before it became a draft again goes."""
    found, others, refused, oldest = [], [], [], None
    items = _items(body, "releases")
    for raw in items:
        try:
            release = _RELEASE.decode(raw)
            _check_times(release.created_at, release.published_at, release.updated_at)
            if not 0 < release.id < 2**63:
                raise Implausible(f"id {release.id} is out of range")
        except (msgspec.DecodeError, Implausible) as exc:
            refused.append(_refusal(raw, repository, str(exc), "id"))
            continue
        oldest = release.created_at if oldest is None else min(oldest, release.created_at)
        if release.draft or release.prerelease or release.published_at is None:
            others.append(str(release.id))
        else:
            found.append(_release_deployment(release, release.published_at, repository))
    return Listing(deployments=tuple(found), not_deployments=tuple(others), refused=tuple(refused),
                   oldest_created=oldest, items=len(items))  # fmt: skip


class _Release(msgspec.Struct):
    id: int
    created_at: datetime
    draft: bool
    prerelease: bool
    published_at: datetime | None = None
    updated_at: datetime | None = None
    target_commitish: str | None = None


_RELEASE = msgspec.json.Decoder(_Release)


def _release_deployment(release: _Release, published_at: datetime, repository: str) -> Deployment:
    return Deployment(
        repository=repository.lower(),
        source="releases",
        id=str(release.id),
        sha=_sha(release.target_commitish),  # a branch name more often than a sha: kept only when a sha
        environment=None,
        created_at=release.created_at,
        deployed_at=published_at,
        failed_at=None,
        status="success",
        updated_at=release.updated_at or published_at,
    )


def read_incidents(
    client: GitHubClient, repository: str, label: str, *, since: datetime, etag: str | None,
    between_pages: Callable[[], None],
) -> Listing:  # fmt: skip
    """Issues carrying the label, updated at or after ``since``: GitHub filters by time, every page is read."""
    params = {"labels": label, "state": "all", "since": iso(since), "sort": "updated", "direction": "desc",
              "per_page": PER_PAGE}  # fmt: skip
    decode = functools.partial(decode_incidents, repository=repository, label=label)
    return _read(client, f"/repos/{repository}/issues", params, etag, None, decode, between_pages)


def decode_incidents(body: str | bytes, repository: str, label: str) -> Listing:
    """A page of ``/issues?labels=``: the issues carrying the label. The listing has pull requests too
    (an item with a ``pull_request`` key): those are skipped."""
    found, refused = [], []
    items = _items(body, "issues")
    for raw in items:
        try:
            issue = _ISSUE.decode(raw)
            if issue.pull_request and bytes(issue.pull_request) != b"null":
                continue
            if _labelled(issue, label):
                found.append(_incident(issue, repository))
        except (msgspec.DecodeError, Implausible) as exc:
            refused.append(_refusal(raw, repository, str(exc), "number"))
    return Listing(incidents=tuple(found), refused=tuple(refused), items=len(items))


class _Label(msgspec.Struct):
    name: str


class _Issue(msgspec.Struct):
    number: int
    state: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    title: str | None = None
    body: str | None = None
    labels: list[_Label | str] = []
    pull_request: msgspec.Raw = msgspec.Raw()  # present only on pull requests


_ISSUE = msgspec.json.Decoder(_Issue)


def _labelled(issue: _Issue, label: str) -> bool:
    """GitHub filtered by the label; confirmed here, in any case, as the configuration says."""
    wanted = label.casefold()
    return any((lab if isinstance(lab, str) else lab.name).casefold() == wanted for lab in issue.labels)


def _incident(issue: _Issue, repository: str) -> Incident:
    if not 0 < issue.number <= _INT4:
        raise Implausible(f"number {issue.number} is out of range")
    if issue.state not in ("open", "closed"):
        raise Implausible(f"state {issue.state[:20]!r} is neither open nor closed")
    _check_times(issue.created_at, issue.updated_at, issue.closed_at)
    if issue.state == "closed" and issue.closed_at is None:
        raise Implausible("it is closed without closed_at")
    sha, pr = keys.parse_root_cause(issue.body)
    return Incident(
        repository=repository.lower(),
        number=issue.number,
        title=faithful_text(issue.title or "")[:MAX_TITLE],
        state=issue.state,
        created_at=issue.created_at,
        closed_at=issue.closed_at if issue.state == "closed" else None,  # reopened: open again
        updated_at=issue.updated_at,
        root_cause_sha=sha,
        root_cause_pr=pr,
    )


# ---------------------------------------------------------------- REST: shared


def _read(
    client: GitHubClient, path: str, params: dict[str, Any], etag: str | None, stop_at: datetime | None,
    decode: Callable[[str], Listing], between_pages: Callable[[], None],
) -> Listing:  # fmt: skip
    """Pages of a listing newest first, the first one conditional, until a page reaches below ``stop_at``
    (None: GitHub filtered by time, every page counts) or GitHub says no page follows."""
    read: Listing | None = None
    for response in _pages(client, path, params, etag, between_pages):
        if response.status == 304:
            return Listing(etag=etag, not_modified=True, server_time=server_time(response.headers), pages=1)
        page = decode(response.body)
        if not page.items and listing_links(response.headers)[0]:
            raise GitHubRequestError(f"GitHub sent an empty page of {path} that says more pages follow")
        if read is None:  # the first page speaks for the listing: its ETag and GitHub's clock
            read = replace(page, etag=etag_worth_keeping(response.headers.get("etag")),
                           server_time=server_time(response.headers), pages=1)  # fmt: skip
        else:
            read = read.then(page)
        if stop_at is not None and page.oldest_created is not None and page.oldest_created < stop_at:
            break
    assert read is not None, "a listing has a first page"
    return read


def _pages(
    client: GitHubClient, path: str, params: dict[str, Any], etag: str | None, between_pages: Callable[[], None]
) -> Iterator[Response]:
    """The listing's pages until GitHub says none follows; the caller stops earlier when it read enough."""
    page, promised = 1, None
    while True:
        headers = {"If-None-Match": etag} if etag and page == 1 else None
        response = client.get(path, {**params, "page": page}, headers)
        yield response
        has_next, last = listing_links(response.headers)
        if response.status == 304 or not has_next:
            return
        promised = promised or last
        if page >= (promised + EXTRA_PAGES if promised else MAX_PAGES):
            raise GitHubRequestError(f"GitHub's listing {path} goes on past the pages it announced")
        page += 1
        between_pages()


_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


class _RunsPage(msgspec.Struct):
    workflow_runs: list[msgspec.Raw]


_RUNS_PAGE = msgspec.json.Decoder(_RunsPage)


def _items(body: str | bytes, what: str, *, key: str | None = None) -> list[msgspec.Raw]:
    """A page's items, each still raw: decoded one by one so that one bad item is refused alone."""
    try:
        return _RUNS_PAGE.decode(body).workflow_runs if key else _ITEMS.decode(body)
    except msgspec.DecodeError as exc:
        raise GitHubRequestError(f"GitHub's answer is not a list of {what}: {clean_text(str(exc))}") from None


def _check_times(*values: datetime | None) -> None:
    for value in values:
        check_time("a time", value)


def _sha(value: str | None) -> str | None:
    value = (value or "").lower()
    return value if _SHA.fullmatch(value) else None


def iso(value: datetime) -> str:
    """A time as GitHub's query parameters take it, in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _refusal(raw: Any, repository: str, reason: str, key: str) -> Refusal:
    """A refused item, named by its number or id when it has a readable one, else by a hash of it."""
    if isinstance(raw, msgspec.Raw):
        text = bytes(raw).decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    else:
        parsed, text = raw, _json_text(raw)
    value = parsed.get(key) if isinstance(parsed, dict) else None
    known = value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
    number = known if known is not None and known <= _INT4 else None
    item = str(known) if known is not None else "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return Refusal(repository, item, number, clean_text(reason), clean_text(text, limit=EXCERPT))


def _excerpt(value: Any) -> str:
    return clean_text(_json_text(value)[: EXCERPT * 2], limit=EXCERPT)


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
