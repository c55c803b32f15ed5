"""The only module that writes SQL: finished rows in, written idempotently; repository state; the run ledger.

It never computes attribution (the pipeline and the teams sync do) and never touches HTTP."""

from __future__ import annotations

from contextlib import contextmanager, suppress
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Connection, Engine, create_engine, delete, func, literal, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from collector.cursor import RepoState, Sweep
from collector.errors import DatabaseError, LockTakenError
from collector.models import Membership, MetricRow, OwnerSpec, PullRequest, Refusal, RepositorySpec, TeamSpec
from collector.schema import (
    collector_locks,
    collector_runs,
    collector_state,
    deployments,
    incidents,
    pr_metrics,
    pull_requests,
    quarantined_prs,
    repositories,
    repository_owners,
    signal_state,
    team_memberships,
    teams,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import datetime

# Locks are row locks on collector_locks, which only the collector's role may lock (a row lock needs the
# UPDATE privilege): an analyst's login cannot stall runs. Runs lock the 'global' row FOR SHARE and their
# repositories' rows FOR UPDATE, so shards of one organisation run side by side while two runs over the
# same repository never do; a teams sync locks 'global' FOR UPDATE.
GLOBAL_LOCK = "global"
TEAMS_SYNC_WAIT_SECONDS = 30
METRIC_COLUMNS = (
    "team_id", "membership_id", "repository", "pr_number", "author", "title", "created_at",
    "merged_at", "closed_at", "cycle_time_hours", "state", "created_date", "allocation_weight",
)  # fmt: skip
PR_COLUMNS = (
    "repository", "number", "title", "author", "is_bot", "state", "draft", "base_ref",
    "default_branch", "created_at", "updated_at", "closed_at", "merged_at", "reverts_number",
)  # fmt: skip
# Read once a PR is merged (collector.collect_keys), kept when the PR is listed and written again.
FIRST_COMMIT_COLUMNS = ("first_commit_at", "first_commit_read_at")
_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"}


def make_engine(database_url: str, *, pool_size: int = 10) -> Engine:
    # pre_ping replaces connections that died between warm Lambda invocations.
    return create_engine(database_url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2)


def is_transient(exc: BaseException) -> bool:
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
    retry=retry_if_exception(is_transient),
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
class BatchWrite:
    prs_written: int
    metric_rows_written: int
    refused: tuple[Refusal, ...]  # what the batch brought refused, and what PostgreSQL refused of it


# What PostgreSQL says of a value it cannot take (data exceptions, integrity violations, limits such as
# an index row too large): the fault of one record, so that record is isolated and kept out.
_REFUSING_SQLSTATE_CLASSES = ("22", "23", "54")


@transient_db_retry
def save_batch(
    engine: Engine,
    repository: str,
    prs: Sequence[PullRequest],
    metric_rows: Sequence[MetricRow],
    refused: Sequence[Refusal],
    state: RepoState,
    run_id: uuid.UUID,
    seen_at: datetime,
) -> BatchWrite:
    """Store a batch of listed PRs (one version of each) and the repository's progress in one transaction.

    ``pull_requests`` keeps merged and open PRs; a PR closed without merging is removed (it was stored
    while it was open), and so is every team row that no longer applies. Replacing is a delete of the
    batch's PRs followed by a COPY of what the batch says: each row is written once. A PR that
    PostgreSQL refuses is found by halving the batch and kept out with the refused items; the rest is
    written. A refused PR's stored version goes too: what GitHub says of it now is unknown, so it
    counts nowhere until it is read again. Repeating a batch writes the same rows again: idempotent.
    """
    with engine.begin() as conn, _raw_cursor(conn) as cur:
        if prs:  # a quiet run's batch carries only the repository's progress
            refused = [*refused, *_write_isolating(cur, repository, prs, metric_rows)]
        if refused_numbers := sorted({r.number for r in refused if r.number is not None}):
            cur.execute(_DELETE_PULL_REQUESTS, (repository, refused_numbers), prepare=False)
            cur.execute(_DELETE_METRICS, (repository, refused_numbers), prepare=False)
        kept = {pr.number for pr in prs} - set(refused_numbers)
        written = [pr for pr in prs if pr.number in kept]
        _quarantine(cur, refused, run_id, seen_at)
        if written:  # a PR read well again is out of quarantine
            cur.execute(_RELEASE, (repository, [pr.number for pr in written]), prepare=False)
        _save_state(conn, repository, state, run_id)
    return BatchWrite(
        prs_written=sum(1 for pr in written if _stored(pr)),
        metric_rows_written=sum(1 for row in metric_rows if row.pr_number in kept),
        refused=tuple(refused),
    )


def _stored(pr: PullRequest) -> bool:
    """Merged and open PRs are kept; one closed without merging is not (it was stored while open)."""
    return pr.is_merged or pr.state == "open"


def _write_isolating(
    cur: psycopg.Cursor[Any], repository: str, prs: Sequence[PullRequest], metric_rows: Sequence[MetricRow]
) -> list[Refusal]:
    """Write the PRs; if PostgreSQL refuses some, write each half apart until the refused ones stand alone."""
    cur.execute("SAVEPOINT batch")
    try:
        _replace(cur, repository, prs, metric_rows)
    except psycopg.Error as exc:
        if not (exc.sqlstate or "").startswith(_REFUSING_SQLSTATE_CLASSES):
            raise
        cur.execute("ROLLBACK TO SAVEPOINT batch")
        if len(prs) == 1:
            reason = "PostgreSQL refused it: " + describe_db_error(exc)
            return [Refusal(repository, str(prs[0].number), prs[0].number, reason, _excerpt(prs[0]))]
        middle = len(prs) // 2
        halves = (prs[:middle], prs[middle:])
        return [
            refusal
            for half in halves
            for refusal in _write_isolating(cur, repository, half, _rows_of(half, metric_rows))
        ]
    cur.execute("RELEASE SAVEPOINT batch")
    return []


def _replace(
    cur: psycopg.Cursor[Any], repository: str, prs: Sequence[PullRequest], metric_rows: Sequence[MetricRow]
) -> None:
    cur.execute(_DELETE_PULL_REQUESTS, (repository, [pr.number for pr in prs]), prepare=False)
    first_commits = {number: (first_at, read_at) for number, first_at, read_at in cur.fetchall()}
    # pr_metrics rows exist only for stored PRs: on a backfill nothing was stored, nothing to delete.
    if first_commits:
        cur.execute(_DELETE_METRICS, (repository, list(first_commits)), prepare=False)
    copy_rows(
        cur,
        "pull_requests",
        (*PR_COLUMNS, *FIRST_COMMIT_COLUMNS),
        (pr_row(pr) + first_commits.get(pr.number, (None, None)) for pr in prs if _stored(pr)),
    )
    copy_rows(cur, "pr_metrics", METRIC_COLUMNS, (metric_row(row) for row in metric_rows))


def _rows_of(prs: Sequence[PullRequest], metric_rows: Sequence[MetricRow]) -> list[MetricRow]:
    numbers = {pr.number for pr in prs}
    return [row for row in metric_rows if row.pr_number in numbers]


def _excerpt(pr: PullRequest) -> str:
    return repr(pr)[:200]


# Two details keep these deletes index lookups (measured: 5 s instead of 0.1 s for a 30,000-PR backfill).
# They run with prepare=False, so each is planned with the table's current size: a backfill grows the
# tables from empty within one run, and psycopg's prepared statement would keep a generic plan made
# while the statistics said "empty" (read all of the repository's PRs, compare each with the batch).
# And the array is cast: psycopg sends small ints as smallint[], and the planner costs a cross-type
# `integer = ANY(smallint[])` of 1,000 numbers as dearer than that same scan.
_DELETE_PULL_REQUESTS = (
    "DELETE FROM pull_requests WHERE repository = %s AND number = ANY(%s::integer[]) "
    "RETURNING number, first_commit_at, first_commit_read_at"
)
_DELETE_METRICS = "DELETE FROM pr_metrics WHERE repository = %s AND pr_number = ANY(%s::integer[])"
_RELEASE = "DELETE FROM quarantined_prs WHERE repository = %s AND number = ANY(%s::integer[])"
_QUARANTINE = """
INSERT INTO quarantined_prs AS q (repository, item, number, reason, excerpt, first_seen, last_seen,
                                  first_run_id, last_run_id)
VALUES (%(repository)s, %(item)s, %(number)s, %(reason)s, %(excerpt)s, %(at)s, %(at)s, %(run)s, %(run)s)
ON CONFLICT (repository, item) DO UPDATE SET
    reason = excluded.reason, excerpt = excluded.excerpt, last_seen = excluded.last_seen,
    last_run_id = excluded.last_run_id, times_seen = q.times_seen + 1
"""


def _quarantine(cur: psycopg.Cursor[Any], refused: Sequence[Refusal], run_id: uuid.UUID, at: datetime) -> None:
    if refused:
        params = [
            {"repository": r.repository, "item": r.item, "number": r.number, "reason": r.reason,
             "excerpt": r.excerpt, "run": run_id, "at": at}
            for r in {(r.repository, r.item): r for r in refused}.values()
        ]  # fmt: skip
        cur.executemany(_QUARANTINE, params)


def _raw_cursor(conn: Connection) -> psycopg.Cursor[Any]:
    """A psycopg cursor on the transaction's connection: COPY is not reachable through SQLAlchemy."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw.cursor()


pr_row = attrgetter(*PR_COLUMNS)
metric_row = attrgetter(*METRIC_COLUMNS)


def copy_rows(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def quarantined(engine: Engine, repository: str, tried_before: datetime, limit: int) -> list[int]:
    """Numbers of the repository's quarantined PRs last tried before ``tried_before``, least recent first."""
    q = quarantined_prs.c
    with engine.connect() as conn:
        found = conn.execute(
            select(q.number)
            .where(q.repository == repository, q.number.is_not(None), q.last_seen < tried_before)
            .order_by(quarantined_prs.c.last_seen)
            .limit(limit)
        )
        return [number for (number,) in found]


# ---------------------------------------------------------------- repository state


def stored_spellings(engine: Engine, repositories: Sequence[str]) -> tuple[str, ...]:
    """The names as already stored: GitHub treats ``Acme/API`` and ``acme/api`` as one repository, and
    so must its rows, whatever the configuration's spelling today."""
    c = collector_state.c
    with engine.connect() as conn:
        found = conn.execute(
            select(c.repository).where(func.lower(c.repository).in_([r.lower() for r in repositories]))
        )
        stored = {name.lower(): name for (name,) in found}
    return tuple(stored.get(name.lower(), name) for name in repositories)


def watermarks(engine: Engine, repositories: Sequence[str]) -> dict[str, datetime | None]:
    """Each repository's watermark (None: never collected to the top), by the name given, in any case."""
    c = collector_state.c
    with engine.connect() as conn:
        found = conn.execute(
            select(c.repository, c.watermark).where(func.lower(c.repository).in_([r.lower() for r in repositories]))
        )
        stored = {name.lower(): watermark for name, watermark in found}
    return {name: stored.get(name.lower()) for name in repositories}


def deploy_sources(engine: Engine, names: Sequence[str]) -> dict[str, str]:
    """The deployment source of each of ``names`` (any case) the teams file configures, by lower-case name."""
    r = repositories.c
    with engine.connect() as conn:
        found = conn.execute(select(r.name, r.deploy_source).where(r.name.in_([n.lower() for n in names])))
        return dict(found.all())


def load_states(engine: Engine, repositories: Iterable[str]) -> dict[str, RepoState]:
    names = list(repositories)
    c = collector_state.c
    with engine.connect() as conn:
        found = conn.execute(select(collector_state).where(c.repository.in_(names))).all()
    states = {row.repository: _state(row) for row in found}
    return {name: states.get(name, RepoState()) for name in names}


def _state(row: Any) -> RepoState:
    sweep = None
    if row.sweep_kind is not None:
        sweep = Sweep(row.sweep_kind, row.sweep_upper, row.sweep_lower, row.sweep_next_page, row.sweep_pages_read)
    return RepoState(row.watermark, row.covered_since, row.wanted_since, row.etag, sweep)


@transient_db_retry
def save_state(engine: Engine, repository: str, state: RepoState, run_id: uuid.UUID) -> None:
    with engine.begin() as conn:
        _save_state(conn, repository, state, run_id)


def _save_state(conn: Connection, repository: str, state: RepoState, run_id: uuid.UUID) -> None:
    sweep = state.sweep
    values = {
        "watermark": state.watermark,
        "covered_since": state.covered_since,
        "wanted_since": state.wanted_since,
        "etag": state.etag,
        "sweep_kind": sweep.kind if sweep else None,
        "sweep_upper": sweep.upper if sweep else None,
        "sweep_lower": sweep.lower if sweep else None,
        "sweep_next_page": sweep.next_page if sweep else None,
        "sweep_pages_read": sweep.pages_read if sweep else None,
        "last_run_id": run_id,
    }
    stmt = insert(collector_state).values(repository=repository, **values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["repository"], set_={**{k: stmt.excluded[k] for k in values}, "updated_at": func.now()}
        )
    )


