"""GitHub's REST API: one HTTP session per worker thread, every request counted, bounded in total time,
every wait bounded.

Requests go out through ``requests`` directly, with PyGithub's credentials (``github.Auth``: a token, or a
GitHub App's JWT), not through PyGithub's ``Requester.requestJson``: its timeout is per socket read, so an
answer that drips a byte a second never ends; it answers a GET's 202 by sleeping 2 s and asking again
without bound; and it follows redirects by its own rules. Here a request ends after ``timeout`` seconds in
all (never past the run's deadline), a 202 is a transient failure, and a redirect is followed only on
GITHUB_API_URL's own origin: the token goes nowhere else. Each request goes through a tenacity policy that
knows the run's deadline; PyGithub's urllib3 retry (5xx ten times without a pause) is not used.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import re
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from github import Auth
from github.Requester import Requester
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_any
from tenacity.stop import stop_base

from collector.deadline import Deadline
from collector.errors import TERMINAL_CONTROLS, GitHubAuthError, GitHubUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from collector.config import Settings

log = logging.getLogger(__name__)
_T = TypeVar("_T")

USER_AGENT = "dora-collector"
MAX_REDIRECTS = 3
# A page of 100 list items is 1.5 MB, 8 MB if every description is at GitHub's 65,536-character limit.
MAX_BODY_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
# An installation token lasts an hour; it is minted again this long before it expires (at most half its
# life), so clock skew and a request in flight never meet an expired token.
TOKEN_REFRESH_MARGIN = 60.0
_TOKEN = re.compile(r"[A-Za-z0-9_.~+/=-]{8,1024}")
# What can go wrong while an answer's body is read: the connection drops, TLS fails, the framing is broken.
_BODY_ERRORS = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str  # decoded by the caller, which knows what it expects (fetch.decode_page)


class _Budget:
    """One rate-limit resource's budget as GitHub's answers tell it (``core`` for REST, ``graphql``)."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset = -1  # epoch seconds

    def record(self, headers: dict[str, str]) -> None:
        """The budget only falls within a rate-limit window, but concurrent answers are recorded in any
        order: keep the lowest figure of the newest window."""
        limit = _seconds(headers.get("x-ratelimit-limit"))
        if limit is not None:
            self.limit = limit
        left, window = _seconds(headers.get("x-ratelimit-remaining")), _seconds(headers.get("x-ratelimit-reset"))
        if left is None:
            return
        window = self.reset if window is None else window
        if window > self.reset or self.remaining is None:
            self.reset, self.remaining = window, left
        elif window == self.reset:
            self.remaining = min(self.remaining, left)

    def spent(self, reserve: float) -> bool:
        if self.remaining is None or self.limit is None:
            return False
        return self.remaining <= math.floor(self.limit * reserve)


class RequestStats:
    """Counters shared by all worker threads of one run, and GitHub's rate-limit budgets as last seen.

    REST requests and GraphQL queries are counted apart: GitHub keeps a separate budget for each
    (``X-RateLimit-Resource``: ``core`` or ``graphql``), and a query costs points (its ``rateLimit.cost``),
    not one request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0  # REST requests, 304s included
        self.not_modified = 0
        self.retries = 0
        self.graphql_requests = 0
        self.graphql_points = 0
        self._core = _Budget()
        self._graphql = _Budget()

    @property
    def rate_limit(self) -> int | None:
        return self._core.limit

    @property
    def rate_limit_remaining(self) -> int | None:
        return self._core.remaining

    @property
    def rate_limit_reset(self) -> datetime | None:
        """When GitHub's current REST rate-limit window ends, as its last answer said."""
        return _epoch(self._core.reset)

    @property
    def graphql_remaining(self) -> int | None:
        return self._graphql.remaining

    @property
    def graphql_reset(self) -> datetime | None:
        return _epoch(self._graphql.reset)

    def record(self, status: int, headers: dict[str, str], *, graphql: bool = False) -> None:
        """One answer: counted as a REST request or a GraphQL query, its rate-limit headers in their budget."""
        with self._lock:
            if graphql:
                self.graphql_requests += 1
            else:
                self.requests += 1
                if status == 304:
                    self.not_modified += 1
            resource = headers.get("x-ratelimit-resource") or ("graphql" if graphql else "core")
            if resource in ("core", "graphql"):
                (self._graphql if resource == "graphql" else self._core).record(headers)

    def record_points(self, points: int) -> None:
        with self._lock:
            self.graphql_points += points

    def budget_spent(self, reserve: float, *, graphql: bool = False) -> bool:
        """True when what is left of the hour's budget is the share kept for other tools of the token."""
        with self._lock:
            return (self._graphql if graphql else self._core).spent(reserve)

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1


