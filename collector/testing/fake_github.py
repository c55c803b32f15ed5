"""A local HTTP server that answers like GitHub's REST and GraphQL APIs for what the collector uses.

It ships inside the package (not only under tests/) because ``dora-collector demo`` and the
benchmark serve a sample organisation from it; the test suite drives it too. Faithful where it
matters for correctness and cost:

- ``GET /repos/{owner}/{repo}/pulls`` with ``state``, ``sort``, ``direction`` (default desc only for
  ``created``), ``base``, ``per_page`` (capped at 100, default 30) and ``page``; answers are full
  ``pull-request-simple`` objects built from GitHub's own example; ``user`` may be null.
- Workflow runs of a workflow, releases, issues, deployments and their statuses, filtered and ordered as
  GitHub does (see ``fake_github_rest``), in GitHub's shapes.
- Paging through ``Link`` (``next``/``last``/``first``/``prev``), pointing, as GitHub does, at
  ``/repositories/{id}/...`` with every query parameter kept.
- ``ETag`` on every 200 and ``If-None-Match`` answered with ``304``, which is not counted against
  the primary rate limit. Rate-limit headers on every answer; ``GET /rate_limit`` is free.
- ``POST /graphql`` answers queries against the part of GitHub's schema it serves, charges GitHub's cost
  formula against a separate points budget and errs as GitHub does (see ``fake_github_graphql``).
- 401 ``Bad credentials`` for an unknown token, 404 for an unknown repository, 403 primary rate
  limit when the budget is spent, and injectable faults (5xx, secondary limits with or without
  ``Retry-After``, 429, connection resets, an answer that drips forever) for the next matching requests.
- GitHub Apps: ``POST /app/installations/{id}/access_tokens`` checks the JWT as GitHub does (RS256, signed
  with the App's key, ``iss`` the App's ID, ``exp`` at most 10 minutes ahead) and answers 201 with a token
  that expires after ``token_lifetime`` seconds of ``clock``; later requests may send it as ``token`` or
  ``Bearer`` until then, and get 401 after.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from collector.testing import fake_github_graphql, fake_github_rest
from collector.testing.fake_github_rest import TEMPLATES, BadParameter, iso, pull_id, user_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_RATE_LIMIT_EXAMPLE: dict[str, Any] = json.loads(
    resources.files("collector.testing").joinpath("data/rate-limit.example-200.json").read_text(encoding="utf-8")
)
# Webhook deliveries: each event's usual action, and its object's key and fields besides id and times.
_DEFAULT_ACTIONS = {"pull_request": "closed", "deployment_status": "created", "workflow_run": "completed",
                    "release": "published", "issues": "labeled"}  # fmt: skip
_WEBHOOK_OBJECTS: dict[str, tuple[str, dict[str, Any]]] = {
    "deployment_status": ("deployment_status", {"state": "success", "environment": "production"}),
    "workflow_run": ("workflow_run", {"name": "CI", "status": "completed", "conclusion": "success"}),
    "release": ("release", {"tag_name": "v1.0.0", "draft": False, "prerelease": False}),
    "issues": ("issue", {"number": 7, "title": "Outage", "state": "open", "labels": [{"name": "incident"}]}),
}
SECONDARY_LIMIT_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


@dataclass
class FakePull:
    number: int
    title: str
    user: str | None
    created_at: datetime
    updated_at: datetime
    state: str = "closed"
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    base_ref: str | None = None  # None: the repository's default branch
    draft: bool = False
    user_type: str = "User"
    body: str | None = None  # list items carry it, as on GitHub (revert PRs say "Reverts owner/repo#N")
    first_commit_at: datetime | None = None  # the first commit's authoredDate; None: created_at minus one hour
    commits: int = 1  # 0: the commits connection is empty
    # Raw JSON values written over the rendered item: hostile data GitHub might send (tests only).
    overrides: dict[str, Any] = field(default_factory=dict)
    _rendered: bytes | None = field(default=None, repr=False, compare=False)


@dataclass
class FakeStatus:
    """One deployment status; ``state`` in REST spelling (success, failure, error, inactive, pending, queued,
    in_progress)."""

    state: str
    created_at: datetime


@dataclass
class FakeDeployment:
    id: int  # GitHub's databaseId (REST "id")
    sha: str  # 40 hex
    environment: str
    created_at: datetime
    statuses: list[FakeStatus] = field(default_factory=list)  # in the order they were created
    ref: str = "main"

    @property
    def updated_at(self) -> datetime:
        """GitHub moves a deployment's updated_at when a status is added."""
        return max([self.created_at, *(status.created_at for status in self.statuses)])


