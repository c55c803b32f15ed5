"""The four keys' stage of a run: after the PRs, the facts of deployments, incidents and first commits.

For the run's repositories that the teams file configures (``repositories``): one GraphQL probe per 50
repositories says whose deployments changed; those are read (GraphQL, 100 with their statuses a point);
workflow runs, releases and incidents are REST listings whose first page is conditional (a quiet run's
``304`` is free); merged PRs' first commits are asked for 100 a point, across repositories. Each source of
each repository is written with its progress in one transaction, and fails alone: its error is the
repository's, like a failed PR listing. The deadline, GitHub's budget and Ctrl-C stop the stage as they
stop the PRs': what was not read is left for the next run.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from collector import fetch_keys, keys, store_keys
from collector.errors import CollectorError, GitHubAuthError, GitHubUnavailableError
from collector.github_api import GitHubRequestError, RunMustStop

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy import Engine

    from collector.github_api import GitHubClientFactory
    from collector.keys import Signal, SignalState, SourceConfig
    from collector.models import Refusal

log = logging.getLogger(__name__)

_PLAUSIBLE_SKEW = timedelta(days=1)  # a Date header further off than this is not GitHub's clock
_SIGNAL_NAMES = {"deployments": "deployments", "workflow": "workflow runs", "releases": "releases",
                 "incidents": "incidents", "first_commits": "first commits"}  # fmt: skip


@dataclass
class Stage:
    """What the stage needs of the run, and how it tells the run why it stopped."""

    engine: Engine
    github: GitHubClientFactory
    now: datetime
    default_since: datetime  # the history wanted of a repository whose PRs recorded none
    must_stop: Callable[[], bool]
    abort: threading.Event
    check_lock: Callable[[], None]
    workers: int = 1
    stopped_by: RunMustStop | None = None
    fatal: CollectorError | None = None


@dataclass
class KeysResult:
    """What the stage read and wrote, and what it could not."""

    deployments: int = 0  # deployments stored (successful, failed or pending), every source
    incidents: int = 0
    first_commits: int = 0  # merged PRs whose first commit was asked for
    refused: int = 0  # items GitHub sent that were kept out
    not_modified: int = 0  # listings GitHub answered 304
    failed: dict[str, list[str]] = field(default_factory=dict)  # repository (lower case) -> "source: why"
    unfinished: set[str] = field(default_factory=set)  # repositories with a source left for the next run
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, repository: str, signal: Signal, why: str) -> None:
        with self._lock:
            self.failed.setdefault(repository, []).append(f"{_SIGNAL_NAMES[signal]}: {why}")

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def leave(self, repositories: Iterable[str]) -> None:
        with self._lock:
            self.unfinished.update(repositories)


class _Stopped(Exception):
    """The run must stop (deadline near, another worker stopped it): this source is left for the next run."""


@dataclass(frozen=True)
class _Repository:
    config: SourceConfig
    spelling: str  # as the run and pull_requests name it
    wanted_since: datetime
    states: dict[Signal, SignalState]
    reconfigured: frozenset[Signal]  # sources read under another configuration: the next read replaces their rows
    branch: str | None  # the default branch, as stored PRs say
    pending: dict[str, datetime]  # its recent deployments still pending: id -> created_at

    @property
    def probe(self) -> fetch_keys.ProbeAsk | None:
        """What the probe asks of it: its deployments' fingerprint, and its default branch if no PR says it."""
        deployments = self.config.deploy_source == "deployments"
        branch = self.config.deploy_source == "workflow" and self.branch is None
        return fetch_keys.ProbeAsk(self.config.name, deployments, branch) if deployments or branch else None

    @property
    def needs_probe(self) -> bool:
        """The probe must run for it: a default branch neither a PR nor an earlier probe told is refreshed
        only when a probe runs anyway."""
        ask = self.probe
        return ask is not None and (ask.deployments or not keys.stored_answer(self.states["workflow"]))


def collect(stage: Stage, spellings: Sequence[str], skipped: set[str]) -> KeysResult:
    """Collect the keys' facts of the configured repositories among ``spellings``, but ``skipped`` ones
    (their PRs failed: the same error would come again)."""
    result = KeysResult()
    repositories = _load(stage, spellings, skipped)
    if not repositories:
        return result
    probed, unprobed = _probe(stage, result, repositories)
    tasks = [(_collect_repository, stage, result, r, probed.get(name), name in unprobed)
             for name, r in repositories.items()]  # fmt: skip
    _each(stage, tasks)
    _first_commits(stage, result, repositories)
    log.info(
        "four keys collected",
        extra={"repositories": len(repositories), "deployments": result.deployments, "incidents": result.incidents,
               "first_commits": result.first_commits, "refused": result.refused, "not_modified": result.not_modified,
               "failed": len(result.failed), "unfinished": len(result.unfinished)},
    )  # fmt: skip
    return result


