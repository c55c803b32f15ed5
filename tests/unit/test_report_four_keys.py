"""The report's four keys without a database: the month the tiles show, units a person reads, legible bands."""

from datetime import UTC, date, datetime

import pytest

from collector.report import BAND_COLOURS, NO_BAND, KeyMonth, Window, headline_month, key_value


def figure(value, month=date(2026, 10, 1)):
    return KeyMonth(month, value, None, 10, low_sample=False)


def test_the_tiles_show_the_latest_complete_month_the_window_touches():
    assert headline_month(Window.ending(datetime(2026, 11, 25, tzinfo=UTC), 12)) == date(2026, 10, 1)
    # From Monday 2026-10-26: October is touched for six days, and shown whole.
    assert headline_month(Window.ending(datetime(2026, 11, 25, tzinfo=UTC), 5)) == date(2026, 10, 1)
    assert headline_month(Window.ending(datetime(2027, 1, 6, tzinfo=UTC), 8)) == date(2026, 12, 1)


def test_a_window_inside_the_current_month_shows_that_month_in_progress():
    assert headline_month(Window.ending(datetime(2026, 11, 25, tzinfo=UTC), 2)) == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("per_week", "shown"),
    [
        (7.0, "1.0 per day"),  # 2024's elite bound: once a day on average
        (17.5, "2.5 per day"),
        (6.99, "7.0 per week"),
        (1.0, "1.0 per week"),
        (0.2258, "1.0 per month"),  # one deployment in a 31-day month: the month's count, not 0.2 a week
        (0.45161290322580644, "2.0 per month"),
    ],
)
def test_deployment_frequency_reads_per_day_week_or_month(per_week, shown):
    assert key_value("deployment_frequency", figure(per_week)) == shown


def test_per_month_counts_the_months_own_days():
    """The view divides a month's deployments by (its days / 7): February's two deployments are two a month."""
    assert key_value("deployment_frequency", figure(2 / (28 / 7), date(2026, 2, 1))) == "2.0 per month"


def test_rates_are_percent_and_durations_hours_or_days():
    assert key_value("change_failure_rate", figure(0.0645)) == "6.5%"
    assert key_value("change_failure_rate", figure(0.0)) == "0%"
    assert key_value("change_failure_rate", figure(1.0)) == "100%"
    assert key_value("change_lead_time", figure(30.0)) == "30.0 h"
    assert key_value("time_to_restore", figure(96.0)) == "4.0 d"
    assert key_value("time_to_restore", figure(None)) == "\N{EN DASH}"


def luminance(colour):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in bytes.fromhex(colour[1:]))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("band", [*BAND_COLOURS, None])
def test_every_band_badge_is_legible(band):
    """WCAG AA for normal text: the band's name on its colour has a contrast ratio of at least 4.5."""
    background, ink = BAND_COLOURS[band] if band else NO_BAND
    assert contrast(background, ink) >= 4.5
