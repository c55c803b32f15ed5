"""The four keys' reads and writes: store.py's rules for the facts of deployments, incidents and first commits.

Finished rows in, written idempotently (upserts keyed by the primary keys), each source's progress
(``signal_state``) in the same transaction as the rows it covers: a run killed at any moment leaves
either both or neither, and a repeated run writes the same rows again. Never HTTP, never a rule.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, IntegrityError

from collector.keys import SignalState, SourceConfig
from collector.schema import collector_state, deployments, incidents, repositories, signal_state
from collector.store import transient_db_retry

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from datetime import datetime

    from sqlalchemy import Connection, Engine

    from collector.keys import Signal
    from collector.models import Deployment, Incident


class RowsRefused(Exception):
    """PostgreSQL refused a value of the rows (it should not: they are checked at the edge). The
    source of that repository fails alone; the message is safe to show."""


# ---------------------------------------------------------------- reads


def configured(engine: Engine, names: Sequence[str]) -> list[SourceConfig]:
    """The repositories of the run that the teams file configures, in the order given."""
    r = repositories.c
    wanted = {name.lower(): name for name in names}
    with engine.connect() as conn:
        found = conn.execute(
            select(r.name, r.deploy_source, r.environment_pattern, r.workflow, r.incident_label).where(
                r.name.in_(list(wanted))
            )
        ).all()
    rows = {row.name: SourceConfig(*row) for row in found}
    return [rows[name] for name in wanted if name in rows]


def signal_states(engine: Engine, names: Sequence[str]) -> dict[tuple[str, str], SignalState]:
    """Each (repository, signal)'s stored progress; absent ones have none yet."""
    s = signal_state.c
    with engine.connect() as conn:
        found = conn.execute(
            select(s.repository, s.signal, s.watermark, s.etag, s.fingerprint, s.covered_since).where(
                s.repository.in_(list(names))
            )
        ).all()
    return {(row.repository, row.signal): SignalState(*row[2:]) for row in found}


def wanted_history(engine: Engine, spellings: Sequence[str]) -> dict[str, datetime]:
    """The history each repository's PR collection was asked for (``collector_state.wanted_since``), by
    lower-case name: the keys read as far back as the PRs."""
    c = collector_state.c
    with engine.connect() as conn:
        found = conn.execute(
            select(c.repository, c.wanted_since).where(c.repository.in_(list(spellings)), c.wanted_since.is_not(None))
        ).all()
    return {name.lower(): since for name, since in found}


def default_branches(engine: Engine, spellings: Sequence[str]) -> dict[str, str]:
    """The default branch GitHub last named with each repository's newest stored PR, by lower-case name."""
    newest = text(
        "SELECT r.name, (SELECT p.default_branch FROM pull_requests p WHERE p.repository = r.name "
        "AND p.default_branch <> '' ORDER BY p.number DESC LIMIT 1) "
        "FROM unnest(CAST(:names AS text[])) AS r(name)"
    )
    with engine.connect() as conn:
        found = conn.execute(newest, {"names": list(spellings)}).all()
    return {name.lower(): branch for name, branch in found if branch}


def recent_pending(engine: Engine, names: Sequence[str], since: datetime) -> dict[str, dict[str, datetime]]:
    """Per repository, its deployments created since ``since`` that are still pending: id -> created_at."""
    d = deployments.c
    with engine.connect() as conn:
        found = conn.execute(
            select(d.repository, d.id, d.created_at)
            .where(d.repository.in_(list(names)), d.source == "deployments", d.status == "pending")
            .where(d.created_at >= since)
        ).all()
    pending: dict[str, dict[str, datetime]] = {}
    for name, deployment_id, created_at in found:
        pending.setdefault(name, {})[deployment_id] = created_at
    return pending


def first_commits_unread(engine: Engine, since: Mapping[str, datetime], limit: int) -> list[tuple[str, int]]:
    """Eligible merged PRs (by a person, into the default branch) whose first commit was never asked for,
    merged within each repository's history wanted (``since``, by stored spelling), newest merges first."""
    if not since:
        return []
    with engine.connect() as conn:
        found = conn.execute(_UNREAD, {"names": list(since), "sinces": list(since.values()), "limit": limit})
        return [(repository, number) for repository, number in found]


# ix_pull_requests_first_commit_unread serves it: merged and unread PRs, newest merges first.
_UNREAD = text(
    """
    SELECT p.repository, p.number
    FROM pull_requests p
    JOIN unnest(CAST(:names AS text[]), CAST(:sinces AS timestamptz[])) AS w(repository, since)
      ON p.repository = w.repository
    WHERE p.merged_at IS NOT NULL AND p.first_commit_read_at IS NULL AND p.merged_at >= w.since
      AND p.author IS NOT NULL AND NOT p.is_bot AND p.base_ref = p.default_branch
    ORDER BY p.merged_at DESC
    LIMIT :limit
    """
)