def _epoch(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if 0 < seconds < 2**33 else None


class RunMustStop(Exception):
    """Going on would outlast the run or spend the token's reserve: stop cleanly, the next run resumes."""


class DeadlineReached(RunMustStop):
    """Waiting any longer would outlast the run."""


class BudgetSpent(RunMustStop):
    """GitHub's primary rate limit is spent down to the reserve (or out): wait for ``reset``."""

    def __init__(self, reason: str, reset: datetime | None) -> None:
        super().__init__(reason)
        self.reset = reset


class RequestRateLimiter:
    """At most ``per_minute`` requests in any 60-second window, across all worker threads.

    GitHub's secondary limit for REST is 900 points a minute (a GET is one point); tripping it costs a
    403 and a wait of a minute or more, so the collector paces itself just under it instead.
    """

    WINDOW = 60.0

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, deadline: Deadline, margin: float, sleep: Callable[[float], None]) -> None:
        """Wait for a slot in the window; stop instead when the wait would outlast the run."""
        if self.per_minute <= 0:
            return
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.WINDOW:
                    self._sent.popleft()
                if len(self._sent) < self.per_minute:
                    self._sent.append(now)
                    return
                wait = self._sent[0] + self.WINDOW - now
            if wait > deadline.remaining() - margin:
                raise DeadlineReached("the per-minute request pace would outlast the run")
            sleep(wait)


