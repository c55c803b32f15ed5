"""Facts of the four keys written as their collection stores them (deployments, incidents, first commits), for
tests of what reads them. Repositories and owners come from the teams file, through teams sync."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy import Engine


def repository(name: str, *owners: str | tuple[str, float], source: str = "deployments") -> dict[str, Any]:
    """A teams file's repository entry; an owner is a team, or (team, share)."""
    entries = [{"team": o} if isinstance(o, str) else {"team": o[0], "share": o[1]} for o in owners]
    return {"name": name, "owners": entries, "deployments": {"source": source}}


def _execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def deploy(
    engine: Engine, repo: str, deployment_id: str, when: datetime, *, status: str = "success", sha: str | None = None
) -> None:
    """A GitHub Deployment of the repository to production: succeeded (counted), failed or pending."""
    _execute(
        engine,
        "INSERT INTO deployments (repository, source, id, sha, environment, created_at, deployed_at, failed_at, "
        "status, updated_at) VALUES (:r, 'deployments', :id, :sha, 'production', :created, :deployed, :failed, "
        ":status, :at)",
        r=repo,
        id=deployment_id,
        sha=sha,
        created=when - timedelta(minutes=5),
        deployed=when if status == "success" else None,
        failed=when if status == "failed" else None,
        status=status,
        at=when,
    )


def incident(engine: Engine, repo: str, number: int, opened: datetime, closed: datetime | None = None) -> None:
    """An issue with the incident label: open, or closed (restored) at ``closed``."""
    _execute(
        engine,
        "INSERT INTO incidents (repository, number, title, state, created_at, closed_at, updated_at) "
        "VALUES (:r, :n, 'outage', :state, :opened, :closed, :opened)",
        r=repo,
        n=number,
        state="closed" if closed else "open",
        opened=opened,
        closed=closed,
    )


def first_commit(engine: Engine, repo: str, number: int, authored: datetime) -> None:
    """What the first-commit reader stores for a collected PR: its first commit's authored time."""
    _execute(
        engine,
        "UPDATE pull_requests SET first_commit_at = :at, first_commit_read_at = :at "
        "WHERE lower(repository) = :r AND number = :n",
        at=authored,
        r=repo,
        n=number,
    )
