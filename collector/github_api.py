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
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests
import urllib3.exceptions
from github import Auth, Github
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
    """Counters shared by all worker threads of one run, and GitHub's rate-limit budget as last seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self.retries = 0
        self.rate_limit_remaining: int | None = None
        self.rate_limit: int | None = None
        self._rate_limit_reset = -1

    @property
    def rate_limit_reset(self) -> datetime | None:
        """When GitHub's current rate-limit window ends, as its last answer said."""
        return datetime.fromtimestamp(self._rate_limit_reset, UTC) if self._rate_limit_reset > 0 else None

    def record(self, status: int, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests += 1
            if status == 304:
                self.not_modified += 1
            limit = _seconds(headers.get("x-ratelimit-limit"))
            if limit is not None:
                self.rate_limit = limit
            self._record_budget(headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset"))

    def _record_budget(self, remaining: str | None, reset: str | None) -> None:
        """The budget only falls within a rate-limit window, but concurrent answers are recorded in any
        order: keep the lowest figure of the newest window."""
        left, window = _seconds(remaining), _seconds(reset)
        if left is None:
            return
        window = self._rate_limit_reset if window is None else window
        if window > self._rate_limit_reset or self.rate_limit_remaining is None:
            self._rate_limit_reset, self.rate_limit_remaining = window, left
        elif window == self._rate_limit_reset:
            self.rate_limit_remaining = min(self.rate_limit_remaining, left)

    def budget_spent(self, reserve: float) -> bool:
        """True when what is left of the hour's budget is the share kept for other tools of the token."""
        with self._lock:
            if self.rate_limit_remaining is None or self.rate_limit is None:
                return False
            return self.rate_limit_remaining <= math.floor(self.rate_limit * reserve)

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1


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


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff: float = 1.0  # first pause; doubles each time
    max_backoff: float = 30.0
    secondary_default_wait: float = 60.0  # GitHub: "wait at least one minute" without Retry-After
    # The longest wait GitHub can ask of us (Retry-After), CLI included: past it the run ends partial.
    max_wait: float = 300.0
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
        rate_limit_reserve: float = 0.0,
    ) -> None:
        self._token = token
        self.base_url = base_url
        self.deadline = deadline or Deadline()
        self.policy = policy or RetryPolicy()
        self.stats = RequestStats()
        self.limiter = RequestRateLimiter(max_requests_per_minute)
        self.rate_limit_reserve = rate_limit_reserve
        self._timeout = timeout
        self.sleep = sleep
        self._local = threading.local()

    @classmethod
    def from_settings(cls, settings: Settings, *, deadline: Deadline | None = None) -> GitHubClientFactory:
        assert settings.github_token is not None, "load_settings(need_github=True) guarantees a token"
        return cls(
            token=settings.github_token,
            base_url=settings.github_api_url,
            deadline=deadline,
            max_requests_per_minute=settings.requests_per_minute_share,
            rate_limit_reserve=settings.github_rate_limit_reserve,
        )

    def client(self) -> GitHubClient:
        client: GitHubClient | None = getattr(self._local, "client", None)
        if client is None:
            gh = Github(
                auth=Auth.Token(self._token),
                base_url=self.base_url,
                per_page=100,
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

    def clean(self, text: str, limit: int = 300) -> str:
        """Text from GitHub made safe to print and store: one bounded line, never the token."""
        return clean_text(text.replace(self._token, "***") if self._token else text, limit=limit)


class GitHubClient:
    def __init__(self, requester: Requester, factory: GitHubClientFactory) -> None:
        self._requester = requester
        self._factory = factory

    def get(self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
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
            return retrying(self._get_once, url, params, headers)
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
        try:
            status, raw_headers, body = self._requester.requestJson("GET", url, params, headers)
        except _CONNECTION_ERRORS as exc:
            raise TransientGitHubError(
                f"cannot reach GitHub at {factory.base_url}: {factory.clean(_short(exc))}", unreachable=True
            ) from None
        except (RuntimeError, RecursionError, AssertionError, ValueError) as exc:
            # PyGithub refuses redirects to another host or scheme (and other answers it cannot follow).
            raise GitHubRequestError(f"GitHub's answer could not be followed: {factory.clean(str(exc))}") from None
        response_headers = {str(k).lower(): str(v) for k, v in raw_headers.items()}
        factory.stats.record(status, response_headers)
        if status == 304:
            return Response(status, response_headers, "")
        if status >= 300:
            raise _classify(status, response_headers, _json(body), factory)
        return Response(status, response_headers, body if isinstance(body, str) else "")


def _classify(status: int, headers: dict[str, str], data: Any, factory: GitHubClientFactory) -> Exception:
    raw_message = data.get("message", "") if isinstance(data, dict) else ""
    message = factory.clean(raw_message if isinstance(raw_message, str) else "", limit=200)
    policy = factory.policy
    if status == 401:
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


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def clean_text(text: str, *, limit: int = 300) -> str:
    """One line of at most ``limit`` characters without control characters: safe for a log or a table.

    Newlines and ANSI escapes from a hostile answer would otherwise forge log lines or terminal output.
    """
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # urllib3 messages repeat the pool description; keep the reason at the end.
    return text.rsplit(": ", 1)[-1][:200] if "Max retries" in text else text[:200]


def _path(url: str) -> str:
    return url.split("?", 1)[0]


def _clock(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else "an unknown time"
