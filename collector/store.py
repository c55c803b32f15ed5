"""The only module that writes SQL: idempotent upserts, team sync, watermarks and the run ledger."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Connection, Engine, Text, create_engine, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from collector.attribute import attribute
from collector.errors import DatabaseError
from collector.membership import MembershipIndex, TeamSpec
from collector.models import Membership, PullRequest
from collector.schema import (
    collector_runs,
    collector_state,
    pr_metrics,
    pull_requests,
    team_memberships,
    teams,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import datetime

# Advisory lock namespaces (the first of PostgreSQL's two int4 keys). Runs hold the global lock
# shared and a lock per repository they collect, so shards of one organisation run side by side
# while two runs over the same repository never do; `teams sync` takes the global lock exclusively.
# Each run also holds a lock on its own id, which tells a live run from one that was killed.
_LOCK_GLOBAL = 0x0D0A_0001
_LOCK_REPOSITORY = 0x0D0A_0002
_LOCK_RUN = 0x0D0A_0003
_METRIC_COLUMNS = (
    "team_id", "membership_id", "repository", "pr_number", "author", "title", "created_at",
    "merged_at", "closed_at", "cycle_time_hours", "state", "created_date", "allocation_weight",
)  # fmt: skip
_PR_COLUMNS = (
    "repository", "number", "title", "author", "is_bot", "state", "draft", "base_ref",
    "default_branch", "created_at", "updated_at", "closed_at", "merged_at",
)  # fmt: skip
_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"}


def make_engine(database_url: str, *, pool_size: int = 10) -> Engine:
    # pre_ping replaces connections that died between warm Lambda invocations.
    return create_engine(database_url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # COPY and the deletes run on psycopg's own cursor: its errors arrive unwrapped.
    error = exc if isinstance(exc, psycopg.Error) else getattr(exc, "orig", None)
    if not isinstance(error, psycopg.Error):
        return False
    if error.sqlstate is None:  # no answer from the server: the connection itself failed
        return isinstance(error, psycopg.OperationalError)
    return error.sqlstate in _TRANSIENT_SQLSTATES


# Transient database errors (a failover, a dropped connection, a serialization conflict) are
# retried a few times with backoff; the transaction is redone whole, which idempotent writes make safe.
transient_db_retry = retry(
    retry=retry_if_exception(_is_transient),
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=0.2, max=3),
    reraise=True,
)


def describe_db_error(exc: BaseException) -> str:
    """A one-line, secret-free description of a database failure."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return first[:300]


@contextmanager
def database_errors(action: str) -> Iterator[None]:
    try:
        yield
    except (OperationalError, DBAPIError, psycopg.Error) as exc:
        raise DatabaseError(f"{action}: {describe_db_error(exc)}") from None


# ---------------------------------------------------------------- collection writes


@dataclass(frozen=True, slots=True)
class PageWrite:
    prs_written: int
    metric_rows_written: int


@transient_db_retry
def save_page(engine: Engine, repository: str, prs: Sequence[PullRequest], index: MembershipIndex) -> PageWrite:
    """Store a batch of listed PRs in one transaction: their facts and their team rows, replaced exactly.

    ``pull_requests`` keeps merged and open PRs; a PR closed without merging is removed (it was
    stored while it was open), and so is every team row that no longer applies. Replacing is a
    delete of the batch's PRs followed by a COPY of what the batch says, with no staging table and no
    ``ON CONFLICT``: the rows are written once, which makes this path nearly as fast as a bare COPY
    (bench/RESULTS.md). A run that repeats a batch deletes and writes the same rows again: idempotent.
    """
    prs = _newest_versions(prs)
    kept = [_pr_row(pr) for pr in prs if pr.is_merged or pr.state == "open"]
    rows = [_metric_row(row) for pr in prs for row in attribute(pr, index)]
    with engine.begin() as conn, _raw_cursor(conn) as cur:
        cur.execute(_DELETE_PULL_REQUESTS, (repository, [pr.number for pr in prs]), prepare=False)
        # pr_metrics rows exist only for stored PRs: on a backfill nothing was stored, nothing to delete.
        if stored := [number for (number,) in cur.fetchall()]:
            cur.execute(_DELETE_METRICS, (repository, stored), prepare=False)
        _copy(cur, "pull_requests", _PR_COLUMNS, kept)
        _copy(cur, "pr_metrics", _METRIC_COLUMNS, rows)
    return PageWrite(prs_written=len(kept), metric_rows_written=len(rows))


def _newest_versions(prs: Sequence[PullRequest]) -> list[PullRequest]:
    """One version per PR: a PR updated while the listing pages shows up twice, and a batch must
    write each PR once."""
    newest: dict[int, PullRequest] = {}
    for pr in prs:
        if pr.number not in newest or pr.updated_at > newest[pr.number].updated_at:
            newest[pr.number] = pr
    return list(newest.values())


