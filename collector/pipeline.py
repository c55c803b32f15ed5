"""One collection run: settings -> memberships -> fetch (concurrent) -> attribute -> upsert.

Collaborators come in as arguments (GitHub client factory, engine, clock, deadline), so the
CLI, the Lambda handler, the demo and the tests drive the very same function.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from collector import store
from collector.errors import CollectorError, GitHubAuthError, GitHubUnavailableError
from collector.fetch import Listing, list_pull_pages, read_page
from collector.github_api import DeadlineReached, GitHubClientFactory, GitHubRequestError
from collector.logs import run_id_var
from collector.membership import MembershipIndex, load_teams_file
from collector.migrate import assert_schema_current
from collector.prefetch import Prefetch

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from sqlalchemy import Engine

    from collector.config import Settings
    from collector.deadline import Deadline
    from collector.models import PullRequest

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# Re-read this much before the watermark: absorbs clock skew between GitHub and us.
WATERMARK_OVERLAP = timedelta(minutes=15)
# Stop starting new pages or repositories when less than this is left of the deadline.
DEADLINE_MARGIN_SECONDS = 20.0
# PRs written per transaction: pages are grouped so that a transaction's fixed cost is shared.
WRITE_BATCH = 5000


@dataclass
class RepoOutcome:
    repository: str
    status: str  # "done" | "failed" | "unfinished"
    prs_seen: int = 0
    rows_upserted: int = 0
    not_modified: bool = False
    error: str | None = None


@dataclass
class RunResult:
    run_id: uuid.UUID
    status: str
    outcomes: list[RepoOutcome] = field(default_factory=list)
    github_requests: int = 0
    github_not_modified: int = 0
    rate_limit_remaining: int | None = None
    duration_seconds: float = 0.0
    error: str | None = None

    def _count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def repositories_done(self) -> int:
        return self._count("done")

    @property
    def repositories_unfinished(self) -> int:
        return self._count("unfinished")

    @property
    def failed(self) -> dict[str, str]:
        return {o.repository: o.error or "" for o in self.outcomes if o.status == "failed"}

    @property
    def prs_seen(self) -> int:
        return sum(o.prs_seen for o in self.outcomes)

    @property
    def rows_upserted(self) -> int:
        return sum(o.rows_upserted for o in self.outcomes)


@dataclass(frozen=True)
class _RunContext:
    run_id: uuid.UUID
    started_at: datetime
    since: datetime
    engine: Engine
    github: GitHubClientFactory
    index: MembershipIndex
    deadline: Deadline
    abort: threading.Event


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
    repos = tuple(repositories or settings.repositories)
    started = time.monotonic()
    with store.database_errors("database"):
        assert_schema_current(engine)
        if sync_teams and settings.teams_file is not None:
            sync = store.sync_teams(engine, load_teams_file(settings.teams_file), force=False)
            log.info(
                "teams synced",
                extra={"teams": sync.teams, "memberships": sync.memberships, "reattributed": sync.reattributed},
            )
    run_id = uuid.uuid4()
    token = run_id_var.set(str(run_id))
    try:
        with store.database_errors("database"), store.run_lock(engine, run_id, repos):
            store.start_run(engine, run_id, now, trigger, len(repos))
            ctx = _RunContext(
                run_id=run_id,
                started_at=now,
                since=since or now - timedelta(days=settings.lookback_days),
                engine=engine,
                github=github,
                index=store.load_index(engine),
                deadline=github.deadline,
                abort=threading.Event(),
            )
            log.info(
                "run started",
                extra={"repositories": len(repos), "trigger": trigger, "since": ctx.since.isoformat()},
            )
            try:
                result = _collect_all(ctx, repos, settings.max_workers)
            except Exception as exc:
                _record_failure(ctx, time.monotonic() - started, exc)
                raise
            result.duration_seconds = time.monotonic() - started
            _finish(ctx, result)
        return result
    finally:
        run_id_var.reset(token)


@dataclass
class _Repository:
    """One repository's way through the run: its listing and what became of it."""

    listing: Listing
    outcome: RepoOutcome

    @property
    def settled(self) -> bool:
        return self.outcome.status != "done" or self.listing.complete


