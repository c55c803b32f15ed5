"""The API serves as the role dora_api: the documented views and two key functions, no table, no write, whatever
login DATABASE_URL names."""

import uuid

import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import ProgrammingError

from collector.api import keys
from collector.api.data import check_can_serve, make_api_engine
from collector.errors import DatabaseError
from tests.helpers import FOUR_KEYS_VIEWS, member, rows, sync, team_doc
from tests.integration.api_client import Api, serving

DOCUMENTED_VIEWS = ("view_team_velocity", "view_team_velocity_calendar", "view_pr_lead_time", "view_dora_lead_time",
                    "view_pr_attribution", "view_unattributed_prs", "view_unmapped_authors", "view_open_pr_age",
                    "view_teams", *FOUR_KEYS_VIEWS)  # fmt: skip


def as_api(engine, sql, **params):
    with engine.connect() as conn:
        conn.execute(text("SET ROLE dora_api"))
        try:
            return conn.execute(text(sql), params).all()
        finally:
            conn.rollback()


def refused(engine, sql, **params):
    with pytest.raises(ProgrammingError) as info:
        as_api(engine, sql, **params)
    return isinstance(info.value.orig, psycopg.errors.InsufficientPrivilege)


def test_dora_api_can_read_no_table_but_the_schema_version(engine):
    tables = [t for (t,) in rows(engine, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
    assert {"api_keys", "teams", "pr_metrics", "pull_requests", "alembic_version"} <= set(tables)
    for table in tables:
        if table == "alembic_version":  # dora_reader's: tools check the schema's version with it
            assert as_api(engine, "SELECT count(*) FROM alembic_version") == [(1,)]
        else:
            assert refused(engine, f"SELECT * FROM {table} LIMIT 1"), table


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO api_keys (name, key_id, secret_hash) VALUES ('x', 'y', sha256('z'))",
        "UPDATE api_keys SET revoked_at = NULL",
        "DELETE FROM api_keys",
        "INSERT INTO teams (name) VALUES ('x')",
        "UPDATE analytics_settings SET low_sample_min_prs = 1",
        "DELETE FROM pr_metrics",
        "TRUNCATE teams",
        "CREATE TABLE public.sneaky (id int)",
        "CREATE VIEW public.sneaky AS SELECT 1",
        "SELECT * FROM view_pr_titles",
    ],
)
def test_dora_api_cannot_write_anything(engine, sql):
    assert refused(engine, sql)


def test_dora_api_reads_every_documented_view_and_checks_keys_only_through_its_functions(engine):
    sync(engine, team_doc(("platform", [member("alice")])))
    for view in DOCUMENTED_VIEWS:
        as_api(engine, f"SELECT * FROM {view} LIMIT 1")
    key_id = keys.create_key(engine, "probe").split("_")[1]
    ((stored, revoked),) = as_api(engine, "SELECT secret_hash, revoked FROM api_key_secret(:k)", k=key_id)
    assert len(bytes(stored)) == 32 and revoked is False
    assert as_api(engine, "SELECT * FROM api_key_secret('unknown')") == []


def test_dora_api_reads_what_the_four_keys_endpoint_needs_through_dora_reader(engine):
    """The endpoint reads the four key views and calls dora_band() (and dora_summary() agrees with it): granted to
    dora_reader, of which dora_api is a member, and nothing of it to dora_api by name."""
    views = ["view_dora_benchmarks", "view_dora_deployment_frequency", "view_dora_change_lead_time",
             "view_dora_change_failure_rate", "view_dora_time_to_restore", "view_dora_summary"]  # fmt: skip
    functions = ["dora_band(integer, text, double precision)", "dora_summary(integer)"]
    for role in ("dora_reader", "dora_api"):
        for view in views:
            assert rows(engine, "SELECT has_table_privilege(:r, :v, 'SELECT')", r=role, v=view) == [(True,)], view
        for function in functions:
            assert rows(engine, "SELECT has_function_privilege(:r, :f, 'EXECUTE')", r=role, f=function) == [(True,)]
    granted_by_name = rows(
        engine,
        "SELECT table_name FROM information_schema.role_table_grants WHERE grantee = 'dora_api' "
        "UNION ALL SELECT routine_name FROM information_schema.role_routine_grants WHERE grantee = 'dora_api' "
        "AND routine_name LIKE 'dora%'",
    )
    assert granted_by_name == []
    assert rows(engine, "SELECT pg_has_role('dora_api', 'dora_reader', 'MEMBER')") == [(True,)]
    assert as_api(engine, "SELECT dora_band(2024, 'change_lead_time', 30)") == [("high",)]
    assert as_api(engine, "SELECT count(*) FROM dora_summary(2024)") == [(0,)]
    # The base tables stay out of its reach: the bands only through the view.
    assert refused(engine, "SELECT * FROM dora_benchmarks LIMIT 1")


def test_other_roles_cannot_call_the_key_functions(engine):
    with engine.connect() as conn:
        conn.execute(text("SET ROLE dora_reader"))
        with pytest.raises(ProgrammingError) as info:
            conn.execute(text("SELECT * FROM api_key_secret('x')"))
        conn.rollback()
    assert isinstance(info.value.orig, psycopg.errors.InsufficientPrivilege)
    granted = rows(engine, "SELECT has_function_privilege('public', 'api_key_used(text, bytea)', 'EXECUTE')")
    assert granted == [(False,)]


def test_the_api_engine_serves_as_dora_api_even_over_an_owners_url(engine):
    api_engine = make_api_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        with api_engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == "dora_api"
            with pytest.raises(ProgrammingError):
                conn.execute(text("DELETE FROM api_keys"))
            conn.rollback()
        with api_engine.connect() as conn:  # the role outlives the transaction that failed
            assert conn.execute(text("SELECT current_user")).scalar() == "dora_api"
    finally:
        api_engine.dispose()


class login:
    """A login role for a with block (IN ROLE ``member_of``, if given); yields its URL."""

    def __init__(self, engine, member_of=None):
        self.engine, self.member_of = engine, member_of
        self.name = f"api_{uuid.uuid4().hex[:8]}"

    def __enter__(self):
        membership = f" IN ROLE {self.member_of}" if self.member_of else ""
        with self.engine.begin() as conn:
            conn.execute(text(f"CREATE ROLE {self.name} LOGIN PASSWORD 'api-password'{membership}"))
        url = make_url(self.engine.url.render_as_string(hide_password=False))
        return url.set(username=self.name, password="api-password").render_as_string(hide_password=False)

    def __exit__(self, *exc):
        with self.engine.begin() as conn:
            conn.execute(text(f"DROP ROLE {self.name}"))


def test_a_login_that_cannot_take_the_role_is_told_in_one_line(engine):
    with login(engine) as url:
        api_engine = make_api_engine(url, pool_size=1)
        try:
            with pytest.raises(DatabaseError) as info:
                check_can_serve(api_engine, make_url(url).username)
        finally:
            api_engine.dispose()
    name = make_url(url).username
    assert str(info.value) == (
        f"the login {name} cannot take the role dora_api: as the database's owner, GRANT dora_api TO {name}"
    )


def test_a_login_in_the_role_serves(engine):
    sync(engine, team_doc(("platform", [member("alice")])))
    with login(engine, member_of="dora_api") as url:
        api_engine = make_api_engine(url, pool_size=1)
        try:
            check_can_serve(api_engine, make_url(url).username)
        finally:
            api_engine.dispose()
        with serving(url) as server:
            answer = Api(server, keys.create_key(engine, "login")).get("/teams")
    assert answer.status == 200 and [t["name"] for t in answer.json["teams"]] == ["platform"]
