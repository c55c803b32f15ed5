"""Runs and teams syncs exclude each other through locks only the collector's role can take."""

import uuid
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import text

from collector import store
from collector.errors import DatabaseError
from collector.github_api import GitHubClientFactory
from collector.pipeline import run
from collector.testing.fake_github import Fault
from tests.helpers import NOW, add, collect, member, merged_pull, rows, settings_for, team_doc


def test_a_run_killed_earlier_is_marked_abandoned_by_the_next(engine, fake_github, team):
    with store.run_lock(engine, ["acme/old"]) as lock:
        store.start_run(engine, uuid.uuid4(), NOW - timedelta(hours=4), "cli", 1, lock)
        with engine.connect() as conn:  # the process dies: its connections with it
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lock.pid})
    add(fake_github, "acme/api", merged_pull(1))
    collect(engine, fake_github, ["acme/api"])
    assert rows(engine, "SELECT status, error FROM collector_runs ORDER BY started_at") == [
        ("failed", "abandoned: the process stopped before finishing"),
        ("success", None),
    ]


def test_two_runs_never_collect_the_same_repository_at_once(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1))
    add(fake_github, "acme/web", merged_pull(1))
    live = uuid.uuid4()
    with store.run_lock(engine, ["acme/api"]) as lock:
        store.start_run(engine, live, NOW, "shard", 1, lock)
        with pytest.raises(DatabaseError, match="another collector run is collecting ACME/api"):
            collect(engine, fake_github, ["acme/web", "ACME/api"])
        # A shard over other repositories runs side by side (the scale-out path) ...
        assert collect(engine, fake_github, ["acme/web"]).status == "success"
        # ... and does not mistake the live run for an abandoned one.
        assert rows(engine, "SELECT status FROM collector_runs WHERE run_id = :r", r=live) == [("running",)]


def test_a_run_refuses_at_once_while_the_teams_are_synced(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1))
    with engine.begin() as conn:
        conn.execute(text("SELECT 1 FROM collector_locks WHERE name = 'global' FOR UPDATE"))
        with pytest.raises(DatabaseError, match="teams sync is in progress"):
            collect(engine, fake_github, ["acme/api"])


def test_a_teams_sync_waits_for_a_run_a_bounded_time_then_says_why(engine, team):
    from collector.membership import parse_organisation
    from collector.sync import sync_organisation

    org = parse_organisation('{"teams": [{"name": "platform", "members": []}]}')
    waited = r"a collection run is in progress \(waited 0.2 s\)"
    with store.run_lock(engine, ["acme/api"]), pytest.raises(DatabaseError, match=waited):
        sync_organisation(engine, org, wait=0.2)
    assert sync_organisation(engine, org, wait=0.2).teams == 1  # the run ended: the sync goes through


def test_an_analysts_login_can_neither_take_the_locks_nor_stall_a_run(engine, fake_github, team):
    add(fake_github, "acme/api", merged_pull(1))
    with engine.connect() as conn:
        conn.execute(text("SET ROLE dora_reader"))
        with pytest.raises(Exception, match="permission denied") as info:
            conn.execute(text("SELECT 1 FROM collector_locks FOR UPDATE"))
        assert isinstance(info.value.orig, psycopg.errors.InsufficientPrivilege)
        conn.rollback()
        conn.execute(text("SET ROLE dora_reader"))
        # Advisory locks are anyone's: the ones earlier versions used no longer stop anything.
        for key in (0x0D0A_0001, 0x0D0A_0002, 0x0D0A_0003):
            conn.execute(text("SELECT pg_advisory_lock(:k, 0)"), {"k": key})
        assert collect(engine, fake_github, ["acme/api"]).status == "success"
        conn.execute(text("SELECT pg_advisory_unlock_all()"))


def test_a_run_that_loses_its_lock_stops_writing_and_says_so(engine, fake_github, team):
    add(fake_github, "acme/api", *[merged_pull(n) for n in range(1, 301)])
    fake_github.inject(r"/pulls\?(?=.*[?&]page=2(&|$))", Fault(503))

    def lose_the_lock(_seconds):  # while the client waits to retry page 2, the lock's backend is killed
        with engine.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'dora-collector run lock' AND datname = current_database()"
            ))  # fmt: skip

    github = GitHubClientFactory(token="test-token", base_url=fake_github.base_url, sleep=lose_the_lock)
    with pytest.raises(DatabaseError, match="lost its database lock"):
        run(settings_for(fake_github, engine, ["acme/api"], max_workers=1), github=github, engine=engine, now=NOW)
    assert rows(engine, "SELECT status, error LIKE '%lost its database lock%' FROM collector_runs") == [
        ("failed", True)
    ]
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(100,)]  # page 1 only, written while locked


def test_a_run_with_an_unchanged_teams_file_runs_beside_another_run(engine, fake_github, team, tmp_path):
    from tests.helpers import write_json

    add(fake_github, "acme/web", merged_pull(1))
    teams_file = write_json(tmp_path / "teams.json", team_doc(("platform", [member("alice"), member("bob")])))
    with store.run_lock(engine, ["acme/api"]):  # a live run over another repository
        result = collect(engine, fake_github, ["acme/web"], teams_file=teams_file)
    assert result.status == "success"
