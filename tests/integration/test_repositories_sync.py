"""teams sync, repositories: the file is the whole truth about them; a changed rule resets what it collected."""

from datetime import UTC, datetime

import pytest

from collector import store
from collector.errors import LockTakenError
from collector.membership import parse_organisation
from collector.sync import sync_organisation
from tests.helpers import collect, member, rows, sync, team_doc, write_json

TEAMS = team_doc(("platform", [member("alice")]), ("payments", [member("bob")]))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def org(*repositories):
    return {**TEAMS, "repositories": list(repositories)}


def repo(name="acme/api", owners=({"team": "platform"},), **keys):
    return {"name": name, "owners": list(owners), **keys}


def add_facts(engine, repository):
    """Collected rows of every signal, as the collection would leave them."""
    with engine.begin() as conn:
        for source in ("deployments", "workflow", "releases"):
            conn.exec_driver_sql(
                "INSERT INTO deployments (repository, source, id, created_at, deployed_at, status, updated_at) "
                "VALUES (%s, %s, '1', %s, %s, 'success', %s)",
                (repository, source, T0, T0, T0),
            )
        conn.exec_driver_sql(
            "INSERT INTO incidents (repository, number, title, state, created_at, updated_at) "
            "VALUES (%s, 7, 'down', 'open', %s, %s)",
            (repository, T0, T0),
        )
        for signal in ("deployments", "workflow", "releases", "incidents", "first_commits"):
            conn.exec_driver_sql(
                "INSERT INTO signal_state (repository, signal, watermark) VALUES (%s, %s, %s)", (repository, signal, T0)
            )


def facts(engine, repository):
    """Which signals still have facts and collection state for the repository."""
    return {
        "deployments": {
            r[0] for r in rows(engine, "SELECT source FROM deployments WHERE repository = :r", r=repository)
        },
        "incidents": bool(rows(engine, "SELECT 1 FROM incidents WHERE repository = :r", r=repository)),
        "state": {r[0] for r in rows(engine, "SELECT signal FROM signal_state WHERE repository = :r", r=repository)},
    }


ALL = {
    "deployments": {"deployments", "workflow", "releases"},
    "incidents": True,
    "state": {"deployments", "workflow", "releases", "incidents", "first_commits"},
}


def owners(engine):
    return rows(
        engine,
        "SELECT o.repository, t.name, o.share::text, o.owned_from, o.owned_until "
        "FROM repository_owners o JOIN teams t ON t.id = o.team_id ORDER BY 1, 2, 4",
    )


def test_sync_stores_repositories_with_their_rules_and_owners(engine):
    result = sync(
        engine,
        org(
            repo(
                "Acme/API",
                owners=[{"team": "platform", "share": 0.6, "from": "2025-01-01"}, {"team": "Payments", "share": 0.4}],
                incidents={"label": "Sev1"},
            ),
            repo("acme/web", owners=[], deployments={"source": "workflow", "workflow": "deploy.yml"}),
            repo("acme/app", deployments={"source": "releases"}),
        ),
    )
    assert (result.teams, result.repositories, result.repositories_removed, result.reset) == (2, 3, 0, ())
    assert rows(
        engine, "SELECT name, deploy_source, environment_pattern, workflow, incident_label FROM repositories ORDER BY 1"
    ) == [
        ("acme/api", "deployments", "^(prod|production)$", None, "Sev1"),
        ("acme/app", "releases", None, None, "incident"),
        ("acme/web", "workflow", None, "deploy.yml", "incident"),
    ]
    assert owners(engine) == [
        ("acme/api", "payments", "0.4000", datetime(1970, 1, 1, tzinfo=UTC), None),
        ("acme/api", "platform", "0.6000", datetime(2025, 1, 1, tzinfo=UTC), None),
        ("acme/app", "platform", "1.0000", datetime(1970, 1, 1, tzinfo=UTC), None),
    ]