@dataclass
class FakeWorkflowRun:
    id: int
    workflow: str  # the workflow's file name, e.g. "deploy.yml" (path .github/workflows/deploy.yml)
    workflow_id: int
    head_sha: str
    head_branch: str
    created_at: datetime
    updated_at: datetime
    event: str = "push"
    status: str = "completed"
    conclusion: str | None = "success"
    run_started_at: datetime | None = None
    run_number: int = 0  # 0: numbered by add_workflow_run, in the order the workflow's runs are added


@dataclass
class FakeRelease:
    id: int
    tag_name: str
    created_at: datetime
    published_at: datetime | None
    draft: bool = False
    prerelease: bool = False
    target_commitish: str = "main"
    name: str | None = None


@dataclass
class FakeIssue:
    number: int
    title: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    closed_at: datetime | None = None
    body: str | None = None
    labels: list[str] = field(default_factory=list)
    user: str | None = "octocat"
    is_pull_request: bool = False  # the issues endpoint also lists PRs (with a "pull_request" key)


@dataclass
class FakeRepo:
    id: int
    owner: str
    name: str
    default_branch: str = "main"
    pulls: dict[int, FakePull] = field(default_factory=dict)
    endless_links: bool = False  # a hostile listing: every page says another follows, repeating the last
    omit_last_link: bool = False  # a Link header with rel="next" but no rel="last"
    # Sorted listings by (state, sort, direction, base), dropped whenever a PR is added or changed:
    # sorting 30,000 PRs for every page made the fake, not the collector, the benchmark's bottleneck.
    listings: dict[tuple[str, str, str, str | None], list[FakePull]] = field(default_factory=dict, repr=False)
    deployments: dict[int, FakeDeployment] = field(default_factory=dict)
    workflows: dict[str, int] = field(default_factory=dict)  # file name -> workflow id
    workflow_runs: dict[int, FakeWorkflowRun] = field(default_factory=dict)
    run_numbers: dict[int, int] = field(default_factory=dict, repr=False)  # workflow id -> its last run_number
    releases: dict[int, FakeRelease] = field(default_factory=dict)
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    # GraphQL connections in order (with their cursor keys), dropped whenever a PR or a deployment changes.
    ordered: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def changed(self) -> None:
        self.listings.clear()
        self.ordered.clear()


@dataclass(frozen=True)
class Fault:
    """One injected answer. ``reset=True`` closes the connection without answering. ``drip=True`` sends the
    status line and headers, then one byte of the body every ``drip_every`` seconds, never finishing: after
    ``drip_for`` seconds (a bound for the test suite, not for the client) it closes the connection."""

    status: int = 502
    message: str = "Server Error"
    headers: tuple[tuple[str, str], ...] = ()
    reset: bool = False
    body: bytes | None = None  # sent as it is instead of a JSON message
    drip: bool = False
    drip_every: float = 0.2
    drip_for: float = 30.0


@dataclass(frozen=True)
class MintedToken:
    """An installation token the fake issued, and when (by the fake's clock)."""

    token: str
    installation_id: int
    at: float
    expires_at: float


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int
    counted: bool
    if_none_match: bool
    at: float = 0.0  # time.monotonic() when answered
    authorization: str = ""  # the credential's kind: "token", "installation", "jwt" or "" (none or unknown)
    graphql_cost: int = 0  # the points a GraphQL query was charged (counted is about the REST budget only)
    graphql_operation: str = ""  # a GraphQL query's operation name ("" when it has none)


