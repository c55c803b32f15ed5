"""The rules that move a repository's cursor and watermark (collector/cursor.py), one table each."""

from datetime import UTC, datetime, timedelta

import pytest

from collector.cursor import (
    WATERMARK_OVERLAP,
    PageFacts,
    RepoState,
    Sweep,
    after_page,
    belongs,
    next_sweep,
    started_at,
    wanted_history,
)

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SINCE = T - 90 * DAY


@pytest.mark.parametrize(
    ("state", "since", "wanted"),
    [
        (RepoState(), None, SINCE),  # never collected: the default look-back
        (RepoState(), T - 10 * DAY, T - 10 * DAY),  # never collected: --since
        (RepoState(wanted_since=T - 30 * DAY), None, T - 30 * DAY),  # no --since: what was wanted stays
        (RepoState(wanted_since=T - 30 * DAY), T - 40 * DAY, T - 40 * DAY),  # an earlier --since extends
        (RepoState(wanted_since=T - 30 * DAY), T - 20 * DAY, T - 30 * DAY),  # a later one never shrinks
    ],
)
def test_the_history_wanted_only_ever_grows(state, since, wanted):
    assert wanted_history(state, since, SINCE).wanted_since == wanted


TOP_FIRST = Sweep("top", upper=T, lower=SINCE, next_page=1)
IN_PROGRESS = Sweep("top", upper=T - DAY, lower=SINCE, next_page=7, pages_read=6)


@pytest.mark.parametrize(
    ("state", "top_done", "expected"),
    [
        # never collected: a top sweep from now down to the history wanted (the backfill)
        (RepoState(wanted_since=SINCE), False, TOP_FIRST),
        # a sweep in progress is continued, whatever else is due
        (RepoState(wanted_since=SINCE, sweep=IN_PROGRESS), False, IN_PROGRESS),
        (RepoState(wanted_since=SINCE, sweep=IN_PROGRESS), True, IN_PROGRESS),
        # collected before: a top sweep down to the watermark, less the overlap for clock skew
        (
            RepoState(watermark=T - DAY, covered_since=SINCE, wanted_since=SINCE), False,
            Sweep("top", upper=T, lower=T - DAY - WATERMARK_OVERLAP, next_page=1),
        ),
        # a top sweep done in this run, and the history wanted is covered: nothing to read (even when the
        # watermark, in GitHub's clock, is behind ours)
        (RepoState(watermark=T - timedelta(minutes=20), covered_since=SINCE, wanted_since=SINCE), True, None),
        # up to date, but an earlier history is wanted: a history sweep, its first page still to be found
        (
            RepoState(watermark=T, covered_since=SINCE, wanted_since=SINCE - 30 * DAY), True,
            Sweep("history", upper=SINCE, lower=SINCE - 30 * DAY, next_page=None),
        ),
        # an earlier history wanted, but no top sweep yet in this run: the top sweep first (fresh data first)
        (
            RepoState(watermark=T - DAY, covered_since=SINCE, wanted_since=SINCE - 30 * DAY), False,
            Sweep("top", upper=T, lower=T - DAY - WATERMARK_OVERLAP, next_page=1),
        ),
    ],
)  # fmt: skip
def test_the_next_sweep(state, top_done, expected):
    assert next_sweep(state, T, top_done=top_done) == expected


def facts(page, oldest, has_next=True, etag=None, not_modified=False):
    return PageFacts(page, oldest, has_next, etag, not_modified)


FRESH = RepoState(wanted_since=SINCE)
KNOWN = RepoState(watermark=T - DAY, covered_since=SINCE, wanted_since=SINCE, etag='"old"')
TOP = Sweep("top", upper=T, lower=T - DAY - WATERMARK_OVERLAP, next_page=1)
HISTORY = Sweep("history", upper=SINCE, lower=SINCE - 30 * DAY, next_page=40)
HISTORY_STATE = RepoState(watermark=T, covered_since=SINCE, wanted_since=SINCE - 30 * DAY, sweep=HISTORY)