def _collect_all(ctx: _RunContext, repos: Sequence[str], workers: int) -> RunResult:
    states = store.load_repo_states(ctx.engine, repos)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(repos))), thread_name_prefix="repo") as pool:

        def submit(task: Callable[..., _T], *args: Any) -> Future[_T]:
            # Each task gets its own copy of the context, so log lines in workers carry the run id.
            return pool.submit(contextvars.copy_context().run, task, *args)

        # Every repository's first page comes first. It settles a quiet repository (a 304, or a single
        # page), and tells the length of the others (Link rel="last"): a repository's pages are read
        # one after another, so the longest listing is the run's critical path and must start first.
        started, fatal = _results(ctx, [submit(_start_repository, ctx, repo, states[repo]) for repo in repos])
        ongoing = sorted((r for r in started if not r.settled), key=lambda r: -r.listing.pages_left)
        _, fatal_later = _results(ctx, [submit(_continue_repository, ctx, r) for r in ongoing])
    stats = ctx.github.stats
    result = RunResult(
        run_id=ctx.run_id,
        status="running",
        outcomes=[r.outcome for r in started],
        github_requests=stats.requests,
        github_not_modified=stats.not_modified,
        rate_limit_remaining=stats.rate_limit_remaining,
    )
    fatal = fatal or fatal_later
    if fatal is not None:
        result.status, result.error = "failed", str(fatal)
    elif result.failed:
        result.status = "failed"
        result.error = "; ".join(f"{repo}: {error}" for repo, error in sorted(result.failed.items()))
    elif result.repositories_unfinished:
        result.status = "partial"
    else:
        result.status = "success"
    return result


def _results(ctx: _RunContext, futures: Iterable[Future[_T]]) -> tuple[list[_T], CollectorError | None]:
    results, fatal = [], None
    for future in futures:
        try:
            results.append(future.result())
        except (GitHubAuthError, GitHubUnavailableError) as exc:
            fatal = fatal or exc
        except Exception:
            ctx.abort.set()  # the database failed: the other workers stop before their next page
            raise
    return results, fatal


def _record_failure(ctx: _RunContext, seconds: float, exc: Exception) -> None:
    """Best effort: the ledger says why the run ended, unless the database is what failed for good
    (then the next run marks the row abandoned)."""
    try:
        store.finish_run(
            ctx.engine,
            ctx.run_id,
            finished_at=ctx.started_at + timedelta(seconds=seconds),
            status="failed",
            error=store.describe_db_error(exc),
        )
    except Exception as again:
        log.warning("the run's failure could not be recorded", extra={"error": store.describe_db_error(again)})


def _start_repository(ctx: _RunContext, repository: str, state: store.RepoState) -> _Repository:
    """Read and write the first page; finish the repository if that was all."""
    cutoff = state.watermark - WATERMARK_OVERLAP if state.watermark else ctx.since
    repo = _Repository(
        Listing(repository, cutoff, known_etag=state.etag if state.watermark else None),
        RepoOutcome(repository, "done"),
    )
    if ctx.abort.is_set() or ctx.deadline.near(DEADLINE_MARGIN_SECONDS):
        repo.outcome.status = "unfinished"
    else:
        with _listing_errors(ctx, repo):
            page = read_page(ctx.github.client(), repo.listing)
            if page:
                _write(ctx, repository, page, repo.outcome)
    if repo.settled:
        _finish_repository(ctx, repo)
    return repo


def _continue_repository(ctx: _RunContext, repo: _Repository) -> None:
    listing, outcome = repo.listing, repo.outcome
    if ctx.abort.is_set() or ctx.deadline.near(DEADLINE_MARGIN_SECONDS):
        outcome.status = "unfinished"
    else:
        # The next page downloads while this one is written.
        pages = Prefetch(lambda: list_pull_pages(ctx.github.client(), listing))
        with _listing_errors(ctx, repo), pages as stream:
            _write_pages(ctx, listing.repository, stream, outcome)
    _finish_repository(ctx, repo)