# Two details keep these deletes index lookups (measured: 5 s instead of 0.1 s for a 30,000-PR backfill).
# They run with prepare=False, so each is planned with the table's current size: a backfill grows the
# tables from empty within one run, and psycopg's prepared statement would keep a generic plan made
# while the statistics said "empty" (read all of the repository's PRs, compare each with the batch).
# And the array is cast: psycopg sends small ints as smallint[], and the planner costs a cross-type
# `integer = ANY(smallint[])` of 1,000 numbers as dearer than that same scan.
_DELETE_PULL_REQUESTS = (
    "DELETE FROM pull_requests WHERE repository = %s AND number = ANY(%s::integer[]) RETURNING number"
)
_DELETE_METRICS = "DELETE FROM pr_metrics WHERE repository = %s AND pr_number = ANY(%s::integer[])"


def _raw_cursor(conn: Connection) -> psycopg.Cursor[Any]:
    """A psycopg cursor on the transaction's connection: COPY is not reachable through SQLAlchemy."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw.cursor()


_pr_row = attrgetter(*_PR_COLUMNS)
_metric_row = attrgetter(*_METRIC_COLUMNS)


def _copy(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# ---------------------------------------------------------------- watermarks


@dataclass(frozen=True, slots=True)
class RepoState:
    watermark: datetime | None
    etag: str | None


def load_repo_states(engine: Engine, repositories: Iterable[str]) -> dict[str, RepoState]:
    names = list(repositories)
    with engine.connect() as conn:
        found = conn.execute(
            select(collector_state.c.repository, collector_state.c.watermark, collector_state.c.etag).where(
                collector_state.c.repository.in_(names)
            )
        ).all()
    states = {r.repository: RepoState(r.watermark, r.etag) for r in found}
    return {name: states.get(name, RepoState(None, None)) for name in names}


@transient_db_retry
def advance_watermark(
    engine: Engine, repository: str, watermark: datetime, etag: str | None, run_id: uuid.UUID
) -> None:
    """Called only after every page of the repository is committed. Never moves a watermark back."""
    stmt = insert(collector_state).values(repository=repository, watermark=watermark, etag=etag, last_run_id=run_id)
    with engine.begin() as conn:
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["repository"],
                set_={
                    "watermark": func.greatest(collector_state.c.watermark, stmt.excluded.watermark),
                    "etag": stmt.excluded.etag,
                    "last_run_id": stmt.excluded.last_run_id,
                    "updated_at": func.now(),
                },
            )
        )


# ---------------------------------------------------------------- teams


@dataclass(frozen=True, slots=True)
class TeamSyncResult:
    teams: int
    memberships: int
    teams_removed: int
    metric_rows: int
    reattributed: bool


def load_memberships(conn: Connection) -> list[Membership]:
    result = conn.execute(
        select(
            team_memberships.c.id,
            team_memberships.c.team_id,
            team_memberships.c.github_username,
            team_memberships.c.allocation_weight,
            team_memberships.c.joined_at,
            team_memberships.c.left_at,
        )
    )
    return [Membership(*row) for row in result]


@transient_db_retry
def sync_teams(engine: Engine, specs: Sequence[TeamSpec], *, force: bool = True) -> TeamSyncResult:
    """Make teams and memberships equal to the file, then re-attribute every stored PR: one transaction.

    With ``force=False`` (the sync before each run) re-attribution is skipped when the file changed no
    membership: ``pr_metrics`` already reflects the stored memberships, since every page is attributed
    with them as it is written.
    """
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k, 0)"), {"k": _LOCK_GLOBAL})
        removed = _sync_team_rows(conn, specs)
        changed = removed > 0
        for spec in specs:
            changed = _sync_memberships(conn, spec) or changed
        index = MembershipIndex(load_memberships(conn))
        if force or changed:
            metric_rows = reattribute_all(conn, index)
        else:
            metric_rows = conn.execute(select(func.count()).select_from(pr_metrics)).scalar_one()
    return TeamSyncResult(len(specs), len(index), removed, metric_rows, force or changed)


def _sync_team_rows(conn: Connection, specs: Sequence[TeamSpec]) -> int:
    names = [s.name for s in specs]
    # Cascades to memberships, whose trigger deletes their pr_metrics rows (migration 0004).
    removed = conn.execute(delete(teams).where(teams.c.name.not_in(names))).rowcount
    if specs:
        stmt = insert(teams)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={"description": stmt.excluded.description, "updated_at": func.now()},
                where=teams.c.description.is_distinct_from(stmt.excluded.description),
            ),
            [{"name": s.name, "description": s.description} for s in specs],
        )
    return int(removed or 0)


def _sync_memberships(conn: Connection, spec: TeamSpec) -> bool:
    """Returns whether any membership of the team was added, changed or removed."""
    team_id = conn.execute(select(teams.c.id).where(teams.c.name == spec.name)).scalar_one()
    existing = conn.execute(
        select(team_memberships.c.id, team_memberships.c.github_username, team_memberships.c.joined_at).where(
            team_memberships.c.team_id == team_id
        )
    ).all()
    wanted = {(m.github_username, m.joined_at) for m in spec.members}
    stale = [r.id for r in existing if (r.github_username, r.joined_at) not in wanted]
    if stale:
        conn.execute(delete(team_memberships).where(team_memberships.c.id.in_(stale)))
    if not spec.members:
        return bool(stale)
    stmt = insert(team_memberships)
    written = conn.execute(
        # Unchanged memberships keep their id, so the audit trail stays stable across syncs.
        stmt.on_conflict_do_update(
            index_elements=["team_id", "github_username", "joined_at"],
            set_={"allocation_weight": stmt.excluded.allocation_weight, "left_at": stmt.excluded.left_at},
            where=tuple_(team_memberships.c.allocation_weight, team_memberships.c.left_at).is_distinct_from(
                tuple_(stmt.excluded.allocation_weight, stmt.excluded.left_at)
            ),
        ).returning(team_memberships.c.id),
        [
            {
                "team_id": team_id,
                "github_username": m.github_username,
                "allocation_weight": m.allocation_weight,
                "joined_at": m.joined_at,
                "left_at": m.left_at,
            }
            for m in spec.members
        ],
    ).all()
    return bool(stale or written)


def reattribute_all(conn: Connection, index: MembershipIndex) -> int:
    """Recompute every ``pr_metrics`` row from stored PR facts, inside the caller's transaction.

    No GitHub request: ``pull_requests`` holds everything attribution needs. Rows go in with COPY
    (the table was just emptied, so there is nothing to conflict with).
    """
    conn.execute(delete(pr_metrics))
    merged = conn.execution_options(yield_per=5000).execute(
        select(*[pull_requests.c[c] for c in _PR_COLUMNS]).where(pull_requests.c.merged_at.is_not(None))
    )
    written = 0
    # A COPY cannot run while the server-side cursor is mid-fetch: one COPY per fetched batch.
    for batch in merged.partitions():
        rows = [_metric_row(row) for record in batch for row in attribute(PullRequest(*record), index)]
        with _raw_cursor(conn) as cur:
            _copy(cur, "pr_metrics", _METRIC_COLUMNS, rows)
        written += len(rows)
    return written


def load_index(engine: Engine) -> MembershipIndex:
    with engine.connect() as conn:
        return MembershipIndex(load_memberships(conn))


# ---------------------------------------------------------------- run ledger and lock


@contextmanager
def run_lock(engine: Engine, run_id: uuid.UUID, repositories: Sequence[str]) -> Iterator[None]:
    """Hold the run's locks for its whole duration on a dedicated connection; fail at once if taken."""
    with engine.connect() as conn:
        try:
            _take_run_locks(conn, run_id, repositories)
            yield
        finally:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
            conn.commit()


