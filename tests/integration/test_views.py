"""The core views against numbers computed by hand."""

import pytest
from sqlalchemy import text

from tests.helpers import at, collect, member, merged_pull, rows, sync, team_doc

H = 3600


@pytest.fixture
def collected(engine, fake_github):
    fake_github.add_repo("acme/api")
    pulls = [
        # alice: Monday 10:00 -> 12:00, 2 h; week of Monday 2025-03-03
        merged_pull(1, "alice", created=at("2025-03-03T10:00:00"), merged=at("2025-03-03T12:00:00")),
        # alice: merged Sunday 23:30 UTC -> still the week of 2025-03-03; 47.5 h
        merged_pull(2, "alice", created=at("2025-03-08T00:00:00"), merged=at("2025-03-09T23:30:00")),
        # bob (split 0.5/0.5): merged Monday 00:10 UTC -> week of 2025-03-10; 4 h 10 min
        merged_pull(3, "bob", created=at("2025-03-09T20:00:00"), merged=at("2025-03-10T00:10:00")),
        # alice in April: 10 h
        merged_pull(4, "alice", created=at("2025-04-02T00:00:00"), merged=at("2025-04-02T10:00:00")),
        # not counted: a bot, and a release-branch PR
        merged_pull(5, "dependabot[bot]", user_type="Bot", merged=at("2025-03-04T00:00:00")),
        merged_pull(6, "alice", base_ref="release/1.x", merged=at("2025-03-04T00:00:00")),
    ]
    for pull in pulls:
        fake_github.add_pull("acme/api", pull)
    sync(engine, team_doc(
        ("platform", [member("alice"), member("bob", weight=0.5)]),
        ("data", [member("bob", weight=0.5)]),
    ))  # fmt: skip
    collect(engine, fake_github, ["acme/api"])
    return engine


def velocity(engine, session_tz="UTC"):
    with engine.connect() as conn:
        conn.execute(text(f"SET TIME ZONE '{session_tz}'"))
        result = conn.execute(
            text(
                "SELECT team_name, week::text, prs_merged, weighted_prs_merged::float, avg_cycle_time_hours "
                "FROM view_team_velocity ORDER BY team_name, week"
            )
        ).all()
        conn.rollback()
    return [tuple(r) for r in result]


def test_velocity_weeks_start_monday_utc_and_count_weighted_prs(collected):
    assert velocity(collected) == [
        ("data", "2025-03-10", 1, 0.5, pytest.approx(25 / 6)),
        ("platform", "2025-03-03", 2, 2.0, pytest.approx(24.75)),
        ("platform", "2025-03-10", 1, 0.5, pytest.approx(25 / 6)),
        ("platform", "2025-03-31", 1, 1.0, pytest.approx(10.0)),
    ]


def test_velocity_does_not_depend_on_the_session_time_zone(collected):
    assert velocity(collected, "Pacific/Auckland") == velocity(collected, "America/Los_Angeles") == velocity(collected)


def test_weeks_without_prs_have_no_row(collected):
    weeks = [w for team, w, *_ in velocity(collected) if team == "platform"]
    assert "2025-03-17" not in weeks and "2025-03-24" not in weeks


def test_lead_time_is_monthly_median_and_p95_with_percentile_cont(collected):
    result = rows(
        collected,
        "SELECT team_name, month::text, prs_merged, median_lead_time_hours, p95_lead_time_hours "
        "FROM view_pr_lead_time ORDER BY team_name, month",
    )
    hours = sorted([2.0, 47.5, 25 / 6])
    # percentile_cont(0.95) over 3 values: position 0.95 * 2 = 1.9 between the 2nd and 3rd values.
    p95 = hours[1] + 0.9 * (hours[2] - hours[1])
    assert result == [
        ("data", "2025-03-01", 1, pytest.approx(25 / 6), pytest.approx(25 / 6)),
        ("platform", "2025-03-01", 3, pytest.approx(hours[1]), pytest.approx(p95)),
        ("platform", "2025-04-01", 1, pytest.approx(10.0), pytest.approx(10.0)),
    ]


