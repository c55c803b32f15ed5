"""pr_metrics always names a membership of the row's team (migration 0007's composite foreign key)."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from collector import store
from tests.helpers import collect, member, merged_pull, rows, sync, team_doc


@pytest.fixture
def collected(engine, fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice"))
    fake_github.add_pull("acme/api", merged_pull(2, "bob"))
    sync(engine, team_doc(("platform", [member("alice")]), ("data", [member("bob")])))
    collect(engine, fake_github, ["acme/api"])
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(2,)]


def _copy_of_row_1(engine, **changes):
    """Insert a copy of PR 1's row for another PR number, with some columns changed."""
    columns = [c for c in store.METRIC_COLUMNS if c not in changes and c != "pr_number"]
    assignments = ", ".join(f":{c} AS {c}" for c in changes)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO pr_metrics ({', '.join(columns)}, pr_number, {', '.join(changes)}) "
                f"SELECT {', '.join(columns)}, 99, {assignments} FROM pr_metrics WHERE pr_number = 1"
            ),
            changes,
        )


def _membership_id(engine, login):
    return rows(engine, "SELECT id FROM team_memberships WHERE github_username = :u", u=login)[0][0]


def _team_id(engine, name):
    return rows(engine, "SELECT id FROM teams WHERE name = :n", n=name)[0][0]


def test_a_row_naming_a_missing_membership_is_refused(engine, collected):
    with pytest.raises(IntegrityError, match="fk_pr_metrics_membership"):
        _copy_of_row_1(engine, membership_id=424242)
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(2,)]


def test_a_row_naming_a_membership_of_another_team_is_refused(engine, collected):
    with pytest.raises(IntegrityError, match="fk_pr_metrics_membership"):
        _copy_of_row_1(engine, team_id=_team_id(engine, "data"))


def test_an_update_that_breaks_the_reference_is_refused(engine, collected):
    with pytest.raises(IntegrityError, match="fk_pr_metrics_membership"), engine.begin() as conn:
        conn.execute(text("UPDATE pr_metrics SET membership_id = 424242 WHERE pr_number = 1"))


def test_a_valid_row_is_accepted(engine, collected):
    _copy_of_row_1(engine, team_id=_team_id(engine, "platform"))
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(3,)]


def test_deleting_a_membership_deletes_its_rows_only(engine, collected):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM team_memberships WHERE github_username = 'alice'"))
    assert rows(engine, "SELECT pr_number FROM pr_metrics") == [(2,)]


def test_deleting_a_team_deletes_its_rows_through_its_memberships(engine, collected):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM teams WHERE name = 'data'"))
    assert rows(engine, "SELECT pr_number FROM pr_metrics") == [(1,)]


def test_a_referenced_membership_cannot_move_to_another_team(engine, collected):
    with pytest.raises(IntegrityError, match="fk_pr_metrics_membership"), engine.begin() as conn:
        conn.execute(
            text("UPDATE team_memberships SET team_id = :t WHERE id = :m"),
            {"t": _team_id(engine, "data"), "m": _membership_id(engine, "alice")},
        )


def test_a_membership_update_that_keeps_its_keys_is_allowed(engine, collected):
    with engine.begin() as conn:
        conn.execute(text("UPDATE team_memberships SET allocation_weight = 0.5"))
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(2,)]
