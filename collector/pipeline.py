"""One collection run: per repository, read pages -> attribute -> write the batch with its progress.

Collaborators come in as arguments (GitHub client factory, engine, clock, deadline), so the CLI, the
Lambda handler, the demo and the tests drive the very same function.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from collector import collect_keys, cursor, store
from collector.attribute import attribute, is_eligible
from collector.errors import CollectorError, GitHubAuthError, GitHubUnavailableError
from collector.fetch import find_page, read_page, read_pull
from collector.github_api import BudgetSpent, GitHubClientFactory, GitHubRequestError, RunMustStop
from collector.ledger import KeysCounts, RepoOutcome, RunResult, recorded_run
from collector.membership import MembershipIndex, load_organisation
from collector.migrate import assert_schema_current
from collector.models import Refusal
from collector.sync import sync_organisation

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Sequence

    from sqlalchemy import Engine

    from collector.config import Settings
    from collector.cursor import RepoState, Sweep
    from collector.fetch import Page
    from collector.models import MetricRow, PullRequest

__all__ = ["RepoOutcome", "RunResult", "run"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# Stop starting new pages when less than this is left of the deadline.
DEADLINE_MARGIN_SECONDS = 20.0
# PRs written per transaction: pages are grouped so that a transaction's fixed cost is shared.
WRITE_BATCH = 5000
# A listing may grow while it is read, but not without end: GitHub's Link rel="last" plus this margin.
EXTRA_PAGES = 10
# Quarantined PRs are read again by number, at most this many per repository and run, each once a day:
# a quiet run stays free but for those, and PRs that stay unreadable do not starve the others.
QUARANTINE_RETRIES = 10
QUARANTINE_RETRY_AFTER = timedelta(days=1)
# Said when no team has a member: collection works, and every team number is silently zero.
NO_TEAMS = (
    "no team has a member (no teams file synced, or teams without members): every PR is stored but none is "
    "credited; run `dora-collector teams sync --file teams.json` (or set TEAMS_FILE) with a file that lists them"
)


def run(
    settings: Settings,
    *,
    github: GitHubClientFactory,
    engine: Engine,
    now: datetime,
    since: datetime | None = None,
    repositories: Sequence[str] | None = None,
    trigger: str = "cli",
    sync_teams: bool = True,
) -> RunResult:
    """Collect every configured repository once. Returns the result; the caller decides the exit."""
    repos = _prepare(settings, engine, tuple(repositories or settings.repositories), teams=sync_teams)
    with recorded_run(engine, repos, now, trigger) as (result, lock):
        ctx = _Run(
            lock=lock,
            run_id=result.run_id,
            now=now,
            since=since,
            default_since=now - timedelta(days=settings.lookback_days),
            engine=engine,
            github=github,
            index=MembershipIndex(store.memberships(engine)),
        )
        log.info("run started", extra={"repositories": len(repos), "trigger": trigger})
        if not len(ctx.index):
            _warn(result, NO_TEAMS)
        result.outcomes = _collect_all(ctx, store.load_states(engine, repos), settings.max_workers)
        if ctx.fatal is None:
            _collect_keys(ctx, result, settings.max_workers)
        _conclude(ctx, result)
    return result


def _prepare(settings: Settings, engine: Engine, repositories: tuple[str, ...], *, teams: bool) -> tuple[str, ...]:
    """Check the schema, sync the teams, and name the repositories as they are stored."""
    with store.database_errors("database"):
        assert_schema_current(engine)
        if teams and settings.teams_file is not None:
            synced = sync_organisation(engine, load_organisation(settings.teams_file), force=False)
            reset = [f"{repository} {signal}" for repository, signal in synced.reset]  # read again from the start
            log.info(
                "teams synced",
                extra={"teams": synced.teams, "repositories": synced.repositories, "reattributed": synced.reattributed}
                | ({"signals_reset": reset} if reset else {}),
            )
        return store.stored_spellings(engine, repositories)


@dataclass
class _Run:
    run_id: uuid.UUID
    now: datetime
    since: datetime | None
    default_since: datetime
    engine: Engine
    github: GitHubClientFactory
    index: MembershipIndex
    lock: store.RunLock
    abort: threading.Event = field(default_factory=threading.Event)
    stopped_by: RunMustStop | None = None
    fatal: CollectorError | None = None

    def must_stop(self) -> bool:
        return self.abort.is_set() or self.github.deadline.near(DEADLINE_MARGIN_SECONDS)


@dataclass
class _Repository:
    name: str
    state: RepoState
    outcome: RepoOutcome
    pages_left: int = 0  # as GitHub's Link rel="last" tells, once a page was read
    top_done: bool = False  # a top sweep completed in this run: the repository is as fresh as it gets


def _collect_all(ctx: _Run, states: dict[str, RepoState], workers: int) -> list[RepoOutcome]:
    """Every repository's first page first: it settles quiet ones and tells how long the others are. Then
    the longest listings first, since a listing's pages follow one another and the longest sets the run's
    length."""
    repos = [_Repository(name, state, RepoOutcome(name)) for name, state in states.items()]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(repos))), thread_name_prefix="repo") as pool:

        def each(repositories: list[_Repository], page_limit: int | None) -> None:
            futures = [_submit(pool, collect_repository, ctx, r, page_limit) for r in repositories]
            try:
                for future in futures:
                    future.result()
            except BaseException:  # Ctrl-C reaches this thread only: the workers stop before their next page
                ctx.abort.set()
                raise

        each(repos, 1)
        each(sorted((r for r in repos if r.pages_left), key=lambda r: -r.pages_left), None)
    for repo in repos:
        _log_repository(repo)
    return [r.outcome for r in repos]


def _submit(pool: ThreadPoolExecutor, task: Callable[..., _T], *args: Any) -> Future[_T]:
    # Each task runs in a copy of the context, so log lines in workers carry the run id.
    return pool.submit(contextvars.copy_context().run, task, *args)


def collect_repository(ctx: _Run, repo: _Repository, page_limit: int | None = None) -> None:
    """Sweep the repository until it is up to date, the page limit is reached or the run must stop."""
    repo.pages_left = 0
    if repo.outcome.status != "done":
        return
    repo.state = cursor.wanted_history(repo.state, ctx.since, ctx.default_since)
    try:
        while (sweep := cursor.next_sweep(repo.state, ctx.now, top_done=repo.top_done)) is not None:
            if ctx.must_stop():
                repo.outcome.status = "unfinished"
                return
            if not _sweep(ctx, repo, sweep, page_limit):
                return
            repo.top_done = repo.top_done or sweep.kind == "top"
            if page_limit is not None and repo.outcome.pages >= page_limit:
                repo.pages_left = 1  # another sweep waits: the second round continues it
                return
        _retry_quarantined(ctx, repo)
    except RunMustStop as stop:
        repo.outcome.status = "unfinished"
        ctx.stopped_by = ctx.stopped_by or stop
        ctx.abort.set()  # the budget and the deadline are the whole run's: the other workers stop too
    except (GitHubAuthError, GitHubUnavailableError) as exc:
        repo.outcome.status = "unfinished"  # a token revoked or GitHub gone mid-listing: nothing is done
        ctx.fatal = ctx.fatal or exc
        ctx.abort.set()
    except GitHubRequestError as exc:
        repo.outcome.status, repo.outcome.error = "failed", str(exc)
        log.error("repository failed", extra={"repository": repo.name, "error": str(exc)})
    except BaseException:
        ctx.abort.set()  # the database failed for good: the other workers stop before their next page
        raise


def _sweep(ctx: _Run, repo: _Repository, sweep: Sweep, page_limit: int | None) -> bool:
    """Read the sweep's pages, written in batches with the progress they make. False: stopped early."""
    client = ctx.github.client()
    if sweep.next_page is None:  # a history sweep starts where the listing crosses its upper bound
        repo.state = cursor.started_at(repo.state, sweep, find_page(client, repo.name, sweep.upper))
        store.save_state(ctx.engine, repo.name, repo.state, ctx.run_id)  # the search is not repeated
        sweep = repo.state.sweep or sweep
    batch = _Batch(repo.state)
    try:
        finished = _read_sweep(ctx, repo, sweep, batch, page_limit)
    except (GitHubRequestError, RunMustStop, GitHubAuthError, GitHubUnavailableError, KeyboardInterrupt):
        _write(ctx, repo, batch)  # what was read is kept, however the sweep ended
        raise
    _write(ctx, repo, batch)
    return finished


