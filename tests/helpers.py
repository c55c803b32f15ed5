"""Small builders shared by the tests."""

from __future__ import annotations

import contextlib
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from collector.config import Settings
from collector.deadline import Deadline
from collector.github_api import GitHubClientFactory, RetryPolicy
from collector.membership import parse_organisation
from collector.pipeline import RunResult, run
from collector.sync import TeamSyncResult, sync_organisation
from collector.testing.fake_github import FakeGitHub, FakePull

if TYPE_CHECKING:
    from collections.abc import Iterator

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
# Migration 0011's views, all granted to dora_reader.
FOUR_KEYS_VIEWS = (
    "view_dora_benchmarks",
    "view_dora_deployments",
    "view_dora_failed_deployments",
    "view_dora_deployment_attribution",
    "view_dora_deployment_frequency",
    "view_dora_change_failure_rate",
    "view_dora_change_attribution",
    "view_dora_change_lead_time",
    "view_dora_undeployed_prs",
    "view_dora_incident_attribution",
    "view_dora_time_to_restore",
    "view_dora_unowned_repositories",
    "view_dora_summary",
)
FAST_RETRY = RetryPolicy(backoff=0.01, max_backoff=0.05, secondary_default_wait=0.05, deadline_margin=0.0)


def at(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value).replace(tzinfo=UTC)


def merged_pull(
    number: int,
    user: str | None = "alice",
    *,
    created: datetime | None = None,
    merged: datetime | None = None,
    updated: datetime | None = None,
    base_ref: str | None = None,
    user_type: str = "User",
    title: str | None = None,
) -> FakePull:
    merged = merged or NOW - timedelta(days=10, hours=number % 24)
    created = created or merged - timedelta(hours=5)
    return FakePull(
        number=number,
        title=title or f"PR {number}",
        user=user,
        created_at=created,
        updated_at=updated or merged + timedelta(minutes=1),
        state="closed",
        merged_at=merged,
        closed_at=merged,
        base_ref=base_ref,
        user_type=user_type,
    )


def open_pull(number: int, user: str = "alice", *, created: datetime, draft: bool = False) -> FakePull:
    return FakePull(number, f"PR {number}", user, created, created, state="open", draft=draft)


def add(fake: FakeGitHub, repo: str, *pulls: FakePull, default_branch: str = "main") -> None:
    """The repository (once) and its pull requests, on the fake GitHub."""
    if repo.lower() not in fake.repos:
        fake.add_repo(repo, default_branch=default_branch)
    for pull in pulls:
        fake.add_pull(repo, pull)


def team_doc(*teams: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"teams": [{"name": name, "description": None, "members": members} for name, members in teams]}


def member(login: str, joined: str = "2020-01-01", left: str | None = None, weight: float = 1.0) -> dict[str, Any]:
    return {"github_username": login, "allocation_weight": weight, "joined_at": joined, "left_at": left}


def sync(engine: Engine, document: dict[str, Any]) -> TeamSyncResult:
    return sync_organisation(engine, parse_organisation(json.dumps(document)))


def write_json(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path


def settings_for(fake: FakeGitHub, engine: Engine, repos: list[str], **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "github_token": "test-token",
        "github_api_url": fake.base_url,
        "repositories": tuple(repos),
        "max_workers": 4,
        "lookback_days": 3650,
    }
    values.update(overrides)
    return Settings(**values)


def collect(
    engine: Engine,
    fake: FakeGitHub,
    repos: list[str],
    *,
    now: datetime = NOW,
    since: datetime | None = None,
    token: str = "test-token",
    deadline: Deadline | None = None,
    **overrides: Any,
) -> RunResult:
    github = GitHubClientFactory(token=token, base_url=fake.base_url, policy=FAST_RETRY, deadline=deadline)
    settings = settings_for(fake, engine, repos, github_token=token, **overrides)
    return run(settings, github=github, engine=engine, now=now, since=since)


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every fact and attribution row, without surrogate ids or bookkeeping times."""
    return {
        "pull_requests": rows(
            engine,
            "SELECT repository, number, title, author, is_bot, state, draft, base_ref, default_branch, "
            "created_at, updated_at, closed_at, merged_at FROM pull_requests ORDER BY 1, 2",
        ),
        "pr_metrics": rows(
            engine,
            "SELECT t.name, m.repository, m.pr_number, m.author, m.title, m.created_at, m.merged_at, "
            "m.closed_at, m.cycle_time_hours, m.state, m.created_date, m.allocation_weight "
            "FROM pr_metrics m JOIN teams t ON t.id = m.team_id ORDER BY 1, 2, 3",
        ),
    }


def free_port() -> int:
    """A port nothing listens on now (for a server started right after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's AWS services (Secrets Manager, SQS, ...) over real HTTP; yields the endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