# ---------------------------------------------------------------- teams


@dataclass(frozen=True, slots=True)
class TeamsWrite:
    teams: int
    memberships: int
    teams_removed: int
    changed: bool


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for a sequence of the functions below that take a connection."""
    with engine.begin() as conn:
        yield conn


def write_teams(conn: Connection, specs: Sequence[TeamSpec], *, wait: float = TEAMS_SYNC_WAIT_SECONDS) -> TeamsWrite:
    """Make teams and memberships equal to the file; waits ``wait`` seconds at most for runs to end."""
    conn.execute(text(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'"))
    try:
        with conn.begin_nested():
            conn.execute(text("SELECT 1 FROM collector_locks WHERE name = :n FOR UPDATE"), {"n": GLOBAL_LOCK})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":
            raise LockTakenError(
                f"a collection run is in progress (waited {wait:g} s); sync the teams when it ends"
            ) from None
        raise
    removed = _sync_team_rows(conn, specs)
    changed = removed > 0
    for spec in specs:
        changed = _sync_memberships(conn, spec) or changed
    memberships = conn.execute(select(func.count()).select_from(team_memberships)).scalar_one()
    return TeamsWrite(len(specs), memberships, removed, changed)


def teams_match(conn: Connection, specs: Sequence[TeamSpec]) -> bool:
    """Whether the stored teams and memberships already say what the file says (read without a lock)."""
    m = team_memberships.c
    stored_teams = {tuple(row) for row in conn.execute(select(teams.c.name, teams.c.description))}
    if stored_teams != {(s.name, s.description) for s in specs}:
        return False
    columns = (teams.c.name, m.github_username, m.allocation_weight, m.joined_at, m.left_at)
    stored = {tuple(row) for row in conn.execute(select(*columns).join(teams, teams.c.id == m.team_id))}
    wanted = {
        (s.name, x.github_username, x.allocation_weight, x.joined_at, x.left_at) for s in specs for x in s.members
    }
    return stored == wanted


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


def memberships(engine: Engine) -> list[Membership]:
    with engine.connect() as conn:
        return load_memberships(conn)


def _sync_team_rows(conn: Connection, specs: Sequence[TeamSpec]) -> int:
    names = [s.name for s in specs]
    # Cascades to memberships, and through the foreign key to their pr_metrics rows.
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


# ---------------------------------------------------------------- repositories


@dataclass(frozen=True, slots=True)
class RepositoriesWrite:
    repositories: int
    removed: int


def load_repositories(conn: Connection) -> list[RepositorySpec]:
    """The stored repositories with their owners (team by name), as the file that was synced last said."""
    r, o = repositories.c, repository_owners.c
    owners: dict[str, list[OwnerSpec]] = {}
    for row in conn.execute(
        select(o.repository, teams.c.name, o.share, o.owned_from, o.owned_until).join(teams, teams.c.id == o.team_id)
    ):
        owners.setdefault(row.repository, []).append(OwnerSpec(row.name, row.share, row.owned_from, row.owned_until))
    rows = conn.execute(select(r.name, r.deploy_source, r.environment_pattern, r.workflow, r.incident_label))
    return [RepositorySpec(row.name, tuple(owners.get(row.name, ())), *row[1:]) for row in rows]


def write_repositories(conn: Connection, specs: Sequence[RepositorySpec]) -> RepositoriesWrite:
    """Make repositories and their owners equal to the file, inside write_teams' transaction (its lock held,
    its teams written). The facts of a repository left out of the file stay."""
    r = repositories.c
    removed = conn.execute(delete(repositories).where(r.name.not_in([s.name for s in specs]))).rowcount  # cascades
    if specs:
        stmt = insert(repositories)
        rule = ("deploy_source", "environment_pattern", "workflow", "incident_label")
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={**{c: stmt.excluded[c] for c in rule}, "updated_at": func.now()},
                where=tuple_(*[r[c] for c in rule]).is_distinct_from(tuple_(*[stmt.excluded[c] for c in rule])),
            ),
            [{"name": s.name, **{c: getattr(s, c) for c in rule}} for s in specs],
        )
    _sync_owners(conn, specs)
    return RepositoriesWrite(len(specs), int(removed or 0))


def _sync_owners(conn: Connection, specs: Sequence[RepositorySpec]) -> None:
    """Unchanged owners keep their id, like memberships."""
    o = repository_owners.c
    team_ids: dict[str, int] = dict(conn.execute(select(teams.c.name, teams.c.id)).all())
    wanted = {(s.name, team_ids[x.team], x.owned_from): (x.share, x.owned_until) for s in specs for x in s.owners}
    existing = conn.execute(select(o.id, o.repository, o.team_id, o.owned_from)).all()
    stale = [row.id for row in existing if (row.repository, row.team_id, row.owned_from) not in wanted]
    if stale:
        conn.execute(delete(repository_owners).where(o.id.in_(stale)))
    if not wanted:
        return
    stmt = insert(repository_owners)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["repository", "team_id", "owned_from"],
            set_={"share": stmt.excluded.share, "owned_until": stmt.excluded.owned_until},
            where=tuple_(o.share, o.owned_until).is_distinct_from(
                tuple_(stmt.excluded.share, stmt.excluded.owned_until)
            ),
        ),
        [
            {"repository": name, "team_id": team_id, "owned_from": since, "share": share, "owned_until": until}
            for (name, team_id, since), (share, until) in wanted.items()
        ],
    )


def reset_signals(conn: Connection, resets: Iterable[tuple[str, str]]) -> None:
    """Forget what was collected for ``(repository, signal)``: its facts and its collection state, so the
    next run reads the signal again from the start."""
    for repository, signal in resets:
        if signal == "incidents":
            conn.execute(delete(incidents).where(incidents.c.repository == repository))
        else:
            d = deployments.c
            conn.execute(delete(deployments).where(d.repository == repository, d.source == signal))
        conn.execute(
            delete(signal_state).where(signal_state.c.repository == repository, signal_state.c.signal == signal)
        )


def merged_prs(conn: Connection) -> Iterator[list[PullRequest]]:
    """Every stored merged PR, in batches read from a server-side cursor."""
    result = conn.execution_options(yield_per=5000).execute(
        select(*[pull_requests.c[c] for c in PR_COLUMNS]).where(pull_requests.c.merged_at.is_not(None))
    )
    for batch in result.partitions():
        yield [PullRequest(*record) for record in batch]


def delete_all_metrics(conn: Connection) -> None:
    conn.execute(delete(pr_metrics))


def insert_metrics(conn: Connection, rows: Iterable[MetricRow]) -> None:
    """COPY attribution rows in (the caller emptied what they replace: nothing conflicts)."""
    with _raw_cursor(conn) as cur:
        copy_rows(cur, "pr_metrics", METRIC_COLUMNS, (metric_row(row) for row in rows))


def count_metrics(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(pr_metrics)).scalar_one())


# ---------------------------------------------------------------- run ledger and lock


class LockLost(DatabaseError):
    """The connection holding the run's locks is gone: another run may have started. Stop writing."""