class TransientGitHubError(Exception):
    """A failure worth retrying; ``wait`` is the pause GitHub asked for, if it did."""

    def __init__(
        self, reason: str, wait: float | None = None, *, unreachable: bool = False, timeout: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.unreachable = unreachable
        self.timeout = timeout


class GitHubRequestError(Exception):
    """A failure not worth retrying (or retries ran out); the message is safe to show."""


class GitHubTimeoutError(GitHubRequestError):
    """GitHub kept answering 502/504: it ends requests that run past 10 s. A smaller page may pass."""


class GraphQLPartialError(GitHubRequestError):
    """A batched query answered, but some aliases failed: ``failed`` says why for each top-level alias,
    ``data`` holds the others' answers (a failed alias is null or missing)."""

    def __init__(self, data: dict[str, Any], failed: dict[str, str]) -> None:
        shown = "; ".join(f"{alias}: {why}" for alias, why in sorted(failed.items())[:3])
        super().__init__(f"GitHub refused part of a GraphQL query ({shown})")
        self.data = data
        self.failed = failed


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff: float = 1.0  # first pause; doubles each time
    max_backoff: float = 30.0
    secondary_default_wait: float = 60.0  # GitHub: "wait at least one minute" without Retry-After
    # The longest wait GitHub can ask of us (Retry-After), CLI included: past it the run ends partial.
    max_wait: float = 300.0
    deadline_margin: float = 5.0  # never sleep into the last seconds of the run


@dataclass(frozen=True)
class GitHubApp:
    """A GitHub App installation's credentials: the collector mints its own installation tokens."""

    app_id: str  # the App's ID (or client ID): the JWT's issuer
    installation_id: int
    private_key: str = field(repr=False)  # PEM, RSA


@dataclass(frozen=True)
class _TimeLimit:
    """When one request must be over: ``timeout`` seconds after it starts, or the run's end if sooner."""

    end: float  # time.monotonic()
    seconds: float
    by_run: bool  # the run's deadline, not the timeout, set the end

    def left(self) -> float:
        return self.end - time.monotonic()

    def exceeded(self) -> Exception:
        if self.by_run:
            return DeadlineReached("the run's time is up: a request to GitHub was cut short")
        return TransientGitHubError(f"GitHub's answer took longer than {self.seconds:g} s in all", timeout=True)


class InstallationTokens(Auth.Auth):
    """A GitHub App installation's token, shared by every worker thread of a run, minted again before it expires.

    PyGithub's ``AppInstallationAuth`` refreshes itself too, but without a lock: against the fake, eight
    threads sharing one minted six to eight tokens at each expiry. It also mints through PyGithub's own
    requester, whose timeout is per read. Here one lock: the first thread to find the token stale mints (a
    request like any other: a total time limit, no redirect), the others wait and send the same token. The
    JWT that asks for it is PyGithub's (``Auth.AppAuth``: RS256, issued 60 s back, valid 5 minutes).
    """

    def __init__(self, app: GitHubApp, mint: Callable[[str], tuple[str, float]], clock: Callable[[], float]) -> None:
        self.app_id = app.app_id
        self.installation_id = app.installation_id
        self._app_auth = Auth.AppAuth(app.app_id, app.private_key)
        self._mint = mint  # JWT in, (token, expiry in epoch seconds) out
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = -math.inf
        self.issued: list[str] = []  # every token this run was given: redacted from anything shown

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                now = self._clock()
                token, expires_at = self._mint(self._jwt())
                if expires_at <= now:
                    raise GitHubAuthError(
                        "GitHub's installation token has already expired by this machine's clock: check the clock"
                    )
                life = min(expires_at - now, 3600.0)  # GitHub's tokens last an hour, whatever an answer says
                self._token, self._renew_at = token, now + life - min(TOKEN_REFRESH_MARGIN, life / 2)
                self.issued.append(token)
            return self._token

    def _jwt(self) -> str:
        try:
            return self._app_auth.create_jwt()
        except Exception:  # the key's own text never goes into a message
            raise GitHubAuthError("cannot sign the GitHub App's JWT with GITHUB_APP_PRIVATE_KEY") from None

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"


class GitHubClientFactory:
    """Builds one ``GitHubClient`` (its own HTTP session) per thread; every client shares one credential."""

    def __init__(
        self,
        *,
        token: str | None = None,
        app: GitHubApp | None = None,
        base_url: str,
        deadline: Deadline | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        max_requests_per_minute: int = 0,
        rate_limit_reserve: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (token is None) == (app is None):
            raise ValueError("GitHubClientFactory needs a token or a GitHub App, not both or neither")
        self._token = token
        self.installation_tokens = InstallationTokens(app, self._mint, clock) if app is not None else None
        self.auth: Auth.Auth = self.installation_tokens if self.installation_tokens else Auth.Token(str(token))
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self.deadline = deadline or Deadline()
        self.policy = policy or RetryPolicy()
        self.stats = RequestStats()
        self.limiter = RequestRateLimiter(max_requests_per_minute)
        self.rate_limit_reserve = rate_limit_reserve
        self.timeout = timeout  # one request's whole time, answer included, not one socket read's
        self.sleep = sleep
        self._local = threading.local()

    @classmethod
    def from_settings(cls, settings: Settings, *, deadline: Deadline | None = None) -> GitHubClientFactory:
        app = None
        if settings.github_app_id is not None:
            installation, key = settings.github_app_installation_id, settings.github_app_private_key
            assert installation is not None and key is not None, "load_settings checks the App's settings together"
            app = GitHubApp(settings.github_app_id, installation, key)
        return cls(
            token=settings.github_token,
            app=app,
            base_url=settings.github_api_url,
            deadline=deadline,
            max_requests_per_minute=settings.requests_per_minute_share,
            rate_limit_reserve=settings.github_rate_limit_reserve,
        )

    @property
    def graphql_url(self) -> str:
        """GitHub's GraphQL endpoint: ``/graphql`` beside the REST root on github.com, ``/api/graphql`` on
        GitHub Enterprise Server, whose REST root is ``/api/v3``."""
        if self.base_url.lower().endswith("/api/v3"):
            return self.base_url[: -len("/v3")] + "/graphql"
        return self.base_url + "/graphql"

    @property
    def credential(self) -> str:
        """What the user configured, as a message names it."""
        return "GITHUB_TOKEN" if self.installation_tokens is None else "the GitHub App's installation token"

    def client(self) -> GitHubClient:
        client: GitHubClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = GitHubClient(self)
        return client

    def clean(self, text: str, limit: int = 300) -> str:
        """Text from GitHub made safe to print and store: one bounded line, never a token."""
        secrets = self.installation_tokens.issued if self.installation_tokens else [self._token or ""]
        for secret in [s for s in secrets if s]:
            text = text.replace(secret, "***")
        return clean_text(text, limit=limit)

    def time_limit(self) -> _TimeLimit:
        left = self.deadline.remaining() - self.policy.deadline_margin
        seconds = min(self.timeout, left)
        if seconds <= 0:
            raise DeadlineReached("the run's time is up: no time is left for another request to GitHub")
        return _TimeLimit(time.monotonic() + seconds, seconds, by_run=left < self.timeout)

    def resolve(self, url: str, location: str | None = None) -> str:
        """An absolute URL on GITHUB_API_URL's origin (scheme, host, port), or an error: the token goes nowhere else."""
        try:
            target = urljoin(url, location) if location is not None else url
            target = self.base_url + target if target.startswith("/") else target
            origin = _origin(target)
        except ValueError:
            raise GitHubRequestError("GitHub's redirect could not be followed (not a URL)") from None
        if origin != self._origin:
            shown = self.clean(f"{origin[0]}://{origin[1]}:{origin[2]}", limit=120)
            raise GitHubRequestError(
                f"GitHub redirected to another host ({shown}); not followed, the token is only sent to GITHUB_API_URL"
            )
        return target

    def _mint(self, jwt: str) -> tuple[str, float]:
        return self.client().mint_installation_token(jwt)


class GitHubClient:
    def __init__(self, factory: GitHubClientFactory) -> None:
        self._factory = factory
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"})
        # Without this, requests would replace the Authorization header with a ~/.netrc entry for the host.
        self._session.auth = _as_given

    def get(self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
        return self._retrying(url, self._get_once, url, params, headers)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``POST /graphql``: the answer's ``data``, its points counted apart from REST requests.

        Every query asks for ``rateLimit { cost }``: what it cost is what GitHub says. An error GitHub reports
        in a 200 raises ``GitHubRequestError``, except ``NOT_FOUND`` under an alias (a repository or PR that
        is gone: that alias is null and the caller decides); errors all under other aliases raise
        ``GraphQLPartialError`` with the rest of the data, so one repository's error costs only itself.
        A query only reads, so it is retried like a GET.
        """
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        return self._retrying(self._factory.graphql_url, self._graphql_once, body)

    def _retrying(self, url: str, attempt: Callable[..., _T], *args: Any) -> _T:
        """``attempt(*args)`` under the retry policy: transient failures retried within the run's deadline."""
        policy, deadline = self._factory.policy, self._factory.deadline

        def before_sleep(state: RetryCallState) -> None:
            self._factory.stats.record_retry()
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "github request retried",
                extra={"url": _path(url), "reason": str(exc), "wait_seconds": round(state.upcoming_sleep, 3)},
            )

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransientGitHubError)),
            stop=stop_any(stop_after_attempt(policy.attempts), _WaitPastDeadline(deadline, policy.deadline_margin)),
            wait=lambda state: _wait_for(state, policy),
            sleep=self._factory.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt, *args)
        except TransientGitHubError as exc:
            if exc.unreachable:
                # Nothing else will get through either: the run stops instead of failing repo by repo.
                raise GitHubUnavailableError(f"{exc.reason} (gave up after retries)") from None
            if exc.timeout:
                raise GitHubTimeoutError(f"{exc.reason} (gave up after retries)") from None
            raise GitHubRequestError(f"{exc.reason} (gave up after retries)") from None

    def _get_once(self, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None) -> Response:
        factory = self._factory
        if factory.stats.budget_spent(factory.rate_limit_reserve):
            reset = factory.stats.rate_limit_reset
            raise BudgetSpent("GitHub's rate-limit budget is down to the reserve for other tools", reset)
        factory.limiter.acquire(factory.deadline, factory.policy.deadline_margin, factory.sleep)
        target = factory.resolve(url)  # before a token is minted or sent: another host gets neither
        request_headers = dict(headers or {})
        factory.auth.authentication(request_headers)  # an App's token is minted here when due
        for _hop in range(MAX_REDIRECTS + 1):
            status, response_headers, body = self._exchange("GET", target, params, request_headers)
            factory.stats.record(status, response_headers)
            location = response_headers.get("location")
            if status not in _REDIRECTS or not location:
                break
            # A renamed repository answers 301 to /repositories/{id}/...; its Location keeps the query.
            target, params = factory.resolve(target, location), None
        else:
            raise GitHubRequestError(f"GitHub redirected more than {MAX_REDIRECTS} times; check GITHUB_API_URL")
        if status == 304:
            return Response(status, response_headers, "")
        if status == 202:
            # GitHub is still preparing the answer (statistics endpoints): ask again later, within the policy.
            raise TransientGitHubError("GitHub answered 202 Accepted (the answer is not ready yet)")
        if status >= 300:
            raise _classify(status, response_headers, _json(body), factory)
        return Response(status, response_headers, body)

    def _graphql_once(self, body: bytes) -> dict[str, Any]:
        factory = self._factory
        if factory.stats.budget_spent(factory.rate_limit_reserve, graphql=True):
            reset = factory.stats.graphql_reset
            raise BudgetSpent("GitHub's GraphQL rate-limit budget is down to the reserve for other tools", reset)
        factory.limiter.acquire(factory.deadline, factory.policy.deadline_margin, factory.sleep)
        target = factory.resolve(factory.graphql_url)
        request_headers = {"Content-Type": "application/json"}
        factory.auth.authentication(request_headers)
        status, response_headers, text = self._exchange("POST", target, None, request_headers, body)
        factory.stats.record(status, response_headers, graphql=True)
        if status in _REDIRECTS:  # a query is not sent on to another address: it carries the token
            raise GitHubRequestError(f"GitHub redirected the GraphQL query ({status}); check GITHUB_API_URL")
        if status == 404:
            where = factory.clean(urlsplit(target).path, limit=100)
            raise GitHubRequestError(f"GitHub has no GraphQL endpoint at {where} (404); check GITHUB_API_URL")
        if status >= 300 or status == 202:
            raise _classify(status, response_headers, _json(text), factory)
        data = _graphql_data(text, response_headers, factory)
        factory.stats.record_points(_points(data))
        return data

    def mint_installation_token(self, jwt: str) -> tuple[str, float]:
        """``POST /app/installations/{id}/access_tokens`` with the App's JWT: a token and its expiry (epoch s)."""
        factory = self._factory
        tokens = factory.installation_tokens
        assert tokens is not None, "only a factory with a GitHub App mints tokens"
        path = f"/app/installations/{tokens.installation_id}/access_tokens"
        headers = {"Authorization": f"Bearer {jwt}", "Accept": "application/vnd.github+json"}
        status, response_headers, body = self._exchange("POST", factory.resolve(path), None, headers)
        data = _json(body)
        if status == 201:
            return _installation_token(data)
        error = _classify(status, response_headers, data, factory)
        if isinstance(error, TransientGitHubError | RunMustStop):
            raise error
        message = factory.clean(_message(data), limit=200)
        if status == 401:
            raise GitHubAuthError(
                f"GitHub rejected the GitHub App's JWT (401 {message}): check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"
            )
        if status == 404:
            raise GitHubAuthError(
                f"GitHub App {tokens.app_id} has no installation {tokens.installation_id} (404 Not Found): "
                "check GITHUB_APP_INSTALLATION_ID"
            )
        raise GitHubAuthError(f"GitHub refused an installation token ({status} {message})".strip())

    def _exchange(
        self, method: str, url: str, params: dict[str, Any] | None, headers: dict[str, str], data: bytes | None = None
    ) -> tuple[int, dict[str, str], str]:
        """One request and its whole answer, over within the time limit whatever the server does."""
        factory = self._factory
        limit = factory.time_limit()
        try:
            response = self._session.request(
                method, url, params=params, headers=headers, data=data, timeout=(limit.left(), limit.left()),
                stream=True, allow_redirects=False,
            )  # fmt: skip
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise _failed(exc, limit, factory) from None
        except requests.exceptions.RequestException as exc:  # a request requests refuses to send
            raise GitHubRequestError(f"GitHub could not be asked: {factory.clean(_short(exc))}") from None
        try:
            response_headers = {str(k).lower(): str(v) for k, v in response.headers.items()}
            raw = _read_body(response.raw, limit)
        except _BODY_ERRORS as exc:
            response.close()
            raise _failed(exc, limit, factory) from None
        except BaseException:
            response.close()  # a connection left in the middle of an answer is not used again
            raise
        response.raw.release_conn()  # read to the end: the connection serves the next request
        body = _decoded(raw, response_headers.get("content-encoding"), factory)
        return response.status_code, response_headers, body.decode("utf-8", errors="replace")


