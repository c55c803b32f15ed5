from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text

from collector import store
from collector.config import normalize_database_url
from collector.migrate import upgrade_to_head
from collector.testing.fake_github import FakeGitHub
from tests.pg import postgres_server

DATA_TABLES = (
    "pr_metrics",
    "team_memberships",
    "teams",
    "pull_requests",
    "collector_state",
    "collector_runs",
)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


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
    with postgres_server() as (url, _source):
        yield url


def _admin(url: str) -> psycopg.Connection:
    libpq = make_url(normalize_database_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(libpq, autocommit=True)


def create_database(server_url: str) -> str:
    """A fresh, empty database on the test server; returns its SQLAlchemy URL."""
    name = f"dora_test_{uuid.uuid4().hex[:12]}"
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(normalize_database_url(server_url)).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
