"""Teams sync: the teams file's teams, memberships, repositories and owners into the database, then every
stored PR re-attributed from stored facts (no GitHub request), all in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from collector import store
from collector.attribute import attribute
from collector.membership import MembershipIndex

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Connection, Engine

    from collector.models import Organisation, RepositorySpec

# The deployment sources whose facts are stored (``merges`` reads pull requests) and the signal of each.
_STORED_DEPLOY_SOURCES = ("deployments", "workflow", "releases")


@dataclass(frozen=True, slots=True)
class TeamSyncResult:
    teams: int
    memberships: int
    teams_removed: int
    metric_rows: int
    reattributed: bool
    repositories: int
    repositories_removed: int
    # (repository, signal) whose rule changed: its facts and collection state were deleted, to read again.
    reset: tuple[tuple[str, str], ...]


@store.transient_db_retry
def sync_organisation(
    engine: Engine, org: Organisation, *, force: bool = True, wait: float = store.TEAMS_SYNC_WAIT_SECONDS
) -> TeamSyncResult:
    """With ``force=False`` (the sync before each run) re-attribution is skipped when the file changed no
    membership: ``pr_metrics`` already reflects the stored memberships, since every batch is attributed
    with them as it is written. Repositories' owners need none: the views credit them as they read."""
    if not force:
        with store.transaction(engine) as conn:
            # The usual case before a run: nothing changed, and no lock is taken, so runs go side by side.
            if store.teams_match(conn, org.teams) and _same(store.load_repositories(conn), org.repositories):
                memberships = sum(len(s.members) for s in org.teams)
                count = store.count_metrics(conn)
                return TeamSyncResult(len(org.teams), memberships, 0, count, False, len(org.repositories), 0, ())
    with store.transaction(engine) as conn:
        written = store.write_teams(conn, org.teams, wait=wait)  # takes the lock: no run is collecting
        reset = signals_to_reset(store.load_repositories(conn), org.repositories)
        store.reset_signals(conn, reset)
        repositories = store.write_repositories(conn, org.repositories)
        reattribute = force or written.changed
        metric_rows = reattribute_all(conn) if reattribute else store.count_metrics(conn)
    return TeamSyncResult(
        written.teams, written.memberships, written.teams_removed, metric_rows, reattribute,
        repositories.repositories, repositories.removed, reset,
    )  # fmt: skip


def signals_to_reset(stored: Sequence[RepositorySpec], wanted: Sequence[RepositorySpec]) -> tuple[tuple[str, str], ...]:
    """``(repository, signal)`` whose stored facts were collected under a rule the file no longer states.

    A changed deployment rule (source, environment pattern or workflow) resets the old source and the new
    one: rows collected under another rule would count deployments the new rule does not. A changed incident
    label (other than in case: GitHub's labels are case-insensitive) resets the incidents. A repository new
    to the file or left out of it resets nothing: its facts, if any, stay as they are."""
    before = {s.name: s for s in stored}
    reset: list[tuple[str, str]] = []
    for after in wanted:
        old = before.get(after.name)
        if old is None:
            continue
        if _deploy_rule(old) != _deploy_rule(after):
            sources = dict.fromkeys((old.deploy_source, after.deploy_source))  # in order, once each
            reset.extend((after.name, s) for s in sources if s in _STORED_DEPLOY_SOURCES)
        if old.incident_label.lower() != after.incident_label.lower():
            reset.append((after.name, "incidents"))
    return tuple(reset)


def _deploy_rule(spec: RepositorySpec) -> tuple[str, str | None, str | None]:
    return spec.deploy_source, spec.environment_pattern, spec.workflow


def _same(stored: Sequence[RepositorySpec], wanted: Sequence[RepositorySpec]) -> bool:
    """Whether the stored repositories say exactly what the file says (owners in any order)."""

    def keyed(specs: Sequence[RepositorySpec]) -> dict[str, tuple[object, ...]]:
        return {s.name: (_deploy_rule(s), s.incident_label, frozenset(s.owners)) for s in specs}

    return keyed(stored) == keyed(wanted)


def reattribute_all(conn: Connection) -> int:
    """Recompute every ``pr_metrics`` row from stored PR facts, inside the caller's transaction."""
    index = MembershipIndex(store.load_memberships(conn))
    store.delete_all_metrics(conn)
    written = 0
    for batch in store.merged_prs(conn):
        rows = [row for pr in batch for row in attribute(pr, index)]
        store.insert_metrics(conn, rows)
        written += len(rows)
    return written
