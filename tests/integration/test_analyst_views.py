"""The analysts' layer: each view against hand-computed expectations, comments, and the read-only role."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from tests.helpers import FOUR_KEYS_VIEWS, add, at, collect, member, merged_pull, open_pull, rows, sync, team_doc

GRANTED_VIEWS = ("view_team_velocity", "view_team_velocity_calendar", "view_pr_lead_time", "view_dora_lead_time",
                 "view_pr_attribution", "view_unattributed_prs", "view_unmapped_authors",
                 "view_open_pr_age", "view_teams", *FOUR_KEYS_VIEWS)  # fmt: skip


def test_low_sample_flags_months_under_the_threshold_and_follows_the_setting(engine, fake_github):
    march = [merged_pull(n, merged=at(f"2025-03-{n + 1:02d}T12:00:00")) for n in range(1, 5)]  # 4 PRs
    april = [merged_pull(n, merged=at(f"2025-04-{n - 3:02d}T12:00:00")) for n in range(5, 10)]  # 5 PRs
    add(fake_github, "acme/api", *march, *april)
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api"])
    query = "SELECT month::text, prs_merged, low_sample FROM view_pr_lead_time ORDER BY month"
    assert rows(engine, query) == [("2025-03-01", 4, True), ("2025-04-01", 5, False)]
    with engine.begin() as conn:
        conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 6"))
    assert rows(engine, query) == [("2025-03-01", 4, True), ("2025-04-01", 5, True)]
    with engine.begin() as conn:
        conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 5"))


def test_attribution_trail_names_the_membership_behind_each_row(engine, fake_github):
    add(fake_github, "acme/api", merged_pull(1, "Bob", merged=at("2025-05-10T00:00:00")))
    sync(engine, team_doc(
        ("platform", [member("bob", joined="2025-01-01", left="2025-06-01", weight=0.5)]),
        ("data", [member("BOB", joined="2025-02-01", weight=0.5)]),
    ))  # fmt: skip
    collect(engine, fake_github, ["acme/api"])
    trail = rows(
        engine,
        "SELECT a.team_name, a.pr_number, a.author, a.membership_login, a.membership_joined_at, a.membership_left_at, "
        "a.allocation_weight::text, a.membership_id = tm.id FROM view_pr_attribution a "
        "JOIN team_memberships tm ON tm.team_id = a.team_id ORDER BY 1",
    )
    assert trail == [
        ("data", 1, "Bob", "BOB", at("2025-02-01T00:00:00"), None, "0.5000", True),
        ("platform", 1, "Bob", "bob", at("2025-01-01T00:00:00"), at("2025-06-01T00:00:00"), "0.5000", True),
    ]


def test_unattributed_prs_carry_each_reason(engine, fake_github):
    add(
        fake_github,
        "acme/api",
        merged_pull(1, None, merged=at("2025-05-01T00:00:00")),  # deleted account
        merged_pull(2, "stranger", merged=at("2025-05-01T00:00:00")),  # in no team
        merged_pull(3, "alice", merged=at("2024-12-31T23:59:59")),  # before her first membership
        merged_pull(4, "alice", merged=at("2025-07-01T00:00:00")),  # in the gap
        merged_pull(5, "alice", merged=at("2026-02-01T00:00:00")),  # after she left for good
        merged_pull(6, "alice", merged=at("2025-03-01T00:00:00")),  # attributed: not listed
        merged_pull(7, "dependabot[bot]", user_type="Bot", merged=at("2025-05-01T00:00:00")),  # bots: not listed
        merged_pull(8, "stranger", base_ref="release/1.x", merged=at("2025-05-01T00:00:00")),  # other branch
    )
    sync(engine, team_doc(("platform", [
        member("alice", joined="2025-01-01", left="2025-06-01"),
        member("alice", joined="2025-09-01", left="2026-01-01"),
    ])))  # fmt: skip
    collect(engine, fake_github, ["acme/api"])
    assert rows(engine, "SELECT pr_number, author, reason FROM view_unattributed_prs ORDER BY pr_number") == [
        (1, None, "deleted_author"),
        (2, "stranger", "unknown_author"),
        (3, "alice", "before_joining"),
        (4, "alice", "between_memberships"),
        (5, "alice", "after_leaving"),
    ]


def test_unmapped_authors_are_counted_once_per_person(engine, fake_github):
    add(fake_github, "acme/api", merged_pull(1, "Carol", merged=at("2025-05-01T00:00:00")),
        merged_pull(2, "alice", merged=at("2025-05-02T00:00:00")))  # fmt: skip
    add(fake_github, "acme/web", merged_pull(1, "carol", merged=at("2025-06-01T00:00:00")),
        merged_pull(2, "renovate[bot]", merged=at("2025-06-01T00:00:00")))  # fmt: skip
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api", "acme/web"])
    assert rows(engine, "SELECT lower(author), prs_merged, repositories, first_merged_at, last_merged_at "
                        "FROM view_unmapped_authors") == [
        ("carol", 2, 2, at("2025-05-01T00:00:00"), at("2025-06-01T00:00:00")),
    ]  # fmt: skip


def test_open_pr_age_per_team_of_current_members(engine, fake_github):
    now = datetime.now(UTC)
    add(
        fake_github,
        "acme/api",
        open_pull(1, "alice", created=now - timedelta(hours=10)),
        open_pull(2, "alice", created=now - timedelta(hours=20)),
        open_pull(3, "alice", created=now - timedelta(hours=40)),
        open_pull(4, "alice", created=now - timedelta(hours=500), draft=True),  # drafts are not waiting on review
        open_pull(5, "bob", created=now - timedelta(hours=30)),  # bob left: not the team's work now
    )
    yesterday = (now - timedelta(days=1)).date().isoformat()
    sync(engine, team_doc(("platform", [member("alice"), member("bob", left=yesterday)])))
    collect(engine, fake_github, ["acme/api"], now=now, since=now - timedelta(days=60))
    ((team, count, p50, p90, oldest),) = rows(
        engine, "SELECT team_name, open_prs, p50_age_hours, p90_age_hours, oldest_age_hours FROM view_open_pr_age"
    )
    assert (team, count) == ("platform", 3)
    # percentile_cont over [10, 20, 40]: p50 = 20, p90 at position 1.8 = 20 + 0.8 * 20 = 36
    assert float(p50) == pytest.approx(20, abs=0.05)
    assert float(p90) == pytest.approx(36, abs=0.05)
    assert float(oldest) == pytest.approx(40, abs=0.05)


def test_every_view_and_every_view_column_has_a_comment(engine):
    missing = rows(
        engine,
        """
        SELECT c.relname, a.attname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind = 'v' AND coalesce(col_description(c.oid, a.attnum), '') = ''
        UNION ALL
        SELECT c.relname, NULL FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'v' AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''
        """,
    )
    assert missing == []
    assert len(rows(engine, "SELECT 1 FROM pg_views WHERE schemaname = 'public'")) == 23


def test_every_view_but_titles_is_granted_to_dora_reader(engine):
    granted = rows(
        engine,
        "SELECT viewname, has_table_privilege('dora_reader', format('%I', viewname), 'SELECT') "
        "FROM pg_views WHERE schemaname = 'public' ORDER BY 1",
    )
    assert granted == sorted([(v, True) for v in GRANTED_VIEWS] + [("view_pr_titles", False)])


def as_reader(engine, sql):
    with engine.connect() as conn:
        conn.execute(text("SET ROLE dora_reader"))
        try:
            return conn.execute(text(sql)).all()
        finally:
            conn.rollback()


def test_dora_reader_reads_views_only(engine, fake_github):
    add(fake_github, "acme/api", merged_pull(1, "alice"))
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api"])
    for view in GRANTED_VIEWS:
        as_reader(engine, f"SELECT * FROM {view}")
    assert as_reader(engine, "SELECT prs_merged FROM view_team_velocity") == [(1,)]
    for forbidden in (
        "SELECT * FROM team_memberships",
        "SELECT * FROM dora_benchmarks",
        "SELECT * FROM repository_owners",
        "SELECT * FROM deployments",
        "SELECT title FROM incidents",
        "SELECT title FROM pull_requests",
        "SELECT title FROM pr_metrics",
        "SELECT * FROM view_pr_titles",
        "INSERT INTO teams (name) VALUES ('x')",
        "UPDATE analytics_settings SET low_sample_min_prs = 1",
        "DELETE FROM pr_metrics",
        "CREATE TABLE public.sneaky (id int)",
    ):
        with pytest.raises(ProgrammingError) as info:
            as_reader(engine, forbidden)
        assert isinstance(info.value.orig, psycopg.errors.InsufficientPrivilege), forbidden


def test_dora_reader_calls_the_four_keys_functions_which_read_only_what_it_may(engine, fake_github):
    add(fake_github, "acme/api", merged_pull(1, "alice"))
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api"])
    # SECURITY INVOKER: were a function to read a table, dora_reader could not call it.
    assert as_reader(engine, "SELECT count(*) FROM dora_summary(2023)") == [(0,)]
    assert as_reader(engine, "SELECT dora_band(2023, 'change_lead_time', 2)") == [("elite",)]
    granted = rows(
        engine,
        "SELECT p.proname, p.prosecdef, p.provolatile, "
        "has_function_privilege('dora_reader', p.oid, 'EXECUTE'), p.proacl::text LIKE '%dora_reader=X/%' "
        "FROM pg_proc p WHERE p.proname IN ('dora_band', 'dora_summary') ORDER BY 1",
    )
    assert granted == [("dora_band", False, "s", True, True), ("dora_summary", False, "s", True, True)]
