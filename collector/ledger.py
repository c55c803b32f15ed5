"""A run's bookkeeping in one ``with`` block: its locks, its ledger row, and how it ended, whatever happens."""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from collector import store
from collector.errors import counted
from collector.logs import run_id_var

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import Engine

log = logging.getLogger(__name__)


@dataclass
class RepoOutcome:
    repository: str
    status: str = "done"  # "done" | "failed" | "unfinished"
    prs_seen: int = 0
    rows_written: int = 0
    quarantined: int = 0
    pages: int = 0
    not_modified: bool = False
    error: str | None = None
    prs_eligible: int = 0  # written PRs a team could be credited with: merged, by a person, into the default branch
    prs_credited: int = 0  # those of them at least one team was credited with


@dataclass(frozen=True)
class KeysCounts:
    """What the four keys' stage read: rows stored, and items GitHub sent that were kept out."""

    deployments: int = 0
    incidents: int = 0
    first_commits: int = 0
    refused: int = 0


@dataclass
class RunResult:
    run_id: uuid.UUID
    status: str = "running"
    outcomes: list[RepoOutcome] = field(default_factory=list)
    github_requests: int = 0
    github_not_modified: int = 0
    graphql_requests: int = 0
    graphql_points: int = 0  # what GitHub charged for them: its GraphQL budget is apart from REST's
    keys: KeysCounts = field(default_factory=KeysCounts)
    rate_limit_remaining: int | None = None
    rate_limit_reset: datetime | None = None  # set when GitHub's budget ended the run
    duration_seconds: float = 0.0
    error: str | None = None
    stop_reason: str | None = None  # why repositories were left for the next run (GitHub's budget, time)
    warnings: list[str] = field(default_factory=list)  # what people should fix, as logged

    def _count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def repositories_done(self) -> int:
        return self._count("done")

    @property
    def repositories_unfinished(self) -> int:
        return self._count("unfinished")

    @property
    def failed(self) -> dict[str, str]:
        return {o.repository: o.error or "" for o in self.outcomes if o.status == "failed"}

    @property
    def prs_seen(self) -> int:
        return sum(o.prs_seen for o in self.outcomes)

    @property
    def rows_written(self) -> int:
        return sum(o.rows_written for o in self.outcomes)

    @property
    def prs_quarantined(self) -> int:
        return sum(o.quarantined for o in self.outcomes)

    @property
    def prs_eligible(self) -> int:
        return sum(o.prs_eligible for o in self.outcomes)

    @property
    def prs_credited(self) -> int:
        return sum(o.prs_credited for o in self.outcomes)


@contextmanager
def recorded_run(
    engine: Engine, repositories: Sequence[str], now: datetime, trigger: str
) -> Iterator[tuple[RunResult, store.RunLock]]:
    """Take the run's locks, open its ledger row, and close the row with the result the block fills in.

    An exception (a database failure past its retries, a lost lock, Ctrl-C) closes the row as ``failed``
    with why, so no row is left ``running``.
    """
    result = RunResult(uuid.uuid4())
    token = run_id_var.set(str(result.run_id))
    started = time.monotonic()
    try:
        with store.database_errors("database"), store.run_lock(engine, repositories) as lock:
            store.start_run(engine, result.run_id, now, trigger, len(repositories), lock)
            try:
                yield result, lock
            except BaseException as exc:
                _record_failure(engine, result.run_id, now + timedelta(seconds=time.monotonic() - started), exc)
                raise
            result.duration_seconds = time.monotonic() - started
            _finish(engine, now, result)
    finally:
        run_id_var.reset(token)


def _record_failure(engine: Engine, run_id: uuid.UUID, finished_at: datetime, exc: BaseException) -> None:
    """Best effort: if the database itself is gone, the next run marks the row abandoned."""
    error = "interrupted" if isinstance(exc, KeyboardInterrupt) else store.describe_db_error(exc)
    try:
        store.finish_run(engine, run_id, finished_at=finished_at, status="failed", error=error)
    except Exception as again:
        log.warning("the run's failure could not be recorded", extra={"error": store.describe_db_error(again)})


def _finish(engine: Engine, now: datetime, result: RunResult) -> None:
    store.finish_run(
        engine,
        result.run_id,
        finished_at=now + timedelta(seconds=result.duration_seconds),
        status=result.status,
        repositories_done=result.repositories_done,
        repositories_failed=len(result.failed),
        failed_repositories=sorted(result.failed),
        prs_seen=result.prs_seen,
        rows_written=result.rows_written,
        prs_quarantined=result.prs_quarantined,
        github_requests=result.github_requests,
        github_requests_not_modified=result.github_not_modified,
        github_graphql_requests=result.graphql_requests,
        github_graphql_points=result.graphql_points,
        rate_limit_remaining=result.rate_limit_remaining,
        rate_limit_reset=result.rate_limit_reset,
        error=result.error,
    )
    log.info(
        "run finished",
        extra={
            "status": result.status,
            "repositories_done": result.repositories_done,
            "repositories_failed": len(result.failed),
            "repositories_unfinished": result.repositories_unfinished,
            "prs_seen": result.prs_seen,
            "rows_written": result.rows_written,
            "prs_quarantined": result.prs_quarantined,
            "github_requests": result.github_requests,
            "github_not_modified": result.github_not_modified,
            "graphql_requests": result.graphql_requests,
            "graphql_points": result.graphql_points,
            "deployments": result.keys.deployments,
            "incidents": result.keys.incidents,
            "first_commits": result.keys.first_commits,
            "keys_refused": result.keys.refused,
            "rate_limit_remaining": result.rate_limit_remaining,
            "rate_limit_reset": result.rate_limit_reset.isoformat() if result.rate_limit_reset else None,
            "duration_seconds": round(result.duration_seconds, 3),
        },
    )