def test_the_same_file_again_changes_no_row(engine):
    document = org(repo(owners=[{"team": "platform", "share": 0.5}, {"team": "payments", "share": 0.5}]))
    sync(engine, document)
    before = (rows(engine, "SELECT * FROM repositories"), rows(engine, "SELECT * FROM repository_owners ORDER BY id"))
    sync(engine, document)
    assert (
        rows(engine, "SELECT * FROM repositories"),
        rows(engine, "SELECT * FROM repository_owners ORDER BY id"),
    ) == before


def test_repositories_left_out_of_the_file_are_deleted_with_their_owners_and_their_facts_stay(engine):
    sync(engine, org(repo("acme/api"), repo("acme/web")))
    add_facts(engine, "acme/web")
    result = sync(engine, org(repo("acme/api")))
    assert (result.repositories, result.repositories_removed) == (1, 1)
    assert rows(engine, "SELECT name FROM repositories") == [("acme/api",)]
    assert [o[0] for o in owners(engine)] == ["acme/api"]
    assert facts(engine, "acme/web") == ALL


def test_a_file_without_repositories_deletes_them_all(engine):
    sync(engine, org(repo("acme/api")))
    assert sync(engine, TEAMS).repositories_removed == 1
    assert rows(engine, "SELECT count(*) FROM repositories") == [(0,)]
    assert rows(engine, "SELECT count(*) FROM repository_owners") == [(0,)]