def _failed(exc: Exception, limit: _TimeLimit, factory: GitHubClientFactory) -> Exception:
    """A request that ended without an answer: over its time, or GitHub out of reach (nothing else gets through)."""
    if limit.left() <= 0 or isinstance(exc, requests.exceptions.ReadTimeout):
        return limit.exceeded()
    reason = f"cannot reach GitHub at {factory.base_url}: {factory.clean(_short(exc))}"
    return TransientGitHubError(reason, unreachable=True)


def _read_body(raw: Any, limit: _TimeLimit) -> bytes:
    """The answer's bytes as they come, each socket read waiting at most what is left of the time limit: a
    server that drips a byte a second is cut off at the limit, not after a read timeout per byte."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = limit.left()
        if left <= 0:
            raise limit.exceeded()
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = raw.read1(_CHUNK, decode_content=False)  # what one socket read brings, not _CHUNK bytes
        except urllib3.exceptions.ReadTimeoutError:
            raise limit.exceeded() from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise GitHubRequestError(f"GitHub's answer is larger than {MAX_BODY_BYTES // 2**20} MiB; not read")
        chunks.append(chunk)


def _decoded(body: bytes, encoding: str | None, factory: GitHubClientFactory) -> bytes:
    """The body as sent, or gunzipped (the only encoding asked for), never past MAX_BODY_BYTES."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return body
    if name not in ("gzip", "x-gzip"):
        raise GitHubRequestError(f"GitHub answered in an encoding not asked for ({factory.clean(name, limit=40)})")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error:
        raise GitHubRequestError("GitHub's gzip answer is corrupt") from None
    if len(data) > MAX_BODY_BYTES:
        raise GitHubRequestError(f"GitHub's answer is larger than {MAX_BODY_BYTES // 2**20} MiB unpacked; not read")
    if not inflater.eof:
        raise GitHubRequestError("GitHub's gzip answer ends early")
    return data


