"""The collections webhooks asked for: at most one per repository, and none for a repository whose stored
data already cover the event.

A burst of deliveries (a merge sends ``pull_request``, then ``workflow_run`` for every workflow, then a
``deployment_status``...) is many requests for one repository: they are grouped, and once one collection has
started after the newest of them, every one of them is covered. So 50 deliveries are one collection, a
duplicate delivery or a replay is none, and a delivery that arrives while its repository is being
collected waits for its turn. The collection itself is the ordinary incremental run of ``pipeline.run``:
it reads GitHub, never the payload: the repository's PRs, then the four keys' facts (deployments by the
repository's source, incidents, first commits) when the teams file configures it. So the four keys' events
are asked about only where that run reads what they change: a ``deployment_status`` for a repository that
deploys by GitHub Deployments, a ``workflow_run`` by a workflow, a ``release`` by releases, ``issues`` for any
configured one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from collector import store
from collector.errors import LockTakenError
from collector.pipeline import DEADLINE_MARGIN_SECONDS, run

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from sqlalchemy import Engine

    from collector.config import Settings
    from collector.deadline import Deadline
    from collector.github_api import GitHubClientFactory
    from collector.ledger import RunResult
    from collector.webhooks import CollectionRequest

log = logging.getLogger(__name__)
TRIGGER = "webhook"
# The deployment source (the teams file's repositories[].deployments.source) each event can change; None: any.
SIGNAL_EVENTS: dict[str, str | None] = {
    "deployment_status": "deployments",
    "workflow_run": "workflow",
    "release": "releases",
    "issues": None,
}


def due(event_at: datetime, watermark: datetime | None) -> bool:
    """Whether a change at ``event_at`` needs a collection: every PR updated before the watermark is stored
    (``[covered_since, watermark)``, cursor.py), so one updated at or after it may not be."""
    return watermark is None or watermark <= event_at


def reads_what_it_changed(request: CollectionRequest, sources: Mapping[str, str]) -> bool:
    """Whether a collection of the request's repository reads what its event changes, by the repository's
    deployment source (``sources``: lower-case name -> source, the repositories the teams file configures).
    A closed PR, or an event this version does not know, always asks."""
    if request.event not in SIGNAL_EVENTS:
        return True
    source = sources.get(request.repository.lower())
    wanted = SIGNAL_EVENTS[request.event]
    return source is not None and wanted in (None, source)


def newest_by_repository(requests: Sequence[CollectionRequest], configured: Sequence[str]) -> dict[str, datetime]:
    """The newest change asked about per repository, named as REPOSITORIES spells it. A request for a
    repository no longer configured (REPOSITORIES changed since it was queued) is dropped."""
    spelled = {name.lower(): name for name in configured}
    newest: dict[str, datetime] = {}
    for request in requests:
        name = spelled.get(request.repository.lower())
        if name is None:
            log.warning("webhook request dropped: not in REPOSITORIES", extra={"repository": request.repository})
        elif name not in newest or request.event_at > newest[name]:
            newest[name] = request.event_at
    return newest


@dataclass
class Collected:
    """What became of a batch of requests, by repository."""

    results: list[RunResult] = field(default_factory=list)  # the runs made, one per repository
    skipped: list[str] = field(default_factory=list)  # already covered: no run, no GitHub request
    unread: list[str] = field(default_factory=list)  # its requests change nothing a run of it reads: no run
    retry: list[str] = field(default_factory=list)  # to ask again later: failed, or no time left
    busy: list[str] = field(default_factory=list)  # held by another run (a backfill may hold it for hours)


def collect_requested(
    settings: Settings,
    requests: Sequence[CollectionRequest],
    *,
    make_github: Callable[[], GitHubClientFactory],
    engine: Engine,
    clock: Callable[[], datetime],
    deadline: Deadline | None = None,
) -> Collected:
    """One incremental run per repository that is due, one after another.

    A repository another run holds (the schedule's, or another batch's) is ``busy``: asked again later, when
    that run's watermark tells whether this request is covered. A run that failed is retried too (the
    queue's redrive policy parks it in the end); one that ended partial is not: its stored sweep is
    continued by the next run, whichever starts it.
    """
    collected = Collected()
    with store.database_errors("database"):
        requests = _read_by_a_run(requests, engine, collected)
    newest = newest_by_repository(requests, settings.repositories)
    if not newest:
        return collected
    with store.database_errors("database"):
        marks = store.watermarks(engine, list(newest))
    for repository, event_at in newest.items():
        if not due(event_at, marks[repository]):
            collected.skipped.append(repository)
            log.info("webhook collection skipped: already covered", extra={"repository": repository})
        elif deadline is not None and deadline.near(DEADLINE_MARGIN_SECONDS):
            collected.retry.append(repository)
        else:
            _collect(settings, repository, make_github, engine, clock(), collected)
    return collected


def _read_by_a_run(
    requests: Sequence[CollectionRequest], engine: Engine, collected: Collected
) -> list[CollectionRequest]:
    """The requests whose change a run of their repository reads; the repositories of none go to ``unread``."""
    signals = {r.repository for r in requests if r.event in SIGNAL_EVENTS}
    sources = store.deploy_sources(engine, sorted(signals)) if signals else {}
    kept = [r for r in requests if reads_what_it_changed(r, sources)]
    unread = sorted({r.repository.lower() for r in requests} - {r.repository.lower() for r in kept})
    for name in unread:
        log.info("webhook request dropped: a run reads nothing its events change", extra={"repository": name})
    collected.unread.extend(unread)
    return kept


def _collect(
    settings: Settings, repository: str, make_github: Callable[[], GitHubClientFactory], engine: Engine,
    now: datetime, collected: Collected,
) -> None:  # fmt: skip
    try:
        # A fresh client factory per run: the run's ledger row counts its own GitHub requests.
        result = run(settings, github=make_github(), engine=engine, now=now, repositories=[repository],
                     trigger=TRIGGER, sync_teams=False)  # fmt: skip
    except LockTakenError as exc:
        collected.busy.append(repository)
        log.info("webhook collection postponed", extra={"repository": repository, "reason": str(exc)})
        return
    collected.results.append(result)
    if result.status == "failed":
        collected.retry.append(repository)