def test_a_change_of_owners_rewrites_only_the_owners(engine):
    sync(engine, org(repo(owners=[{"team": "platform", "share": 0.5}, {"team": "payments", "share": 0.5}])))
    add_facts(engine, "acme/api")
    kept = rows(
        engine, "SELECT o.id FROM repository_owners o JOIN teams t ON t.id = o.team_id WHERE t.name = 'platform'"
    )
    repository = rows(engine, "SELECT * FROM repositories")
    changed = [
        {"team": "platform", "share": 0.5},
        {"team": "payments", "share": 0.25, "until": "2026-03-01"},
        {"team": "payments", "share": 0.5, "from": "2026-03-01"},
    ]
    result = sync(engine, org(repo(owners=changed)))
    assert result.reset == ()
    assert owners(engine) == [
        ("acme/api", "payments", "0.2500", datetime(1970, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        ("acme/api", "payments", "0.5000", datetime(2026, 3, 1, tzinfo=UTC), None),
        ("acme/api", "platform", "0.5000", datetime(1970, 1, 1, tzinfo=UTC), None),
    ]
    assert (
        rows(engine, "SELECT o.id FROM repository_owners o JOIN teams t ON t.id = o.team_id WHERE t.name = 'platform'")
        == kept
    )
    assert rows(engine, "SELECT * FROM repositories") == repository
    assert facts(engine, "acme/api") == ALL


def test_a_changed_environment_pattern_resets_that_repositorys_deployments_only(engine):
    sync(engine, org(repo("acme/api"), repo("acme/web")))
    add_facts(engine, "acme/api")
    add_facts(engine, "acme/web")
    result = sync(engine, org(repo("acme/api", deployments={"environment": "^live$"}), repo("acme/web")))
    assert result.reset == (("acme/api", "deployments"),)
    assert facts(engine, "acme/api") == {
        "deployments": {"workflow", "releases"},
        "incidents": True,
        "state": {"workflow", "releases", "incidents", "first_commits"},
    }
    assert facts(engine, "acme/web") == ALL
    assert rows(engine, "SELECT environment_pattern FROM repositories WHERE name = 'acme/api'") == [("^live$",)]


def test_a_changed_workflow_resets_the_workflow_runs(engine):
    sync(engine, org(repo(deployments={"source": "workflow", "workflow": "deploy.yml"})))
    add_facts(engine, "acme/api")
    result = sync(engine, org(repo(deployments={"source": "workflow", "workflow": 1234})))
    assert result.reset == (("acme/api", "workflow"),)
    assert facts(engine, "acme/api")["deployments"] == {"deployments", "releases"}
    assert "workflow" not in facts(engine, "acme/api")["state"]


def test_a_changed_source_resets_the_old_source_and_the_new_one(engine):
    sync(engine, org(repo(deployments={"source": "deployments"})))
    add_facts(engine, "acme/api")
    result = sync(engine, org(repo(deployments={"source": "releases"})))
    assert result.reset == (("acme/api", "deployments"), ("acme/api", "releases"))
    assert facts(engine, "acme/api") == {
        "deployments": {"workflow"},
        "incidents": True,
        "state": {"workflow", "incidents", "first_commits"},
    }
    assert rows(engine, "SELECT deploy_source, environment_pattern FROM repositories") == [("releases", None)]


def test_a_changed_incident_label_resets_the_incidents_but_a_change_of_case_does_not(engine):
    sync(engine, org(repo(incidents={"label": "incident"})))
    add_facts(engine, "acme/api")
    assert sync(engine, org(repo(incidents={"label": "Incident"}))).reset == ()
    assert facts(engine, "acme/api") == ALL
    assert rows(engine, "SELECT incident_label FROM repositories") == [("Incident",)]  # as given
    assert sync(engine, org(repo(incidents={"label": "outage"}))).reset == (("acme/api", "incidents"),)
    assert facts(engine, "acme/api") == {
        "deployments": ALL["deployments"],
        "incidents": False,
        "state": {"deployments", "workflow", "releases", "first_commits"},
    }


def test_a_team_owning_a_repository_can_be_renamed_in_one_sync(engine):
    sync(engine, org(repo(owners=[{"team": "payments"}])))
    renamed = {"teams": [{"name": "platform", "members": []}, {"name": "billing", "members": []}]}
    sync(engine, {**renamed, "repositories": [repo(owners=[{"team": "billing"}])]})
    assert [o[:2] for o in owners(engine)] == [("acme/api", "billing")]


def test_the_sync_before_a_run_takes_no_lock_when_neither_teams_nor_repositories_changed(engine):
    document = org(repo(owners=[{"team": "platform", "share": 0.5}, {"team": "payments", "share": 0.5}]))
    sync(engine, document)
    same = parse_organisation(
        # The same organisation, written otherwise: other spellings, owners in another order, shares with zeros.
        '{"teams": [{"name": "platform", "description": null, "members": [{"github_username": "alice", '
        '"allocation_weight": 1, "joined_at": "2020-01-01"}]}, {"name": "payments", "description": null, "members": '
        '[{"github_username": "bob", "joined_at": "2020-01-01T00:00:00Z"}]}], "repositories": [{"name": "ACME/api", '
        '"owners": [{"team": "Payments", "share": 0.5000}, {"team": "platform", "share": 0.5, "from": "1970-01-01"}]}]}'
    )
    changed = parse_organisation(
        __import__("json").dumps(
            org(repo(owners=[{"team": "platform", "share": 0.4}, {"team": "payments", "share": 0.6}]))
        )
    )
    with store.run_lock(engine, ["acme/api"]):  # a run in progress holds the lock a sync must take
        result = sync_organisation(engine, same, force=False, wait=0.2)
        assert (result.reattributed, result.repositories) == (False, 1)
        with pytest.raises(LockTakenError, match="a collection run is in progress"):
            sync_organisation(engine, changed, force=False, wait=0.2)
    assert sync_organisation(engine, changed, force=False, wait=0.2).repositories == 1
    assert [o[2] for o in owners(engine)] == ["0.6000", "0.4000"]


def test_the_sync_before_each_run_stores_the_files_repositories(engine, fake_github, tmp_path):
    fake_github.add_repo("acme/api")
    teams_file = write_json(tmp_path / "teams.json", org(repo(deployments={"source": "merges"})))
    assert collect(engine, fake_github, ["acme/api"], teams_file=teams_file).status == "success"
    assert rows(engine, "SELECT name, deploy_source FROM repositories") == [("acme/api", "merges")]
    write_json(teams_file, org(repo(deployments={"source": "releases"})))
    collect(engine, fake_github, ["acme/api"], teams_file=teams_file)
    assert rows(engine, "SELECT name, deploy_source FROM repositories") == [("acme/api", "releases")]