def _installation_token(data: Any) -> tuple[str, float]:
    token = data.get("token") if isinstance(data, dict) else None
    expires = data.get("expires_at") if isinstance(data, dict) else None
    try:
        expires_at = datetime.fromisoformat(expires) if isinstance(expires, str) and len(expires) < 40 else None
    except ValueError:
        expires_at = None
    if not isinstance(token, str) or not _TOKEN.fullmatch(token) or expires_at is None or not expires_at.tzinfo:
        raise GitHubAuthError("GitHub's answer to the installation-token request has no usable token and expiry")
    return token, expires_at.timestamp()


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(url)
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _as_given(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _message(data: Any) -> str:
    raw = data.get("message", "") if isinstance(data, dict) else ""
    return raw if isinstance(raw, str) else ""


def _classify(status: int, headers: dict[str, str], data: Any, factory: GitHubClientFactory) -> Exception:
    raw_message = _message(data)
    message = factory.clean(raw_message, limit=200)
    policy = factory.policy
    if status == 401:
        if factory.installation_tokens is not None:
            return GitHubAuthError(
                "GitHub rejected the GitHub App's installation token (401 Bad credentials): "
                "check that the App is still installed and not suspended"
            )
        return GitHubAuthError("GitHub rejected GITHUB_TOKEN (401 Bad credentials): check the token and its expiry")
    if status in (502, 504):
        return TransientGitHubError(f"GitHub answered {status} {message}".strip(), timeout=True)
    if status >= 500:
        return TransientGitHubError(f"GitHub answered {status} {message}".strip())
    if status in (403, 429):
        retry_after = _seconds(headers.get("retry-after"))
        if headers.get("x-ratelimit-remaining") == "0" and retry_after is None:
            reset = _seconds(headers.get("x-ratelimit-reset"))
            at = datetime.fromtimestamp(reset, UTC) if reset is not None and reset < 2**33 else None
            return BudgetSpent(f"GitHub's rate limit is spent until {_clock(at)}", at)
        if retry_after is not None or Requester.isSecondaryRateLimitError(raw_message) or status == 429:
            wait = retry_after if retry_after is not None else policy.secondary_default_wait
            if wait > policy.max_wait:
                at = datetime.now(UTC) + timedelta(seconds=min(wait, 86_400 * 7))
                return BudgetSpent(f"GitHub asked to wait {int(wait)} s (Retry-After); the next run resumes", at)
            return TransientGitHubError(f"GitHub secondary rate limit ({status})", wait=float(wait))
    if status == 404:
        return GitHubRequestError("404 Not Found: the repository does not exist or the token cannot read it")
    if 300 <= status < 400:
        return GitHubRequestError(f"GitHub answered a redirect ({status}); check GITHUB_API_URL and the repository")
    return GitHubRequestError(f"GitHub answered {status} {message}".strip())


class _WaitPastDeadline(stop_base):
    """Stop instead of sleeping into the end of the run (a Lambda has 15 minutes at most)."""

    def __init__(self, deadline: Deadline, margin: float) -> None:
        self._deadline = deadline
        self._margin = margin

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep > self._deadline.remaining() - self._margin


def _wait_for(state: RetryCallState, policy: RetryPolicy) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, TransientGitHubError) and exc.wait is not None:
        return exc.wait
    return float(min(policy.backoff * 2 ** (state.attempt_number - 1), policy.max_backoff))


