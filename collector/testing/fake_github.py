"""A local HTTP server that answers like GitHub's REST API for what the collector uses.

It ships inside the package (not only under tests/) because ``dora-collector demo`` and the
benchmark serve a sample organisation from it; the test suite drives it too. Faithful where it
matters for correctness and cost:

- ``GET /repos/{owner}/{repo}/pulls`` with ``state``, ``sort``, ``direction`` (default desc only for
  ``created``), ``base``, ``per_page`` (capped at 100, default 30) and ``page``; answers are full
  ``pull-request-simple`` objects built from GitHub's own example; ``user`` may be null.
- Paging through ``Link`` (``next``/``last``/``first``/``prev``), pointing, as GitHub does, at
  ``/repositories/{id}/pulls`` with every query parameter kept.
- ``ETag`` on every 200 and ``If-None-Match`` answered with ``304``, which is not counted against
  the primary rate limit. Rate-limit headers on every answer; ``GET /rate_limit`` is free.
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
import functools
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

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_TEMPLATES: dict[str, Any] = json.loads(
    resources.files("collector.testing").joinpath("data/templates.json").read_text(encoding="utf-8")
)
_RATE_LIMIT_EXAMPLE: dict[str, Any] = json.loads(
    resources.files("collector.testing").joinpath("data/rate-limit.example-200.json").read_text(encoding="utf-8")
)
GHOST_LOGIN = "ghost"
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


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    # Raw JSON values written over the rendered item: hostile data GitHub might send (tests only).
    overrides: dict[str, Any] = field(default_factory=dict)
    _rendered: bytes | None = field(default=None, repr=False, compare=False)


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

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


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


class FakeGitHub:
    """Start with ``with FakeGitHub() as gh:``; ``gh.base_url`` is what GITHUB_API_URL should be."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = ("test-token",),
        latency: float = 0.0,
        rate_limit: int = 5000,
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
        self.repos: dict[str, FakeRepo] = {}
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
            return repo

    def add_pull(self, full_name: str, pull: FakePull) -> FakePull:
        with self._lock:
            repo = self.repos[full_name.lower()]
            repo.pulls[pull.number] = pull
            repo.listings.clear()
        return pull

    def update_pull(self, full_name: str, number: int, *, updated_at: datetime, **changes: Any) -> FakePull:
        """Change a PR as GitHub would: any edit moves ``updated_at`` forward."""
        with self._lock:
            repo = self.repos[full_name.lower()]
            repo.listings.clear()
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
    ) -> tuple[dict[str, str], bytes]:
        """A delivery of the organisation webhook: its headers and body, signed with ``secret`` as GitHub
        signs (HMAC-SHA256 of the body, hex, in ``X-Hub-Signature-256``; SHA-1 in the legacy header).

        ``pull_request`` carries PR ``number`` as this fake renders it (action ``closed`` by default); the
        other events' objects are dated ``at`` (default: now), with their usual default action."""
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
            elif event == "ping":
                payload = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Organization"}}
            payload.update(repository=_repo_json(repo), organization={"login": repo.owner},
                           sender=_user_json("octocat", "User", "http://github.local"))  # fmt: skip
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
        return sum(1 for r in self.requests if r.counted)

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

    def _find_repo(self, path: str) -> FakeRepo | None:
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/pulls", path)
        if match:
            return self.repos.get(f"{match[1]}/{match[2]}".lower())
        match = re.fullmatch(r"/repositories/(\d+)/pulls", path)
        if match:
            return next((r for r in self.repos.values() if r.id == int(match[1])), None)
        return None

    def list_pulls(self, repo: FakeRepo, query: dict[str, str]) -> tuple[list[FakePull], int, int, int] | str:
        """The PRs of one page, the page number, per_page and the last page; or a validation error."""
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            return "state"
        sort = query.get("sort", "created")
        if sort not in ("created", "updated", "popularity", "long-running"):
            return "sort"
        direction = query.get("direction", "desc" if sort == "created" else "asc")
        if direction not in ("asc", "desc"):
            return "direction"
        try:
            per_page = min(max(int(query.get("per_page", "30")), 1), 100)
            page = max(int(query.get("page", "1")), 1)
        except ValueError:
            return "per_page"
        base = query.get("base")
        with self._lock:
            pulls = repo.listings.get((state, sort, direction, base))
            if pulls is None:
                pulls = repo.listings[(state, sort, direction, base)] = self._sorted(repo, state, sort, direction, base)
        last = max(1, -(-len(pulls) // per_page))
        shown = min(page, last) if repo.endless_links else page
        return pulls[(shown - 1) * per_page : shown * per_page], page, per_page, last

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


@functools.lru_cache(maxsize=4096)
def _user_json_cached(login: str, user_type: str, origin: str) -> str:
    return json.dumps(_user_json_uncached(login, user_type, origin))


def _user_json(login: str | None, user_type: str, origin: str) -> dict[str, Any] | None:
    if login is None:
        return None
    value: dict[str, Any] = json.loads(_user_json_cached(login, user_type, origin))
    return value


def _user_json_uncached(login: str, user_type: str, origin: str) -> dict[str, Any]:
    if user_type == "Bot":
        user = copy.deepcopy(_TEMPLATES["bot_user"])
    else:
        user = copy.deepcopy(_TEMPLATES["pull_request_simple"]["user"])
    uid = int(hashlib.sha256(login.lower().encode()).hexdigest()[:7], 16)
    for key, value in list(user.items()):
        if isinstance(value, str):
            user[key] = re.sub(r"https://api\.github\.com/users/[^/{]+", f"{origin}/users/{login}", value)
    user.update(login=login, id=10137 if login == GHOST_LOGIN else uid, type=user_type)
    user["html_url"] = f"https://github.com/{login}"
    return user


def _pull_json(fake: FakeGitHub, repo: FakeRepo, pull: FakePull) -> dict[str, Any]:
    """A pull-request-simple object: GitHub's example with this PR's facts written in."""
    template = _TEMPLATES["pull_request_simple"]
    origin = "http://github.local"
    api = f"{origin}/repos/{repo.full_name}"
    item: dict[str, Any] = {k: v for k, v in template.items() if k not in ("head", "base", "user")}
    item.update(
        url=f"{api}/pulls/{pull.number}",
        id=repo.id * 100_000 + pull.number,
        node_id=f"PR_{repo.id}_{pull.number}",
        html_url=f"https://github.com/{repo.full_name}/pull/{pull.number}",
        number=pull.number,
        state=pull.state,
        title=pull.title,
        user=_user_json(pull.user, pull.user_type, origin),
        body=None,
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
    base_repo = dict(_TEMPLATES["pull_request_simple"]["base"]["repo"], id=repo.id, name=repo.name)
    base_repo.update(full_name=repo.full_name, default_branch=repo.default_branch)
    base_repo["url"] = f"http://github.local/repos/{repo.full_name}"
    return base_repo


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
        repo = fake._find_repo(path)
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
        listed = fake.list_pulls(repo, query)
        if isinstance(listed, str):
            return self._send_json(
                422, {"message": "Validation Failed", "errors": [{"field": listed}]}, path, query, True
            )
        self._send_pulls(fake, repo, path, query, *listed)

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
            self.rfile.read(int(length) if length.isdigit() else 0)
            path = urlsplit(self.path).path
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

    def _send_pulls(
        self, fake: FakeGitHub, repo: FakeRepo, path: str, query: dict[str, str],
        pulls: list[FakePull], page: int, per_page: int, last: int,
    ) -> None:  # fmt: skip
        body = b"[" + b",".join(fake.render_pull(repo, p) for p in pulls) + b"]"
        etag = 'W/"' + hashlib.sha256(body).hexdigest() + '"'
        headers = {"ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60"}
        links = self._links(fake, repo, query, page, last)
        if links:
            headers["Link"] = links
        if self.headers.get("If-None-Match") == etag:
            # A conditional request answered 304 does not count against the primary limit.
            return self._send(304, b"", path, query, headers, counted=False)
        self._send(200, body, path, query, headers, counted=True)

    def _links(self, fake: FakeGitHub, repo: FakeRepo, query: dict[str, str], page: int, last: int) -> str:
        base = f"{fake.api_origin(self.headers.get('Host'))}{fake.prefix}/repositories/{repo.id}/pulls"

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
        extra: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self._send(status, json.dumps(payload).encode(), path, query, extra or {}, counted=counted)

    def _send(
        self,
        status: int,
        body: bytes,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        counted: bool,
    ) -> None:
        fake = self.fake
        with fake._lock:
            if counted:
                fake.rate_remaining = max(fake.rate_remaining - 1, 0)
            rate = {
                "X-RateLimit-Limit": str(fake.rate_limit),
                "X-RateLimit-Remaining": str(fake.rate_remaining),
                "X-RateLimit-Used": str(fake.rate_limit - fake.rate_remaining),
                "X-RateLimit-Reset": str(fake.rate_reset),
                "X-RateLimit-Resource": "core",
            }
        self._record(path, query, status, counted=counted)
        self.send_response(status)
        for name, value in {**rate, **headers}.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def _record(self, path: str, query: dict[str, str], status: int, counted: bool) -> None:
        record = RequestRecord(self.command, path, query, status, counted, "If-None-Match" in self.headers,
                               time.monotonic(), getattr(self, "credential", ""))  # fmt: skip
        with self.fake._lock:
            self.fake.requests.append(record)
