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


# ------------------------------------------------------------------ reservations for the longest listing


def _acquire(limiter, clock, claimant=None, **kw):
    limiter.acquire(Deadline(), 0, clock.sleep, claimant, **kw)
    return clock.now


def _big_claims_half_and_others_spent_the_rest():
    """A window of 10; "big" claims 5 and five other requests went out: the other 5 are reserved."""
    clock = Clock()
    limiter = RequestRateLimiter(10, clock=clock)
    limiter.claim("big", 5)
    assert [_acquire(limiter, clock, "small") for _ in range(5)] == [0, 0, 0, 0, 0]
    return limiter, clock


def test_other_requests_leave_the_longest_listing_its_claimed_pages():
    limiter, clock = _big_claims_half_and_others_spent_the_rest()
    # The window has 5 requests left, all claimed: the sixth small request waits for the window to move.
    assert _acquire(limiter, clock, "small") == 60
    assert clock.sleeps and all(s <= RequestRateLimiter.POLL for s in clock.sleeps[:-1])


def test_the_longest_listing_itself_goes_while_the_window_has_room():
    limiter, clock = _big_claims_half_and_others_spent_the_rest()
    for left in (4, 3, 2, 1, 0):
        assert _acquire(limiter, clock, "big") == 0
        limiter.claim("big", left)
    assert clock.sleeps == []


def test_only_the_longest_claim_is_reserved():
    clock = Clock()
    limiter = RequestRateLimiter(10, clock=clock)
    limiter.claim("big", 5)
    limiter.claim("medium", 3)
    for _ in range(4):
        assert _acquire(limiter, clock, "medium") == 0  # it leaves 5 to big, not 5 + 3
    assert _acquire(limiter, clock, "small") == 0
    assert clock.sleeps == []


def test_a_withdrawn_claim_releases_its_reservation():
    limiter, clock = _big_claims_half_and_others_spent_the_rest()
    limiter.claim("big", 0)
    assert _acquire(limiter, clock, "small") == 0


def test_first_pages_ignore_reservations():
    clock = Clock()
    limiter = RequestRateLimiter(10, clock=clock)
    limiter.claim("big", 9)
    assert [_acquire(limiter, clock, "new", reserved_for_others=False) for _ in range(10)] == [0] * 10
    assert _acquire(limiter, clock, "new", reserved_for_others=False) == 60  # the window itself still binds


def test_a_reserved_wait_that_would_outlast_the_deadline_stops_at_once():
    clock = Clock()
    limiter = RequestRateLimiter(2, clock=clock)
    limiter.claim("big", 1)
    limiter.acquire(Deadline(30, clock=clock), 0, clock.sleep, "big")
    limiter.acquire(Deadline(30, clock=clock), 0, clock.sleep, "big")
    with pytest.raises(DeadlineReached):
        limiter.acquire(Deadline(30, clock=clock), 0, clock.sleep, "small")
    assert clock.sleeps == []