@pytest.mark.parametrize(
    ("state", "sweep", "page", "expected"),
    [
        # a page with more after it, all inside the sweep: the sweep moves on, the first page's ETag is kept
        (
            FRESH, TOP_FIRST, facts(1, T - DAY, etag='"e1"'),
            RepoState(wanted_since=SINCE, etag='"e1"', sweep=Sweep("top", T, SINCE, next_page=2, pages_read=1)),
        ),
        # the last page: the backfill completes; the watermark is the sweep's start, never later
        (
            FRESH, TOP_FIRST, facts(1, T - DAY, has_next=False, etag='"e1"'),
            RepoState(watermark=T, covered_since=SINCE, wanted_since=SINCE, etag='"e1"'),
        ),
        # a page reaching past the lower bound completes the sweep even with pages after it
        (
            FRESH, TOP_FIRST, facts(1, SINCE - DAY, etag='"e1"'),
            RepoState(watermark=T, covered_since=SINCE, wanted_since=SINCE, etag='"e1"'),
        ),
        # a 304 on a top sweep: nothing changed since the ETag, so the watermark moves to the sweep's start
        (
            KNOWN, TOP, facts(1, None, has_next=False, etag='"old"', not_modified=True),
            RepoState(watermark=T, covered_since=SINCE, wanted_since=SINCE, etag='"old"'),
        ),
        # an incremental top sweep keeps the history it covers
        (
            KNOWN, TOP, facts(1, T - 2 * DAY, etag='"new"'),
            RepoState(watermark=T, covered_since=SINCE, wanted_since=SINCE, etag='"new"'),
        ),
        # a resumed sweep re-reading page 1 does not take its ETag: it speaks for now, not for the start
        (
            RepoState(wanted_since=SINCE, etag='"e1"', sweep=Sweep("top", T, SINCE, next_page=2, pages_read=1)),
            Sweep("top", T, SINCE, next_page=2, pages_read=1),
            facts(1, T - DAY, etag='"later"'),
            RepoState(wanted_since=SINCE, etag='"e1"', sweep=Sweep("top", T, SINCE, next_page=2, pages_read=2)),
        ),
        # a history sweep completing extends the history covered, and leaves watermark and ETag alone
        (
            HISTORY_STATE, HISTORY, facts(40, SINCE - 31 * DAY),
            RepoState(watermark=T, covered_since=SINCE - 30 * DAY, wanted_since=SINCE - 30 * DAY),
        ),
        # a history sweep's page never takes an ETag
        (
            HISTORY_STATE, HISTORY, facts(40, SINCE - DAY, etag='"h"'),
            RepoState(watermark=T, covered_since=SINCE, wanted_since=SINCE - 30 * DAY,
                      sweep=Sweep("history", SINCE, SINCE - 30 * DAY, next_page=41, pages_read=1)),
        ),
    ],
)  # fmt: skip
def test_after_a_page(state, sweep, page, expected):
    assert after_page(state, sweep, page) == expected


@pytest.mark.parametrize(
    ("sweep", "new_run", "page"),
    [
        (Sweep("top", T, SINCE, next_page=1), True, 1),  # nothing read yet
        (Sweep("top", T, SINCE, next_page=7, pages_read=6), True, 6),  # a new run re-reads one page
        (Sweep("top", T, SINCE, next_page=7, pages_read=6), False, 7),  # within a run, straight on
        (Sweep("history", SINCE, SINCE - DAY, next_page=40), True, 40),  # a found start is not re-read
    ],
)
def test_where_a_sweep_resumes(sweep, new_run, page):
    assert sweep.resume_page(new_run=new_run) == page


def test_a_history_sweep_starts_at_the_page_found():
    assert started_at(HISTORY_STATE, HISTORY, 17).sweep == Sweep("history", SINCE, SINCE - 30 * DAY, next_page=17)


@pytest.mark.parametrize(
    ("updated", "kept"),
    [(SINCE - timedelta(seconds=1), False), (SINCE, True), (T + DAY, True)],
)
def test_a_sweep_writes_what_is_at_or_after_its_lower_bound(updated, kept):
    assert belongs(TOP_FIRST, updated) is kept


@pytest.mark.parametrize(
    ("server_time", "page", "watermark"),
    [
        (T - timedelta(minutes=20), 1, T - timedelta(minutes=20)),  # GitHub's clock behind ours: its time
        (T + timedelta(minutes=20), 1, T),  # GitHub's clock ahead: ours, the earlier
        (T - timedelta(days=2), 1, T),  # not a plausible clock: ignored
        (None, 1, T),
    ],
)
def test_the_watermark_is_never_ahead_of_githubs_clock(server_time, page, watermark):
    facts = PageFacts(page, T - DAY, has_next=False, server_time=server_time)
    assert after_page(FRESH, TOP_FIRST, facts).watermark == watermark


def test_only_a_fresh_first_page_tells_githubs_clock():
    resumed = Sweep("top", T, SINCE, next_page=3, pages_read=2)
    facts = PageFacts(3, T - DAY, has_next=False, server_time=T - timedelta(minutes=20))
    assert after_page(RepoState(wanted_since=SINCE, sweep=resumed), resumed, facts).watermark == T
