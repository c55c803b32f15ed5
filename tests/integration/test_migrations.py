"""Migrations produce exactly the schema the code describes; views are created from named files."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from collector import store
from collector.errors import DatabaseError
from collector.migrate import assert_schema_current, current_revision, head_revision, upgrade_to_head
from collector.schema import metadata
from tests.conftest import create_database, drop_database


def test_migrated_database_matches_schema_module(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_database_is_at_head(engine):
    assert current_revision(engine) == head_revision()
    assert_schema_current(engine)


def test_views_exist(engine):
    with engine.connect() as conn:
        views = set(conn.execute(text("SELECT viewname FROM pg_views WHERE schemaname = 'public'")).scalars())
    assert {"view_team_velocity", "view_dora_lead_time"} <= views


def test_fresh_database_is_refused_until_migrated_and_upgrade_is_repeatable(pg_server):
    url = create_database(pg_server)
    fresh = store.make_engine(url)
    try:
        with pytest.raises(DatabaseError, match="run `dora-collector migrate` first"):
            assert_schema_current(fresh)
        upgrade_to_head(fresh)
        upgrade_to_head(fresh)  # a second migrate is a no-op
        assert_schema_current(fresh)
    finally:
        fresh.dispose()
        drop_database(pg_server, url)


def test_applied_view_files_are_never_edited():
    """A migration reads sql/<view>.vNNN.sql; once released, that file's text is frozen."""
    import hashlib

    from collector.sqlfiles import read_sql

    digests = {name: hashlib.sha256(read_sql(name).encode()).hexdigest()[:16] for name in FROZEN_DIGESTS}
    assert digests == FROZEN_DIGESTS


# Add a line when a migration starts reading a new file; never change an existing line.
FROZEN_DIGESTS = {
    "view_team_velocity.v001.sql": "3dfd257d3dedbecc",
    "view_dora_lead_time.v001.sql": "0d709377ed25f3d1",
}
