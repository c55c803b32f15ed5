"""The demo and its servers end cleanly however they are stopped: exit 130, no traceback, no folders left; and
what the demo collects shows every team's four keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.demo import DEMO_REPO_SIZES, DEMO_SEED
from collector.testing.postgres import stop_postmaster
from collector.testing.sample_org import DEMO_TEAMS, generate_org
from tests.helpers import collect, rows, sync


def start(*args: str, tmp_path, cwd=None) -> subprocess.Popen[str]:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DATABASE_", "TEST_DATABASE"))}
    env["TMPDIR"] = str(temp)  # every temporary folder the demo makes lands here, to be checked empty
    return subprocess.Popen(
        [sys.executable, "-m", "collector", "demo", *args],
        env=env,
        cwd=cwd or tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def leftovers(tmp_path) -> list[str]:
    """Our temporary folders still there (the wheel's runtime-*/ lock folder is shared by design), and any
    process still running from one of them (a server whose folder was removed under it)."""
    temp = str(tmp_path / "tmp")
    folders = [p.name for p in (tmp_path / "tmp").iterdir() if not p.name.startswith("runtime-")]
    return folders + [f"process {pid}" for pid in processes_mentioning(temp)]


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:  # ended while we looked
            continue
    return found


def read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    """Lines of stdout up to the one containing ``marker`` (blocking reads: the process tells us when)."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if marker in line:
            return lines
    pytest.fail(f"the demo ended before printing {marker!r}: {process.communicate()[1][-2000:]}")


def stop(process: subprocess.Popen[str], signum: int) -> tuple[str, str]:
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    return out, err


def test_serve_prints_what_to_use_writes_the_env_file_and_ctrl_c_removes_everything(tmp_path):
    process = start("--serve", "--env-file", "demo.env", tmp_path=tmp_path)
    shown = "".join(read_until(process, "Ctrl-C stops both"))
    env_file = tmp_path / "demo.env"
    exports = dict(line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines())
    assert set(exports) == {"DATABASE_URL", "GITHUB_API_URL", "GITHUB_TOKEN", "REPOSITORIES", "DEMO_TEAMS_FILE"}
    for name in exports:
        assert name in shown
    assert str(env_file) in shown
    out, err = stop(process, signal.SIGINT)
    assert process.returncode == 130
    assert "demo servers stopped" in out
    assert "Traceback" not in err and "Warning" not in err
    assert not env_file.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP (terminal closed)"])
def test_serve_stopped_by_sigterm_or_a_closed_terminal_cleans_up_too(tmp_path, signum):
    process = start("--serve", "--env-file", "demo.env", tmp_path=tmp_path)
    read_until(process, "Ctrl-C stops both")
    _, err = stop(process, signum)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert not (tmp_path / "demo.env").exists()
    assert leftovers(tmp_path) == []


def test_a_second_ctrl_c_during_cleanup_waits_for_it(tmp_path):
    process = start("--serve", "--env-file", "demo.env", tmp_path=tmp_path)
    read_until(process, "Ctrl-C stops both")
    process.send_signal(signal.SIGINT)
    _, err = stop(process, signal.SIGINT)  # whenever it lands, the cleanup finishes first
    assert process.returncode == 130
    assert "Traceback" not in err
    assert leftovers(tmp_path) == []


def test_an_existing_env_file_is_neither_overwritten_nor_deleted(tmp_path):
    own = tmp_path / ".env"
    own.write_text("export DATABASE_URL=postgresql://prod:REALSECRET@db/prod\n")
    process = start("--serve", "--env-file", ".env", tmp_path=tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err == "dora-collector: error: .env already exists: remove it, or choose another --env-file\n"
    assert own.read_text() == "export DATABASE_URL=postgresql://prod:REALSECRET@db/prod\n"
    assert leftovers(tmp_path) == []


def test_an_env_file_that_is_a_directory_is_one_line(tmp_path):
    process = start("--serve", "--env-file", ".", tmp_path=tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert leftovers(tmp_path) == []


def test_serve_on_a_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start("--serve", "--port", str(taken.getsockname()[1]), tmp_path=tmp_path)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip().count("\n") == 0 and "cannot serve the demo's GitHub on port" in err
    assert leftovers(tmp_path) == []


def test_demo_interrupted_mid_run_exits_130_without_a_traceback_or_leftovers(tmp_path):
    process = start(tmp_path=tmp_path)
    read_until(process, "embedded PostgreSQL ready")
    _, err = stop(process, signal.SIGINT)
    assert process.returncode == 130
    assert "Traceback" not in err and "Warning" not in err
    assert leftovers(tmp_path) == []


def test_a_server_whose_start_was_interrupted_is_stopped_by_its_pid_file(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (tmp_path / "postmaster.pid").write_text(f"{child.pid}\n{tmp_path}\n")
    stop_postmaster(tmp_path)
    assert child.wait(timeout=10) == -signal.SIGINT or child.returncode != 0
    stop_postmaster(tmp_path / "absent")  # nothing started: nothing to do
    (tmp_path / "postmaster.pid").write_text("garbage")
    stop_postmaster(tmp_path)


@pytest.mark.parametrize(
    "generated",
    ["report.html", "dora-demo-report.html", "dora-demo.env", ".hypothesis/x", "bench/out/small.json", "teams.json"],
)
def test_what_the_commands_write_by_default_is_git_ignored(generated):
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    assert subprocess.run(["git", "check-ignore", "-q", generated], cwd=root).returncode == 0


# ---------------------------------------------------------------- what the demo shows


def test_the_demo_s_organisation_gives_every_team_the_four_keys(engine, fake_github):
    """The demo's sample, collected as the demo collects it: every team has each key in view_dora_summary, every
    repository has an owner, and deployments fail both ways (an incident, a revert)."""
    now = datetime.now(UTC)
    org = generate_org(seed=DEMO_SEED, now=now, repo_sizes=DEMO_REPO_SIZES)
    org.serve(fake_github)
    sync(engine, org.teams_document)
    result = collect(engine, fake_github, list(org.repositories), now=now, since=now - timedelta(days=200))
    assert result.status == "success"
    keys = rows(
        engine,
        "SELECT team_name, count(deployments_per_week), count(median_change_lead_time_hours), "
        "count(change_failure_rate), count(median_time_to_restore_hours) FROM view_dora_summary "
        "GROUP BY team_name ORDER BY team_name",
    )
    assert [team for team, *_ in keys] == sorted(DEMO_TEAMS)
    assert all(min(months) > 0 for _, *months in keys), keys  # months with a value, per key
    assert rows(engine, "SELECT count(*) FROM view_dora_unowned_repositories") == [(0,)]
    assert rows(engine, "SELECT DISTINCT reason FROM view_dora_failed_deployments ORDER BY reason") == [
        ("incident",),
        ("revert",),
    ]
