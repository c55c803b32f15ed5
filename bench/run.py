"""The collector's costs side by side, at organisation scale: ``python -m bench`` (``--small`` in CI).

GitHub budget, wall time, memory, database write rate, re-attribution and analyst query latency,
each against its physical or contractual floor. The collector runs as a separate process (the CLI,
exactly as users run it) against the package's fake GitHub, which adds a per-request latency, and a
real PostgreSQL (``BENCH_DATABASE_URL``, else Docker, else the embedded wheel).

The organisation deploys, fails and recovers (``collector.testing.sample_org``). The PR scenarios run with a
teams file without ``repositories``, against the floors of PR listings; the four keys' scenarios (a backfill
of the signals, the quiet run, late successes, re-attribution) configure every repository.

``--only realistic`` runs the realistic-latency backfill alone, and ``--collector`` runs it against
another checkout of the collector (an older commit, a patched copy): comparisons without a setting
in the product. ``--only analyst`` runs the analyst queries and the read API's latency alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Engine, text

from collector import store
from collector.attribute import attribute
from collector.cursor import RepoState
from collector.interrupts import interruptions_held, stop_signals_as_interrupt
from collector.membership import MembershipIndex, parse_organisation
from collector.migrate import upgrade_to_head
from collector.models import PullRequest
from collector.pipeline import WRITE_BATCH
from collector.sync import sync_organisation
from collector.testing.fake_github import FakeGitHub, FakePull, FakeStatus, RequestRecord
from collector.testing.postgres import create_database, drop_database, postgres_server
from collector.testing.sample_org import INCIDENT_LABEL, PRODUCTION, SampleOrg, generate_org, heavy_tail_sizes

if TYPE_CHECKING:
    from collections.abc import Sequence

TOKEN = "bench-token"
OUT = Path(__file__).parent / "out"
TIMED_CLI = Path(__file__).parent / "timed_cli.py"
HOURLY_BUDGET = 5000  # GitHub's primary rate limit for a token, per hour
GRAPHQL_HOURLY_BUDGET = 5000  # GitHub's GraphQL points for a token, per hour: a budget of its own
PACE = 850  # GITHUB_MAX_REQUESTS_PER_MINUTE's default


@dataclass(frozen=True)
class Scale:
    repos: int
    total_prs: int
    largest: int
    teams: int
    people: int
    latency: float
    workers: int
    repeats: int
    analyst_rows: int
    # The realistic scenario: GitHub's latency for a list page, on a share of the organisation's PRs
    # (the same repositories, shape, people and workers) so that the backfill stays short.
    realistic_latency: float
    realistic_share: float


FULL = Scale(repos=50, total_prs=100_000, largest=30_000, teams=12, people=150, latency=0.05, workers=8,
             repeats=3, analyst_rows=1_000_000, realistic_latency=1.0, realistic_share=0.1)  # fmt: skip
SMALL = Scale(repos=6, total_prs=1_500, largest=600, teams=4, people=24, latency=0.01, workers=8,
              repeats=1, analyst_rows=20_000, realistic_latency=0.05, realistic_share=1.0)  # fmt: skip


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ---------------------------------------------------------------- the organisation


def build_org(scale: Scale, seed: int) -> SampleOrg:
    sizes = heavy_tail_sizes(seed, scale.repos, scale.total_prs, scale.largest)
    people = [f"dev{i:03d}" for i in range(scale.people)]
    teams = [f"team-{i:02d}" for i in range(scale.teams)]
    return generate_org(seed=seed, now=datetime.now(UTC), repo_sizes=sizes, people=people, teams=teams,
                        days=3 * 365, org="bench", unmapped_people=5)  # fmt: skip


def pages(count: int) -> int:
    return max(1, math.ceil(count / 100))


def pr_teams_document(org: SampleOrg) -> dict[str, Any]:
    """The teams file without its ``repositories``: the PR scenarios measure the collection of PRs alone,
    against the floors of PR listings, as an organisation that has not configured the four keys runs."""
    return {"teams": org.teams_document["teams"]}


def listing_stats(org: SampleOrg) -> dict[str, Any]:
    listed = {repo: len(pulls) for repo, pulls in org.pulls.items()}
    closed = {repo: sum(1 for p in pulls if p.state == "closed") for repo, pulls in org.pulls.items()}
    return {
        "prs": sum(listed.values()),
        "merged_prs": sum(1 for pulls in org.pulls.values() for p in pulls if p.merged_at is not None),
        "closed_prs": sum(closed.values()),
        # The floor of the issue: one request per 100 closed PRs per repository plus one per repository.
        "floor_requests": sum(math.ceil(c / 100) + 1 for c in closed.values()),
        "pages": {repo: pages(n) for repo, n in listed.items()},
    }


# ---------------------------------------------------------------- running the collector


@dataclass
class CliRun:
    wall_seconds: float
    peak_rss_mb: float
    requests: int
    counted_requests: int
    not_modified: int
    max_in_flight: int
    peak_requests_per_minute: int
    exit_code: int
    collector_cpu_seconds: float  # the collector process (user + system)
    fake_github_cpu_seconds: float  # this process, which is idle but for serving the fake GitHub
    graphql_requests: int = 0
    graphql_points: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)  # see costs_by_kind
    # With timed=True: each write transaction as (repository, start, end), from bench/timed_cli.py.
    writes: list[tuple[str, float, float]] = field(default_factory=list)


class PeakMemory:
    """The child's own high-water RSS (``VmHWM``), read from /proc until it exits.

    Not ``ru_maxrss``: at exec, Linux folds the forked child's inherited mark into it, so a child of
    this process (which holds the whole fake organisation, ~650 MB) would report this process's RSS.
    ``VmHWM`` belongs to the address space exec created, so it measures the collector alone.
    """

    def __init__(self, pid: int) -> None:
        self._path = f"/proc/{pid}/status"
        self._kilobytes = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            try:
                with open(self._path) as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            self._kilobytes = max(self._kilobytes, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            self._done.wait(0.05)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    @property
    def megabytes(self) -> float:
        return self._kilobytes / 1024


def run_collector(
    fake: FakeGitHub, env: dict[str, str], *args: str, budget: int = HOURLY_BUDGET, timed: bool = False
) -> CliRun:
    """One CLI command in its own process. Each starts with ``budget`` of GitHub's hourly rate limit left
    (runs are hours apart in life). ``timed`` runs bench/timed_cli.py, which times the write transactions."""
    fake.clear_log()
    fake.rate_limit = fake.rate_remaining = budget
    fake.graphql_rate_limit = fake.graphql_remaining = GRAPHQL_HOURLY_BUDGET
    program = [str(TIMED_CLI)] if timed else ["-m", "collector"]
    handle, name = tempfile.mkstemp(prefix="dora-bench-writes-", suffix=".json")
    os.close(handle)
    times = Path(name)
    cpu_before = time.process_time()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, *program, *args], env={**env, "BENCH_WRITE_TIMES": str(times)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        peak = PeakMemory(process.pid)
        assert process.stderr is not None
        stderr = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        peak.stop()
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        writes = json.loads(times.read_text() or "[]")
    except BaseException:  # interrupted: the collector must not outlive the bench and its database
        process.kill()
        process.wait()
        raise
    finally:
        times.unlink(missing_ok=True)
    if process.returncode != 0:
        raise SystemExit(f"collector exited {process.returncode}: {stderr.decode()[-2000:]}")
    log = list(fake.requests)
    times = sorted(r.at for r in log)
    window = max((sum(1 for t in times[i:] if t < start + 60) for i, start in enumerate(times)), default=0)
    return CliRun(
        wall_seconds=wall,
        peak_rss_mb=peak.megabytes,
        requests=len(log),
        counted_requests=sum(1 for r in log if r.counted),
        not_modified=sum(1 for r in log if r.status == 304),
        max_in_flight=fake.max_in_flight,
        peak_requests_per_minute=window,
        exit_code=process.returncode,
        collector_cpu_seconds=usage.ru_utime + usage.ru_stime,
        fake_github_cpu_seconds=time.process_time() - cpu_before,
        graphql_requests=sum(1 for r in log if request_kind(r).startswith("graphql")),
        graphql_points=sum(r.graphql_cost for r in log),
        by_kind=costs_by_kind(log),
        writes=[(repo, start, end) for repo, start, end in writes],
    )


_LISTINGS = (("/pulls", "pulls"), ("/issues", "issues"), ("/runs", "workflow runs"), ("/releases", "releases"))


def request_kind(record: RequestRecord) -> str:
    """What a logged request read: a listing (PRs, the four keys' issues, workflow runs, releases), or a GraphQL
    query by its operation (``graphql Probe``, ``graphql Deployments``, ``graphql FirstCommits``)."""
    if record.path.endswith("/graphql"):
        return f"graphql {record.graphql_operation or '(unnamed)'}"
    return next((kind for suffix, kind in _LISTINGS if record.path.endswith(suffix)), "other")


def costs_by_kind(log: Sequence[RequestRecord]) -> dict[str, dict[str, int]]:
    """Per kind of request: how many, how many GitHub counted against the REST budget, answered 304, and the
    GraphQL points charged."""
    kinds: dict[str, dict[str, int]] = {}
    for record in log:
        kind = kinds.setdefault(request_kind(record), {"requests": 0, "counted": 0, "not_modified": 0, "points": 0})
        kind["requests"] += 1
        kind["counted"] += record.counted
        kind["not_modified"] += record.status == 304
        kind["points"] += record.graphql_cost
    return kinds


def added_kinds(runs: Sequence[CliRun]) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for run in runs:
        for kind, counts in run.by_kind.items():
            into = total.setdefault(kind, dict.fromkeys(counts, 0))
            for name, value in counts.items():
                into[name] += value
    return total


def paced_floor_seconds(requests: int, per_minute: int, ideal: float, latency: float) -> float:
    """With at most ``per_minute`` requests in any 60 s, request k starts no earlier than 60 s after request
    k - per_minute: the last one waits 60 * floor((n - 1) / per_minute) s, then takes a round trip."""
    return max(ideal, 60.0 * ((requests - 1) // per_minute) + latency)


def last_run_duration(engine: Engine) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(
                text(
                    "SELECT extract(epoch FROM finished_at - started_at) FROM collector_runs "
                    "ORDER BY started_at DESC LIMIT 1"
                )
            ).scalar_one()
        )


def last_run_status(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(text("SELECT status FROM collector_runs ORDER BY started_at DESC LIMIT 1")).scalar_one()
        )


def stored_prs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pull_requests")).scalar_one())


def reset_collected(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE pull_requests, pr_metrics, collector_state, collector_runs"))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


# ---------------------------------------------------------------- database write rate


def to_models(org: SampleOrg, limit: int) -> list[list[PullRequest]]:
    """Batches of models as the pipeline hands them to the store (pages grouped by WRITE_BATCH)."""
    result: list[list[PullRequest]] = []
    for repo, pulls in org.pulls.items():
        models = [_model(repo, p) for p in pulls if p.merged_at is not None or p.state == "open"]
        result.extend(models[i : i + WRITE_BATCH] for i in range(0, len(models), WRITE_BATCH))
        if sum(len(p) for p in result) >= limit:
            break
    return result


def _model(repo: str, pull: FakePull) -> PullRequest:
    login = pull.user if pull.user not in (None, "ghost") else None
    return PullRequest(repo, pull.number, pull.title, login, pull.user_type == "Bot", pull.state, pull.draft,
                       pull.base_ref or "main", "main", pull.created_at, pull.updated_at, pull.closed_at,
                       pull.merged_at)  # fmt: skip


def write_rates(engine: Engine, page_list: list[list[PullRequest]], repeats: int) -> dict[str, Any]:
    index = MembershipIndex(store.memberships(engine))
    upsert, copy = [], []
    rows_total = 0
    for _ in range(repeats):
        reset_collected(engine)
        started = time.perf_counter()
        rows_total = 0
        for page in page_list:
            rows = [row for pr in page for row in attribute(pr, index)]
            written = store.save_batch(
                engine, page[0].repository, page, rows, [], RepoState(), uuid.uuid4(), datetime.now(UTC)
            )
            rows_total += written.prs_written + written.metric_rows_written
        upsert.append(rows_total / (time.perf_counter() - started))
        copy.append(_copy_rate(engine, page_list, index))
    return {
        "rows": rows_total,
        "upsert_rows_per_second": median(upsert),
        "copy_rows_per_second": median(copy),
        "ratio": median(upsert) / median(copy),
    }


def _copy_rate(engine: Engine, page_list: list[list[PullRequest]], index: Any) -> float:
    """COPY of the same rows, built as the write path builds them, into scratch tables with the real
    ones' columns and indexes (``LIKE … INCLUDING ALL``: no triggers)."""
    prs = [store.pr_row(pr) for page in page_list for pr in page]
    metrics = [store.metric_row(r) for page in page_list for pr in page for r in attribute(pr, index)]
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS scratch_pull_requests, scratch_pr_metrics"))
        conn.execute(text("CREATE TABLE scratch_pull_requests (LIKE pull_requests INCLUDING ALL)"))
        conn.execute(text("CREATE TABLE scratch_pr_metrics (LIKE pr_metrics INCLUDING ALL)"))
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert isinstance(connection, psycopg.Connection)
        started = time.perf_counter()
        with connection.cursor() as cur:
            store.copy_rows(cur, "scratch_pull_requests", store.PR_COLUMNS, prs)
            store.copy_rows(cur, "scratch_pr_metrics", store.METRIC_COLUMNS, metrics)
        connection.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE scratch_pull_requests, scratch_pr_metrics"))
    return (len(prs) + len(metrics)) / elapsed


# ---------------------------------------------------------------- the realistic-latency backfill


def realistic_scale(scale: Scale) -> Scale:
    """A page takes ``realistic_latency``; the organisation keeps its repositories, people, workers and
    heavy-tailed shape, with ``realistic_share`` of the PRs, so the backfill still takes a minute or so."""
    return replace(scale, total_prs=round(scale.total_prs * scale.realistic_share),
                   largest=round(scale.largest * scale.realistic_share), latency=scale.realistic_latency)  # fmt: skip


def importable_copy(checkout: Path, workdir: Path) -> Path:
    """A checkout's collector laid out as an install lays it out (``migrations/`` and ``sql/`` inside the
    package), under a directory that ``PYTHONPATH`` puts ahead of the installed collector."""
    root = workdir / "collector-under-test"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(checkout / "collector", root / "collector", ignore=ignore)
    shutil.copytree(checkout / "migrations", root / "collector" / "migrations", ignore=ignore)
    shutil.copytree(checkout / "sql", root / "collector" / "sql", ignore=ignore)
    return root


def in_order(org: SampleOrg, order: str) -> list[str]:
    """``configured``: as generated (sizes shuffled); ``largest-last``: the worst place for the longest listing
    when repositories are taken in order."""
    repos = list(org.repositories)
    if order == "largest-last":
        largest = max(repos, key=lambda r: len(org.pulls[r]))
        repos = [*(r for r in repos if r != largest), largest]
    return repos


def write_share(writes: Sequence[tuple[str, float, float]], repository: str, run_seconds: float) -> dict[str, float]:
    """The write transactions' time against the run's: summed over workers (it bounds the database's
    share from above), while any transaction was open, and on the longest listing, the run's critical path."""
    spans = sorted((start, end) for _, start, end in writes)
    busy, reach = 0.0, -math.inf
    for start, end in spans:
        busy += max(0.0, end - max(start, reach))
        reach = max(reach, end)
    each = [end - start for start, end in spans] or [0.0]
    largest = sum(end - start for repo, start, end in writes if repo == repository)
    return {"write_transactions": len(spans), "write_seconds": sum(each), "write_busy_seconds": busy,
            "write_p50_seconds": median(each), "write_max_seconds": max(each),
            "largest_repository_write_seconds": largest,
            "database_share": sum(each) / run_seconds, "database_busy_share": busy / run_seconds}  # fmt: skip


def realistic_backfill(
    scale: Scale,
    seed: int,
    server_url: str,
    say: Callable[[str], None],
    *,
    collector: Path | None = None,
    order: str = "configured",
) -> dict[str, Any]:
    """The backfill at a realistic page latency, through the CLI, against its ideal, with the share of its
    wall time that the write transactions take. (Migration 0004's triggers measured 7.1 % here and the
    composite foreign key 7.4 %: migration 0007 went back to the foreign key; bench/RESULTS.md.)"""
    real = realistic_scale(scale)
    org = build_org(real, seed)
    stats = listing_stats(org)
    largest_repo = max(stats["pages"], key=stats["pages"].get)
    largest_pages, total_pages = stats["pages"][largest_repo], sum(stats["pages"].values())
    ideal = max(largest_pages, total_pages / real.workers) * real.latency
    workdir = Path(tempfile.mkdtemp(prefix="dora-bench-realistic-"))
    teams_file = workdir / "teams.json"
    teams_file.write_text(json.dumps(pr_teams_document(org)))
    database_url = create_database(server_url, prefix="dora_bench_realistic")
    engine = store.make_engine(database_url, pool_size=2)
    results: dict[str, Any] = {
        "collector": str(collector) if collector else "this checkout",
        "order": order,
        "latency": real.latency,
        "prs": stats["prs"],
        "largest_repository_pages": largest_pages,
        "total_pages": total_pages,
        "largest_repository_position": in_order(org, order).index(largest_repo),
        "ideal_seconds": ideal,
    }
    try:
        with FakeGitHub(tokens=[TOKEN], latency=real.latency) as fake:
            org.serve(fake)
            env = collector_env(database_url, fake, in_order(org, order), teams_file, real.workers, PACE)
            if collector is not None:
                env["PYTHONPATH"] = str(importable_copy(collector, workdir))
            run_collector(fake, env, "migrate", timed=True)  # the schema of the collector under test
            say(f"realistic backfill ({real.latency:g} s a page, {stats['prs']} PRs, {order} order), "
                f"{real.repeats}x")  # fmt: skip
            results["runs"] = _realistic_runs(engine, fake, env, real, ideal, largest_repo)
    finally:
        with interruptions_held():  # a second Ctrl-C must not leave the database or folder behind
            engine.dispose()
            drop_database(server_url, database_url)
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def _realistic_runs(
    engine: Engine, fake: FakeGitHub, env: dict[str, str], scale: Scale, ideal: float, largest_repo: str
) -> dict[str, Any]:
    runs = []
    for _ in range(scale.repeats):
        reset_collected(engine)
        run = run_collector(fake, env, "run", "--since", "2000-01-01", timed=True)
        seconds = last_run_duration(engine)
        runs.append({"run_seconds": seconds, "process_wall_seconds": run.wall_seconds, "requests": run.requests,
                     "max_in_flight": run.max_in_flight, "peak_requests_per_minute": run.peak_requests_per_minute,
                     **write_share(run.writes, largest_repo, seconds)})  # fmt: skip
    seconds = median([r["run_seconds"] for r in runs])
    floor = paced_floor_seconds(runs[-1]["requests"], PACE, ideal, scale.latency)
    return {
        "run_seconds": seconds,
        "floor_seconds": floor,  # max(latency ideal, pacing floor)
        "ratio_to_floor": seconds / floor,
        **{key: median([r[key] for r in runs]) for key in ("process_wall_seconds", "write_seconds",
           "write_busy_seconds", "largest_repository_write_seconds", "database_share", "database_busy_share")},
        "runs": runs,
    }  # fmt: skip


# ---------------------------------------------------------------- a backfill over several runs


def multi_run_backfill(engine: Engine, fake: FakeGitHub, env: dict[str, str], one_pass: int,
                       complete_prs: int) -> dict[str, Any]:  # fmt: skip
    """A backfill that GitHub's hourly budget splits over several runs: each run stops ``partial`` when the
    budget is down to GITHUB_RATE_LIMIT_RESERVE_PERCENT (10 %), and the next hour's run resumes it."""
    budget = max(10, one_pass // 3)
    reset_collected(engine)
    runs: list[CliRun] = []
    while not runs or last_run_status(engine) == "partial":
        if len(runs) == 50:
            raise SystemExit("the multi-run backfill did not finish in 50 runs")
        runs.append(run_collector(fake, env, "run", "--since", "2000-01-01", budget=budget))
    requests = sum(r.requests for r in runs)
    counted = sum(r.counted_requests for r in runs)
    return {
        "budget_per_run": budget,
        "runs": len(runs),
        "status": last_run_status(engine),
        "requests": requests,
        "counted_requests": counted,
        "not_modified": sum(r.not_modified for r in runs),
        "one_pass_requests": one_pass,  # the one-run backfill's
        "ratio_to_one_pass": requests / one_pass,
        "counted_ratio_to_one_pass": counted / one_pass,
        "stored_prs": stored_prs(engine),
        "complete": stored_prs(engine) == complete_prs,
    }


# ---------------------------------------------------------------- the four keys


def first_commits_unread(engine: Engine) -> int:
    """Merged PRs of a person into the default branch whose first commit was never asked for: what the
    collector still has to ask GitHub about (every repository is configured in the four keys' scenarios)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pull_requests WHERE merged_at IS NOT NULL AND first_commit_read_at IS NULL "
                    "AND author IS NOT NULL AND NOT is_bot AND base_ref = default_branch"
                )
            ).scalar_one()
        )


def stored_facts(engine: Engine) -> dict[str, Any]:
    """The four keys' facts stored: deployments by source and status, incidents, first commits, reverts."""
    with engine.connect() as conn:
        deployments = conn.execute(
            text("SELECT source, status, count(*) FROM deployments GROUP BY source, status ORDER BY source, status")
        ).all()
        incidents = conn.execute(text("SELECT count(*), count(*) FILTER (WHERE state = 'open') FROM incidents")).one()
        prs = conn.execute(
            text("SELECT count(first_commit_read_at), count(first_commit_at), count(reverts_number) FROM pull_requests")
        ).one()
    return {
        "deployments": {f"{source} {status}": count for source, status, count in deployments},
        "deployments_stored": sum(count for _, _, count in deployments),
        "incidents": incidents[0],
        "open_incidents": incidents[1],
        "first_commits_asked": prs[0],
        "first_commits_found": prs[1],
        "reverts": prs[2],
    }


def github_facts(org: SampleOrg) -> dict[str, int]:
    """What the organisation holds on GitHub for the four keys (every environment, every conclusion)."""
    return {
        "deployments": sum(len(d) for d in org.deployments.values()),
        "production_deployments": sum(1 for ds in org.deployments.values() for d in ds if d.environment == PRODUCTION),
        "workflow_runs": sum(len(r) for r in org.workflow_runs.values()),
        "releases": sum(len(r) for r in org.releases.values()),
        "incidents": sum(
            1 for issues in org.issues.values() for i in issues if INCIDENT_LABEL in i.labels and not i.is_pull_request
        ),
        "merged_prs": sum(1 for pulls in org.pulls.values() for p in pulls if p.merged_at is not None),
    }


def four_keys_backfill(engine: Engine, fake: FakeGitHub, env: dict[str, str], org: SampleOrg) -> dict[str, Any]:
    """The four keys' signals read for the first time, over an organisation whose PRs are stored: runs one after
    another (each with a new hour's budgets) until every merged PR's first commit was asked for, since a run asks
    for at most 5,000 of them (50 points)."""
    runs: list[CliRun] = []
    while not runs or first_commits_unread(engine):
        if len(runs) == 50:
            raise SystemExit("the four keys' backfill did not finish in 50 runs")
        if runs and "graphql FirstCommits" not in runs[-1].by_kind:
            raise SystemExit(f"{first_commits_unread(engine)} merged PRs have no first commit asked for, and the "
                             "last run asked for none")  # fmt: skip
        runs.append(run_collector(fake, env, "run"))
    kinds = added_kinds(runs)
    stored, on_github = stored_facts(engine), github_facts(org)

    def points(*operations: str) -> int:
        return sum(kinds.get(f"graphql {operation}", {}).get("points", 0) for operation in operations)

    def counted(kind: str) -> int:
        return kinds.get(kind, {}).get("counted", 0)

    return {
        "runs": len(runs),
        "status": last_run_status(engine),
        "wall_seconds": sum(r.wall_seconds for r in runs),
        "first_run_wall_seconds": runs[0].wall_seconds,
        "requests": sum(r.requests for r in runs),
        "counted_requests": sum(r.counted_requests for r in runs),
        "graphql_requests": sum(r.graphql_requests for r in runs),
        "graphql_points": sum(r.graphql_points for r in runs),
        "collector_cpu_seconds": sum(r.collector_cpu_seconds for r in runs),
        "fake_github_cpu_seconds": sum(r.fake_github_cpu_seconds for r in runs),
        "by_kind": kinds,
        "first_run_by_kind": runs[0].by_kind,
        "on_github": on_github,
        "stored": stored,
        # Deployments are read from GitHub in every environment (the pattern is applied to what was read).
        "graphql_points_per_100_deployments": per_100(points("Probe", "Deployments"), on_github["deployments"]),
        "graphql_points_per_100_first_commits": per_100(points("FirstCommits"), stored["first_commits_asked"]),
        "rest_requests_per_100_incidents": per_100(counted("issues"), stored["incidents"]),
        "rest_requests_per_100_workflow_runs": per_100(counted("workflow runs"), on_github["workflow_runs"]),
        "rest_requests_per_100_releases": per_100(counted("releases"), on_github["releases"]),
    }


def per_100(cost: float, items: int) -> float:
    return 100 * cost / items if items else math.nan


def quiet_runs(engine: Engine, fake: FakeGitHub, env: dict[str, str], scale: Scale) -> dict[str, Any]:
    """Runs with nothing changed on GitHub, every signal of every repository configured: medians of ``repeats``,
    the last one's requests by kind."""
    quiet, durations = [], []
    for _ in range(scale.repeats):
        quiet.append(run_collector(fake, env, "run"))
        durations.append(last_run_duration(engine))
    last = quiet[-1]
    return {
        "wall_seconds": median([q.wall_seconds for q in quiet]),  # the process's, start-up included
        "run_seconds": median(durations),  # the ledger's: the run itself
        "requests_per_repository": last.requests / scale.repos,
        "pr_listing_requests_per_repository": last.by_kind.get("pulls", {}).get("requests", 0) / scale.repos,
        "counted_requests_per_repository": last.counted_requests / scale.repos,
        "graphql_points_per_repository": last.graphql_points / scale.repos,
        "graphql_points": [q.graphql_points for q in quiet],
        "by_kind": last.by_kind,
    }


def late_successes(engine: Engine, fake: FakeGitHub, env: dict[str, str], org: SampleOrg,
                   scale: Scale) -> dict[str, Any]:  # fmt: skip
    """The deployments that were running succeed: the next run stores the success of those the pattern counts,
    and the quiet run after it reads no deployments again."""
    running = org.running_deployments()
    for repo, deployment in running:
        fake.add_deployment_status(repo, deployment.id, FakeStatus("success", datetime.now(UTC)))
    run = run_collector(fake, env, "run")
    counted = [(repo, str(d.id)) for repo, d in running if d.environment == PRODUCTION]
    with engine.connect() as conn:
        succeeded = conn.execute(
            text("SELECT count(*) FROM deployments WHERE source = 'deployments' AND status = 'success' "
                 "AND (repository, id) IN (SELECT * FROM unnest(CAST(:repos AS text[]), CAST(:ids AS text[])))"),
            {"repos": [r for r, _ in counted], "ids": [i for _, i in counted]},
        ).scalar_one()  # fmt: skip
    return {
        "deployments_finished": len(running),
        "production_deployments_finished": len(counted),
        "stored_as_successful": succeeded,
        "run": {
            "wall_seconds": run.wall_seconds,
            "counted_requests": run.counted_requests,
            "graphql_points": run.graphql_points,
            "by_kind": run.by_kind,
        },
        "quiet_after": quiet_runs(engine, fake, env, replace(scale, repeats=1)),
    }


# ---------------------------------------------------------------- re-attribution


def moved_teams(document: dict[str, Any], seed: int) -> dict[str, Any]:
    """The same teams file with a tenth of the full-time people moved to another team a year ago, and a tenth of
    the repositories that one team owns handed to another then."""
    rng = random.Random(seed)
    moved = json.loads(json.dumps(document))
    teams = moved["teams"]
    when = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    for team in teams:
        keep = []
        for member in team["members"]:
            if (
                member["left_at"] is None
                and member["allocation_weight"] == 1
                and rng.random() < 0.1
                and member["joined_at"] < when
            ):
                other = rng.choice([t for t in teams if t is not team])
                keep.append({**member, "left_at": when})
                other["members"].append({**member, "joined_at": when, "left_at": None})
            else:
                keep.append(member)
        team["members"] = keep
    names = [team["name"] for team in teams]
    for repository in moved.get("repositories", ()):  # a tenth of the repositories owned by one team change hands
        owners = repository["owners"]
        if len(owners) == 1 and set(owners[0]) == {"team"} and rng.random() < 0.1:
            other = rng.choice([name for name in names if name != owners[0]["team"]])
            repository["owners"] = [{**owners[0], "until": when}, {"team": other, "from": when}]
    return moved


def reattribution(engine: Engine, fake: FakeGitHub, documents: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    fake.clear_log()
    timings = []
    rows = 0
    for i in range(repeats * 2):
        org = parse_organisation(json.dumps(documents[i % 2]))
        started = time.perf_counter()
        rows = sync_organisation(engine, org).metric_rows
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    with engine.connect() as conn:  # the four keys are views over the facts: read again, they follow the owners
        summary = conn.execute(text("SELECT count(*) FROM view_dora_summary")).scalar_one()
    return {"seconds": median(timings), "metric_rows": rows, "github_requests": len(fake.requests),
            "dora_summary_rows": summary, "dora_summary_seconds": time.perf_counter() - started}  # fmt: skip


# ---------------------------------------------------------------- analyst queries


def analyst_queries(server_url: str, rows: int, repeats: int) -> dict[str, Any]:
    url = create_database(server_url, prefix="dora_bench_analyst")
    engine = store.make_engine(url, pool_size=2)
    try:
        upgrade_to_head(engine)
        started = time.perf_counter()
        _fill_metrics(engine, rows)
        fill_seconds = time.perf_counter() - started
        queries = {
            "one_team_12_weeks_velocity": (
                "SELECT * FROM view_team_velocity WHERE team_id = :team "
                "AND week >= date_trunc('week', now() AT TIME ZONE 'UTC')::date - 77 ORDER BY week",
                60 * repeats,
            ),
            "all_teams_12_months_lead_time": (
                "SELECT * FROM view_pr_lead_time "
                "WHERE month >= (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '11 months')::date",
                15 * repeats,
            ),
            "full_scan_view_team_velocity": ("SELECT * FROM view_team_velocity", 5 * repeats),
            "full_scan_view_pr_lead_time": ("SELECT * FROM view_pr_lead_time", 5 * repeats),
            "full_scan_view_pr_attribution": ("SELECT * FROM view_pr_attribution", 3 * repeats),
        }
        results: dict[str, Any] = {"rows": rows, "fill_seconds": fill_seconds}
        for name, (sql, count) in queries.items():
            results[name] = _latencies(engine, sql, count)
        paths = {
            "api_one_team_12_weeks_velocity": ("/metrics/team/{team}/velocity", 60 * repeats),
            "api_one_team_12_months_lead_time": ("/metrics/team/{team}/lead-time", 15 * repeats),
        }
        results.update(api_latencies(engine, url, paths))
        return results
    finally:
        with interruptions_held():  # a second Ctrl-C must not leave the database or folder behind
            engine.dispose()
            drop_database(server_url, url)


def _fill_metrics(engine: Engine, rows: int) -> None:
    """``rows`` pr_metrics rows over 3 years and 12 teams, generated in the database."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO teams (name) SELECT 'team-' || lpad(g::text, 2, '0') FROM generate_series(1, 12) g")
        )
        conn.execute(text(
            "INSERT INTO team_memberships (team_id, github_username, allocation_weight, joined_at) "
            "SELECT id, 'dev' || id, 1, now() - interval '5 years' FROM teams"
        ))  # fmt: skip
        conn.execute(text("SELECT setseed(0.42)"))
        conn.execute(
            text(
                """
                INSERT INTO pr_metrics (team_id, membership_id, repository, pr_number, author, title, created_at,
                                        merged_at, closed_at, cycle_time_hours, state, created_date, allocation_weight)
                SELECT t.id, t.id, 'bench/service-' || (g % 50), g, 'dev' || t.id, 'Change ' || g,
                       m.merged_at - make_interval(secs => h * 3600), m.merged_at, m.merged_at, h, 'merged',
                       (m.merged_at - make_interval(secs => h * 3600))::date, 1
                FROM generate_series(1, :rows) AS g
                CROSS JOIN LATERAL (SELECT 1 + (g % 12) AS id) AS t
                -- Each lateral draws per row because it mentions g (an uncorrelated one is computed once).
                CROSS JOIN LATERAL (SELECT now() - (random() + 0 * g) * interval '3 years' AS merged_at) AS m
                -- lead time: log-normal, median 20 h (Box-Muller)
                CROSS JOIN LATERAL (
                    SELECT exp(ln(20) + 1.1 * sqrt(-2 * ln(1 - random() + 0 * g)) * cos(2 * pi() * random())) AS h
                ) AS c
                """
            ),
            {"rows": rows},
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE pr_metrics"))


def _latencies(engine: Engine, sql: str, count: int) -> dict[str, float]:
    timings = []
    with engine.connect() as conn:
        for i in range(count):
            started = time.perf_counter()
            conn.execute(text(sql), {"team": 1 + i % 12}).all()
            timings.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": percentile(timings, 0.5), "p95_ms": percentile(timings, 0.95), "runs": count}


def api_latencies(engine: Engine, url: str, paths: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """Each path's latency through ``dora-collector serve``'s server (real HTTP, the key checked, one keep-alive
    connection as a polling portal keeps), the team changing each time; the default range (the last 12 weeks, or
    months)."""
    from collector.api.app import create_app
    from collector.api.data import make_api_engine
    from collector.api.keys import create_key
    from collector.api.local import ApiServer

    headers = {"Authorization": f"Bearer {create_key(engine, f'bench-{uuid.uuid4().hex[:8]}')}"}
    api_engine = make_api_engine(url, pool_size=2)
    results = {}
    try:
        with ApiServer(create_app(api_engine)) as server:
            host, port = server.socket.getsockname()[:2]
            connection = http.client.HTTPConnection(host, port, timeout=30)
            for name, (path, count) in paths.items():
                timings = []
                for i in range(count + 1):  # the first request warms the connection and is not counted
                    started = time.perf_counter()
                    connection.request("GET", path.format(team=1 + i % 12), headers=headers)
                    response = connection.getresponse()
                    body = response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
                    if i:
                        timings.append((time.perf_counter() - started) * 1000)
                results[name] = {"p50_ms": percentile(timings, 0.5), "p95_ms": percentile(timings, 0.95),
                                 "runs": count}  # fmt: skip
            connection.close()
    finally:
        api_engine.dispose()
    return results


# ---------------------------------------------------------------- the whole benchmark


def collector_env(database_url: str, fake: FakeGitHub, repositories: Sequence[str], teams_file: Path, workers: int,
                  per_minute: int) -> dict[str, str]:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DATABASE_", "PYTHONPATH"))}
    env.update(DATABASE_URL=database_url, GITHUB_TOKEN=TOKEN, GITHUB_API_URL=fake.base_url,
               REPOSITORIES=",".join(repositories), TEAMS_FILE=str(teams_file), MAX_WORKERS=str(workers),
               GITHUB_MAX_REQUESTS_PER_MINUTE=str(per_minute), LOG_LEVEL="WARNING")  # fmt: skip
    return env


def benchmark(scale: Scale, seed: int, server_url: str, say: Callable[[str], None]) -> dict[str, Any]:
    say(f"generating the organisation ({scale.total_prs} PRs in {scale.repos} repositories)")
    org = build_org(scale, seed)
    stats = listing_stats(org)
    workdir = Path(tempfile.mkdtemp(prefix="dora-bench-"))
    teams_file = workdir / "teams.json"
    teams_file.write_text(json.dumps(pr_teams_document(org)))
    keys_file = workdir / "teams-and-repositories.json"
    keys_file.write_text(json.dumps(org.teams_document))
    database_url = create_database(server_url, prefix="dora_bench")
    engine = store.make_engine(database_url, pool_size=4)
    results: dict[str, Any] = {"listing": {k: v for k, v in stats.items() if k != "pages"}}
    try:
        upgrade_to_head(engine)
        with FakeGitHub(tokens=[TOKEN], latency=scale.latency) as fake:
            org.serve(fake)
            since = "2000-01-01"
            largest_pages = max(stats["pages"].values())
            total_pages = sum(stats["pages"].values())
            ideal = max(largest_pages, total_pages / scale.workers) * scale.latency

            say("backfill, requests paced under GitHub's secondary limit (the default)")
            env = collector_env(database_url, fake, org.repositories, teams_file, scale.workers, PACE)
            reset_collected(engine)
            paced = run_collector(fake, env, "run", "--since", since)
            paced_seconds = last_run_duration(engine)
            paced_floor = paced_floor_seconds(paced.requests, PACE, ideal, scale.latency)
            complete_prs = stored_prs(engine)
            results["backfill_paced"] = {**asdict(paced), "run_seconds": paced_seconds, "floor_seconds": paced_floor,
                                         "ratio_to_floor": paced_seconds / paced_floor}  # fmt: skip

            say(f"backfill, unpaced, {scale.repeats}x (wall time vs the latency-bound ideal)")
            env_unpaced = collector_env(database_url, fake, org.repositories, teams_file, scale.workers, 0)
            runs, durations = [], []
            for _ in range(scale.repeats):
                reset_collected(engine)
                runs.append(run_collector(fake, env_unpaced, "run", "--since", since))
                durations.append(last_run_duration(engine))
            wall = median([r.wall_seconds for r in runs])
            duration = median(durations)
            last = runs[-1]
            results["backfill"] = {
                "process_wall_seconds": wall,
                "run_seconds": duration,  # from the ledger: the run itself, without interpreter start-up
                "ideal_seconds": ideal,
                "ratio_to_ideal": duration / ideal,
                "largest_repository_pages": largest_pages,
                "total_pages": total_pages,
                "requests": last.requests,
                "floor_requests": stats["floor_requests"],
                "ratio_to_floor": last.requests / stats["floor_requests"],
                "prs_per_second": stats["prs"] / duration,
                "peak_rss_mb": max(r.peak_rss_mb for r in runs),
                "max_in_flight": max(r.max_in_flight for r in runs),
                "peak_requests_per_minute": max(r.peak_requests_per_minute for r in runs),
                "collector_cpu_seconds": median([r.collector_cpu_seconds for r in runs]),
                "fake_github_cpu_seconds": median([r.fake_github_cpu_seconds for r in runs]),
            }

            say("backfill over several runs, GitHub's hourly budget a third of one pass")
            results["multi_run_backfill"] = multi_run_backfill(engine, fake, env, paced.requests, complete_prs)

            say("the four keys' backfill: every repository configured, runs until every first commit is read")
            env = collector_env(database_url, fake, org.repositories, keys_file, scale.workers, PACE)
            results["four_keys_backfill"] = four_keys_backfill(engine, fake, env, org)

            say(f"quiet incremental run over every signal, {scale.repeats}x")
            results["quiet"] = quiet_runs(engine, fake, env, scale)

            say("the running deployments succeed: a run picks them up, then a quiet run")
            results["late_successes"] = late_successes(engine, fake, env, org, scale)

            say("incremental run after 1% of PRs changed")
            rng = random.Random(seed)
            changed = rng.sample([(repo, p.number) for repo, pulls in org.pulls.items() for p in pulls],
                                 k=max(1, stats["prs"] // 100))  # fmt: skip
            now = datetime.now(UTC)
            for repo, number in changed:
                fake.update_pull(repo, number, updated_at=now, title=f"edited {number}")
            after = run_collector(fake, env, "run")
            results["changed_1_percent"] = {
                "prs_changed": len(changed),
                "wall_seconds": after.wall_seconds,
                "requests": after.requests,
                "counted_requests": after.counted_requests,
                "graphql_points": after.graphql_points,
            }

            say("re-attribution after a change of memberships and owners (teams sync)")
            documents = [moved_teams(org.teams_document, seed), org.teams_document]
            results["reattribution"] = reattribution(engine, fake, documents, scale.repeats)

            say("database write rate: the upsert path vs COPY of the same rows")
            page_list = to_models(org, limit=min(stats["prs"], 30_000))
            results["write_rate"] = write_rates(engine, page_list, scale.repeats)

    finally:
        with interruptions_held():  # a second Ctrl-C must not leave the database or folder behind
            engine.dispose()
            drop_database(server_url, database_url)
            shutil.rmtree(workdir, ignore_errors=True)
    results["realistic"] = realistic_backfill(scale, seed, server_url, say)
    say(f"analyst queries at {scale.analyst_rows} pr_metrics rows")
    results["analyst"] = analyst_queries(server_url, scale.analyst_rows, scale.repeats)
    return results


# (what, how to read it from the results, limit, comparison); a limit of None is reported, not judged.
Target = tuple[str, Callable[[dict[str, Any]], float], float | None, str]
TARGETS: list[Target] = [
    ("backfill requests / floor", lambda r: r["backfill"]["ratio_to_floor"], 1.02, "<="),
    ("multi-run backfill requests / one pass", lambda r: r["multi_run_backfill"]["ratio_to_one_pass"], None, ""),
    (
        "multi-run backfill counted requests / one pass",
        lambda r: r["multi_run_backfill"]["counted_ratio_to_one_pass"],
        None,
        "",
    ),
    # The quiet run reads every signal of every repository (the teams file configures them all): its PR listings,
    # its four keys' listings (each a 304), the GraphQL probe of deployments, and what must be read again.
    (
        "quiet run PR listing requests per repository",
        lambda r: r["quiet"]["pr_listing_requests_per_repository"],
        1.0,
        "<=",
    ),
    ("quiet run requests per repository, every signal", lambda r: r["quiet"]["requests_per_repository"], None, ""),
    ("quiet run counted requests per repository", lambda r: r["quiet"]["counted_requests_per_repository"], 0.1, "<="),
    # The probe asks 50 repositories for 1 point: below 25 repositories, it alone is past 1 point per 25.
    ("quiet run GraphQL points per repository", lambda r: r["quiet"]["graphql_points_per_repository"], 0.04, "<="),
    ("quiet run wall seconds", lambda r: r["quiet"]["wall_seconds"], 3.0, "<="),
    (
        "four keys backfill GraphQL points per 100 deployments",
        lambda r: r["four_keys_backfill"]["graphql_points_per_100_deployments"],
        None,
        "",
    ),
    (
        "four keys backfill GraphQL points per 100 first commits",
        lambda r: r["four_keys_backfill"]["graphql_points_per_100_first_commits"],
        None,
        "",
    ),
    (
        "four keys backfill REST requests per 100 incidents",
        lambda r: r["four_keys_backfill"]["rest_requests_per_100_incidents"],
        None,
        "",
    ),
    # The benchmark decision: the wall-time target is max(latency ideal, pacing floor) under GitHub's
    # secondary limit, and the default (paced) run is judged against it.
    ("backfill wall / max(latency ideal, pacing floor)", lambda r: r["backfill_paced"]["ratio_to_floor"], 1.25, "<="),
    (
        "realistic-latency backfill wall / max(latency ideal, pacing floor)",
        lambda r: r["realistic"]["runs"]["ratio_to_floor"],
        1.25,
        "<=",
    ),
    (
        "realistic-latency backfill write transactions / wall",
        lambda r: r["realistic"]["runs"]["database_share"],
        0.10,
        "<=",
    ),
    ("backfill max concurrent requests", lambda r: r["backfill"]["max_in_flight"], 100, "<"),
    ("paced backfill peak requests per minute", lambda r: r["backfill_paced"]["peak_requests_per_minute"], 900, "<"),
    ("upsert rate / COPY rate", lambda r: r["write_rate"]["ratio"], 0.5, ">="),
    ("backfill peak RSS MB", lambda r: r["backfill"]["peak_rss_mb"], 256, "<="),
    ("re-attribution seconds", lambda r: r["reattribution"]["seconds"], 10, "<="),
    ("re-attribution GitHub requests", lambda r: r["reattribution"]["github_requests"], 0, "<="),
    ("one-team velocity p95 ms", lambda r: r["analyst"]["one_team_12_weeks_velocity"]["p95_ms"], 50, "<="),
    ("all-teams lead time p95 ms", lambda r: r["analyst"]["all_teams_12_months_lead_time"]["p95_ms"], 500, "<="),
    # The read API, through serve's HTTP server: key check, query, JSON, ETag.
    ("API one-team 12 weeks p95 ms", lambda r: r["analyst"]["api_one_team_12_weeks_velocity"]["p95_ms"], 50, "<="),
    (
        "API one-team 12 months lead time p95 ms",
        lambda r: r["analyst"]["api_one_team_12_months_lead_time"]["p95_ms"],
        None,
        "",
    ),
]
# What --only analyst runs and judges: the analyst queries and the read API, at the same pr_metrics rows.
ANALYST_TARGETS = frozenset(
    {
        "one-team velocity p95 ms",
        "all-teams lead time p95 ms",
        "API one-team 12 weeks p95 ms",
        "API one-team 12 months lead time p95 ms",
    }
)
# What holds at any scale (requests per repository, concurrency, a re-attribution without requests):
# --small judges these; everything else is a property of the full organisation.
SCALE_FREE = frozenset(
    {
        "quiet run PR listing requests per repository",
        "quiet run counted requests per repository",
        "backfill max concurrent requests",
        "re-attribution GitHub requests",
    }
)


def verdicts(
    results: dict[str, Any], *, small: bool = False, targets: Sequence[Target] | None = None
) -> list[dict[str, Any]]:
    rows = []
    for name, get, target, op in TARGETS if targets is None else targets:
        value = get(results)
        met = None
        if target is not None and (name in SCALE_FREE or not small):
            met = {"<=": value <= target, "<": value < target, ">=": value >= target}[op]
        limit = "reported" if target is None else f"{op} {target}"
        rows.append({"target": name, "value": round(value, 3), "limit": limit, "met": met})
    return rows


def small_note() -> str:
    unjudged = [name for name, _, target, _ in TARGETS if target is not None and name not in SCALE_FREE]
    return (
        "--small: a smoke run at a fraction of the organisation (and 50 ms for the realistic latency), so that "
        f"every scenario keeps running in CI. It judges only the {len(SCALE_FREE)} targets that hold at any "
        f"scale. It does NOT judge these {len(unjudged)}, which hold at full scale only (python -m bench): "
        + "; ".join(unjudged)
        + "."
    )


def table(rows: list[dict[str, Any]]) -> str:
    shown = [{**r, "met": {True: "yes", False: "NO", None: "-"}[r["met"]]} for r in rows]
    keys = ("target", "value", "limit", "met")
    widths = [max(len(str(r[k])) for r in [*shown, {k: k for k in keys}]) for k in keys]
    lines = [f"{'target':<{widths[0]}}  {'value':>{widths[1]}}  {'limit':<{widths[2]}}  met"]
    lines += [f"{r['target']:<{widths[0]}}  {r['value']!s:>{widths[1]}}  {r['limit']:<{widths[2]}}  {r['met']}"
              for r in shown]  # fmt: skip
    return "\n".join(lines)


def realistic_summary(realistic: dict[str, Any]) -> str:
    r = realistic
    # fmt: off
    lines = [f"realistic backfill ({r['collector']}, {r['order']} order, largest listing at position "
             f"{r['largest_repository_position']}): {r['prs']} PRs in {r['total_pages']} pages, the largest "
             f"{r['largest_repository_pages']}; {r['latency']:g} s a page, ideal {r['ideal_seconds']:.1f} s"]
    for kind in ("runs",):
        if kind in realistic:
            k = realistic[kind]
            each = [round(x["run_seconds"], 2) for x in k["runs"]]
            lines.append(f"  {kind}: run {k['run_seconds']:.2f} s {each}, {k['ratio_to_floor']:.3f} x max(ideal, "
                         f"pacing floor); write transactions {k['write_seconds']:.2f} s summed "
                         f"({k['database_share']:.1%} of the run; {k['database_busy_share']:.1%} with one open), "
                         f"{k['largest_repository_write_seconds']:.2f} s on the largest listing")
    # fmt: on
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with stop_signals_as_interrupt():  # SIGTERM and SIGHUP clean up as Ctrl-C does
            return _main(argv)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)  # temporary servers and folders are already cleaned up
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--small", action="store_true", help="a few seconds' version (CI), not the targets' scale")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--json", type=Path, help="where to write the results (default bench/out/<name>.json)")
    parser.add_argument("--only", choices=["realistic", "analyst"],
                        help="run this scenario alone (realistic: with triggers only)")  # fmt: skip
    parser.add_argument("--collector", type=Path, help="with --only: a checkout whose collector to run instead")
    parser.add_argument("--order", choices=["configured", "largest-last"], default="configured",
                        help="with --only: the order of REPOSITORIES (default: as generated)")  # fmt: skip
    parser.add_argument("--share", type=float, help="with --only: the share of the organisation's PRs (full: 0.1)")
    parser.add_argument("--repeats", type=int, help="with --only: runs to take the median of (full: 3)")
    args = parser.parse_args(argv)
    if args.only != "realistic" and (args.collector or args.order != "configured" or args.share or args.repeats):
        parser.error("--collector, --order, --share and --repeats go with --only realistic")
    scale = SMALL if args.small else FULL
    if args.share:
        scale = replace(scale, realistic_share=args.share)
    if args.repeats:
        scale = replace(scale, repeats=args.repeats)

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    started = time.monotonic()
    with postgres_server(os.environ.get("BENCH_DATABASE_URL")) as server_url:
        if args.only == "analyst":
            say(f"analyst queries at {scale.analyst_rows} pr_metrics rows")
            results = {"analyst": analyst_queries(server_url, scale.analyst_rows, scale.repeats)}
        elif args.only:
            results = {"realistic": realistic_backfill(scale, args.seed, server_url, say, collector=args.collector,
                                                       order=args.order)}  # fmt: skip
        else:
            results = benchmark(scale, args.seed, server_url, say)
        with psycopg.connect(_libpq(server_url)) as conn:
            server_version = conn.execute("SHOW server_version").fetchone()
    report = {
        "scale": asdict(scale),
        "seed": args.seed,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgres": server_version[0] if server_version else None,
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(time.monotonic() - started, 1),
        "results": results,
    }
    if args.only != "realistic":
        judged = [t for t in TARGETS if t[0] in ANALYST_TARGETS] if args.only == "analyst" else None
        report["verdicts"] = verdicts(results, small=args.small, targets=judged)
    name = f"{args.only}-{'small' if args.small else 'full'}" if args.only else "small" if args.small else "full"
    out = args.json or OUT / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    if args.small:
        print(small_note())
    if "verdicts" in report:
        print(table(report["verdicts"]))
    if "realistic" in results:
        print(realistic_summary(results["realistic"]))
    print(f"\nresults: {out}")
    return 0


def _libpq(url: str) -> str:
    from sqlalchemy import make_url

    from collector.config import normalize_database_url

    return make_url(normalize_database_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(main())
