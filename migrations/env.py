"""Alembic environment. The collector passes an open connection; a developer's `alembic` uses DATABASE_URL."""

import os

from alembic import context
from sqlalchemy import create_engine

from collector.config import load_settings
from collector.schema import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    settings = load_settings(os.environ, need_github=False)
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: run against a database")
run_migrations_online()
