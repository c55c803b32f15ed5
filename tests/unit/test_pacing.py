"""The shared per-minute request pace and the page prefetcher."""

import threading

import pytest

from collector.deadline import Deadline
from collector.github_api import DeadlineReached, RequestRateLimiter
from collector.prefetch import Prefetch


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


def test_prefetch_yields_in_order_from_another_thread():
    producers = []

    def items():
        producers.append(threading.current_thread())
        yield from range(10)

    with Prefetch(items) as stream:
        assert list(stream) == list(range(10))
    assert producers[0] is not threading.current_thread()


def test_prefetch_raises_the_producers_error_after_the_items_before_it():
    def items():
        yield 1
        raise ValueError("boom")

    seen = []
    with pytest.raises(ValueError, match="boom"), Prefetch(items) as stream:
        seen.extend(stream)
    assert seen == [1]


def test_leaving_early_stops_the_producer():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i

    with Prefetch(items, depth=2) as stream:
        for item in stream:
            if item == 3:
                break
    # The consumer took 4 items; the producer may be at most depth (+1 in hand) ahead, never far.
    assert len(produced) <= 4 + 3


def test_rate_limit_budget_is_the_lowest_of_the_newest_window_whatever_the_recording_order():
    from collector.github_api import RequestStats

    stats = RequestStats()
    for remaining, reset in (("4996", "1000"), ("4997", "1000"), ("4995", "1000")):
        stats.record(200, {"x-ratelimit-remaining": remaining, "x-ratelimit-reset": reset})
    assert stats.rate_limit_remaining == 4995
    stats.record(200, {"x-ratelimit-remaining": "4999", "x-ratelimit-reset": "4600"})  # a new hour
    assert stats.rate_limit_remaining == 4999
    stats.record(200, {"x-ratelimit-remaining": "4990", "x-ratelimit-reset": "1000"})  # late answer, old window
    assert stats.rate_limit_remaining == 4999
    assert stats.requests == 5