class RunLock:
    """The run's locks, held by one open transaction on a dedicated connection for the run's length."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.pid, self.backend_start = conn.execute(
            text("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        ).one()

    def check(self) -> None:
        """Before each write: if the connection died (a restart, a killed backend), the locks died with it."""
        try:
            self._conn.execute(text("SELECT 1"))
        except DBAPIError as exc:
            raise LockLost(f"the run lost its database lock ({describe_db_error(exc)}); it stopped writing") from None


@contextmanager
def run_lock(engine: Engine, repositories: Sequence[str]) -> Iterator[RunLock]:
    """Take the run's locks at once or fail with a clear line; hold them until the block ends."""
    names = [f"repository:{name.lower()}" for name in repositories]
    with engine.begin() as conn:  # the rows to lock must exist; rows are never deleted
        conn.execute(insert(collector_locks).on_conflict_do_nothing(), [{"name": n} for n in [GLOBAL_LOCK, *names]])
    with engine.connect() as conn:
        conn.execute(text("SET application_name = 'dora-collector run lock'"))
        _lock_now(conn, GLOBAL_LOCK, "FOR SHARE", "a teams sync is in progress; try again in a moment")
        for repository, name in zip(repositories, names, strict=True):
            _lock_now(conn, name, "FOR UPDATE", f"another collector run is collecting {repository}; try again later")
        try:
            yield RunLock(conn)
        finally:
            with suppress(DBAPIError):  # if the connection is gone, its locks went with it
                conn.rollback()  # ends the transaction: the locks are released
            # The lock's backend lives exactly as long as the run: a 'running' row it leaves is abandoned.
            conn.invalidate()


