"""Where a repository's collection stands, and the rules that move it. Pure: no I/O.

A repository is read in *sweeps* over GitHub's listing sorted by ``updated``, newest first, from the
sweep's ``upper`` time down to its ``lower`` time, 100 PRs a page. Activity during a sweep only moves
PRs *up* to the top of that listing (an update, a new PR), so the PRs not yet read only ever shift to
later pages, never to earlier ones: resuming at the next page number misses nothing. The PRs that
moved to the top were updated after ``upper``, and the next top sweep reads them.

- A **top** sweep reads what changed since the watermark: from the run's start down to the watermark
  (less an overlap for clock skew). A repository's first top sweep is its backfill, down to the
  history wanted. When a top sweep completes, the watermark becomes its ``upper``.
- A **history** sweep extends the collected history backwards (``run --since`` earlier than what is
  stored): from where the history begins down to the new ``since``, starting at the page where the
  listing crosses that time, found by a binary search of a few requests.

The sweep in progress is stored with each written batch, so a run that stops anywhere (deadline,
rate-limit budget, crash) is continued by the next from the page after the last one committed. One
page before it is read again: a PR that GitHub deleted in between shifts the listing up by one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

# Re-read this much before the watermark: absorbs clock skew between GitHub and us.
WATERMARK_OVERLAP = timedelta(minutes=15)

_PLAUSIBLE_SKEW = timedelta(days=1)  # a Date header further off than this is not GitHub's clock

SweepKind = Literal["top", "history"]


@dataclass(frozen=True, slots=True)
class Sweep:
    kind: SweepKind
    upper: datetime  # the sweep is about PRs updated before this...
    lower: datetime  # ...and at or after this; the first older PR ends it
    next_page: int | None  # the next page to read; None: still to be found (a history sweep)
    pages_read: int = 0  # pages committed by this sweep so far, across runs

    def fresh_first_page(self, page: int) -> bool:
        """A top sweep's first page, read for the first time: it speaks for the time the sweep began."""
        return self.kind == "top" and self.pages_read == 0 and page == 1

    def resume_page(self, *, new_run: bool) -> int:
        """Where a run picks the sweep up: one page before the next when an earlier run read some."""
        assert self.next_page is not None
        return max(1, self.next_page - 1) if new_run and self.pages_read else self.next_page


@dataclass(frozen=True, slots=True)
class RepoState:
    """A repository's stored progress. Every PR updated in ``[covered_since, watermark)`` is stored."""

    watermark: datetime | None = None
    covered_since: datetime | None = None
    wanted_since: datetime | None = None  # the oldest history asked for
    etag: str | None = None  # of the first page, as of the watermark: a 304 then means nothing changed
    sweep: Sweep | None = None


@dataclass(frozen=True, slots=True)
class PageFacts:
    """What one page of a sweep taught, whatever its PRs were."""

    page: int
    oldest_update: datetime | None  # of the page's last item; None for an empty page
    has_next: bool
    etag: str | None = None  # the first page's
    not_modified: bool = False
    server_time: datetime | None = None  # GitHub's clock (its Date header) when it answered


def wanted_history(state: RepoState, since: datetime | None, default_since: datetime) -> RepoState:
    """Record the history a run asks for. Only an earlier ``since`` than any before changes anything;
    a repository never collected starts from ``since`` or the default look-back."""
    if state.wanted_since is None:
        return replace(state, wanted_since=since or default_since)
    if since is not None and since < state.wanted_since:
        return replace(state, wanted_since=since)
    return state


def next_sweep(state: RepoState, now: datetime, *, top_done: bool = False) -> Sweep | None:
    """The sweep to read next in a run started at ``now``, or None when the repository is up to date.
    ``top_done``: this run completed a top sweep of the repository already."""
    if state.sweep is not None:
        return state.sweep
    assert state.wanted_since is not None, "wanted_history() first"
    if state.watermark is None:
        return Sweep("top", upper=now, lower=state.wanted_since, next_page=1)
    if not top_done:
        return Sweep("top", upper=now, lower=state.watermark - WATERMARK_OVERLAP, next_page=1)
    if state.covered_since is not None and state.wanted_since < state.covered_since:
        return Sweep("history", upper=state.covered_since, lower=state.wanted_since, next_page=None)
    return None


def etag_to_send(state: RepoState, sweep: Sweep, page: int) -> str | None:
    """Only a fresh top sweep's first page is conditional: a 304 then means nothing changed since the
    stored ETag (taken at the watermark), and costs no rate limit."""
    return state.etag if sweep.fresh_first_page(page) and state.watermark is not None else None


def belongs(sweep: Sweep, updated_at: datetime) -> bool:
    """A PR read by a sweep is its to write when updated at or after its lower bound; newer ones are
    written too (they are GitHub's current facts), older ones belong to no sweep of this run."""
    return updated_at >= sweep.lower


def after_page(state: RepoState, sweep: Sweep, facts: PageFacts) -> RepoState:
    """The state once the page is committed: the sweep moves on, or completes."""
    fresh_first_page = sweep.fresh_first_page(facts.page)
    if fresh_first_page and facts.server_time and abs(facts.server_time - sweep.upper) < _PLAUSIBLE_SKEW:
        # GitHub stamps updates with its own clock: the watermark must not be ahead of it.
        sweep = replace(sweep, upper=min(sweep.upper, facts.server_time))
    etag = facts.etag if fresh_first_page and facts.etag else state.etag
    ended = (
        facts.not_modified
        or not facts.has_next
        or (facts.oldest_update is not None and facts.oldest_update < sweep.lower)
    )
    if not ended:
        moved = replace(sweep, next_page=facts.page + 1, pages_read=sweep.pages_read + 1)
        return replace(state, sweep=moved, etag=etag)
    if sweep.kind == "history":
        return replace(state, sweep=None, covered_since=sweep.lower)
    covered = sweep.lower if state.covered_since is None else min(state.covered_since, sweep.lower)
    # Never past the run's start (``upper``): a PR updated while we paged is read again next time.
    return replace(state, sweep=None, watermark=sweep.upper, covered_since=covered, etag=etag)


def started_at(state: RepoState, sweep: Sweep, page: int) -> RepoState:
    """The state once a history sweep's first page is found: nothing is written before it is read."""
    return replace(state, sweep=replace(sweep, next_page=page))