class FakeGitHub:
    """Start with ``with FakeGitHub() as gh:``; ``gh.base_url`` is what GITHUB_API_URL should be."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = ("test-token",),
        latency: float = 0.0,
        rate_limit: int = 5000,
        graphql_rate_limit: int = 5000,
        prefix: str = "",
        port: int = 0,
    ) -> None:
        self.tokens = set(tokens)
        self.port = port  # 0: any free port
        # GitHub Apps: app id -> public key (PEM), installation id -> app id, issued installation tokens.
        self.apps: dict[str, bytes] = {}
        self.installations: dict[int, str] = {}
        self.minted: list[MintedToken] = []
        self.token_lifetime = 3600.0  # GitHub's installation tokens last one hour
        # Installation tokens' lifetimes run on this clock (epoch seconds); a test may make time pass faster.
        self.clock: Callable[[], float] = time.time
        self.dripped = 0  # bytes sent by drip faults
        self._stopping = threading.Event()
        self.latency = latency
        self.prefix = prefix.rstrip("/")
        self.rate_limit = rate_limit
        self.rate_remaining = rate_limit
        self.rate_reset = int(time.time()) + 3600
        # GraphQL has its own budget of points, reset at the same time here.
        self.graphql_rate_limit = graphql_rate_limit
        self.graphql_remaining = graphql_rate_limit
        self.repos: dict[str, FakeRepo] = {}
        self._repos_by_id: dict[int, FakeRepo] = {}
        self.requests: list[RequestRecord] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: list[tuple[re.Pattern[str], deque[Fault]]] = []
        self._lock = threading.RLock()
        self._repo_fragments: dict[int, bytes] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> str:
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        # A backlog large enough for many concurrent workers.
        self._server.request_queue_size = 128
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-github", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()  # ends the drips
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    # ------------------------------------------------------------------ data
    def add_repo(self, full_name: str, *, default_branch: str = "main") -> FakeRepo:
        owner, name = full_name.split("/")
        with self._lock:
            repo = FakeRepo(id=1_000_000 + len(self.repos), owner=owner, name=name, default_branch=default_branch)
            self.repos[full_name.lower()] = repo
            self._repos_by_id[repo.id] = repo
            return repo

    def repo_by_id(self, repo_id: int) -> FakeRepo | None:
        return self._repos_by_id.get(repo_id)

    def add_pull(self, full_name: str, pull: FakePull) -> FakePull:
        with self._lock:
            repo = self.repos[full_name.lower()]
            repo.pulls[pull.number] = pull
            repo.changed()
        return pull

    def update_pull(self, full_name: str, number: int, *, updated_at: datetime, **changes: Any) -> FakePull:
        """Change a PR as GitHub would: any edit moves ``updated_at`` forward."""
        with self._lock:
            repo = self.repos[full_name.lower()]
            repo.changed()
            pull = repo.pulls[number]
            for key, value in changes.items():
                setattr(pull, key, value)
            pull.updated_at = updated_at
            pull._rendered = None
            return pull

    def set_overrides(self, full_name: str, number: int, overrides: dict[str, Any]) -> None:
        """Serve a PR's raw JSON values differently without an update (a fix on GitHub's side, say)."""
        with self._lock:
            pull = self.repos[full_name.lower()].pulls[number]
            pull.overrides = overrides
            pull._rendered = None

    def add_deployment(self, full_name: str, deployment: FakeDeployment) -> FakeDeployment:
        with self._lock:
            repo = self.repos[full_name.lower()]
            repo.deployments[deployment.id] = deployment
            repo.changed()
        return deployment

    def add_deployment_status(self, full_name: str, deployment_id: int, status: FakeStatus) -> FakeStatus:
        """A new status on a deployment (which moves its updated_at, as on GitHub)."""
        with self._lock:
            repo = self.repos[full_name.lower()]
            repo.deployments[deployment_id].statuses.append(status)
            repo.changed()
        return status

    def add_workflow(self, full_name: str, workflow: str, workflow_id: int) -> None:
        """A workflow (file name and id) that may have no runs yet; add_workflow_run adds its workflow itself."""
        with self._lock:
            workflows = self.repos[full_name.lower()].workflows
            assert workflows.setdefault(workflow, workflow_id) == workflow_id, f"{workflow} has another id"

    def add_workflow_run(self, full_name: str, run: FakeWorkflowRun) -> FakeWorkflowRun:
        self.add_workflow(full_name, run.workflow, run.workflow_id)
        with self._lock:
            repo = self.repos[full_name.lower()]
            numbered = repo.run_numbers.get(run.workflow_id, 0)
            run.run_number = run.run_number or numbered + 1
            repo.run_numbers[run.workflow_id] = max(numbered, run.run_number)
            repo.workflow_runs[run.id] = run
        return run

    def add_release(self, full_name: str, release: FakeRelease) -> FakeRelease:
        with self._lock:
            self.repos[full_name.lower()].releases[release.id] = release
        return release

    def add_issue(self, full_name: str, issue: FakeIssue) -> FakeIssue:
        with self._lock:
            self.repos[full_name.lower()].issues[issue.number] = issue
        return issue

    def update_issue(self, full_name: str, number: int, *, updated_at: datetime, **changes: Any) -> FakeIssue:
        """Change an issue as GitHub would (close, reopen, relabel): any edit moves ``updated_at`` forward."""
        with self._lock:
            issue = self.repos[full_name.lower()].issues[number]
            for key, value in changes.items():
                setattr(issue, key, value)
            issue.updated_at = updated_at
            return issue

    def add_app(self, app_id: int | str, public_key_pem: bytes, installation_id: int) -> None:
        """A GitHub App (its public key) installed once, as ``installation_id``."""
        with self._lock:
            self.apps[str(app_id)] = public_key_pem
            self.installations[installation_id] = str(app_id)

    def webhook(
        self,
        event: str,
        full_name: str,
        *,
        secret: str,
        action: str | None = None,
        number: int | None = None,
        at: datetime | None = None,
        delivery: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A delivery of the organisation webhook: its headers and body, signed with ``secret`` as GitHub
        signs (HMAC-SHA256 of the body, hex, in ``X-Hub-Signature-256``; SHA-1 in the legacy header).

        ``pull_request`` carries PR ``number`` as this fake renders it (action ``closed`` by default); the
        other events' objects are dated ``at`` (default: now), with their usual default action, and
        ``fields`` over their defaults (a deployment status's ``state``, an issue's ``labels``...)."""
        with self._lock:
            repo = self.repos[full_name.lower()]
            payload: dict[str, Any] = {"action": action or _DEFAULT_ACTIONS.get(event)}
            if event == "pull_request":
                assert number is not None, "a pull_request delivery names its PR"
                payload.update(number=number, pull_request=json.loads(self.render_pull(repo, repo.pulls[number])))
            elif event in _WEBHOOK_OBJECTS:
                key, extra = _WEBHOOK_OBJECTS[event]
                stamp = iso(at or datetime.now(UTC))
                payload[key] = {"id": 4242, "node_id": f"{key}_4242", **extra, "created_at": stamp, "updated_at": stamp}
                if key == "release":
                    payload[key]["published_at"] = stamp
                if key == "workflow_run":  # a run of a push to the default branch
                    payload[key].update(head_branch=repo.default_branch, event="push")
                payload[key].update(fields or {})
            elif event == "ping":
                payload = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Organization"}}
            payload.update(repository=_repo_json(repo), organization={"login": repo.owner},
                           sender=user_json("octocat", "User", "http://github.local"))  # fmt: skip
            if event == "ping":
                del payload["repository"]
        body = json.dumps({k: v for k, v in payload.items() if v is not None}, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/7a1c9e2",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "1",
            "X-GitHub-Hook-Installation-Target-Type": "organization",
            "X-GitHub-Hook-Installation-Target-ID": "424242",
            "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        }
        return headers, body

    def inject(self, path_pattern: str, *faults: Fault) -> None:
        """The next requests whose path matches ``path_pattern`` (a regex) get these answers, in order."""
        with self._lock:
            self._faults.append((re.compile(path_pattern), deque(faults)))

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0

    def pull_requests_log(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.path.endswith("/pulls")]

    @property
    def counted_requests(self) -> int:
        """REST requests counted against the primary (core) limit."""
        return sum(1 for r in self.requests if r.counted)

    @property
    def graphql_requests(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.path == "/graphql"]

    @property
    def graphql_points(self) -> int:
        """The GraphQL points charged (GitHub's cost formula), over the requests logged."""
        return sum(r.graphql_cost for r in self.requests)

    # ------------------------------------------------------------------ serving
    def _take_fault(self, path: str, query: str) -> Fault | None:
        """A pattern matches the path, or the path with its query (``/pulls?state=all&...``)."""
        with self._lock:
            for pattern, queue in self._faults:
                if queue and (pattern.search(path) or pattern.search(f"{path}?{query}")):
                    return queue.popleft()
        return None

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _find_pull(self, path: str) -> tuple[FakeRepo, FakePull] | None:
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/pulls/(\d{1,9})", path)
        repo = self.repos.get(f"{match[1]}/{match[2]}".lower()) if match else None
        pull = repo.pulls.get(int(match[3])) if match and repo else None
        return (repo, pull) if repo and pull else None

    def _route(self, path: str) -> tuple[FakeRepo | None, str] | None:
        """A repository's path as (the repository or None if unknown, the rest of the path); GitHub's Link
        headers point at ``/repositories/{id}/...``, so both spellings lead to the same repository."""
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)", path)
        if match:
            return self.repos.get(f"{match[1]}/{match[2]}".lower()), match[3]
        match = re.fullmatch(r"/repositories/(\d{1,18})(/.*)", path)
        if match:
            return self._repos_by_id.get(int(match[1])), match[2]
        return None

    def list_pulls(self, repo: FakeRepo, query: dict[str, str]) -> list[FakePull]:
        """All the PRs a listing selects, in its order; raises BadParameter as GitHub answers 422."""
        state = fake_github_rest.choice(query, "state", ("open", "closed", "all"), "open")
        sort = fake_github_rest.choice(query, "sort", ("created", "updated", "popularity", "long-running"), "created")
        direction = fake_github_rest.choice(query, "direction", ("asc", "desc"), "desc" if sort == "created" else "asc")
        base = query.get("base")
        with self._lock:
            pulls = repo.listings.get((state, sort, direction, base))
            if pulls is None:
                pulls = repo.listings[(state, sort, direction, base)] = self._sorted(repo, state, sort, direction, base)
        return pulls

    @staticmethod
    def _sorted(repo: FakeRepo, state: str, sort: str, direction: str, base: str | None) -> list[FakePull]:
        pulls = [
            p
            for p in repo.pulls.values()
            if (state == "all" or p.state == state) and (base is None or (p.base_ref or repo.default_branch) == base)
        ]
        key = {
            "created": lambda p: (p.created_at, p.number),
            "updated": lambda p: (p.updated_at, p.number),
            "popularity": lambda p: (p.number, p.number),
            "long-running": lambda p: (-p.created_at.timestamp(), p.number),
        }[sort]
        pulls.sort(key=key, reverse=direction == "desc")
        return pulls

    def render_pull(self, repo: FakeRepo, pull: FakePull) -> bytes:
        """The item's JSON. The repository objects under head and base (most of an item's ~15 KB, as on
        GitHub) are rendered once per repository and spliced in, so serving stays cheap at scale."""
        with self._lock:
            if pull._rendered is None:
                pull._rendered = _dumps(_pull_json(self, repo, pull))
            fragment = self._repo_fragments.get(repo.id)
            if fragment is None:
                fragment = self._repo_fragments[repo.id] = _dumps(_repo_json(repo))
        own = pull._rendered
        # own ends with '"head":{...},"base":{...}}' whose repo values are placeholders (null).
        return own.replace(b'"repo":null', b'"repo":' + fragment)

    def api_origin(self, host_header: str | None) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host_header or f'{host!s}:{port}'}"


