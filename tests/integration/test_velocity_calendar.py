"""view_team_velocity_calendar (every week, zeros included) and in_progress, against weeks computed by hand.

"Now" is the database's now(): a test reads it in the same transaction as the view, so a week or month that
ends while the test runs changes both sides alike.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.helpers import add, at, collect, member, merged_pull, rows, sync, team_doc

ZERO = (0, 0.0, None)


def monday(instant: datetime) -> date:
    day = instant.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def calendar(engine, session_tz="UTC"):
    """The view's rows per team, and the Monday (UTC) of the week containing the transaction's now()."""
    with engine.connect() as conn:
        conn.execute(text(f"SET TIME ZONE '{session_tz}'"))
        now = conn.execute(text("SELECT now()")).scalar_one()
        result = conn.execute(
            text(
                "SELECT team_name, week, prs_merged, weighted_prs_merged::float, avg_cycle_time_hours, in_progress "
                "FROM view_team_velocity_calendar ORDER BY team_name, week"
            )
        ).all()
        conn.rollback()
    teams: dict[str, list[tuple]] = {}
    for team, *row in result:
        teams.setdefault(team, []).append(tuple(row))
    return teams, monday(now)


def db_now(engine) -> datetime:
    return rows(engine, "SELECT now()")[0][0]


@pytest.fixture
def gap(engine, fake_github):
    """platform merges twice in the week of 2025-03-03, nothing the week after, once in the week of 2025-03-17."""
    add(
        fake_github,
        "acme/api",
        merged_pull(1, "alice", created=at("2025-03-03T10:00:00"), merged=at("2025-03-03T12:00:00")),  # 2 h
        merged_pull(2, "alice", created=at("2025-03-08T00:00:00"), merged=at("2025-03-09T23:30:00")),  # 47.5 h
        merged_pull(3, "alice", created=at("2025-03-17T08:30:00"), merged=at("2025-03-17T09:30:00")),  # 1 h
    )
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api"])
    return engine


def test_a_week_without_merges_between_two_with_merges_is_a_zero_row(gap):
    teams, _ = calendar(gap)
    assert teams["platform"][:3] == [
        (date(2025, 3, 3), 2, 2.0, pytest.approx(24.75), False),
        (date(2025, 3, 10), *ZERO, False),  # 0 PRs, 0 weighted, and no mean of no PRs
        (date(2025, 3, 17), 1, 1.0, pytest.approx(1.0), False),
    ]


def test_every_week_through_the_current_one_has_a_row_and_only_the_current_week_is_in_progress(gap):
    teams, this_week = calendar(gap)
    weeks = [row[0] for row in teams["platform"]]
    expected = [date(2025, 3, 3) + timedelta(weeks=i) for i in range((this_week - date(2025, 3, 3)).days // 7 + 1)]
    assert weeks == expected
    assert all(row[1:] == (*ZERO, False) for row in teams["platform"][3:-1])
    assert teams["platform"][-1] == (this_week, *ZERO, True)


def test_a_merge_in_the_current_week_counts_in_its_in_progress_row(engine, fake_github):
    now = db_now(engine)
    this_monday = datetime.combine(monday(now), datetime.min.time(), UTC)  # 00:00 UTC: never after now
    add(fake_github, "acme/api", merged_pull(1, "alice", created=this_monday - timedelta(hours=3), merged=this_monday))
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api"], now=now, since=now - timedelta(days=30))
    teams, this_week = calendar(engine)
    merge_week, *later = teams["platform"]
    assert merge_week == (monday(now), 1, 1.0, pytest.approx(3.0), monday(now) == this_week)
    # Unless a week ended between the merge and the query: then that week is finished and the new one empty.
    assert later == ([] if monday(now) == this_week else [(this_week, *ZERO, True)])


def test_the_calendar_starts_at_each_teams_first_merge_not_at_its_first_membership(engine, fake_github):
    add(
        fake_github,
        "acme/api",
        merged_pull(1, "alice", merged=at("2025-03-05T12:00:00")),  # a Wednesday: the week of 2025-03-03
        merged_pull(2, "bob", merged=at("2025-03-20T12:00:00")),  # the week of 2025-03-17
    )
    sync(engine, team_doc(
        ("platform", [member("alice", joined="2020-01-01")]),
        ("data", [member("bob", joined="2020-01-01")]),
    ))  # fmt: skip
    collect(engine, fake_github, ["acme/api"])
    teams, _ = calendar(engine)
    assert teams["platform"][0][:2] == (date(2025, 3, 3), 1)
    assert teams["data"][0][:2] == (date(2025, 3, 17), 1)


def test_a_team_without_any_attributed_pr_has_no_rows(engine, fake_github):
    add(
        fake_github,
        "acme/api",
        merged_pull(1, "alice", merged=at("2025-03-05T12:00:00")),
        merged_pull(2, "carol", base_ref="release/1.x", merged=at("2025-03-05T12:00:00")),  # not eligible
    )
    sync(engine, team_doc(("platform", [member("alice")]), ("idle", [member("carol")])))
    collect(engine, fake_github, ["acme/api"])
    teams, _ = calendar(engine)
    assert set(teams) == {"platform"}


def test_a_team_whose_members_all_left_keeps_zero_weeks_through_the_current_one(engine, fake_github):
    add(fake_github, "acme/api", merged_pull(1, "alice", merged=at("2025-03-05T12:00:00")))
    sync(engine, team_doc(("platform", [member("alice", joined="2025-01-01", left="2025-04-01")])))
    collect(engine, fake_github, ["acme/api"])
    teams, this_week = calendar(engine)
    assert teams["platform"][0][:2] == (date(2025, 3, 3), 1)
    assert teams["platform"][-1] == (this_week, *ZERO, True)
    assert len(teams["platform"]) == (this_week - date(2025, 3, 3)).days // 7 + 1


def test_weeks_follow_utc_whatever_the_session_time_zone(gap):
    # 2025-03-09 23:30 UTC is already Monday in Auckland, and 2025-03-17 09:30 UTC still Sunday in Honolulu.
    assert calendar(gap, "Pacific/Auckland") == calendar(gap, "Pacific/Honolulu") == calendar(gap)


def test_a_merge_dated_after_now_still_counts_and_its_week_is_in_progress(engine):
    # GitHub's clock may run ahead of ours; the collector accepts a day of that. The view never drops a stored
    # merge: the calendar runs on to its week, unfinished too.
    next_monday = datetime.combine(monday(db_now(engine)) + timedelta(weeks=1), datetime.min.time(), UTC)
    merged = next_monday + timedelta(hours=1)
    with engine.begin() as conn:
        for number, merged_at in ((1, at("2025-03-05T12:00:00")), (2, merged)):
            conn.execute(
                text(
                    "INSERT INTO pull_requests (repository, number, title, author, is_bot, state, draft, base_ref, "
                    "default_branch, created_at, updated_at, closed_at, merged_at) VALUES "
                    "('acme/api', :n, 'PR', 'alice', false, 'closed', false, 'main', 'main', :c, :m, :m, :m)"
                ),
                {"n": number, "c": merged_at - timedelta(hours=2), "m": merged_at},
            )
    sync(engine, team_doc(("platform", [member("alice")])))  # attributes the stored PRs
    teams, this_week = calendar(engine)
    assert teams["platform"][-2:] == [(this_week, *ZERO, True), (monday(merged), 1, 1.0, pytest.approx(2.0), True)]


def lead_time_months(engine):
    with engine.connect() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        result = conn.execute(text("SELECT month, prs_merged, in_progress FROM view_pr_lead_time ORDER BY month"))
        months = [tuple(r) for r in result]
        conn.rollback()
    return months, now.astimezone(UTC).date().replace(day=1)


def test_only_the_current_month_of_pr_lead_time_is_in_progress(engine, fake_github):
    now = db_now(engine)
    first_of_month = datetime.combine(now.astimezone(UTC).date().replace(day=1), datetime.min.time(), UTC)
    add(
        fake_github,
        "acme/api",
        merged_pull(1, "alice", merged=at("2025-03-05T12:00:00")),
        merged_pull(2, "alice", merged=first_of_month - timedelta(seconds=1)),  # the month before: finished
        merged_pull(3, "alice", merged=first_of_month),  # 00:00 UTC on the 1st: this month, never after now
    )
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/api"], now=now)
    months, this_month = lead_time_months(engine)
    previous = (first_of_month - timedelta(days=1)).date().replace(day=1)
    assert months == [
        (date(2025, 3, 1), 1, False),
        (previous, 1, False),
        (first_of_month.date(), 1, this_month == first_of_month.date()),
    ]
