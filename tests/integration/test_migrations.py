"""Migrations produce exactly the schema the code describes; views are created from named files."""

import contextlib
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from collector import store
from collector.errors import DatabaseError
from collector.migrate import assert_schema_current, current_revision, head_revision, upgrade_to_head
from collector.schema import metadata
from tests.conftest import create_database, drop_database
from tests.helpers import rows

# alembic cannot compare expression indexes with INCLUDE columns; they are checked by definition below.
EXPRESSION_INDEXES = {
    "ix_pr_metrics_team_week": "(team_id, ((date_trunc('week'::text, (merged_at AT TIME ZONE 'UTC'::text)))::date)) "
    "INCLUDE (merged_at, allocation_weight, cycle_time_hours)",
    "ix_pr_metrics_month_team": "(((date_trunc('month'::text, (merged_at AT TIME ZONE 'UTC'::text)))::date), team_id) "
    "INCLUDE (merged_at, cycle_time_hours)",
}


def test_migrated_database_matches_schema_module(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if not (d[0] in ("add_index", "remove_index") and d[1].name in EXPRESSION_INDEXES)] == []


def test_expression_indexes_match_the_views_grouping(engine):
    definitions = dict(rows(engine, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'pr_metrics'"))
    for name, expected in EXPRESSION_INDEXES.items():
        assert definitions[name].endswith(expected), definitions[name]


def test_database_is_at_head(engine):
    assert current_revision(engine) == head_revision()
    assert_schema_current(engine)


def test_views_exist(engine):
    with engine.connect() as conn:
        views = set(conn.execute(text("SELECT viewname FROM pg_views WHERE schemaname = 'public'")).scalars())
    assert {"view_team_velocity", "view_team_velocity_calendar", "view_pr_lead_time", "view_dora_lead_time"} <= views


def test_fresh_database_is_refused_until_migrated_and_upgrade_is_repeatable(pg_server):
    url = create_database(pg_server)
    fresh = store.make_engine(url)
    try:
        with pytest.raises(DatabaseError, match=r"^the database is not migrated, .*: run `dora-collector migrate`$"):
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
    "dora_band.v001.sql": "622a9b252065f4dd",
    "dora_benchmarks.v001.sql": "4e9dff92311fc890",
    "dora_summary.v001.sql": "972f3fa1dd506455",
    "role_dora_api.v001.sql": "c726345cffdf82f6",
    "role_dora_reader.v001.sql": "d97edccf9ee9031c",
    "view_dora_benchmarks.v001.sql": "0501bd2045ee74e6",
    "view_dora_change_attribution.v001.sql": "9297f8e974fe7f11",
    "view_dora_change_failure_rate.v001.sql": "b20a2fa6a2890f50",
    "view_dora_change_lead_time.v001.sql": "62f3ef3d654d4c47",
    "view_dora_deployment_attribution.v001.sql": "d6d708dd9fbd00fa",
    "view_dora_deployment_frequency.v001.sql": "68691aa52ec1d3b5",
    "view_dora_deployments.v001.sql": "1284f3b79d8eb818",
    "view_dora_failed_deployments.v001.sql": "917a3ff280a3e616",
    "view_dora_incident_attribution.v001.sql": "d1cacfc453f1ca35",
    "view_dora_lead_time.v001.sql": "0d709377ed25f3d1",
    "view_dora_lead_time.v002.sql": "89854b49315c7abd",
    "view_dora_lead_time.v003.sql": "21a4266b5a4091a0",
    "view_dora_summary.v001.sql": "9a5f03e6f7e382e8",
    "view_dora_time_to_restore.v001.sql": "205129daab1f2c7a",
    "view_dora_undeployed_prs.v001.sql": "22ee75fd3d5fe8a8",
    "view_dora_unowned_repositories.v001.sql": "409df7c65228ebcb",
    "view_open_pr_age.v001.sql": "4de81879ca3c28e5",
    "view_pr_attribution.v001.sql": "43c9a7509283086f",
    "view_pr_attribution.v002.sql": "f41da73c28e585ab",
    "view_pr_lead_time.v001.sql": "c8d3483837f5eb06",
    "view_pr_titles.v001.sql": "eb96f49cd82d4f96",
    "view_team_velocity.v001.sql": "3dfd257d3dedbecc",
    "view_team_velocity.v002.sql": "c73c9441a5e1e967",
    "view_team_velocity.v003.sql": "afaba6db272fd4b3",
    "view_team_velocity_calendar.v001.sql": "9156715836a2a5bb",
    "view_teams.v001.sql": "6b79bbe34ab754ce",
    "view_unattributed_prs.v001.sql": "31258291a47105a0",
    "view_unmapped_authors.v001.sql": "cf5dcb7af2b7d927",
}


def test_every_sql_file_is_frozen_and_read_by_a_migration():
    from importlib import resources

    files = {f.name for f in resources.files("collector.sql").iterdir() if f.name.endswith(".sql")}
    assert files == set(FROZEN_DIGESTS)
    migrations = "".join(
        f.read_text() for f in resources.files("collector.migrations.versions").iterdir() if f.name.endswith(".py")
    )
    for name in files:
        stem = name.removesuffix(".sql")
        view, version = stem.rsplit(".", 1)
        assert name in migrations or (f'"{view}"' in migrations and f'f"{{view}}.{version}.sql"' in migrations), name


@contextlib.contextmanager
def downgraded(pg_server: str, revision: str) -> Iterator[Engine]:
    """A fresh database migrated to head, then down to ``revision``; after the block, up to head again."""
    from alembic import command

    from collector.migrate import alembic_config

    url = create_database(pg_server)
    fresh = store.make_engine(url)
    try:
        upgrade_to_head(fresh)
        config = alembic_config()
        with fresh.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
        yield fresh
        upgrade_to_head(fresh)
        assert_schema_current(fresh)
    finally:
        fresh.dispose()
        drop_database(pg_server, url)


def test_downgrade_to_the_first_revision_and_back(pg_server):
    with downgraded(pg_server, "0001") as fresh:
        assert current_revision(fresh) == "0001"
        with fresh.connect() as conn:
            columns = conn.execute(text("SELECT * FROM view_dora_lead_time LIMIT 0")).keys()
        assert "low_sample" not in columns


def test_downgrade_of_0008_gives_back_view_dora_lead_time_as_it_was(pg_server):
    with downgraded(pg_server, "0007") as fresh:
        views = {v for (v,) in rows(fresh, "SELECT viewname FROM pg_views WHERE schemaname = 'public'")}
        assert not views & {"view_pr_lead_time", "view_team_velocity_calendar"}
        # A view of its own again (version 2's definition and comments), still readable by dora_reader.
        assert rows(fresh, "SELECT obj_description('view_dora_lead_time'::regclass, 'pg_class') LIKE 'Lead time%'") == [
            (True,)
        ]
        granted = "SELECT has_table_privilege('dora_reader', :v, 'SELECT')"
        for view in ("view_dora_lead_time", "view_pr_attribution", "view_team_velocity"):
            assert rows(fresh, granted, v=view) == [(True,)], view
