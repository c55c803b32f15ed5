"""The commands as users and other tools run them: ``python -m collector …`` in a subprocess."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import make_url, text

from collector.pipeline import NO_TEAMS
from collector.testing.fake_github import Fault
from collector.testing.sample_org import DEMO_TEAMS
from tests.helpers import member, merged_pull, rows, snapshot, team_doc, write_json
from tests.terminal import Terminal

TOKEN = "ghp_e2eSECRETtoken123"
RECENT = datetime.now(UTC) - timedelta(days=5)


def cli(*args, env=None, cwd=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "collector", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def env(engine, fake_github, tmp_path):
    fake_github.tokens.add(TOKEN)
    values = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DATABASE_", "REPOSITORIES", "LOG_FORMAT"))
    }
    values.update(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        GITHUB_TOKEN=TOKEN,
        GITHUB_API_URL=fake_github.base_url,
        REPOSITORIES="acme/api,acme/web",
        MAX_WORKERS="2",
    )
    return values


@pytest.fixture
def teams_file(tmp_path):
    return write_json(tmp_path / "teams.json", team_doc(("platform", [member("alice")]), ("data", [member("bob")])))


def populate(fake, per_repo=3):
    for repo in ("acme/api", "acme/web"):
        fake.add_repo(repo)
        for n in range(1, per_repo + 1):
            user = "alice" if n % 2 else "bob"
            fake.add_pull(repo, merged_pull(n, user, merged=RECENT - timedelta(minutes=n)))


def test_migrate_works_from_any_directory(env, tmp_path):
    result = cli("migrate", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout


def test_teams_sync_then_run_then_quiet_run(env, fake_github, teams_file, engine, tmp_path):
    populate(fake_github)
    synced = cli("teams", "sync", "--file", str(teams_file), env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert "synced 2 teams, 2 memberships" in synced.stdout
    first = cli("run", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("6 PRs collected from 2 repositories") and first.stdout.endswith("succeeded.\n")
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(6,)]
    quiet = cli("run", env=env, cwd=tmp_path)
    assert quiet.stdout.startswith(
        "Nothing changed since the last run; 2 GitHub requests (2 answered 304 Not Modified)."
    )


def test_run_syncs_the_teams_file_first_when_configured(env, fake_github, teams_file, engine):
    populate(fake_github)
    result = cli("run", env={**env, "TEAMS_FILE": str(teams_file)})
    assert result.returncode == 0, result.stderr
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(6,)]


def test_logs_are_json_lines_with_the_run_id_and_no_secret(env, fake_github, teams_file):
    populate(fake_github)
    fake_github.inject("/repos/acme/web/pulls", Fault(502))  # a retry warning gets logged
    result = cli("run", env={**env, "TEAMS_FILE": str(teams_file)})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    run_lines = [line for line in lines if line["message"] != "teams synced"]
    assert {line["message"] for line in run_lines} >= {
        "run started",
        "github request retried",
        "run finished",
    }
    assert len({line["run_id"] for line in run_lines}) == 1 and run_lines[0]["run_id"]
    assert TOKEN not in result.stderr + result.stdout


def test_a_failed_repository_exits_nonzero_and_names_it(env, fake_github):
    populate(fake_github)
    result = cli("run", env={**env, "REPOSITORIES": "acme/api,acme/missing"})
    assert result.returncode == 1
    assert "acme/missing: 404 Not Found" in result.stderr.splitlines()[-1]


def test_a_bad_token_is_one_clear_line_and_changes_nothing(env, fake_github, engine):
    populate(fake_github)
    before = snapshot(engine)
    result = cli("run", env={**env, "GITHUB_TOKEN": "ghp_wrongWRONGwrong"})
    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    assert last.startswith("dora-collector: error: GitHub rejected GITHUB_TOKEN")
    assert result.stdout.startswith(
        "GitHub rejected GITHUB_TOKEN (401 Bad credentials): check the token and its expiry."
    )
    assert "ghp_wrongWRONGwrong" not in result.stderr + result.stdout
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"teams": [{"members": []}]}', "a team needs a non-empty name"),
    ],
)
def test_a_bad_teams_file_is_one_line_nonzero_and_changes_nothing(env, engine, teams_file, tmp_path, content, message):
    assert cli("teams", "sync", "--file", str(teams_file), env=env).returncode == 0
    before = rows(engine, "SELECT * FROM team_memberships ORDER BY id")
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = cli("teams", "sync", "--file", str(bad), env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert rows(engine, "SELECT * FROM team_memberships ORDER BY id") == before


def test_missing_configuration_is_one_line(env):
    result = cli("run", env={k: v for k, v in env.items() if k != "REPOSITORIES"})
    assert result.returncode == 2 and result.stderr == "dora-collector: error: REPOSITORIES is not set\n"


def test_an_unreachable_database_is_one_line_without_the_password(env):
    result = cli("migrate", env={**env, "DATABASE_URL": "postgresql://dora:hunter2@127.0.0.1:9/dora"})
    assert result.returncode == 2
    assert result.stderr.startswith("dora-collector: error: migrate: ") and result.stderr.count("\n") == 1
    assert "hunter2" not in result.stderr


def test_an_unreachable_github_is_one_line(env, engine):
    result = cli("run", env={**env, "GITHUB_API_URL": "http://127.0.0.1:9"}, timeout=180)
    assert result.returncode == 1
    assert "cannot reach GitHub at http://127.0.0.1:9" in result.stderr.splitlines()[-1]


def test_a_run_killed_half_way_then_rerun_equals_one_clean_run(env, fake_github, teams_file, engine):
    cli("teams", "sync", "--file", str(teams_file), env=env)
    for repo in ("acme/api", "acme/web"):
        fake_github.add_repo(repo)
        for n in range(1, 801):
            fake_github.add_pull(
                repo, merged_pull(n, "alice" if n % 3 else "bob", merged=RECENT - timedelta(minutes=n))
            )
    fake_github.latency = 0.05
    process = subprocess.Popen(
        [sys.executable, "-m", "collector", "run"], env={**env, "MAX_WORKERS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while rows(engine, "SELECT count(*) FROM pull_requests")[0][0] < 200:  # wait for committed pages
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert rows(engine, "SELECT count(*) FROM pull_requests")[0][0] < 1600  # really half-way
    assert rows(engine, "SELECT status FROM collector_runs") == [("running",)]
    fake_github.latency = 0
    assert cli("run", env=env).returncode == 0
    resumed = snapshot(engine)
    assert rows(engine, "SELECT status FROM collector_runs ORDER BY started_at") == [
        ("failed",),
        ("success",),
    ]
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE pull_requests, pr_metrics, collector_state"))
    assert cli("run", env=env).returncode == 0
    assert snapshot(engine) == resumed
    assert len(resumed["pull_requests"]) == 1600


def test_demo_runs_with_zero_setup(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DATABASE_", "TEST_DATABASE"))}
    result = cli("demo", env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"^first run \(backfill\): \d+ PRs collected from 5 repositories, \d+ rows written; \d+ deployments, "
        r"\d+ incidents and \d+ first commits read;.* succeeded\.$",
        result.stdout,
        re.M,
    )
    assert re.search(r"^second run \(the running deployment succeeded\): No new or updated PRs; \d+ deployments read;",
                     result.stdout, re.M)  # fmt: skip
    assert re.search(
        r"^third run \(nothing changed\): Nothing changed since the last run; (\d+) GitHub requests "
        r"\(\1 answered 304 Not Modified\); 1 GraphQL query costing 1 point\. Run \S+ succeeded\.$",
        result.stdout,
        re.M,
    )
    assert "view_team_velocity" in result.stdout and "view_pr_lead_time" in result.stdout
    summary = result.stdout.partition("view_dora_summary")[2]
    assert all(re.search(rf"^{team} ", summary, re.M) for team in DEMO_TEAMS)
    assert f"report written to {tmp_path / 'dora-demo-report.html'}" in result.stdout
    assert (tmp_path / "dora-demo-report.html").read_text().count('class="chart"') == 8


def test_ctrl_c_stops_promptly_closes_the_ledger_row_and_exits_130(env, fake_github, teams_file, engine):
    cli("teams", "sync", "--file", str(teams_file), env=env)
    fake_github.add_repo("acme/api")
    for n in range(1, 3001):
        fake_github.add_pull("acme/api", merged_pull(n, merged=RECENT - timedelta(minutes=n)))
    fake_github.latency = 0.05
    process = subprocess.Popen(
        [sys.executable, "-m", "collector", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while rows(engine, "SELECT count(*) FROM pull_requests")[0][0] < 100:  # wait for the first committed page
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in stderr and "dora-collector: interrupted" in stderr
    assert rows(engine, "SELECT status, error FROM collector_runs") == [("failed", "interrupted")]
    assert rows(engine, "SELECT count(*) < 3000 FROM pull_requests") == [(True,)]


# ------------------------------------------------------------------ people at a terminal


def test_a_run_in_a_terminal_logs_readable_lines(env, fake_github, teams_file):
    """stderr a real pseudo-terminal: one line per event, the repository first, keys as key=value, no JSON."""
    populate(fake_github)
    terminal = Terminal()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "collector", "run"], env={**env, "TEAMS_FILE": str(teams_file)},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal.follower, text=True,
        )  # fmt: skip
        shown = terminal.everything()
        stdout, _ = process.communicate(timeout=120)
    finally:
        terminal.close()
    assert process.returncode == 0, shown
    lines = shown.splitlines()
    assert not [line for line in lines if line.startswith("{")]
    clock = r"\d\d:\d\d:\d\d"
    assert any(re.fullmatch(clock + r" INFO run started repositories=2 trigger=cli", line) for line in lines), shown
    assert any(
        re.fullmatch(clock + r" INFO acme/web: repository collected status=done prs_seen=3 .*", line) for line in lines
    ), shown
    assert stdout.startswith("6 PRs collected from 2 repositories")
    assert TOKEN not in shown + stdout


def test_log_format_text_makes_piped_logs_readable(env):
    result = cli("run", env={**env, "LOG_FORMAT": "text", "REPOSITORIES": "acme/missing"})
    assert re.search(r"^\d\d:\d\d:\d\d INFO run started repositories=1 trigger=cli$", result.stderr, re.M)


def test_an_unknown_log_format_is_one_line(env):
    result = cli("run", env={**env, "LOG_FORMAT": "yaml"})
    assert result.returncode == 2
    assert result.stderr == "dora-collector: error: LOG_FORMAT must be one of auto, json, text (got 'yaml')\n"


def test_a_run_with_no_teams_warns_in_the_log_and_the_summary(env, fake_github):
    populate(fake_github)
    result = cli("run", env=env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in map(json.loads, result.stderr.splitlines()) if line["level"] == "WARNING"]
    assert [line["message"] for line in warnings] == [NO_TEAMS] and warnings[0]["run_id"]
    assert result.stdout.startswith(NO_TEAMS[0].upper() + NO_TEAMS[1:] + ". 6 PRs collected from 2 repositories")


# ---------------------------------------------------------------- the first hour (the inputs people hand over)

# Imported by commands, never by --help or --version.
HEAVY = ("sqlalchemy", "psycopg", "github", "alembic", "cryptography", "requests", "urllib3", "msgspec", "boto3",
         "pythonjsonlogger", "tenacity", "collector.store", "collector.pipeline", "aws_lambda_powertools", "pydantic",
         "collector.api")  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["run", "--help"], ["teams", "sync", "--help"], ["serve", "--help"],
     ["api-keys", "create", "--help"]],
    ids=str,
)  # fmt: skip
def test_help_and_version_answer_without_loading_the_database_or_github_stack(args):
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['dora-collector', *{args!r}]\n"
        "try:\n    runpy.run_module('collector', run_name='__main__')\n"
        "except SystemExit as done:\n    assert done.code == 0, done.code\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "[]\n"


def test_a_database_url_as_hosting_providers_give_it_works(env, database_url):
    """Regression: postgres://…?sslmode=… ended in sqlalchemy.exc.NoSuchModuleError."""
    url = make_url(database_url)
    given = url.set(drivername="postgres").update_query_dict({"sslmode": "prefer"})
    result = cli("migrate", env={**env, "DATABASE_URL": given.render_as_string(hide_password=False)})
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout


@pytest.mark.parametrize("port", ["54x2", "99999", ""])
def test_a_malformed_port_is_one_line_without_the_password(env, port):
    """Regression: ValueError: invalid literal for int() with base 10 (a traceback)."""
    result = cli("migrate", env={**env, "DATABASE_URL": f"postgresql://dora:hunter2@127.0.0.1:{port}/dora"})
    assert result.returncode == 2
    assert result.stderr.startswith("dora-collector: error: DATABASE_URL's port is not a number from 1 to 65535")
    assert result.stderr.count("\n") == 1 and "hunter2" not in result.stderr


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"], ids=["utf-8-bom", "utf-16-le-bom"])
def test_a_teams_file_saved_by_notepad_syncs(env, engine, tmp_path, encoding):
    """Regression: a BOM made it 'invalid JSON'; UTF-16 ended in UnicodeDecodeError (a traceback)."""
    text = json.dumps(team_doc(("plätform", [member("alice")]), ("data", [member("bob")])), indent=2)
    saved = tmp_path / "teams.json"
    saved.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    result = cli("teams", "sync", "--file", str(saved), env=env)
    assert result.returncode == 0, result.stderr
    assert "synced 2 teams, 2 memberships" in result.stdout
    assert rows(engine, "SELECT name FROM teams ORDER BY name") == [("data",), ("plätform",)]