def _seconds(value: str | None) -> int | None:
    """A header's count (seconds, requests, an epoch), or None unless it is a plain ASCII integer of sane size."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def _json(body: Any) -> Any:
    if not body or not isinstance(body, str | bytes):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


# GitHub's words when a query ran out of time on its side (a 200 with no data): worth asking again.
_GRAPHQL_TIMEOUTS = ("something went wrong while executing your query", "timeout")
_MAX_POINTS = 100_000  # far above GitHub's 5,000 points an hour: a larger cost is not a real one


def _graphql_data(text: str, headers: dict[str, str], factory: GitHubClientFactory) -> dict[str, Any]:
    """The ``data`` of a GraphQL answer, or the one error that says what went wrong with it."""
    payload = _json(text)
    if not isinstance(payload, dict):
        raise GitHubRequestError("GitHub's GraphQL answer is not a JSON object")
    data, errors = payload.get("data"), payload.get("errors") or []
    if (data is not None and not isinstance(data, dict)) or not isinstance(errors, list):
        raise GitHubRequestError("GitHub's GraphQL answer does not have GraphQL's shape (data, errors)")
    problems = [error for error in errors if not _gone(error)]
    if not problems:
        if data is None:
            raise GitHubRequestError("GitHub's GraphQL answer has no data")
        return data
    types = {_error_field(error, "type").upper() for error in problems}
    messages = [factory.clean(_error_field(error, "message") or "no message", limit=200) for error in problems]
    if "RATE_LIMITED" in types:
        reset = _seconds(headers.get("x-ratelimit-reset"))
        at = datetime.fromtimestamp(reset, UTC) if reset is not None and reset < 2**33 else None
        raise BudgetSpent(f"GitHub's GraphQL rate limit is spent until {_clock(at)}", at)
    if data is None and any(m.lower().startswith(_GRAPHQL_TIMEOUTS) for m in messages):
        raise TransientGitHubError(f"GitHub's GraphQL query timed out ({messages[0]})", timeout=True)
    aliases = [_alias(error) for error in problems]
    if data is not None and all(aliases):
        raise GraphQLPartialError(data, {str(a): m for a, m in zip(aliases, messages, strict=True)})
    raise GitHubRequestError(f"GitHub refused the GraphQL query: {messages[0]}")


def _gone(error: Any) -> bool:
    """A NOT_FOUND under an alias: that repository (or pull request) no longer exists, or the token cannot see it."""
    return _error_field(error, "type").upper() == "NOT_FOUND" and _alias(error) is not None


def _error_field(error: Any, key: str) -> str:
    value = error.get(key) if isinstance(error, dict) else None
    return value if isinstance(value, str) else ""


def _alias(error: Any) -> str | None:
    path = error.get("path") if isinstance(error, dict) else None
    first = path[0] if isinstance(path, list) and path else None
    return first if isinstance(first, str) and first else None


def _points(data: dict[str, Any]) -> int:
    """What the query cost, as its ``rateLimit { cost }`` says; a query that does not say costs GitHub's least, 1."""
    rate = data.get("rateLimit")
    cost = rate.get("cost") if isinstance(rate, dict) else None
    if isinstance(cost, int) and not isinstance(cost, bool) and 0 <= cost <= _MAX_POINTS:
        return cost
    return 1


_CONTROL = re.compile(TERMINAL_CONTROLS + "+")


def clean_text(text: str, *, limit: int = 300) -> str:
    """One line of at most ``limit`` characters without control characters: safe for a log or a table.

    Newlines and ANSI escapes from a hostile answer would otherwise forge log lines or terminal output.
    """
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^'\")]+")


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Max retries" not in text:
        return text[:200]
    # urllib3 wraps the reason in the pool's description and a repr: keep the operating system's words.
    reason = _OS_ERROR.search(text)
    return (reason.group(0) if reason else text.rsplit(": ", 1)[-1].rstrip("')\"")).strip()[:200]


def _path(url: str) -> str:
    return url.split("?", 1)[0]


def _clock(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else "an unknown time"
