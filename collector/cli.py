"""Command line: a thin adapter over the library (``python -m collector`` / ``dora-collector``)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from collector import store
from collector.config import Settings, load_settings
from collector.errors import CollectorError, ConfigError
from collector.github_api import GitHubClientFactory
from collector.ledger import describe
from collector.logs import configure_logging, set_log_level
from collector.membership import load_teams_file, parse_instant
from collector.migrate import assert_schema_current, upgrade_to_head
from collector.pipeline import run
from collector.report import load_report, render_html, write_report
from collector.sync import sync_teams

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

log = logging.getLogger("collector")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dora-collector", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations (alembic upgrade head) to DATABASE_URL")
    teams = sub.add_parser("teams", help="manage teams and memberships")
    teams_sub = teams.add_subparsers(dest="teams_command", required=True)
    sync = teams_sub.add_parser("sync", help="load a teams file and re-attribute every stored PR")
    sync.add_argument("--file", required=True, type=Path, help="teams JSON file")
    run_cmd = sub.add_parser("run", help="one collection run, exactly what the scheduled Lambda does")
    run_cmd.add_argument("--since", help="first collection of a repository: PRs updated on/after DATE")
    report = sub.add_parser("report", help="render the views as one self-contained HTML file")
    report.add_argument("--team", help="only this team (its name in any case)")
    report.add_argument(
        "--weeks", type=int, default=12, help="every section covers the last N weeks, this one included (default 12)"
    )
    report.add_argument("--out", type=Path, default=Path("report.html"), help="output file (default report.html)")
    demo = sub.add_parser("demo", help="zero-setup showcase on an embedded PostgreSQL and a local fake GitHub")
    demo.add_argument("--out", type=Path, default=Path("dora-demo-report.html"), help="where the demo's report goes")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="instead: keep the demo's GitHub and an empty PostgreSQL running, to try the real workflow on them",
    )
    demo.add_argument(
        "--env-file",
        type=Path,
        default=Path("dora-demo.env"),
        help="with --serve: where to write their settings as shell exports (default dora-demo.env)",
    )
    demo.add_argument("--port", type=int, default=0, help="with --serve: the demo GitHub's port (default: any free)")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        configure_logging(_early_log_level(env), log_format=env.get("LOG_FORMAT"))
        with _sigterm_as_interrupt():
            return _dispatch(args, env)
    except CollectorError as exc:
        print(f"dora-collector: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dora-collector: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.command == "demo":
        from collector.demo import run_demo, serve_demo  # the embedded server is an optional dependency

        if args.serve:
            return serve_demo(env_file=args.env_file, port=args.port)
        return run_demo(report_path=args.out)
    if args.command == "migrate":
        settings = load_settings(env, need_github=False)
        engine = store.make_engine(settings.database_url)
        with store.database_errors("migrate"):
            revision = upgrade_to_head(engine)
        print(f"database at revision {revision} ({settings.database_url_redacted})")
        return 0
    if args.command == "teams":
        return _teams_sync(load_settings(env, need_github=False), args.file)
    if args.command == "report":
        return _report(load_settings(env, need_github=False), args.team, args.weeks, args.out)
    return _run(load_settings(env), args.since)


def _teams_sync(settings: Settings, path: Path) -> int:
    specs = load_teams_file(path)  # validated fully before the database is touched
    engine = store.make_engine(settings.database_url)
    with store.database_errors("teams sync"):
        assert_schema_current(engine)
        result = sync_teams(engine, specs)
    print(
        f"synced {result.teams} teams, {result.memberships} memberships "
        f"({result.teams_removed} teams removed); {result.metric_rows} attribution rows recomputed"
    )
    return 0


def _report(settings: Settings, team: str | None, weeks: int, out: Path) -> int:
    if not 1 <= weeks <= 520:
        raise ConfigError(f"--weeks must be between 1 and 520 (got {weeks})")
    engine = store.make_engine(settings.database_url, pool_size=1)
    with store.database_errors("report"):
        assert_schema_current(engine)
        html = render_html(load_report(engine, team=team, weeks=weeks))
    write_report(out, html)
    print(f"report written to {out.resolve()}")
    return 0


def _run(settings: Settings, since_raw: str | None) -> int:
    since = _since(since_raw)
    set_log_level(settings.log_level)
    engine = store.make_engine(settings.database_url, pool_size=settings.max_workers + 2)
    github = GitHubClientFactory.from_settings(settings)
    result = run(settings, github=github, engine=engine, now=datetime.now(UTC), since=since)
    print(describe(result))
    if result.status == "failed":
        print(f"dora-collector: error: {result.error}", file=sys.stderr)
        return 1
    return 0


def _since(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_instant(raw)
    except ValueError:
        raise ConfigError(f"--since {raw!r} is not an ISO-8601 date or datetime") from None


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so temporary servers and directories are cleaned up either way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _early_log_level(env: Mapping[str, str]) -> str:
    level = (env.get("LOG_LEVEL") or "INFO").upper()
    return level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO"
