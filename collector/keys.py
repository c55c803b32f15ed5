"""The four keys' collection rules. Pure: no I/O, each rule pinned by its own test.

What a deployment's statuses mean, what an incident's body and a revert PR's body say, when a source
must be read again and how far back, and how its state moves once what was read is stored. GitHub is
read by ``collector.fetch_keys``, the rows written by ``collector.store_keys``, the stage run by
``collector.collect_keys``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

_T = TypeVar("_T")
_INT4 = 2**31 - 1

# ---------------------------------------------------------------- sizes and cost
# GitHub's GraphQL cost (docs: "rate limits for the GraphQL API"): the requests a query needs, one per
# connection fetched assuming each returns its `first`, divided by 100 and rounded; at least 1 point.
# A probe asks each repository for `deployments(first: 1)`: 50 repositories are 50 requests, 1 point.
PROBE_BATCH = 50
# 100 deployments a page, each with its statuses: 1 + 100 connections, 1 point a page.
DEPLOYMENTS_PAGE = 100
# Statuses read with each deployment: its oldest 100 (GitHub lists them newest first, so `last: 100`),
# where its first success is. A larger nested count costs nothing more (only connections nested below
# it would), and a deployment rarely has more than a handful.
STATUSES_PAGE = 100
# Merged PRs asked for their first commit in one query, across repositories: 100 `commits(first: 1)`, 1 point.
FIRST_COMMIT_BATCH = 100
# At most this many per run (50 points): a first run over a large organisation does not spend the
# hour's budget on them; the rest are read by the next runs, newest merges first.
FIRST_COMMITS_PER_RUN = 5000


def graphql_points(connections: int) -> int:
    """GitHub's cost of a query that fetches ``connections`` connections (each at its ``first``): rounded
    half up, as GitHub's Ruby rounds."""
    return max(1, (connections + 50) // 100)


def batched(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------- what GitHub's texts say

# GitHub's revert button writes "Reverts owner/repo#N" as the body of the revert PR.
_REVERTS = re.compile(r"^[ \t]*Reverts[ \t]+([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)#([0-9]{1,10})\b", re.M | re.I)
# An incident's body names its cause on a line of its own: "root cause: <sha>" or "root cause: #<PR>".
_ROOT_CAUSE = re.compile(r"^[ \t]*root[ \t]+cause[ \t]*:[ \t]*(?:#([0-9]{1,10})|([0-9a-f]{7,40}))\b", re.M | re.I)


def parse_reverts(body: str | None, repository: str) -> int | None:
    """The PR number a revert PR's body names in GitHub's words, when it names this repository."""
    for match in _REVERTS.finditer(body or ""):
        if match[1].lower() == repository.lower():
            number = int(match[2])
            return number if 0 < number <= _INT4 else None
    return None


def parse_root_cause(body: str | None) -> tuple[str | None, int | None]:
    """``(sha, None)`` or ``(None, pr_number)`` from the body's first line naming a root cause; a line
    whose value is neither is not one."""
    for match in _ROOT_CAUSE.finditer(body or ""):
        if match[2] is not None:
            return match[2].lower(), None
        number = int(match[1])
        if 0 < number <= _INT4:
            return None, number
    return None, None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def environment_matches(pattern: str, environment: str | None) -> bool:
    """The repository's pattern (a Python regular expression, anchored only by the user's own ^ and $)
    found in the deployment's environment, in any case. ``re.error`` for a pattern that does not compile."""
    return environment is not None and _compiled(pattern).search(environment) is not None


# ---------------------------------------------------------------- deployments

Settled = tuple[Literal["success", "failed", "pending"], datetime | None, datetime | None]
_FAILURES = ("FAILURE", "ERROR")


def settle(statuses: Iterable[tuple[str, datetime]]) -> Settled:
    """``(status, deployed_at, failed_at)`` from a deployment's statuses ``(state, created_at)``, in any
    order: deployed at its first success whatever came after (GitHub marks it ``inactive`` once a newer
    one succeeds); failed when it failed or errored and never succeeded, at its first failure; else pending."""
    seen = [(state.upper(), at) for state, at in statuses]
    successes = [at for state, at in seen if state == "SUCCESS"]
    if successes:
        return "success", min(successes), None
    failures = [at for state, at in seen if state in _FAILURES]
    if failures:
        return "failed", None, min(failures)
    return "pending", None, None


def fingerprint(total: int, newest_id: int | None, newest_updated: datetime | None, newest_state: str | None) -> str:
    """What a probe saw of a repository's deployments: a new deployment changes the count and the newest,
    a new status on the newest changes its state and time."""
    updated = newest_updated.isoformat() if newest_updated else ""
    return f"{total}:{newest_id or ''}:{updated}:{(newest_state or '').upper()}"


# ---------------------------------------------------------------- configuration and state per source

Signal = Literal["deployments", "workflow", "releases", "incidents", "first_commits"]


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """A repository of the teams file as stored in ``repositories``: how it deploys, what marks an incident."""

    name: str  # owner/name, lower case
    deploy_source: str  # "deployments" | "workflow" | "releases" | "merges"
    environment_pattern: str | None
    workflow: str | None
    incident_label: str

    @property
    def signals(self) -> tuple[Signal, ...]:
        """What is read from GitHub for it: its deployments' source (``merges`` needs nothing), its incidents."""
        return (*_READ_SOURCES.get(self.deploy_source, ()), "incidents")


_READ_SOURCES: dict[str, tuple[Signal, ...]] = {
    "deployments": ("deployments",),
    "workflow": ("workflow",),
    "releases": ("releases",),
}


@dataclass(frozen=True, slots=True)
class SignalState:
    """One source's stored progress for one repository: every fact of it from ``covered_since`` up to
    ``watermark`` (less the source's overlap) is stored."""

    watermark: datetime | None = None
    etag: str | None = None  # of the first page of the listing as last asked (REST sources)
    fingerprint: str | None = None  # the last probe's answer (deployments); the default branch (workflow)
    covered_since: datetime | None = None


def config_key(config: SourceConfig, signal: Signal) -> str:
    """The configuration a source's stored state was read with: when it changes (another environment
    pattern, workflow or label), what was read no longer answers the question, and the source is read
    again from scratch, its rows replaced. (The teams sync resets a source whose rule it changes; this is the
    collector's own check that what is stored was read under today's rule.) A label's case is no change:
    GitHub's labels ignore it."""
    setting = {
        "deployments": config.environment_pattern,
        "workflow": config.workflow,
        "incidents": config.incident_label.lower(),
    }.get(signal)
    return f"{signal} {json.dumps(setting)}"  # on one line, whatever the setting holds


def with_answer(key: str, answer: str = "") -> str:
    """The stored fingerprint: the configuration's key, then what GitHub answered (a probe, a default branch)."""
    return f"{key}\n{answer}"


def for_config(state: SignalState | None, key: str) -> tuple[SignalState, bool]:
    """The state to go on from, and whether what is stored was read under another configuration (its rows
    are then replaced by the next read). A source never read starts anew too, its rows kept: none were
    collected (the teams sync's reset removes a source's rows with its state)."""
    if state is None:
        return SignalState(), False
    if state.fingerprint is None or state.fingerprint.partition("\n")[0] != key:
        return SignalState(), True
    return state, False


def stored_answer(state: SignalState) -> str | None:
    """What GitHub answered when the state was stored (see ``with_answer``)."""
    return state.fingerprint.partition("\n")[2] if state.fingerprint is not None else None


def is_full(state: SignalState, wanted_since: datetime) -> bool:
    """Never read, or more history is wanted than was read: read from the top down to ``wanted_since``."""
    return state.covered_since is None or wanted_since < state.covered_since


def covered(state: SignalState, wanted_since: datetime) -> datetime:
    """``covered_since`` once a read completes."""
    if state.covered_since is None:
        return wanted_since
    return min(state.covered_since, wanted_since)


# Deployments: re-read at least this far below the newest one stored, for GitHub's clock skew.
DEPLOYMENT_OVERLAP = timedelta(hours=1)
# A pending deployment this recent, unless it is the newest (whose status the probe's fingerprint holds), is
# read again at every run even when the probe saw no change: its success may come late, after a newer
# deployment (a staging one came after it). An
# older pending one is read again only when the probe sees a change; a tool that never reports a final
# status would otherwise cost a query at every run for ever.
PENDING_WINDOW = timedelta(days=2)


def deployments_need_reading(
    state: SignalState, wanted_since: datetime, probed: str, oldest_pending: datetime | None
) -> bool:
    return is_full(state, wanted_since) or probed != state.fingerprint or oldest_pending is not None


def deployments_stop_at(state: SignalState, wanted_since: datetime, oldest_pending: datetime | None) -> datetime:
    """The oldest creation time a read must reach: past the watermark less its overlap, past the oldest
    recent pending deployment stored, never past the history wanted."""
    if is_full(state, wanted_since) or state.watermark is None:
        return wanted_since
    lower = state.watermark - DEPLOYMENT_OVERLAP
    if oldest_pending is not None:
        lower = min(lower, oldest_pending)
    return max(lower, wanted_since)


def deployments_read(
    state: SignalState, wanted_since: datetime, probed: str, newest: datetime | None, now: datetime
) -> SignalState:
    """The state once a read is stored: the newest creation time seen (never past the run's start), the
    probe's answer that the read accounts for."""
    watermark = state.watermark
    if newest is not None:
        newest = min(newest, now)
        watermark = newest if watermark is None else max(watermark, newest)
    return SignalState(
        watermark=watermark,
        fingerprint=probed,
        covered_since=covered(state, wanted_since),
    )


# Workflow runs are listed by creation, but one counts when it succeeds, which can be long after: a run
# created before the last read and finished after it must still be found. GitHub ends a job after 6
# hours by default; a day covers those and the usual waits for approval or a runner.
WORKFLOW_OVERLAP = timedelta(days=1)
# Releases are listed by created_at, which is the date of the release's commit, not of its publication:
# a release published today for a commit of last week sits below newer ones. Thirty days cover the usual
# gap between a release's commit and its publication; reading deeper costs only when pages fill up.
RELEASE_OVERLAP = timedelta(days=30)
# Incidents: GitHub's `since` is by its own clock.
INCIDENT_OVERLAP = timedelta(minutes=15)


def listing_stop_at(state: SignalState, wanted_since: datetime, overlap: timedelta) -> datetime:
    """Where a listing by creation time, newest first, stops: the watermark (on a full read, the history
    wanted) less the source's overlap, since a row's time (a run's success, a release's publication) comes
    after its creation. Rows are kept by their own time: at or after the history wanted."""
    if is_full(state, wanted_since) or state.watermark is None:
        return wanted_since - overlap
    return max(state.watermark, wanted_since) - overlap


def etag_to_send(state: SignalState, wanted_since: datetime) -> str | None:
    """The stored ETag, unless more history is wanted than it speaks for."""
    return None if is_full(state, wanted_since) else state.etag


def listing_read(state: SignalState, wanted_since: datetime, etag: str | None, read_at: datetime) -> SignalState:
    """The state of a listing (workflow runs, releases) once a read from its top is stored: the
    watermark is when it was read, the ETag its first page's."""
    return replace(state, watermark=read_at, etag=etag, covered_since=covered(state, wanted_since))


def incidents_since(state: SignalState, wanted_since: datetime) -> datetime:
    """The `since` sent with the incidents' listing. It stays the same while nothing changes, so the URL
    does, and the stored ETag answers 304."""
    if is_full(state, wanted_since) or state.watermark is None:
        return wanted_since
    return state.watermark


def incidents_read(
    state: SignalState, wanted_since: datetime, *, since: datetime, conditional: bool, etag: str | None,
    read_at: datetime,
) -> SignalState:  # fmt: skip
    """The state once every page of a 200 is stored. After a change (a conditional request that was not
    answered 304) `since` moves up to the read, less the overlap: the listing stays short. Its new URL has
    no ETag yet; the next run's answer gives one, and later quiet runs are 304s."""
    if conditional:
        moved = max(since, read_at - INCIDENT_OVERLAP)
        return SignalState(watermark=moved, etag=None, covered_since=covered(state, wanted_since))
    return SignalState(watermark=since, etag=etag, covered_since=covered(state, wanted_since))