def _load(stage: Stage, spellings: Sequence[str], skipped: set[str]) -> dict[str, _Repository]:
    by_name = {spelling.lower(): spelling for spelling in spellings if spelling.lower() not in skipped}
    configs = store_keys.configured(stage.engine, list(by_name))
    names = [c.name for c in configs]
    stored = store_keys.signal_states(stage.engine, names)
    history = store_keys.wanted_history(stage.engine, [by_name[n] for n in names])
    branches = store_keys.default_branches(stage.engine, [by_name[n] for n in names])
    pending = store_keys.recent_pending(stage.engine, names, stage.now - keys.PENDING_WINDOW)
    repositories = {}
    for config in configs:
        states, reconfigured = {}, set()
        for signal in config.signals:
            key = keys.config_key(config, signal)
            states[signal], changed = keys.for_config(stored.get((config.name, signal)), key)
            if changed:
                reconfigured.add(signal)
        wanted = history.get(config.name, stage.default_since)
        repositories[config.name] = _Repository(
            config, by_name[config.name], wanted, states, frozenset(reconfigured), branches.get(config.name),
            pending.get(config.name, {}),
        )  # fmt: skip
    return repositories


# ---------------------------------------------------------------- the probe


def _probe(
    stage: Stage, result: KeysResult, repositories: dict[str, _Repository]
) -> tuple[dict[str, fetch_keys.Probed], set[str]]:
    """One GraphQL query per 50 repositories: the answers, and the repositories asked but not answered
    (failed, or left for the next run: recorded either way)."""
    asks = [ask for r in repositories.values() if (ask := r.probe) is not None]
    if not any(r.needs_probe for r in repositories.values()):
        return {}, set()
    answers: dict[str, fetch_keys.Probed] = {}
    batches = list(keys.batched(asks, keys.PROBE_BATCH))
    for i, batch in enumerate(batches):
        signals: dict[str, Signal] = {a.repository: "deployments" if a.deployments else "workflow" for a in batch}
        if not _guarded(stage, result, signals, _probe_batch, stage, result, batch, signals, answers):
            for later in batches[i + 1 :]:
                result.leave(ask.repository for ask in later)
            break
    return answers, {ask.repository for ask in asks} - set(answers)


def _probe_batch(
    stage: Stage, result: KeysResult, batch: Sequence[fetch_keys.ProbeAsk], signals: dict[str, Signal],
    answers: dict[str, fetch_keys.Probed],
) -> None:  # fmt: skip
    found, failures = fetch_keys.probe(stage.github.client(), batch)
    answers.update(found)
    for name, why in failures.items():
        result.fail(name, signals[name], why)


# ---------------------------------------------------------------- one repository's sources


def _collect_repository(
    stage: Stage, result: KeysResult, repository: _Repository, probed: fetch_keys.Probed | None, unprobed: bool
) -> None:
    """Each of its sources, each failing alone. A source that needed the probe's answer and has none is
    skipped: why (a failure, the run's end) was recorded with the probe."""
    for signal in repository.config.signals:
        if unprobed and (signal == "deployments" or (signal == "workflow" and repository.branch is None)):
            continue
        if not _guarded(stage, result, {repository.config.name: signal}, _READERS[signal], stage, result,
                        repository, probed):  # fmt: skip
            return


def _deployments(stage: Stage, result: KeysResult, repository: _Repository, probed: fetch_keys.Probed | None) -> None:
    if probed is None or probed.fingerprint is None:
        raise GitHubRequestError("the probe did not answer for its deployments")
    state, wanted = repository.states["deployments"], repository.wanted_since
    fingerprint = keys.with_answer(keys.config_key(repository.config, "deployments"), probed.fingerprint)
    # A pending deployment that is the newest needs no read: the probe's fingerprint holds its latest status.
    pending_since = min((at for i, at in repository.pending.items() if i != probed.newest_id), default=None)
    if not keys.deployments_need_reading(state, wanted, fingerprint, pending_since):
        return
    stop_at = keys.deployments_stop_at(state, wanted, pending_since)
    read = fetch_keys.read_deployments(stage.github.client(), repository.config.name, stop_at, _between(stage))
    pattern = repository.config.environment_pattern or ""
    kept = [d for d in read.deployments if d.created_at >= wanted and _matches(pattern, d.environment)]
    new_state = keys.deployments_read(state, wanted, fingerprint, read.newest_created, stage.now)
    _save(stage, result, repository, "deployments", kept, (), new_state, read.refused)


