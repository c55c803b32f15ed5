"""teams sync: the file is the whole truth; every stored PR is re-attributed, with no GitHub request."""

from datetime import timedelta

import pytest

from collector.errors import TeamsFileError
from tests.helpers import NOW, collect, member, merged_pull, rows, snapshot, sync, team_doc


def test_sync_creates_teams_and_memberships(engine):
    result = sync(engine, team_doc(("platform", [member("alice"), member("bob", weight=0.5)]), ("data", [])))
    assert (result.teams, result.memberships) == (2, 2)
    assert rows(engine, "SELECT name FROM teams ORDER BY name") == [("data",), ("platform",)]
    assert rows(engine, "SELECT github_username, allocation_weight::text FROM team_memberships ORDER BY 1") == [
        ("alice", "1.0000"),
        ("bob", "0.5000"),
    ]


def test_sync_is_idempotent_and_keeps_membership_ids(engine):
    doc = team_doc(("platform", [member("alice"), member("bob")]))
    sync(engine, doc)
    before = rows(engine, "SELECT id, github_username FROM team_memberships ORDER BY id")
    sync(engine, doc)
    assert rows(engine, "SELECT id, github_username FROM team_memberships ORDER BY id") == before


def test_teams_and_memberships_absent_from_the_file_are_removed_with_their_rows(engine, fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice"))
    fake_github.add_pull("acme/api", merged_pull(2, "bob"))
    sync(engine, team_doc(("platform", [member("alice")]), ("data", [member("bob")])))
    collect(engine, fake_github, ["acme/api"])
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(2,)]
    sync(engine, team_doc(("platform", [])))
    assert rows(engine, "SELECT name FROM teams") == [("platform",)]
    assert rows(engine, "SELECT count(*) FROM team_memberships") == [(0,)]
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(0,)]
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(2,)]  # facts stay


def test_membership_change_reattributes_stored_prs_without_github(engine, fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice", merged=NOW - timedelta(days=40)))
    fake_github.add_pull("acme/api", merged_pull(2, "alice", merged=NOW - timedelta(days=5)))
    sync(engine, team_doc(("platform", [member("alice")]), ("data", [])))
    collect(engine, fake_github, ["acme/api"])
    fake_github.clear_log()
    moved = (NOW - timedelta(days=20)).date().isoformat()
    sync(
        engine,
        team_doc(("platform", [member("alice", left=moved)]), ("data", [member("alice", joined=moved)])),
    )
    assert fake_github.requests == []
    assert rows(engine, "SELECT t.name, m.pr_number FROM pr_metrics m JOIN teams t ON t.id = m.team_id ORDER BY 2") == [
        ("platform", 1),
        ("data", 2),
    ]


def test_a_bad_teams_file_changes_nothing(engine, fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice"))
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api"])
    before = (
        snapshot(engine),
        rows(engine, "SELECT * FROM team_memberships"),
        rows(engine, "SELECT * FROM teams"),
    )
    with pytest.raises(TeamsFileError):
        sync(engine, team_doc(("x", [member("a", weight=3)])))
    after = (
        snapshot(engine),
        rows(engine, "SELECT * FROM team_memberships"),
        rows(engine, "SELECT * FROM teams"),
    )
    assert after == before


def test_weight_change_updates_the_attributed_weight(engine, fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice"))
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api"])
    sync(engine, team_doc(("platform", [member("alice", weight=0.25)])))
    assert rows(engine, "SELECT allocation_weight::text FROM pr_metrics") == [("0.2500",)]


def test_the_sync_before_a_run_reattributes_only_when_memberships_changed(engine, fake_github, tmp_path):
    from tests.helpers import write_json

    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice"))
    fake_github.add_pull("acme/api", merged_pull(2, "bob"))
    teams_file = write_json(tmp_path / "teams.json", team_doc(("platform", [member("alice"), member("bob")])))
    collect(engine, fake_github, ["acme/api"], teams_file=teams_file)
    ids = rows(engine, "SELECT id, pr_number FROM pr_metrics ORDER BY pr_number")
    collect(engine, fake_github, ["acme/api"], teams_file=teams_file)  # same file: rows untouched
    assert rows(engine, "SELECT id, pr_number FROM pr_metrics ORDER BY pr_number") == ids
    write_json(teams_file, team_doc(("platform", [member("alice"), member("bob", weight=0.5)])))
    collect(engine, fake_github, ["acme/api"], teams_file=teams_file)
    assert rows(engine, "SELECT pr_number, allocation_weight::text FROM pr_metrics ORDER BY pr_number") == [
        (1, "1.0000"),
        (2, "0.5000"),
    ]


def test_an_explicit_teams_sync_always_reattributes(engine, fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice"))
    doc = team_doc(("platform", [member("alice")]))
    sync(engine, doc)
    collect(engine, fake_github, ["acme/api"])
    before = rows(engine, "SELECT id FROM pr_metrics")
    assert sync(engine, doc).reattributed
    assert rows(engine, "SELECT id FROM pr_metrics") != before