def _pull_json(fake: FakeGitHub, repo: FakeRepo, pull: FakePull) -> dict[str, Any]:
    """A pull-request-simple object: GitHub's example with this PR's facts written in."""
    template = TEMPLATES["pull_request_simple"]
    origin = "http://github.local"
    api = f"{origin}/repos/{repo.full_name}"
    item: dict[str, Any] = {k: v for k, v in template.items() if k not in ("head", "base", "user")}
    item.update(
        url=f"{api}/pulls/{pull.number}",
        id=pull_id(repo, pull.number),
        node_id=f"PR_{repo.id}_{pull.number}",
        html_url=f"https://github.com/{repo.full_name}/pull/{pull.number}",
        number=pull.number,
        state=pull.state,
        title=pull.title,
        user=user_json(pull.user, pull.user_type, origin),
        body=pull.body,
        labels=[],
        milestone=None,
        assignee=None,
        assignees=[],
        requested_reviewers=[],
        requested_teams=[],
        created_at=iso(pull.created_at),
        updated_at=iso(pull.updated_at),
        closed_at=iso(pull.closed_at),
        merged_at=iso(pull.merged_at),
        merge_commit_sha=None
        if pull.merged_at is None
        else hashlib.sha1(f"{repo.id}{pull.number}".encode()).hexdigest(),
        draft=pull.draft,
        author_association="MEMBER" if pull.user else "NONE",
    )
    ref = pull.base_ref or repo.default_branch
    # The repository objects are spliced in by render_pull (the same bytes for every PR of a repository).
    item["base"] = dict(template["base"], ref=ref, label=f"{repo.owner}:{ref}", repo=None)
    item["head"] = dict(template["head"], ref=f"feature-{pull.number}", label=f"{repo.owner}:feature-{pull.number}",
                        repo=None)  # fmt: skip
    item.update(pull.overrides)
    return item