# ---------------------------------------------------------------- writes


@transient_db_retry
def save_deployments(
    engine: Engine,
    repository: str,
    signal: Signal,
    found: Sequence[Deployment],
    not_deployments: Sequence[str],
    state: SignalState,
    *,
    replace_all: bool = False,
) -> None:
    """The deployments read, the ids no longer deployments (a release turned back into a draft or a
    pre-release) removed, and the source's progress: one transaction. ``replace_all``: the read replaces
    every stored row of the source (its configuration changed)."""
    d = deployments.c
    with _refusing(repository, signal), engine.begin() as conn:
        if replace_all:
            conn.execute(delete(deployments).where(d.repository == repository, d.source == signal))
        _upsert(conn, deployments, ["repository", "source", "id"], [_deployment_row(d) for d in found])
        if not_deployments:
            conn.execute(
                delete(deployments).where(
                    d.repository == repository, d.source == signal, d.id.in_(list(not_deployments))
                )
            )
        _save_state(conn, repository, signal, state)


@transient_db_retry
def save_incidents(
    engine: Engine, repository: str, found: Sequence[Incident], state: SignalState, *, replace_all: bool = False
) -> None:
    """The incidents read and the source's progress: one transaction. ``replace_all``: the read replaces
    every stored incident of the repository (its label changed)."""
    with _refusing(repository, "incidents"), engine.begin() as conn:
        if replace_all:
            conn.execute(delete(incidents).where(incidents.c.repository == repository))
        _upsert(conn, incidents, ["repository", "number"], [_incident_row(i) for i in found])
        _save_state(conn, repository, "incidents", state)


@transient_db_retry
def save_first_commits(engine: Engine, found: Mapping[tuple[str, int], datetime | None], read_at: datetime) -> None:
    """Each PR's first commit's authored time (None: GitHub has no such PR, or no time we believe), and that it
    was asked for: it is not asked again."""
    if not found:
        return
    values = {"names": [r for r, _ in found], "numbers": [n for _, n in found], "times": list(found.values()),
              "read_at": read_at}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(_FIRST_COMMITS, values)


_FIRST_COMMITS = text(
    """
    UPDATE pull_requests p SET first_commit_at = v.at, first_commit_read_at = :read_at
    FROM unnest(CAST(:names AS text[]), CAST(:numbers AS integer[]), CAST(:times AS timestamptz[]))
         AS v(repository, number, at)
    WHERE p.repository = v.repository AND p.number = v.number
    """
)


def _upsert(conn: Connection, table: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or update the stored ones that differ (``collected_at`` marks when they did)."""
    if not rows:
        return
    statement = insert(table)
    columns = [name for name in rows[0] if name not in keys]
    differs = tuple_(*[table.c[name] for name in columns]).is_distinct_from(
        tuple_(*[statement.excluded[name] for name in columns])
    )
    upsert = statement.on_conflict_do_update(
        index_elements=keys,
        set_={**{name: statement.excluded[name] for name in columns}, "collected_at": func.now()},
        where=differs,
    )
    conn.execute(upsert, rows)


def _deployment_row(d: Deployment) -> dict[str, Any]:
    return {"repository": d.repository, "source": d.source, "id": d.id, "sha": d.sha, "environment": d.environment,
            "created_at": d.created_at, "deployed_at": d.deployed_at, "failed_at": d.failed_at, "status": d.status,
            "updated_at": d.updated_at}  # fmt: skip


def _incident_row(i: Incident) -> dict[str, Any]:
    return {"repository": i.repository, "number": i.number, "title": i.title, "state": i.state,
            "created_at": i.created_at, "closed_at": i.closed_at, "updated_at": i.updated_at,
            "root_cause_sha": i.root_cause_sha, "root_cause_pr": i.root_cause_pr}  # fmt: skip


def _save_state(conn: Connection, repository: str, signal: Signal, state: SignalState) -> None:
    values = {"watermark": state.watermark, "etag": state.etag, "fingerprint": state.fingerprint,
              "covered_since": state.covered_since}  # fmt: skip
    statement = insert(signal_state).values(repository=repository, signal=signal, **values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["repository", "signal"],
            set_={**{k: statement.excluded[k] for k in values}, "updated_at": func.now()},
        )
    )


@contextmanager
def _refusing(repository: str, signal: str) -> Iterator[None]:
    """PostgreSQL's refusal of a value (a data exception, a broken constraint) as ``RowsRefused``."""
    try:
        yield
    except (DataError, IntegrityError) as exc:
        first = (str(exc.orig or exc).strip().splitlines() or ["refused"])[0][:300]
        raise RowsRefused(f"PostgreSQL refused the {signal} of {repository}: {first}") from None
