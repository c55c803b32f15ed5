"""GitHub's webhooks, received: a signed delivery in, an answer out, and at most one collection request queued.

Transport-free: the Lambda function (collector/webhook_handler.py), a local HTTP server and the tests all call
``receive`` with the request's headers and raw body. Nothing in a payload is stored or believed but a few
things, and only once its signature checks: the repository's name (which must be configured), the action,
the time GitHub last changed the event's object, and for the four keys' events what says the delivery can
change nothing a collection reads (a deployment status that is neither a success nor a failure, a workflow run
that did not succeed on the default branch, an issue without a label). The collection that follows reads
GitHub as any incremental run does (collector/webhook_runs.py).

Why the object's time: GitHub signs the body only, never a timestamp or the ``X-GitHub-Delivery`` id (a
replay can carry any id it likes), so the body's own time is the one signed clock there is. A delivery whose
object changed more than ``STALE_AFTER`` ago is ignored; a newer one is still harmless when replayed, since
its collection is skipped once the stored data cover that time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Protocol

import msgspec

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)

# GitHub caps a payload at 25 MB, but these five events' payloads stay far below (a release with GitHub's
# maximum of 1,000 assets is about 2 MB), and a Lambda function cannot receive more than 6 MB.
MAX_BODY_BYTES = 5 * 2**20
# GitHub delivers within seconds, and within hours even when its own queues are late. By a day, at least five
# scheduled runs started after the event and collected it: an older delivery is a replay or a late manual
# redelivery (GitHub keeps 3 days of them), and adds nothing.
STALE_AFTER = timedelta(hours=24)
# GitHub's clock (an Enterprise Server's, say) may run a little ahead of ours; further ahead is not trusted.
CLOCK_SKEW = timedelta(minutes=5)
SIGNATURE_HEADER = "x-hub-signature-256"
_SIGNATURE_RE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_DELIVERY_RE = re.compile(r"^[0-9A-Za-z-]{1,64}$")

_Instant = Annotated[datetime, msgspec.Meta(tz=True)]


@dataclass(frozen=True)
class Subscription:
    """An event that schedules a collection: the payload's object that dates it, and the actions that count."""

    object_key: str
    actions: frozenset[str] | None  # None: every action


# The events the organisation webhook sends (docs/webhooks.md). A pull request counts once it is closed
# (merged or not: both change what is stored); a workflow run once it completed (one run sends
# requested, in_progress and completed); an issue when what an incident is made of may change (its label,
# state, title and body: the root cause), not when it is assigned, pinned or milestoned. An incident is kept
# once stored: losing its label, being deleted or transferred changes nothing the collection reads.
SUBSCRIPTIONS = {
    "pull_request": Subscription("pull_request", frozenset({"closed"})),
    "deployment_status": Subscription("deployment_status", None),
    "workflow_run": Subscription("workflow_run", frozenset({"completed"})),
    "release": Subscription("release", None),
    "issues": Subscription("issue", frozenset({"opened", "edited", "closed", "reopened", "labeled"})),
}
# A deployment counts at its first success and is a failed attempt at a failure or an error; GitHub's other
# states (queued, pending, in_progress, inactive: an older deployment once a newer one succeeds) count nothing.
SETTLED_STATES = frozenset({"success", "failure", "error"})


class _Dated(msgspec.Struct):
    """The event's object: its timestamps, nothing else of it is decoded."""

    created_at: _Instant | None = None
    updated_at: _Instant | None = None
    closed_at: _Instant | None = None
    published_at: _Instant | None = None

    def newest(self, until: datetime) -> datetime | None:
        """The newest timestamp not after ``until``: a time further ahead (a release's created_at is its commit's,
        which whoever pushed it chose) would make a signed body never stale, replayable for ever."""
        found = [t for t in (self.created_at, self.updated_at, self.closed_at, self.published_at) if t is not None]
        return max((t for t in found if t <= until), default=None)


class _DeploymentStatus(_Dated):
    state: str | None = None


class _WorkflowRun(_Dated):
    conclusion: str | None = None
    head_branch: str | None = None


class _Issue(_Dated):
    labels: list[msgspec.Raw] | None = None  # counted, never decoded


class _Repository(msgspec.Struct):
    full_name: str
    default_branch: str | None = None


