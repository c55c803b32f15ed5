from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text

from collector import store
from collector.migrate import upgrade_to_head
from collector.testing.fake_github import FakeGitHub
from collector.testing.postgres import create_database, drop_database, postgres_server

DATA_TABLES = (
    "pr_metrics",
    "team_memberships",
    "teams",
    "pull_requests",
    "collector_state",
    "collector_runs",
    "quarantined_prs",
    "api_keys",
    "repositories",
    "deployments",
    "incidents",
    "signal_state",
)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

# Property tests (hypothesis) run the same examples on every run: CI runs the suite twice and a failure must
# reproduce on any machine from the test's name alone, with no example database to carry over (none is
# kept: database=None). The examples are a hash of the test, so they change only when the test does.
# HYPOTHESIS_PROFILE=explore searches afresh, ten times as long: for a developer hunting, not for CI.
settings.register_profile("repeatable", max_examples=100, deadline=None, derandomize=True, database=None)
settings.register_profile("explore", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True)
def _restore_logging():
    """Commands install a JSON handler on the root logger; keep it from outliving the test's streams."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server(os.environ.get("TEST_DATABASE_URL")) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """One database per test session, migrated once."""
    url = create_database(pg_server)
    engine = store.make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    yield url
    drop_database(pg_server, url)


@pytest.fixture(scope="session")
def session_engine(database_url: str) -> Iterator[Engine]:
    engine = store.make_engine(database_url, pool_size=12)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(session_engine: Engine) -> Engine:
    """The migrated database, emptied: tests are isolated from each other."""
    with session_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
    return session_engine


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def team(engine: Engine) -> None:
    """One team, platform, of alice and bob since 2020."""
    from tests.helpers import member, sync, team_doc

    sync(engine, team_doc(("platform", [member("alice"), member("bob")])))