def _take_run_locks(conn: Connection, run_id: uuid.UUID, repositories: Sequence[str]) -> None:
    def try_lock(sql: str, **params: Any) -> bool:
        return bool(conn.execute(text(sql), params).scalar_one())

    if not try_lock("SELECT pg_try_advisory_lock_shared(:k, 0)", k=_LOCK_GLOBAL):
        raise DatabaseError("a teams sync is in progress; try again in a moment")
    for repository in repositories:
        if not try_lock("SELECT pg_try_advisory_lock(:k, hashtext(lower(:r)))", k=_LOCK_REPOSITORY, r=repository):
            raise DatabaseError(f"another collector run is collecting {repository}; try again later")
    try_lock("SELECT pg_try_advisory_lock(:k, hashtext(:r))", k=_LOCK_RUN, r=str(run_id))
    conn.commit()


@transient_db_retry
def start_run(engine: Engine, run_id: uuid.UUID, started_at: datetime, trigger: str, total: int) -> None:
    with engine.begin() as conn:
        # A live run holds the lock on its id; a 'running' row whose lock is free was killed.
        conn.execute(
            update(collector_runs)
            .where(
                collector_runs.c.status == "running",
                func.pg_try_advisory_xact_lock(_LOCK_RUN, func.hashtext(func.cast(collector_runs.c.run_id, Text))),
            )
            .values(status="failed", error="abandoned: the process stopped before finishing")
        )
        conn.execute(
            insert(collector_runs).values(
                run_id=run_id,
                started_at=started_at,
                status="running",
                trigger=trigger,
                repositories_total=total,
            )
        )


@transient_db_retry
def finish_run(engine: Engine, run_id: uuid.UUID, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(collector_runs).where(collector_runs.c.run_id == run_id).values(**values))