class _Payload(msgspec.Struct):
    """The only fields read from a payload; msgspec skips every other one without building it."""

    action: str | None = None
    repository: _Repository | None = None
    pull_request: _Dated | None = None
    deployment_status: _DeploymentStatus | None = None
    workflow_run: _WorkflowRun | None = None
    release: _Dated | None = None
    issue: _Issue | None = None


@dataclass(frozen=True)
class CollectionRequest:
    """What a delivery asks for: collect this configured repository, whose data changed at ``event_at``."""

    repository: str  # as REPOSITORIES spells it
    event_at: datetime  # when GitHub changed the event's object (signed), never later than its receipt
    event: str  # for the logs
    delivery: str  # X-GitHub-Delivery, for the logs only: GitHub does not sign it


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to a delivery, and the collection it scheduled (202 only)."""

    status: int
    message: str
    request: CollectionRequest | None = None

    def body(self) -> bytes:
        return json.dumps({"message": self.message}).encode()


class Queue(Protocol):
    """Where accepted requests go: SQS on AWS (collector/webhook_handler.py), ``LocalQueue`` locally."""

    def put(self, request: CollectionRequest) -> None: ...


class QueueError(Exception):
    """The request could not be queued; the delivery fails, and GitHub shows it as failed."""


class LocalQueue:
    """An in-process queue for local serving and tests: ``put`` by ``receive``, ``drain`` by whoever collects."""

    def __init__(self) -> None:
        self._items: deque[CollectionRequest] = deque()
        self._lock = threading.Lock()

    def put(self, request: CollectionRequest) -> None:
        with self._lock:
            self._items.append(request)

    def drain(self) -> list[CollectionRequest]:
        with self._lock:
            items, self._items = list(self._items), deque()
        return items

    def __len__(self) -> int:
        return len(self._items)


def signature(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends: HMAC-SHA256 of the raw body, keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature_header: str | None, secret: str) -> bool:
    """Whether the header is the body's HMAC-SHA256 under the secret, compared in constant time."""
    match = _SIGNATURE_RE.match(signature_header or "")
    if match is None or not secret:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(match.group(1)))


def decide(
    headers: Mapping[str, str], body: bytes, *, secret: str, repositories: Sequence[str], now: datetime
) -> Answer:
    """The answer to one delivery, in this order: size, signature, event, payload, repository, age.

    2xx means GitHub should consider the delivery handled: 202 when a collection was scheduled, 200 when
    nothing needed doing (an event or action that changes nothing collected, a repository not configured,
    a stale delivery). An organisation webhook fires for every repository, most of them not collected: those
    answers must not read as failures in GitHub's delivery log, where they would hide real ones. 4xx: the
    delivery itself is wrong (unsigned, badly signed, not JSON); GitHub shows it as failed.
    """
    if len(body) > MAX_BODY_BYTES:
        return Answer(413, f"the body is over {MAX_BODY_BYTES} bytes")
    lowered = {name.lower(): value for name, value in headers.items()}
    if SIGNATURE_HEADER not in lowered:
        return Answer(401, "X-Hub-Signature-256 is missing: give the webhook a secret")
    if not verify(body, lowered[SIGNATURE_HEADER], secret):
        return Answer(401, "X-Hub-Signature-256 does not match the body: the webhook's secret differs from ours")
    # From here on the body is GitHub's, signed with our secret.
    event = lowered.get("x-github-event", "")
    if event == "ping":
        return Answer(200, "pong")
    subscription = SUBSCRIPTIONS.get(event)
    if subscription is None:
        listed = ", ".join(SUBSCRIPTIONS)
        return Answer(200, f"ignored: {_shown(event) or 'no'} event; only {listed} schedule a collection")
    if lowered.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return Answer(415, "the webhook's content type must be application/json")
    try:
        payload = msgspec.json.decode(body, type=_Payload)
    except (msgspec.DecodeError, RecursionError):
        return Answer(400, "the payload is not the JSON object this event carries")
    return _decide_payload(event, subscription, payload, repositories, now, _delivery(lowered))