def _repo_json(repo: FakeRepo) -> dict[str, Any]:
    base_repo = dict(TEMPLATES["pull_request_simple"]["base"]["repo"], id=repo.id, name=repo.name)
    base_repo.update(full_name=repo.full_name, default_branch=repo.default_branch)
    base_repo["url"] = f"http://github.local/repos/{repo.full_name}"
    return base_repo


@dataclass(frozen=True)
class _Listing:
    """Everything a listing selects, in order, and how one item is written; ``envelope`` names the array in an
    object that also carries ``total_count`` (workflow runs)."""

    items: list[Any]
    render: Callable[[Any], bytes]
    envelope: str | None = None


def _listing(fake: FakeGitHub, repo: FakeRepo, rest: str, query: dict[str, str]) -> _Listing | None:
    """The listing a repository path asks for, or None where GitHub answers 404; raises BadParameter (422)."""
    rest_api = fake_github_rest
    with fake._lock:
        if rest == "/pulls":
            return _Listing(fake.list_pulls(repo, query), lambda pull: fake.render_pull(repo, pull))
        if rest == "/releases":
            return _Listing(rest_api.releases(repo), lambda release: _dumps(rest_api.release_json(repo, release)))
        if rest == "/issues":
            return _Listing(rest_api.issues(repo, query), lambda issue: _dumps(rest_api.issue_json(repo, issue)))
        if rest == "/deployments":
            return _Listing(rest_api.deployments(repo, query), lambda d: _dumps(rest_api.deployment_json(repo, d)))
        match = re.fullmatch(r"/deployments/(\d{1,18})/statuses", rest)
        if match:
            deployment = repo.deployments.get(int(match[1]))
            if deployment is None:
                return None
            statuses = rest_api.statuses_newest_first(deployment)
            return _Listing(statuses, lambda pair: _dumps(rest_api.deployment_status_json(repo, deployment, *pair)))
        match = re.fullmatch(r"/actions/workflows/([^/]+)/runs", rest)
        workflow_id = _workflow_id(repo, match[1]) if match else None
        if workflow_id is not None:
            runs = rest_api.workflow_runs(repo, workflow_id, query)
            return _Listing(runs, lambda run: _dumps(rest_api.workflow_run_json(repo, run)), "workflow_runs")
    return None


