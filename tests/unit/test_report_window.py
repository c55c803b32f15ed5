"""The report's window: the last N ISO weeks (Monday, UTC) up to now, the current one unfinished."""

from datetime import UTC, date, datetime

from collector.report import Window, line_path


def test_the_window_ends_today_and_starts_on_the_monday_n_weeks_back():
    window = Window.ending(datetime(2026, 11, 25, 12, tzinfo=UTC), 12)
    assert (window.first, window.today, window.end) == (date(2026, 9, 7), date(2026, 11, 25), date(2026, 11, 30))
    assert window.this_week == date(2026, 11, 23) and window.this_month == date(2026, 11, 1)
    assert window.label() == "last 12 weeks, 2026-09-07 \N{EN DASH} 2026-11-25"
    assert Window.ending(datetime(2026, 11, 23, 0, tzinfo=UTC), 1).label() == (
        "last 1 week, 2026-11-23 \N{EN DASH} 2026-11-23"
    )


def test_the_months_of_a_window_start_at_its_first_day_and_cross_the_year():
    window = Window.ending(datetime(2027, 1, 6, tzinfo=UTC), 8)  # from Monday 2026-11-16
    assert window.months() == [date(2026, 11, 16), date(2026, 12, 1), date(2027, 1, 1)]


def test_a_window_starting_on_the_first_of_a_month_has_no_partial_month():
    window = Window.ending(datetime(2026, 6, 10, tzinfo=UTC), 2)  # from Monday 2026-06-01
    assert window.months() == [date(2026, 6, 1)]


def test_a_line_breaks_where_a_point_is_missing_instead_of_joining_across():
    path = line_path([(1, 1), (2, 2), None, (4, 4), None], "#000", "")
    assert 'd="M1.0,1.0 L2.0,2.0 M4.0,4.0"' in path
    assert line_path([None, None], "#000", "") == ""
