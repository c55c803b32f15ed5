"""Teams sync: the teams file's teams and memberships into the database, then every stored PR
re-attributed from stored facts (no GitHub request), all in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from collector import store
from collector.attribute import attribute
from collector.membership import MembershipIndex

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Connection, Engine

    from collector.models import TeamSpec


@dataclass(frozen=True, slots=True)
class TeamSyncResult:
    teams: int
    memberships: int
    teams_removed: int
    metric_rows: int
    reattributed: bool


@store.transient_db_retry
def sync_teams(
    engine: Engine, specs: Sequence[TeamSpec], *, force: bool = True, wait: float = store.TEAMS_SYNC_WAIT_SECONDS
) -> TeamSyncResult:
    """With ``force=False`` (the sync before each run) re-attribution is skipped when the file changed no
    membership: ``pr_metrics`` already reflects the stored memberships, since every batch is attributed
    with them as it is written."""
    if not force:
        with store.transaction(engine) as conn:
            if store.teams_match(conn, specs):  # the usual case before a run: no lock, so runs go side by side
                memberships = sum(len(s.members) for s in specs)
                return TeamSyncResult(len(specs), memberships, 0, store.count_metrics(conn), False)
    with store.transaction(engine) as conn:
        written = store.write_teams(conn, specs, wait=wait)
        reattribute = force or written.changed
        metric_rows = reattribute_all(conn) if reattribute else store.count_metrics(conn)
    return TeamSyncResult(written.teams, written.memberships, written.teams_removed, metric_rows, reattribute)


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