def _workflow_id(repo: FakeRepo, name_or_id: str) -> int | None:
    """GitHub takes a workflow's id or its file name."""
    if name_or_id.isdigit():
        return int(name_or_id) if int(name_or_id) in repo.workflows.values() else None
    return repo.workflows.get(name_or_id)


_JWT_UNDECODABLE = "A JSON web token could not be decoded"
_JWT_MAX_LIFETIME = 600  # GitHub: exp at most 10 minutes after the request


def _verified_app(fake: FakeGitHub, token: str) -> tuple[str | None, str]:
    """The App a JWT authenticates (RS256, signed with its key, unexpired, exp within 10 minutes), or why not."""
    try:
        claimed = jwt.decode(token, options={"verify_signature": False})
        app_id = str(claimed.get("iss", ""))
        public_key = fake.apps.get(app_id)
        if public_key is None or jwt.get_unverified_header(token).get("alg") != "RS256":
            return None, _JWT_UNDECODABLE
        claims = jwt.decode(token, public_key, algorithms=["RS256"], options={"require": ["exp", "iat", "iss"]})
    except jwt.ExpiredSignatureError:
        return None, "'Expiration time' claim ('exp') must be a numeric value representing the future time"
    except (jwt.PyJWTError, ValueError, TypeError):
        return None, _JWT_UNDECODABLE
    if claims["exp"] > time.time() + _JWT_MAX_LIFETIME:
        return None, "'Expiration time' claim ('exp') is too far in the future"
    return app_id, ""


_OPERATION = re.compile(r"\s*(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")