def _workflow(stage: Stage, result: KeysResult, repository: _Repository, probed: fetch_keys.Probed | None) -> None:
    state, wanted = repository.states["workflow"], repository.wanted_since
    branch = repository.branch or (probed.default_branch if probed else None) or keys.stored_answer(state)
    if not branch:
        raise GitHubRequestError("its default branch is unknown: GitHub did not name it")
    workflow = repository.config.workflow or ""
    listing = fetch_keys.read_workflow_runs(
        stage.github.client(), repository.config.name, workflow, branch, etag=keys.etag_to_send(state, wanted),
        stop_at=keys.listing_stop_at(state, wanted, keys.WORKFLOW_OVERLAP), between_pages=_between(stage),
    )  # fmt: skip
    if listing.not_modified:
        result.add(not_modified=1)
        return
    kept = [d for d in listing.deployments if d.deployed_at is not None and d.deployed_at >= wanted]
    new_state = keys.listing_read(state, wanted, listing.etag, _read_at(stage.now, listing.server_time))
    fingerprint = keys.with_answer(keys.config_key(repository.config, "workflow"), branch)
    _save(stage, result, repository, "workflow", kept, (), replace(new_state, fingerprint=fingerprint), listing.refused)


def _releases(stage: Stage, result: KeysResult, repository: _Repository, probed: fetch_keys.Probed | None) -> None:
    state, wanted = repository.states["releases"], repository.wanted_since
    listing = fetch_keys.read_releases(
        stage.github.client(), repository.config.name, etag=keys.etag_to_send(state, wanted),
        stop_at=keys.listing_stop_at(state, wanted, keys.RELEASE_OVERLAP), between_pages=_between(stage),
    )  # fmt: skip
    if listing.not_modified:
        result.add(not_modified=1)
        return
    kept = [d for d in listing.deployments if d.deployed_at is not None and d.deployed_at >= wanted]
    new_state = keys.listing_read(state, wanted, listing.etag, _read_at(stage.now, listing.server_time))
    fingerprint = keys.with_answer(keys.config_key(repository.config, "releases"))
    _save(stage, result, repository, "releases", kept, listing.not_deployments,
          replace(new_state, fingerprint=fingerprint), listing.refused)  # fmt: skip


def _incidents(stage: Stage, result: KeysResult, repository: _Repository, probed: fetch_keys.Probed | None) -> None:
    state, wanted = repository.states["incidents"], repository.wanted_since
    since, etag = keys.incidents_since(state, wanted), keys.etag_to_send(state, wanted)
    listing = fetch_keys.read_incidents(
        stage.github.client(), repository.config.name, repository.config.incident_label, since=since, etag=etag,
        between_pages=_between(stage),
    )  # fmt: skip
    if listing.not_modified:
        result.add(not_modified=1)
        return
    read_at = _read_at(stage.now, listing.server_time)
    new_state = keys.incidents_read(state, wanted, since=since, conditional=etag is not None, etag=listing.etag,
                                    read_at=read_at)  # fmt: skip
    new_state = replace(new_state, fingerprint=keys.with_answer(keys.config_key(repository.config, "incidents")))
    stage.check_lock()
    replace_all = "incidents" in repository.reconfigured
    store_keys.save_incidents(stage.engine, repository.config.name, listing.incidents, new_state,
                              replace_all=replace_all)  # fmt: skip
    result.add(incidents=len(listing.incidents))
    _refused(result, listing.refused, "incident")


_READERS: dict[Signal, Callable[[Stage, KeysResult, _Repository, fetch_keys.Probed | None], None]] = {
    "deployments": _deployments,
    "workflow": _workflow,
    "releases": _releases,
    "incidents": _incidents,
}


def _save(
    stage: Stage, result: KeysResult, repository: _Repository, signal: Signal, kept: Sequence[Any],
    not_deployments: Sequence[str], state: SignalState, refused: Sequence[Refusal],
) -> None:  # fmt: skip
    stage.check_lock()
    store_keys.save_deployments(stage.engine, repository.config.name, signal, kept, not_deployments, state,
                                replace_all=signal in repository.reconfigured)  # fmt: skip
    result.add(deployments=len(kept))
    _refused(result, refused, "deployment")


