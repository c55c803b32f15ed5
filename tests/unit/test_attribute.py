"""Attribution semantics, one rule per test."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from collector.attribute import attribute, cycle_time_hours, is_eligible
from collector.membership import MembershipIndex
from collector.models import Membership, PullRequest

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def pr(**changes):
    values = {
        "repository": "acme/api", "number": 1, "title": "t", "author": "alice", "is_bot": False,
        "state": "closed", "draft": False, "base_ref": "main", "default_branch": "main",
        "created_at": T0 - timedelta(hours=30), "updated_at": T0, "closed_at": T0, "merged_at": T0,
    }  # fmt: skip
    values.update(changes)
    return PullRequest(**values)


def membership(
    id=1,  # noqa: A002 - mirrors the column name
    team_id=10,
    login="alice",
    weight="1",
    joined=T0 - timedelta(days=30),
    left=None,
):
    return Membership(id, team_id, login, Decimal(weight), joined, left)


def test_merged_human_pr_into_default_branch_is_eligible():
    assert is_eligible(pr())


def test_unmerged_pr_is_not_eligible():
    assert not is_eligible(pr(merged_at=None))


def test_pr_without_author_is_not_eligible():
    assert not is_eligible(pr(author=None))


def test_bot_pr_is_not_eligible():
    assert not is_eligible(pr(is_bot=True))


def test_pr_into_another_branch_is_not_eligible():
    assert not is_eligible(pr(base_ref="release/1.x"))


def test_logins_match_members_case_insensitively():
    rows = attribute(pr(author="ALICE"), MembershipIndex([membership(login="Alice")]))
    assert [r.team_id for r in rows] == [10]


def test_membership_is_active_from_joined_at_inclusive():
    assert attribute(pr(), MembershipIndex([membership(joined=T0)]))


def test_membership_is_inactive_at_left_at_exclusive():
    assert not attribute(pr(), MembershipIndex([membership(left=T0)]))
    assert attribute(pr(), MembershipIndex([membership(left=T0 + timedelta(seconds=1))]))


def test_membership_not_yet_started_does_not_count():
    assert not attribute(pr(), MembershipIndex([membership(joined=T0 + timedelta(seconds=1))]))


def test_attribution_uses_merge_time_not_creation_time():
    # Created while in team 10, merged after moving to team 20: team 20 gets it.
    index = MembershipIndex([
        membership(1, 10, joined=T0 - timedelta(days=60), left=T0 - timedelta(hours=1)),
        membership(2, 20, joined=T0 - timedelta(hours=1)),
    ])  # fmt: skip
    assert [r.team_id for r in attribute(pr(), index)] == [20]


def test_split_author_credits_every_active_team_with_its_weight():
    index = MembershipIndex([membership(1, 10, weight="0.6"), membership(2, 20, weight="0.4")])
    rows = attribute(pr(), index)
    assert sorted((r.team_id, r.allocation_weight, r.membership_id) for r in rows) == [
        (10, Decimal("0.6"), 1),
        (20, Decimal("0.4"), 2),
    ]


def test_ineligible_pr_gets_no_rows_even_with_a_membership():
    assert attribute(pr(is_bot=True), MembershipIndex([membership()])) == []


def test_cycle_time_is_fractional_hours_from_creation_to_merge():
    assert cycle_time_hours(pr(created_at=T0 - timedelta(hours=2, minutes=15))) == pytest.approx(2.25)


def test_rows_carry_the_pr_facts_and_utc_created_date():
    created = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)
    (row,) = attribute(pr(created_at=created), MembershipIndex([membership()]))
    assert (row.repository, row.pr_number, row.author, row.state) == ("acme/api", 1, "alice", "merged")
    assert row.created_date.isoformat() == "2025-03-09"
    assert row.cycle_time_hours == pytest.approx(12.5)