def _read_sweep(ctx: _Run, repo: _Repository, sweep: Sweep, batch: _Batch, page_limit: int | None) -> bool:
    page_number, promised = sweep.resume_page(new_run=repo.outcome.pages == 0), None
    while True:
        page = read_page(
            ctx.github.client(), repo.name, page_number, etag=cursor.etag_to_send(batch.state, sweep, page_number)
        )
        promised = promised or page.last_page  # GitHub sends rel="last" with every rel="next"
        if page.has_next and not page.prs and not page.refused:
            raise GitHubRequestError(f"GitHub sent an empty page {page_number} that says more pages follow")
        if page.has_next and promised and page_number >= promised + EXTRA_PAGES:
            raise GitHubRequestError(f"GitHub's listing goes on past the {promised} pages it announced")
        batch.add(sweep, page, cursor.after_page(batch.state, sweep, _facts(page_number, page)))
        repo.outcome.pages += 1
        repo.outcome.not_modified = page.not_modified
        if batch.state.sweep is None:
            return True
        sweep = batch.state.sweep
        page_number = sweep.next_page or page_number + 1
        repo.pages_left = max((promised or page_number) - page_number + 1, 1)
        if len(batch.prs) >= WRITE_BATCH:
            _write(ctx, repo, batch)
        if ctx.must_stop():
            repo.outcome.status = "unfinished"
            return False
        if page_limit is not None and repo.outcome.pages >= page_limit:
            return False


