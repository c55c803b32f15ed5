"""GitHub over PyGithub: one client per worker thread, every request counted, every wait bounded.

PyGithub's own urllib3 retry is switched off (``retry=None``): its defaults retry 5xx ten times
with no pause and wait for a primary limit's reset however far away it is. Instead each request
goes through a tenacity policy that knows the run's deadline.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
import urllib3.exceptions
from github import Auth, Github, GithubException
from github.GithubException import BadCredentialsException
from github.Requester import Requester
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_any
from tenacity.stop import stop_base

from collector.deadline import Deadline
from collector.errors import GitHubAuthError, GitHubUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from collector.config import Settings

log = logging.getLogger(__name__)

USER_AGENT = "dora-collector"
PER_PAGE = 100  # GitHub's maximum: fewest requests per PR
_CONNECTION_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    http.client.RemoteDisconnected,
    ConnectionError,
)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str  # decoded by the caller, which knows what it expects (fetch.decode_page)


class RequestStats:
    """Counters shared by all worker threads of one run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self.retries = 0
        self.rate_limit_remaining: int | None = None
        self._rate_limit_reset = -1

    def record(self, status: int, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests += 1
            if status == 304:
                self.not_modified += 1
            self._record_budget(headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset"))

    def _record_budget(self, remaining: str | None, reset: str | None) -> None:
        """The budget only falls within a rate-limit window, but concurrent answers are recorded in any
        order: keep the lowest figure of the newest window."""
        if remaining is None or not remaining.isdigit():
            return
        window = int(reset) if reset is not None and reset.isdigit() else self._rate_limit_reset
        if window > self._rate_limit_reset or self.rate_limit_remaining is None:
            self._rate_limit_reset, self.rate_limit_remaining = window, int(remaining)
        elif window == self._rate_limit_reset:
            self.rate_limit_remaining = min(self.rate_limit_remaining, int(remaining))

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1


class DeadlineReached(Exception):
    """Waiting any longer would outlast the run: stop here, the next run resumes."""


class RequestRateLimiter:
    """At most ``per_minute`` requests in any 60-second window, across all worker threads.

    GitHub's secondary limit for REST is 900 points a minute (a GET is one point); tripping it costs a
    403 and a wait of a minute or more, so the collector paces itself just under it instead.

    When the pace binds, the order in which a window's requests are spent decides the run's length.
    A repository's pages are read one after another, so the longest listing is the run's critical
    path. Listings claim the pages they still need (``claim``), and the longest claim is a
    reservation: any other request leaves that many of the window's requests untouched. Without it a
    backfill spends the first minute's budget on every repository at once, and the largest
    repository's last pages wait for the next minute, then follow one round trip after another.
    """

    WINDOW = 60.0
    POLL = 0.25  # a request held back by a reservation looks again this often: claims change

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: deque[float] = deque()
        self._claims: dict[str, int] = {}
        self._lock = threading.Lock()

    def claim(self, claimant: str, pages: int) -> None:
        """``claimant`` still needs ``pages`` requests; zero withdraws its claim."""
        with self._lock:
            if pages > 0:
                self._claims[claimant] = pages
            else:
                self._claims.pop(claimant, None)

    def claims(self) -> dict[str, int]:
        with self._lock:
            return dict(self._claims)

    def acquire(
        self,
        deadline: Deadline,
        margin: float,
        sleep: Callable[[float], None],
        claimant: str | None = None,
        *,
        reserved_for_others: bool = True,
    ) -> None:
        """Wait for a slot in the window. ``reserved_for_others=False`` ignores reservations: for the
        first pages, which tell how long each listing is, and without which no reservation is right."""
        if self.per_minute <= 0:
            return
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.WINDOW:
                    self._sent.popleft()
                free = self.per_minute - len(self._sent)
                reserved = self._reserved_against(claimant) if reserved_for_others else 0
                if free > reserved:
                    self._sent.append(now)
                    return
                # No change of claims makes a slot free before the window's oldest request expires.
                earliest = self._sent[0] + self.WINDOW - now if free <= 0 else 0.0
                # Enough of the window's requests must expire to leave the reservation whole.
                expiring = reserved - free
                wait = self._sent[expiring] + self.WINDOW - now if expiring < len(self._sent) else math.inf
            if earliest > deadline.remaining() - margin:
                raise DeadlineReached("the per-minute request pace would outlast the run")
            sleep(max(earliest, min(wait, self.POLL)) if reserved else wait)

    def _reserved_against(self, claimant: str | None) -> int:
        if not self._claims:
            return 0
        top = max(self._claims, key=lambda name: (self._claims[name], name))
        return 0 if top == claimant else self._claims[top]


class TransientGitHubError(Exception):
    """A failure worth retrying; ``wait`` is the pause GitHub asked for, if it did."""

    def __init__(self, reason: str, wait: float | None = None, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.unreachable = unreachable


class GitHubRequestError(Exception):
    """A failure not worth retrying (or retries ran out); the message is safe to show."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff: float = 1.0  # first pause; doubles each time
    max_backoff: float = 30.0
    secondary_default_wait: float = 60.0  # GitHub: "wait at least one minute" without Retry-After
    max_rate_limit_wait: float = 900.0  # beyond this a primary-limit reset is not waited for
    deadline_margin: float = 5.0  # never sleep into the last seconds of the run


class GitHubClientFactory:
    """Builds one ``GitHubClient`` per thread: PyGithub instances are not safe to share."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        deadline: Deadline | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        max_requests_per_minute: int = 0,
    ) -> None:
        self._token = token
        self.base_url = base_url
        self.deadline = deadline or Deadline()
        self.policy = policy or RetryPolicy()
        self.stats = RequestStats()
        self.limiter = RequestRateLimiter(max_requests_per_minute)
        self._timeout = timeout
        self._sleep = sleep
        self._local = threading.local()

    @classmethod
    def from_settings(cls, settings: Settings, *, deadline: Deadline | None = None) -> GitHubClientFactory:
        assert settings.github_token is not None, "load_settings(need_github=True) guarantees a token"
        return cls(
            token=settings.github_token,
            base_url=settings.github_api_url,
            deadline=deadline,
            max_requests_per_minute=settings.requests_per_minute_share,
        )

    def client(self) -> GitHubClient:
        client: GitHubClient | None = getattr(self._local, "client", None)
        if client is None:
            gh = Github(
                auth=Auth.Token(self._token),
                base_url=self.base_url,
                per_page=PER_PAGE,
                retry=None,
                timeout=int(self._timeout),
                user_agent=USER_AGENT,
                lazy=True,
                # PyGithub's throttle is per instance and unlocked; concurrency is bounded by workers.
                seconds_between_requests=None,
                seconds_between_writes=None,
            )
            client = GitHubClient(gh.requester, self)
            self._local.client = client
        return client


class GitHubClient:
    def __init__(self, requester: Requester, factory: GitHubClientFactory) -> None:
        self._requester = requester
        self._factory = factory

    def get(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        claimant: str | None = None,
        first_page: bool = False,
    ) -> Response:
        """``claimant`` names the listing the request is for, which may hold a reservation of the pace;
        a listing's ``first_page`` ignores reservations (see ``RequestRateLimiter.acquire``)."""
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
            sleep=self._factory._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._get_once, url, params, headers, claimant, first_page)
        except TransientGitHubError as exc:
            if exc.unreachable:
                # Nothing else will get through either: the run stops instead of failing repo by repo.
                raise GitHubUnavailableError(f"{exc.reason} (gave up after retries)") from None
            raise GitHubRequestError(f"{exc.reason} (gave up after retries)") from None

    def claim(self, claimant: str, pages: int) -> None:
        self._factory.limiter.claim(claimant, pages)

    def _get_once(
        self,
        url: str,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        claimant: str | None,
        first_page: bool,
    ) -> Response:
        factory = self._factory
        factory.limiter.acquire(
            factory.deadline,
            factory.policy.deadline_margin,
            factory._sleep,
            claimant,
            reserved_for_others=not first_page,
        )
        try:
            status, raw_headers, body = self._requester.requestJson("GET", url, params, headers)
        except _CONNECTION_ERRORS as exc:
            raise TransientGitHubError(
                f"cannot reach GitHub at {self._factory.base_url}: {_short(exc)}", unreachable=True
            ) from None
        response_headers = {k.lower(): v for k, v in raw_headers.items()}
        self._factory.stats.record(status, response_headers)
        if status == 304:
            return Response(status, response_headers, "")
        if status >= 400:
            raise _classify(status, response_headers, _json(body), self._factory.policy)
        return Response(status, response_headers, body if isinstance(body, str) else "")


def _classify(status: int, headers: dict[str, str], data: Any, policy: RetryPolicy) -> Exception:
    message = data.get("message", "") if isinstance(data, dict) else ""
    exc = Requester.createException(status, headers, data if isinstance(data, dict) else {})
    if isinstance(exc, BadCredentialsException) or status == 401:
        return GitHubAuthError("GitHub rejected GITHUB_TOKEN (401 Bad credentials): check the token and its expiry")
    if status >= 500:
        return TransientGitHubError(f"GitHub answered {status} {message}".strip())
    if status in (403, 429):
        retry_after = headers.get("retry-after")
        if retry_after is not None and retry_after.isdigit():
            return TransientGitHubError(f"GitHub secondary rate limit ({status})", wait=float(retry_after))
        if headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset", "")
            wait = max(float(reset) - time.time() + 1, 1.0) if reset.isdigit() else policy.max_rate_limit_wait
            if wait > policy.max_rate_limit_wait:
                return GitHubRequestError(f"GitHub rate limit exhausted until {_clock(reset)}; the next run resumes")
            return TransientGitHubError(f"GitHub primary rate limit exhausted ({status})", wait=wait)
        if Requester.isSecondaryRateLimitError(message) or status == 429:
            return TransientGitHubError(f"GitHub secondary rate limit ({status})", wait=policy.secondary_default_wait)
    if isinstance(exc, GithubException) and status == 404:
        return GitHubRequestError("404 Not Found: the repository does not exist or the token cannot read it")
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


def _json(body: Any) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # urllib3 messages repeat the pool description; keep the reason at the end.
    return text.rsplit(": ", 1)[-1][:200] if "Max retries" in text else text[:200]


def _path(url: str) -> str:
    return url.split("?", 1)[0]


def _clock(epoch: str) -> str:
    if not epoch.isdigit():
        return "an unknown time"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))