def _operation_name(body: bytes) -> str:
    """The operation a GraphQL request runs, for the request log: its ``operationName``, else the name its
    query's first operation is given; "" for none (or a body that is no request)."""
    try:
        request = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(request, dict):
        return ""
    named = request.get("operationName")
    if isinstance(named, str):
        return named
    match = _OPERATION.match(request["query"]) if isinstance(request.get("query"), str) else None
    return match[1] if match else ""


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    credential = ""  # the kind of credential the current request carries
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it  # quiet: tests read fake.requests instead
        return

    def do_GET(self) -> None:
        fake = self.fake
        self.credential = ""
        fake._enter()
        try:
            self._serve(fake)
        finally:
            fake._leave()

    def _serve(self, fake: FakeGitHub) -> None:
        if fake.latency:
            time.sleep(fake.latency)  # a round trip to GitHub, not synchronisation
        parts = urlsplit(self.path)
        path = parts.path
        if fake.prefix:
            if not path.startswith(fake.prefix + "/"):
                return self._send_json(404, {"message": "Not Found"}, path, {}, counted=False)
            path = path[len(fake.prefix) :]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not self._authorized(fake):
            return self._send_json(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
                path,
                query,
                counted=False,
            )
        fault = fake._take_fault(path, parts.query)
        if fault is not None:
            return self._send_fault(fault, path, query)
        if path == "/rate_limit":
            return self._send_json(200, self._rate_limit_body(fake), path, query, counted=False)
        single = fake._find_pull(path)
        if single is not None:
            # The single-PR endpoint answers a superset of a list item: the same fields are enough here.
            return self._send(200, fake.render_pull(*single), path, query, {}, counted=True)
        repo, rest = fake._route(path) or (None, "")
        if repo is None:
            return self._send_json(404, {"message": "Not Found", "status": "404"}, path, query, counted=True)
        if fake.rate_remaining <= 0:
            return self._send_json(
                403,
                {
                    "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support "
                    "for help, please include the request ID.",
                    "status": "403",
                },
                path,
                query,
                counted=False,
            )
        try:
            listing = _listing(fake, repo, rest, query)
            if listing is None:
                return self._send_json(404, {"message": "Not Found", "status": "404"}, path, query, counted=True)
            page, per_page = fake_github_rest.page_params(query)
        except BadParameter as bad:
            return self._send_json(422, {"message": "Validation Failed", "errors": [{"field": str(bad)}]}, path,
                                   query, True)  # fmt: skip
        self._send_listing(fake, repo, rest, path, query, listing, page, per_page)

    def _authorized(self, fake: FakeGitHub) -> bool:
        self.credential = self._credential(fake)  # judged on arrival, as GitHub does
        return self.credential in ("token", "installation")

    def _credential(self, fake: FakeGitHub) -> str:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token:
            return ""
        if token in fake.tokens:
            return "token"
        with fake._lock:
            minted = next((m for m in reversed(fake.minted) if m.token == token), None)
        if minted is not None and fake.clock() < minted.expires_at:
            return "installation"
        return "jwt" if token.count(".") == 2 else ""

    # ------------------------------------------------------------------ GitHub Apps
    def do_POST(self) -> None:
        fake = self.fake
        fake._enter()
        try:
            if fake.latency:
                time.sleep(fake.latency)  # a round trip to GitHub, not synchronisation
            length = self.headers.get("Content-Length", "0")
            body = self.rfile.read(int(length) if length.isdigit() else 0)
            path = urlsplit(self.path).path
            # GitHub Enterprise Server answers REST under /api/v3 and GraphQL at /api/graphql.
            if path == fake.prefix.removesuffix("/v3") + "/graphql":
                return self._graphql(fake, body, "/graphql")
            if fake.prefix:
                path = path[len(fake.prefix) :] if path.startswith(fake.prefix + "/") else ""
            match = re.fullmatch(r"/app/installations/(\d{1,18})/access_tokens", path)
            fault = fake._take_fault(path, "")
            if fault is not None:
                return self._send_fault(fault, path, {})
            if match is None:
                return self._send_json(404, {"message": "Not Found", "status": "404"}, path, {}, counted=False)
            self._mint(fake, int(match[1]), path)
        finally:
            fake._leave()

    def _graphql(self, fake: FakeGitHub, body: bytes, path: str) -> None:
        if not self._authorized(fake):
            payload = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/graphql",
                       "status": "401"}  # fmt: skip
            return self._send_json(401, payload, path, {}, counted=False, resource="graphql")
        fault = fake._take_fault(path, "")
        if fault is not None:
            return self._send_fault(fault, path, {})
        with fake._lock:
            answer = fake_github_graphql.answer(fake, body)
        self._send(answer.status, _dumps(answer.payload), path, {}, {}, counted=False, resource="graphql",
                   graphql_cost=answer.cost, graphql_operation=_operation_name(body))  # fmt: skip

    def _mint(self, fake: FakeGitHub, installation_id: int, path: str) -> None:
        """GitHub's checks of an App's JWT, then a new installation token."""
        self.credential = self._credential(fake)
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        app_id, problem = _verified_app(fake, token) if scheme.lower() == "bearer" else (None, _JWT_UNDECODABLE)
        if app_id is None:
            payload = {"message": problem, "documentation_url": "https://docs.github.com/rest", "status": "401"}
            return self._send_json(401, payload, path, {}, counted=False)
        if fake.installations.get(installation_id) != app_id:
            return self._send_json(404, {"message": "Not Found", "status": "404"}, path, {}, counted=False)
        now = fake.clock()
        minted = MintedToken("ghs_" + secrets.token_urlsafe(27), installation_id, now, now + fake.token_lifetime)
        with fake._lock:
            fake.minted.append(minted)
        expires = iso(datetime.fromtimestamp(minted.expires_at, UTC))
        permissions = {"metadata": "read", "pull_requests": "read"}
        body = {"token": minted.token, "expires_at": expires, "permissions": permissions, "repository_selection": "all"}
        self._send_json(201, body, path, {}, counted=False)

    def _send_listing(
        self, fake: FakeGitHub, repo: FakeRepo, rest: str, path: str, query: dict[str, str], listing: _Listing,
        page: int, per_page: int,
    ) -> None:  # fmt: skip
        last = max(1, -(-len(listing.items) // per_page))
        shown = min(page, last) if repo.endless_links else page
        chunk = listing.items[(shown - 1) * per_page : shown * per_page]
        body = b"[" + b",".join(listing.render(item) for item in chunk) + b"]"
        if listing.envelope is not None:
            body = b'{"total_count":%d,"%s":%s}' % (len(listing.items), listing.envelope.encode(), body)
        etag = 'W/"' + hashlib.sha256(body).hexdigest() + '"'
        headers = {"ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60"}
        links = self._links(fake, repo, rest, query, page, last)
        if links:
            headers["Link"] = links
        if self.headers.get("If-None-Match") == etag:
            # A conditional request answered 304 does not count against the primary limit.
            return self._send(304, b"", path, query, headers, counted=False)
        self._send(200, body, path, query, headers, counted=True)

    def _links(self, fake: FakeGitHub, repo: FakeRepo, rest: str, query: dict[str, str], page: int, last: int) -> str:
        base = f"{fake.api_origin(self.headers.get('Host'))}{fake.prefix}/repositories/{repo.id}{rest}"

        def url(n: int) -> str:
            return f"{base}?{urlencode({**query, 'page': str(n)})}"

        rels = []
        if page > 1:
            rels += [f'<{url(page - 1)}>; rel="prev"']
        if page < last or repo.endless_links:
            rels += [f'<{url(page + 1)}>; rel="next"']
            rels += [] if repo.omit_last_link else [f'<{url(last)}>; rel="last"']
        if page > 1:
            rels += [f'<{url(1)}>; rel="first"']
        return ", ".join(rels)

    def _rate_limit_body(self, fake: FakeGitHub) -> dict[str, Any]:
        body = copy.deepcopy(_RATE_LIMIT_EXAMPLE)
        core = {"limit": fake.rate_limit, "remaining": fake.rate_remaining,
                "reset": fake.rate_reset, "used": fake.rate_limit - fake.rate_remaining}  # fmt: skip
        body["resources"]["core"] = core
        body["rate"] = core
        used = fake.graphql_rate_limit - fake.graphql_remaining
        graphql = {"limit": fake.graphql_rate_limit, "remaining": fake.graphql_remaining,
                   "reset": fake.rate_reset, "used": used}  # fmt: skip
        body["resources"]["graphql"] = graphql
        return body

    def _send_fault(self, fault: Fault, path: str, query: dict[str, str]) -> None:
        if fault.reset:
            self._record(path, query, 0, counted=False)
            self.close_connection = True
            self.connection.close()
            return
        if fault.drip:
            return self._drip(fault, path, query)
        if fault.body is not None:
            return self._send(fault.status, fault.body, path, query, dict(fault.headers), counted=True)
        self._send_json(fault.status, {"message": fault.message}, path, query, counted=False, extra=dict(fault.headers))

    def _drip(self, fault: Fault, path: str, query: dict[str, str]) -> None:
        """Headers promising a large body, then a byte at a time until the client leaves or the fake stops."""
        self._record(path, query, fault.status, counted=True)
        self.send_response(fault.status)
        for name, value in (("Content-Type", "application/json"), ("Content-Length", "100000000"), *fault.headers):
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        until = time.monotonic() + fault.drip_for
        try:
            self.wfile.write(b"[")
            # The server's pace, not synchronisation: a byte every drip_every seconds.
            while not self.fake._stopping.wait(min(fault.drip_every, max(until - time.monotonic(), 0))):
                if time.monotonic() >= until:
                    return
                self.wfile.write(b" ")
                self.wfile.flush()
                with self.fake._lock:
                    self.fake.dripped += 1
        except OSError:
            return  # the client gave up: what the fault is for

    def _send_json(
        self, status: int, payload: Any, path: str, query: dict[str, str], counted: bool,
        extra: dict[str, str] | None = None, resource: str = "core",
    ) -> None:  # fmt: skip
        self._send(status, json.dumps(payload).encode(), path, query, extra or {}, counted=counted, resource=resource)

    def _send(
        self,
        status: int,
        body: bytes,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        counted: bool,
        resource: str = "core",
        graphql_cost: int = 0,
        graphql_operation: str = "",
    ) -> None:
        fake = self.fake
        with fake._lock:
            if counted:
                fake.rate_remaining = max(fake.rate_remaining - 1, 0)
            limit, remaining = (
                (fake.graphql_rate_limit, fake.graphql_remaining)
                if resource == "graphql"
                else (fake.rate_limit, fake.rate_remaining)
            )
            rate = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Used": str(limit - remaining),
                "X-RateLimit-Reset": str(fake.rate_reset),
                "X-RateLimit-Resource": resource,
            }
        self._record(path, query, status, counted=counted, graphql_cost=graphql_cost,
                     graphql_operation=graphql_operation)  # fmt: skip
        self.send_response(status)
        for name, value in {**rate, **headers}.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def _record(self, path: str, query: dict[str, str], status: int, counted: bool, graphql_cost: int = 0,
                graphql_operation: str = "") -> None:  # fmt: skip
        record = RequestRecord(self.command, path, query, status, counted, "If-None-Match" in self.headers,
                               time.monotonic(), getattr(self, "credential", ""), graphql_cost,
                               graphql_operation)  # fmt: skip
        with self.fake._lock:
            self.fake.requests.append(record)