def _lock_now(conn: Connection, name: str, mode: str, taken: str) -> None:
    try:
        with conn.begin_nested():
            conn.execute(text(f"SELECT 1 FROM collector_locks WHERE name = :n {mode} NOWAIT"), {"n": name})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            raise LockTakenError(taken) from None
        raise


@transient_db_retry
def start_run(engine: Engine, run_id: uuid.UUID, started_at: datetime, trigger: str, total: int, lock: RunLock) -> None:
    r = collector_runs.c
    with engine.begin() as conn:
        # A 'running' row whose lock connection no longer exists belongs to a run that was killed.
        live = (
            select(literal(1))
            .select_from(text("pg_stat_activity a"))
            .where(text("a.pid = collector_runs.lock_pid AND a.backend_start = collector_runs.lock_backend_start"))
        )
        conn.execute(
            update(collector_runs)
            .where(r.status == "running", ~live.exists())
            .values(status="failed", error="abandoned: the process stopped before finishing")
        )
        conn.execute(
            insert(collector_runs).values(
                run_id=run_id,
                started_at=started_at,
                status="running",
                trigger=trigger,
                repositories_total=total,
                lock_pid=lock.pid,
                lock_backend_start=lock.backend_start,
            )
        )


@transient_db_retry
def finish_run(engine: Engine, run_id: uuid.UUID, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(collector_runs).where(collector_runs.c.run_id == run_id).values(**values))