def _decide_payload(
    event: str, subscription: Subscription, payload: _Payload, repositories: Sequence[str], now: datetime,
    delivery: str,
) -> Answer:  # fmt: skip
    if subscription.actions is not None and payload.action not in subscription.actions:
        return Answer(200, f"ignored: {event} {_shown(payload.action or '')} changes nothing collected")
    if payload.repository is None:
        return Answer(400, f"the {event} payload names no repository")
    configured = {name.lower(): name for name in repositories}
    repository = configured.get(payload.repository.full_name.lower())
    if repository is None:
        return Answer(200, f"ignored: {_shown(payload.repository.full_name)} is not in REPOSITORIES")
    if (unchanged := _changes_nothing(event, payload)) is not None:
        return Answer(200, f"ignored: {unchanged}")
    dated: _Dated | None = getattr(payload, subscription.object_key)
    if dated is None or dated.newest(until=datetime.max.replace(tzinfo=UTC)) is None:
        return Answer(400, f"the {event} payload has no {subscription.object_key} timestamps")
    event_at = dated.newest(until=now + CLOCK_SKEW)
    if event_at is None:
        return Answer(200, f"ignored: the {event} is dated more than {CLOCK_SKEW} ahead of our clock")
    if event_at < now - STALE_AFTER:
        return Answer(200, f"ignored: stale, the {event} is from {event_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    # A clock ahead of ours (GitHub Enterprise Server's, say) is taken as the receipt: the request must be
    # covered once a collection has started after it.
    request = CollectionRequest(repository, min(event_at, now), event, delivery)
    return Answer(202, f"collection of {repository} scheduled", request)


def _changes_nothing(event: str, payload: _Payload) -> str | None:
    """Why the payload shows that its delivery can change nothing a collection reads, whatever the teams file
    configures (the receiver reads no configuration); None when it may. A field the payload lacks shows nothing."""
    status, run, issue = payload.deployment_status, payload.workflow_run, payload.issue
    state = status.state if event == "deployment_status" and status is not None else None
    if state is not None and state.lower() not in SETTLED_STATES:
        return f"a deployment status {_shown(state)} counts nothing: only success, failure and error do"
    if event == "workflow_run" and run is not None:
        default_branch = payload.repository.default_branch if payload.repository is not None else None
        if run.conclusion is not None and run.conclusion != "success":
            return f"a workflow run that concluded {_shown(run.conclusion)} is no deployment"
        if run.head_branch is not None and default_branch is not None and run.head_branch != default_branch:
            return f"a workflow run on {_shown(run.head_branch)}, not the default branch, is no deployment"
    if event == "issues" and issue is not None and issue.labels == []:
        return "an issue without a label is no incident, whatever the incident label"
    return None


def receive(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    repositories: Sequence[str],
    queue: Queue,
    now: datetime,
) -> Answer:
    """Answer a delivery and queue the collection it asks for: what ``POST /webhooks/github`` does."""
    answer = decide(headers, body, secret=secret, repositories=repositories, now=now)
    if answer.request is not None:
        try:
            queue.put(answer.request)
        except QueueError as exc:
            answer = Answer(503, f"the collection could not be scheduled ({exc}); redeliver later")
    _log(answer, headers)
    return answer


def _log(answer: Answer, headers: Mapping[str, str]) -> None:
    lowered = {name.lower(): value for name, value in headers.items()}
    keys = {"status": answer.status, "reason": answer.message, "delivery": _delivery(lowered),
            "event": _shown(lowered.get("x-github-event", ""))}  # fmt: skip
    if answer.request is not None:
        keys["repository"] = answer.request.repository
    level = logging.WARNING if answer.status in (401, 413) or answer.status >= 500 else logging.INFO
    log.log(level, "webhook delivery answered", extra=keys)


def _delivery(lowered: Mapping[str, str]) -> str:
    value = lowered.get("x-github-delivery", "")
    return value if _DELIVERY_RE.match(value) else "unknown"


def _shown(value: str, limit: int = 100) -> str:
    """A value from a request, quoted in an answer or a log: printable and short."""
    return "".join(ch if ch.isprintable() else "?" for ch in value[:limit])


# ---------------------------------------------------------------- the queue's messages


def encode(request: CollectionRequest) -> str:
    document = {"repository": request.repository, "event_at": request.event_at.isoformat(), "event": request.event,
                "delivery": request.delivery}  # fmt: skip
    return json.dumps(document)


def decode(text: str) -> CollectionRequest:
    """A queued message back into a request; ValueError when it is not one ``encode`` wrote."""
    try:
        document = json.loads(text)
        request = CollectionRequest(
            repository=str(document["repository"]),
            event_at=datetime.fromisoformat(document["event_at"]),
            event=str(document.get("event", "")),
            delivery=str(document.get("delivery", "")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a collection request: {type(exc).__name__}") from None
    if request.event_at.tzinfo is None:
        raise ValueError("not a collection request: event_at has no time zone")
    return request