def test_every_setting_that_needs_fixing_is_named_in_one_line(env):
    broken = {**env, "MAX_WORKERS": "many", "LOOKBACK_DAYS": "-3"}
    del broken["GITHUB_TOKEN"]
    result = cli("run", env=broken)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("dora-collector: error: 3 settings need fixing: (1) GITHUB_TOKEN is not set")
    assert "(2) MAX_WORKERS" in result.stderr and "(3) LOOKBACK_DAYS" in result.stderr


def test_a_name_the_terminal_cannot_encode_is_shown_escaped_not_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "DATABASE_URL": "postgresql://u@127.0.0.1:1/x"}
    result = cli("teams", "sync", "--file", str(tmp_path / "équipes.json"), env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "\\xe9quipes.json: cannot read" in result.stderr


def test_teams_sync_counts_in_plain_english(env, tmp_path):
    one = tmp_path / "one.json"
    one.write_text(
        '{"teams": [{"name": "solo", "members": [{"github_username": "alice", "joined_at": "2024-01-01"}]}]}'
    )
    result = cli("teams", "sync", "--file", str(one), env=env)
    assert result.stdout.startswith(
        "synced 1 team, 1 membership, 0 repositories (0 teams, 0 repositories removed); 0 attribution rows recomputed"
    )


def test_teams_sync_says_how_many_repositories_and_which_signals_the_next_run_reads_again(env, tmp_path, engine):
    path = tmp_path / "org.json"
    document = team_doc(("platform", [member("alice")]))
    write_json(path, {**document, "repositories": [{"name": "acme/api"}, {"name": "acme/web"}]})
    result = cli("teams", "sync", "--file", str(path), env=env)
    assert result.stdout == (
        "synced 1 team, 1 membership, 2 repositories (0 teams, 0 repositories removed); 0 attribution rows recomputed\n"
    )
    changed = {"name": "acme/api", "deployments": {"source": "workflow", "workflow": "deploy.yml"}}
    write_json(path, {**document, "repositories": [changed]})
    result = cli("teams", "sync", "--file", str(path), env=env)
    assert result.stdout == (
        "synced 1 team, 1 membership, 1 repository (0 teams, 1 repository removed); 0 attribution rows recomputed; "
        "rule changed, read again by the next run: acme/api deployments, acme/api workflow\n"
    )
    assert rows(engine, "SELECT name, deploy_source, workflow FROM repositories") == [
        ("acme/api", "workflow", "deploy.yml")
    ]


@pytest.mark.parametrize(
    ("repositories", "message"),
    [
        (
            [{"name": "acme/api", "owners": [{"team": "platform", "share": 0.6}, {"team": "data", "share": 0.6}]}],
            "repository 'acme/api': its owners' shares sum to 1.2 > 1 from 1970-01-01T00:00:00Z",
        ),
        ([{"name": "acme/api", "owners": [{"team": "mobile"}]}], "team must name a team of this file, got 'mobile'"),
        ([{"name": "acme/api", "deployments": {"environment": "(prod"}}], "is not a regular expression"),
        ([{"name": "acme/api", "deployments": {"source": "ftp"}}], "source must be one of deployments, workflow"),
        ([{"name": "acme/api", "colour": "red"}], "unknown key 'colour'"),
    ],
)
def test_a_file_whose_repositories_break_a_rule_is_one_line_and_changes_nothing(
    env, engine, teams_file, tmp_path, repositories, message
):
    good = json.loads(teams_file.read_text())
    write_json(teams_file, {**good, "repositories": [{"name": "acme/api", "owners": [{"team": "platform"}]}]})
    assert cli("teams", "sync", "--file", str(teams_file), env=env).returncode == 0
    stored = ("teams", "team_memberships", "repositories", "repository_owners")
    before = [rows(engine, f"SELECT * FROM {table} ORDER BY 1") for table in stored]
    bad = write_json(tmp_path / "bad.json", {**good, "repositories": repositories})
    result = cli("teams", "sync", "--file", str(bad), env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert [rows(engine, f"SELECT * FROM {table} ORDER BY 1") for table in stored] == before


def test_an_unknown_top_level_key_is_refused_in_one_line(env, engine, tmp_path):
    path = write_json(tmp_path / "teams.json", {**team_doc(("platform", [])), "repos": []})
    result = cli("teams", "sync", "--file", str(path), env=env)
    assert result.returncode == 2
    assert result.stderr.endswith("unknown top-level key 'repos' (allowed: repositories, teams)\n")
    assert rows(engine, "SELECT count(*) FROM teams") == [(0,)]