def _retry_quarantined(ctx: _Run, repo: _Repository) -> None:
    """A PR refused once is read again by number: GitHub may have fixed it, or a newer collector reads it.
    It leaves quarantine when written, or stays with its latest reason."""
    numbers = store.quarantined(ctx.engine, repo.name, ctx.now - QUARANTINE_RETRY_AFTER, QUARANTINE_RETRIES)
    if not numbers:
        return
    batch = _Batch(repo.state)
    for number in numbers:
        try:
            pr, refused = read_pull(ctx.github.client(), repo.name, number)
        except GitHubRequestError as exc:  # e.g. deleted since: it stays, tried again in a day
            pr, refused = None, Refusal(repo.name, str(number), number, f"not read again: {exc}", "")
        batch.add_pull(pr, refused)
    _write(ctx, repo, batch)


def _facts(page_number: int, page: Page) -> cursor.PageFacts:
    return cursor.PageFacts(
        page_number, page.oldest_update, page.has_next, page.etag, page.not_modified, page.server_time
    )


@dataclass
class _Batch:
    """Pages read but not yet written, and the repository's state once they are."""

    state: RepoState
    prs: dict[int, PullRequest] = field(default_factory=dict)  # by number: a PR is written once a batch
    refused: list[Refusal] = field(default_factory=list)
    dirty: bool = False

    def add(self, sweep: Sweep, page: Page, state: RepoState) -> None:
        for pr in page.prs:
            # A PR updated while the listing pages shows up twice: its newest version wins.
            known = self.prs.get(pr.number)
            if cursor.belongs(sweep, pr.updated_at) and (known is None or pr.updated_at > known.updated_at):
                self.prs[pr.number] = pr
        self.refused.extend(page.refused)
        self.state, self.dirty = state, True

    def add_pull(self, pr: PullRequest | None, refused: Refusal | None) -> None:
        if pr is not None:
            self.prs[pr.number] = pr
        if refused is not None:
            self.refused.append(refused)
        self.dirty = True

    def clear(self) -> None:
        self.prs, self.refused, self.dirty = {}, [], False


def _write(ctx: _Run, repo: _Repository, batch: _Batch) -> None:
    """Attribute the batch's PRs and write them with the repository's progress, in one transaction."""
    if not batch.dirty:
        return
    ctx.lock.check()
    prs = list(batch.prs.values())
    rows = [row for pr in prs for row in attribute(pr, ctx.index)]
    written = store.save_batch(ctx.engine, repo.name, prs, rows, batch.refused, batch.state, ctx.run_id, ctx.now)
    repo.state = batch.state
    repo.outcome.prs_seen += len(batch.prs)
    repo.outcome.rows_written += written.prs_written + written.metric_rows_written
    repo.outcome.quarantined += len(written.refused)
    _count_credit(repo.outcome, prs, rows, written.refused)
    for refusal in written.refused:
        log.warning("pull request quarantined", extra={"repository": repo.name, "item": refusal.item,
                                                       "reason": refusal.reason})  # fmt: skip
    batch.clear()