@contextlib.contextmanager
def _listing_errors(ctx: _RunContext, repo: _Repository) -> Iterator[None]:
    """A repository's own failure is recorded in its outcome; GitHub-wide failures stop the run."""
    try:
        yield
    except DeadlineReached:
        repo.outcome.status = "unfinished"
    except (GitHubAuthError, GitHubUnavailableError):
        ctx.abort.set()  # nothing else can succeed: stop the other workers before their next request
        ctx.github.limiter.claim(repo.listing.repository, 0)
        raise
    except GitHubRequestError as exc:
        repo.outcome.status, repo.outcome.error = "failed", str(exc)
        log.error("repository failed", extra={"repository": repo.listing.repository, "error": str(exc)})


def _finish_repository(ctx: _RunContext, repo: _Repository) -> None:
    listing, outcome = repo.listing, repo.outcome
    ctx.github.limiter.claim(listing.repository, 0)  # a listing that stopped early needs nothing more
    if outcome.status == "done" and listing.complete:
        outcome.not_modified = listing.not_modified
        if not listing.not_modified:
            # Never past the run's start: a PR updated while we paged is re-read next time.
            newest = min(listing.newest_update or listing.cutoff, ctx.started_at)
            store.advance_watermark(
                ctx.engine, listing.repository, max(newest, listing.cutoff), listing.etag, ctx.run_id
            )
    log.info(
        "repository collected",
        extra={
            "repository": listing.repository,
            "status": outcome.status,
            "prs_seen": outcome.prs_seen,
            "rows_upserted": outcome.rows_upserted,
            "pages": listing.pages_read,
            "not_modified": listing.not_modified,
        },
    )


def _write_pages(ctx: _RunContext, repository: str, pages: Iterable[list[PullRequest]], outcome: RepoOutcome) -> None:
    """Write pages in transactions of about WRITE_BATCH PRs; after each page, stop if the run must end."""
    batch: list[PullRequest] = []
    for page in pages:
        batch.extend(page)
        stopping = ctx.abort.is_set() or ctx.deadline.near(DEADLINE_MARGIN_SECONDS)
        if len(batch) >= WRITE_BATCH or stopping:
            _write(ctx, repository, batch, outcome)
            batch = []
        if stopping:
            outcome.status = "unfinished"
            return
    if batch:
        _write(ctx, repository, batch, outcome)


def _write(ctx: _RunContext, repository: str, batch: list[PullRequest], outcome: RepoOutcome) -> None:
    written = store.save_page(ctx.engine, repository, batch, ctx.index)
    outcome.prs_seen += len(batch)
    outcome.rows_upserted += written.prs_written + written.metric_rows_written


def _finish(ctx: _RunContext, result: RunResult) -> None:
    store.finish_run(
        ctx.engine,
        ctx.run_id,
        finished_at=ctx.started_at + timedelta(seconds=result.duration_seconds),
        status=result.status,
        repositories_done=result.repositories_done,
        repositories_failed=len(result.failed),
        failed_repositories=sorted(result.failed),
        prs_seen=result.prs_seen,
        rows_upserted=result.rows_upserted,
        github_requests=result.github_requests,
        github_requests_not_modified=result.github_not_modified,
        rate_limit_remaining=result.rate_limit_remaining,
        error=result.error,
    )
    log.info(
        "run finished",
        extra={
            "status": result.status,
            "repositories_done": result.repositories_done,
            "repositories_failed": len(result.failed),
            "repositories_unfinished": result.repositories_unfinished,
            "prs_seen": result.prs_seen,
            "rows_upserted": result.rows_upserted,
            "github_requests": result.github_requests,
            "github_not_modified": result.github_not_modified,
            "rate_limit_remaining": result.rate_limit_remaining,
            "duration_seconds": round(result.duration_seconds, 3),
        },
    )
