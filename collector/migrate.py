"""Schema migrations (alembic), driven in code so they work from any cwd and any install."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from collector.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("collector.migrations")))
    return config


def upgrade_to_head(engine: Engine) -> str:
    """Apply every pending migration in one connection; return the revision now current."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return head_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def assert_schema_current(engine: Engine) -> None:
    """Refuse to write into a schema that is behind (or ahead of) this code."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "is not migrated" if current is None else f"is at revision {current}"
        raise DatabaseError(f"the database {state}, this collector needs revision {head}: run `dora-collector migrate`")