def _count_credit(
    outcome: RepoOutcome, prs: list[PullRequest], rows: list[MetricRow], refused: Sequence[Refusal]
) -> None:
    """Of the PRs written, those a team could be credited with, and those one was."""
    refused_numbers = {r.number for r in refused}
    credited = {row.pr_number for row in rows}
    kept = [pr for pr in prs if pr.number not in refused_numbers]
    outcome.prs_eligible += sum(1 for pr in kept if is_eligible(pr))
    outcome.prs_credited += sum(1 for pr in kept if pr.number in credited)


def _log_repository(repo: _Repository) -> None:
    log.info(
        "repository collected",
        extra={
            "repository": repo.name,
            "status": repo.outcome.status,
            "prs_seen": repo.outcome.prs_seen,
            "rows_written": repo.outcome.rows_written,
            "quarantined": repo.outcome.quarantined,
            "pages": repo.outcome.pages,
            "not_modified": repo.outcome.not_modified,
        },
    )


def _collect_keys(ctx: _Run, result: RunResult, workers: int) -> None:
    """The four keys' facts of the configured repositories whose PRs did not fail; a source that fails
    fails its repository, one left unread leaves it unfinished."""
    stage = collect_keys.Stage(
        engine=ctx.engine, github=ctx.github, now=ctx.now, default_since=ctx.since or ctx.default_since,
        must_stop=ctx.must_stop, abort=ctx.abort, check_lock=ctx.lock.check, workers=workers,
    )  # fmt: skip
    failed = {o.repository.lower() for o in result.outcomes if o.status == "failed"}
    keys = collect_keys.collect(stage, [o.repository for o in result.outcomes], failed)
    ctx.stopped_by, ctx.fatal = ctx.stopped_by or stage.stopped_by, ctx.fatal or stage.fatal
    result.keys = KeysCounts(keys.deployments, keys.incidents, keys.first_commits, keys.refused)
    for outcome in result.outcomes:
        name = outcome.repository.lower()
        if name in keys.failed:
            outcome.status = "failed"
            outcome.error = "; ".join([*([outcome.error] if outcome.error else []), *keys.failed[name]])
        elif name in keys.unfinished and outcome.status == "done":
            outcome.status = "unfinished"


def _conclude(ctx: _Run, result: RunResult) -> None:
    stats = ctx.github.stats
    result.github_requests, result.github_not_modified = stats.requests, stats.not_modified
    result.graphql_requests, result.graphql_points = stats.graphql_requests, stats.graphql_points
    result.rate_limit_remaining = stats.rate_limit_remaining
    if isinstance(ctx.stopped_by, BudgetSpent):
        result.rate_limit_reset = ctx.stopped_by.reset or stats.rate_limit_reset
    if result.repositories_unfinished and ctx.fatal is None:
        # A worker that finds the deadline near stops without an exception.
        result.stop_reason = str(ctx.stopped_by) if ctx.stopped_by else "the run's time is up"
    if ctx.fatal is not None:
        result.status, result.error = "failed", str(ctx.fatal)
    elif result.failed:
        result.status = "failed"
        result.error = "; ".join(f"{repo}: {error}" for repo, error in sorted(result.failed.items()))
    elif result.repositories_unfinished:
        result.status = "partial"
    else:
        result.status = "success"
    if len(ctx.index) and result.prs_eligible and not result.prs_credited:
        _warn(result, _nothing_credited(result.prs_eligible), prs_uncredited=result.prs_eligible)


def _nothing_credited(merged: int) -> str:
    what = (
        "the merged PR this run collected could not be credited to any team: its author was in no team when it merged"
        if merged == 1
        else f"none of the {merged} merged PRs this run collected could be credited to any team: "
        "their authors were in no team when they merged"
    )
    return (
        f"{what}; see view_unmapped_authors (and view_unattributed_prs for each PR's reason), "
        "then fix the teams file and run `dora-collector teams sync --file teams.json`"
    )


def _warn(result: RunResult, message: str, **keys: Any) -> None:
    """A warning people must act on: logged (Lambda's log too) and kept for the run's summary."""
    log.warning(message, extra=keys)
    result.warnings.append(message)