def _matches(pattern: str, environment: str | None) -> bool:
    try:
        return keys.environment_matches(pattern, environment)
    except re.error as exc:  # checked when the teams file is read; a hand-edited row may still hold one
        raise GitHubRequestError(f"its environment pattern does not compile ({exc})") from None


def _read_at(now: datetime, server_time: datetime | None) -> datetime:
    """When a listing was read, by GitHub's clock if it is plausible; never past the run's start."""
    if server_time is not None and abs(server_time - now) < _PLAUSIBLE_SKEW:
        return min(now, server_time)
    return now


def _refused(result: KeysResult, refused: Sequence[Refusal], what: str) -> None:
    result.add(refused=len(refused))
    for refusal in refused:
        log.warning(f"{what} refused", extra={"repository": refusal.repository, "item": refusal.item,
                                              "reason": refusal.reason, "excerpt": refusal.excerpt})  # fmt: skip


# ---------------------------------------------------------------- first commits


def _first_commits(stage: Stage, result: KeysResult, repositories: dict[str, _Repository]) -> None:
    """Merged PRs' first commits, 100 a query across repositories, at most FIRST_COMMITS_PER_RUN a run."""
    since = {r.spelling: r.wanted_since for r in repositories.values()}
    unread = store_keys.first_commits_unread(stage.engine, since, keys.FIRST_COMMITS_PER_RUN)
    batches = list(keys.batched(unread, keys.FIRST_COMMIT_BATCH))
    for i, batch in enumerate(batches):
        signals: dict[str, Signal] = {repository.lower(): "first_commits" for repository, _ in batch}
        if not _guarded(stage, result, signals, _first_commits_batch, stage, result, batch):
            for later in batches[i + 1 :]:
                result.leave(repository.lower() for repository, _ in later)
            return


def _first_commits_batch(stage: Stage, result: KeysResult, batch: Sequence[tuple[str, int]]) -> None:
    answer = fetch_keys.read_first_commits(stage.github.client(), batch)
    for repository, why in answer.failed.items():
        result.fail(repository.lower(), "first_commits", why)
    stage.check_lock()
    store_keys.save_first_commits(stage.engine, answer.found, stage.now)
    result.add(first_commits=len(answer.found))
    _refused(result, answer.refused, "first commit")


# ---------------------------------------------------------------- running and stopping


def _each(stage: Stage, tasks: list[tuple[Any, ...]]) -> None:
    """Each ``(function, *args)`` on the run's workers; Ctrl-C (which reaches this thread only) stops them
    before their next page."""
    if not tasks:
        return
    with ThreadPoolExecutor(max_workers=max(1, min(stage.workers, len(tasks))), thread_name_prefix="keys") as pool:
        # Each task runs in a copy of the context, so log lines in workers carry the run id.
        futures = [pool.submit(contextvars.copy_context().run, task[0], *task[1:]) for task in tasks]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stage.abort.set()
            raise


def _between(stage: Stage) -> Callable[[], None]:
    def check() -> None:
        if stage.must_stop():
            raise _Stopped

    return check


def _guarded(
    stage: Stage, result: KeysResult, signals: dict[str, Signal], work: Callable[..., None], *args: Any
) -> bool:
    """``work(*args)`` for one source of the repositories in ``signals``: a failure is theirs alone,
    recorded against each one's source. False: the run must stop."""
    if stage.must_stop():
        result.leave(signals)
        return False
    try:
        work(*args)
    except _Stopped:
        result.leave(signals)
        return False
    except RunMustStop as stop:
        result.leave(signals)
        stage.stopped_by = stage.stopped_by or stop
        stage.abort.set()  # the budget and the deadline are the whole run's: the other workers stop too
        return False
    except (GitHubAuthError, GitHubUnavailableError) as exc:
        result.leave(signals)
        stage.fatal = stage.fatal or exc
        stage.abort.set()
        return False
    except (GitHubRequestError, store_keys.RowsRefused) as exc:
        for repository, signal in signals.items():
            result.fail(repository, signal, str(exc))
        log.error("source failed", extra={"repositories": sorted(signals), "error": str(exc)})
    except BaseException:
        stage.abort.set()  # the database failed for good: the other workers stop before their next page
        raise
    return True