def describe(result: RunResult) -> str:
    """The run in a few plain sentences, for people: first what stopped it or needs fixing, then what it did
    and what it cost, then the run. Zero counts that say nothing are left out."""
    sentences = [*_problems(result), *result.warnings, _work(result), _verdict(result)]
    return " ".join(_sentence(s) for s in sentences)


def _problems(result: RunResult) -> list[str]:
    if _stopped_by_github(result):
        return [result.error or ""]  # GitHub rejected the credentials or was out of reach: it says what to do
    problems = [_failures(result.failed, len(result.outcomes))] if result.failed else []
    if result.rate_limit_reset is not None:
        problems.append(
            f"GitHub's rate limit stopped the run; it resets at {result.rate_limit_reset:%Y-%m-%d %H:%M} UTC"
        )
    elif result.stop_reason:
        problems.append(result.stop_reason)  # e.g. "the run's time is up"
    return problems


def _stopped_by_github(result: RunResult) -> bool:
    """Failed without a failed repository: the credentials were rejected or GitHub was out of reach."""
    return result.status == "failed" and not result.failed and bool(result.error)


def _work(result: RunResult) -> str:
    clauses = []
    if result.prs_seen:
        from_repos = sum(1 for o in result.outcomes if o.prs_seen)
        clauses.append(
            f"{counted(result.prs_seen, 'PR')} collected from {counted(from_repos, 'repository', 'repositories')}"
        )
        if result.rows_written:
            clauses[-1] += f", {counted(result.rows_written, 'row')} written"
    elif not (done := [o for o in result.outcomes if o.status == "done"]):
        clauses.append("nothing was collected")
    elif all(o.not_modified for o in done) and not _keys_read(result.keys):  # GitHub said so: 304 Not Modified
        others = (
            ""
            if len(done) == len(result.outcomes)
            else " in the other " + ("repository" if len(done) == 1 else f"{len(done)} repositories")
        )
        clauses.append(f"nothing changed{others} since the last run")
    else:
        clauses.append("no new or updated PRs")
    if result.prs_quarantined:
        clauses[-1] += f", {counted(result.prs_quarantined, 'PR')} quarantined"
    if read := _keys_clause(result.keys):
        clauses.append(read)
    if result.repositories_unfinished and not _stopped_by_github(result):
        clauses.append(f"{counted(result.repositories_unfinished, 'repository', 'repositories')} left for the next run")
    if result.github_requests:
        not_modified = (
            f" ({result.github_not_modified} answered 304 Not Modified)" if result.github_not_modified else ""
        )
        clauses.append(f"{counted(result.github_requests, 'GitHub request')}{not_modified}")
    if result.graphql_requests:
        queries = counted(result.graphql_requests, "GraphQL query", "GraphQL queries")
        clauses.append(f"{queries} costing {counted(result.graphql_points, 'point')}")
    return "; ".join(clauses)


def _keys_read(keys: KeysCounts) -> bool:
    return bool(keys.deployments or keys.incidents or keys.first_commits)


def _keys_clause(keys: KeysCounts) -> str:
    """ "3 deployments, 1 incident and 40 first commits read, 2 items refused (see the log)" without its zeros."""
    read = [counted(n, noun) for n, noun in ((keys.deployments, "deployment"), (keys.incidents, "incident"),
                                              (keys.first_commits, "first commit")) if n]  # fmt: skip
    clause = f"{', '.join(read[:-1])} and {read[-1]}" if len(read) > 1 else "".join(read)
    clause += " read" if clause else ""
    if keys.refused:
        refused = f"{counted(keys.refused, 'item')} GitHub sent for the four keys refused (see the log)"
        clause = f"{clause}, {refused}" if clause else refused
    return clause


def _failures(failed: dict[str, str], repositories: int) -> str:
    if len(failed) == 1:
        ((repo, error),) = failed.items()
        which = f"the only repository, {repo}," if repositories == 1 else f"repository {repo}"
        return f"{which} failed ({error or 'no reason given'})"
    why = "; ".join(f"{repo} ({error or 'no reason given'})" for repo, error in sorted(failed.items()))
    if len(failed) == repositories:
        return f"{'both' if repositories == 2 else f'all {repositories}'} repositories failed: {why}"
    return f"{len(failed)} repositories failed: {why}"


def _verdict(result: RunResult) -> str:
    ended = {"success": "succeeded", "partial": "is partial", "failed": "failed"}
    return f"run {result.run_id} {ended.get(result.status, result.status)}"


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
