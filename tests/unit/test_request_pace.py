"""The request pace shared by the workers, and the rate-limit budget as GitHub reports it."""

import pytest

from collector.deadline import Deadline
from collector.github_api import DeadlineReached, RequestRateLimiter, RequestStats


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_no_more_than_the_limit_in_any_sixty_seconds():
    clock = Clock()
    limiter = RequestRateLimiter(3, clock=clock)
    times = []
    for _ in range(7):
        limiter.acquire(Deadline(), 0, clock.sleep)
        times.append(clock.now)
        clock.now += 1  # each request takes a second
    assert times == [0, 1, 2, 60, 61, 62, 120]
    assert all(sum(1 for t in times if start <= t < start + 60) <= 3 for start in times)


def test_zero_turns_pacing_off():
    clock = Clock()
    limiter = RequestRateLimiter(0, clock=clock)
    for _ in range(1000):
        limiter.acquire(Deadline(), 0, clock.sleep)
    assert clock.sleeps == []


def test_a_pace_that_would_outlast_the_deadline_stops_instead_of_sleeping():
    clock = Clock()
    limiter = RequestRateLimiter(1, clock=clock)
    limiter.acquire(Deadline(30, clock=clock), 0, clock.sleep)
    with pytest.raises(DeadlineReached):
        limiter.acquire(Deadline(30, clock=clock), 0, clock.sleep)
    assert clock.sleeps == []


def test_rate_limit_budget_is_the_lowest_of_the_newest_window_whatever_the_recording_order():
    stats = RequestStats()
    for remaining, reset in (("4996", "1000"), ("4997", "1000"), ("4995", "1000")):
        stats.record(200, {"x-ratelimit-remaining": remaining, "x-ratelimit-reset": reset})
    assert stats.rate_limit_remaining == 4995
    stats.record(200, {"x-ratelimit-remaining": "4999", "x-ratelimit-reset": "4600"})  # a new hour
    assert stats.rate_limit_remaining == 4999
    stats.record(200, {"x-ratelimit-remaining": "4990", "x-ratelimit-reset": "1000"})  # late answer, old window
    assert stats.rate_limit_remaining == 4999
    assert stats.requests == 5


@pytest.mark.parametrize(
    ("limit", "remaining", "reserve", "spent"),
    [
        ("5000", "501", 0.10, False),
        ("5000", "500", 0.10, True),
        ("5000", "0", 0.0, True),
        ("5000", "1", 0.0, False),
        (None, "3", 0.10, False),  # no limit header: nothing to reserve a share of
    ],
)
def test_the_budget_is_spent_at_the_reserve(limit, remaining, reserve, spent):
    stats = RequestStats()
    headers = {"x-ratelimit-remaining": remaining, "x-ratelimit-reset": "1000"}
    if limit:
        headers["x-ratelimit-limit"] = limit
    stats.record(200, headers)
    assert stats.budget_spent(reserve) is spent


@pytest.mark.parametrize(
    "headers",
    [
        {"x-ratelimit-remaining": "-1", "x-ratelimit-reset": "1000"},
        {"x-ratelimit-remaining": "99999999999999999999", "x-ratelimit-reset": "1000"},
        {"x-ratelimit-remaining": "12", "x-ratelimit-reset": "9" * 40},
        {"x-ratelimit-remaining": "١٢", "x-ratelimit-reset": "1000"},  # digits, but not ASCII ones
    ],
)
def test_rate_limit_headers_with_unexpected_values_are_ignored_or_bounded(headers):
    stats = RequestStats()
    stats.record(200, headers)
    assert stats.rate_limit_remaining in (None, 12)
    assert stats.rate_limit_reset is None