def test_views_expose_the_contracted_columns(collected):
    def columns(view):
        return [
            r[0]
            for r in rows(
                collected,
                "SELECT column_name FROM information_schema.columns WHERE table_name = :v ORDER BY ordinal_position",
                v=view,
            )
        ]

    assert columns("view_team_velocity") == [
        "team_id", "team_name", "week", "prs_merged", "weighted_prs_merged", "avg_cycle_time_hours",
    ]  # fmt: skip
    assert columns("view_pr_lead_time") == [
        "team_id", "team_name", "month", "prs_merged", "median_lead_time_hours", "p95_lead_time_hours",
        "low_sample", "in_progress",
    ]  # fmt: skip
    assert columns("view_team_velocity_calendar") == [*columns("view_team_velocity"), "in_progress"]
    # The deprecated alias keeps the shape it had before the rename: no in_progress.
    assert columns("view_dora_lead_time") == columns("view_pr_lead_time")[:7]


def test_the_deprecated_alias_reads_view_pr_lead_time(collected):
    alias = rows(collected, "SELECT * FROM view_dora_lead_time ORDER BY team_id, month")
    renamed = rows(collected, "SELECT * FROM view_pr_lead_time ORDER BY team_id, month")
    assert len(alias) == 3 and alias == [row[:7] for row in renamed]
    # A view over the new one, not a copy of its definition: one definition to change.
    assert rows(
        collected,
        "SELECT DISTINCT v.relname FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        "JOIN pg_class v ON v.oid = d.refobjid "
        "WHERE r.ev_class = 'view_dora_lead_time'::regclass AND v.relname <> 'view_dora_lead_time'",
    ) == [("view_pr_lead_time",)]


def comment(engine, relation, column=None):
    if column is None:
        return rows(engine, "SELECT obj_description(:r ::regclass, 'pg_class')", r=relation)[0][0]
    return rows(
        engine,
        "SELECT col_description(:r ::regclass, a.attnum) FROM pg_attribute a "
        "WHERE a.attrelid = :r ::regclass AND a.attname = :c",
        r=relation,
        c=column,
    )[0][0]


def test_the_alias_says_it_is_deprecated_and_when_it_goes(engine):
    assert (
        "deprecated alias of view_pr_lead_time, kept for one release; will be dropped in the release after"
        in comment(engine, "view_dora_lead_time").lower()
    )


@pytest.mark.parametrize(
    ("relation", "column"),
    [
        ("view_pr_lead_time", None),
        ("view_pr_lead_time", "median_lead_time_hours"),
        ("view_pr_lead_time", "p95_lead_time_hours"),
        ("view_dora_lead_time", None),
        ("view_dora_lead_time", "median_lead_time_hours"),
        ("view_dora_lead_time", "p95_lead_time_hours"),
        ("view_team_velocity", "avg_cycle_time_hours"),
        ("view_team_velocity_calendar", "avg_cycle_time_hours"),
        ("view_pr_attribution", "cycle_time_hours"),
    ],
)
def test_every_open_to_merge_figure_is_documented_as_pr_lead_time_not_dora_lead_time(engine, relation, column):
    said = comment(engine, relation, column)
    assert "PR lead time" in said and "PR opened -> merged" in said
    assert "not dora's lead time for changes" in said.lower()


def test_the_calendars_weeks_with_merges_are_view_team_velocitys_rows(collected):
    velocity_rows = rows(collected, "SELECT * FROM view_team_velocity ORDER BY team_id, week")
    calendar_rows = rows(
        collected,
        "SELECT team_id, team_name, week, prs_merged, weighted_prs_merged, avg_cycle_time_hours "
        "FROM view_team_velocity_calendar WHERE prs_merged > 0 ORDER BY team_id, week",
    )
    assert len(velocity_rows) == 4 and calendar_rows == velocity_rows
