"""The README's path in, run as a newcomer would: every command and example in it is executed here.

The set-up commands are the ones CI runs (checked against .ci/run); everything else runs in a shell
in a fresh directory: the demo (its printed transcript must match the README's), the real workflow
on ``demo --serve``, the own-organisation steps on the same servers, and the SQL example.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def readme_blocks() -> list[tuple[str, str]]:
    return [(lang, text) for lang, text in FENCE.findall((ROOT / "README.md").read_text())]


def block(starting: str, lang: str = "sh") -> str:
    found = [text for kind, text in readme_blocks() if kind == lang and text.startswith(starting)]
    assert len(found) == 1, f"the README should have one {lang} block starting {starting!r}"
    return found[0]


SETUP, DEMO, TESTS, SERVE, WORKFLOW, API, OWN_ORG = (
    "python3 -m venv .venv",
    "dora-collector demo\n",
    "pytest\n",
    "dora-collector demo --serve\n",
    ". ./dora-demo.env\n",
    "export DORA_API_KEY=",
    "export DATABASE_URL=",
)


def test_every_block_of_the_readme_is_one_this_file_runs():
    known = [SETUP, DEMO, TESTS, SERVE, WORKFLOW, API, OWN_ORG]
    for lang, text in readme_blocks():
        ran = lang == "sh" and any(text.startswith(k) for k in known)
        ran = ran or lang in ("text", "sql")  # the demo's transcript and the SQL example, below
        assert ran, f"a README block this test does not run: {text[:60]!r}"
    assert [lang for lang, _ in readme_blocks()].count("sql") == 1
    assert [lang for lang, _ in readme_blocks()].count("text") == 1


def test_the_setup_and_test_commands_are_the_ones_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for line in [*block(SETUP).splitlines(), *block(TESTS).splitlines()]:
        command = re.compile(rf"(^|\s){re.escape(line)}(\s|$)")
        assert any(command.search(c) for c in ci), f"CI does not run the README's {line!r}"


def shell_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DATABASE_", "REPOSITORIES"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the venv's dora-collector
    env["TMPDIR"] = str(tmp_path)
    return env


def sh(script: str, cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def shape(line: str) -> str:
    """A line with its run ids, numbers and paths made generic, to compare a transcript with a run."""
    line = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "ID", line)
    line = re.sub(r"(/[\w.-]+)+/?", "PATH", line)
    line = re.sub(r"\d+(\.\d+)?", "N", line)
    return " ".join(line.split())


def test_the_demo_prints_what_the_readme_shows(tmp_path):
    result = sh(block(DEMO), tmp_path, shell_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning, no log line: the transcript is all there is
    printed = [shape(line) for line in result.stdout.splitlines()]
    shown = [shape(line) for line in block("", "text").splitlines() if line.strip() not in ("", "…")]
    position = 0
    for line in shown:  # the README's lines appear in the demo's output, in order
        assert line in printed[position:], f"the demo no longer prints {line!r}"
        position = printed.index(line, position) + 1
    assert (tmp_path / "dora-demo-report.html").exists()


def test_the_real_workflow_and_the_own_organisation_steps_run_on_demo_serve(tmp_path):
    env = shell_env(tmp_path)
    serve = subprocess.Popen(
        ["bash", "-c", f"exec {block(SERVE)}"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        for line in serve.stdout:  # it says when it is up
            if "Ctrl-C stops both" in line:
                break
        else:
            pytest.fail(f"demo --serve ended: {serve.communicate()[1][-2000:]}")
        workflow = sh(block(WORKFLOW), tmp_path, env)
        assert workflow.returncode == 0, workflow.stderr
        assert (tmp_path / "report.html").exists()
        psql_rows = [line for line in workflow.stdout.splitlines() if re.match(r"^ \w+ +\| \d{4}-\d\d-\d\d \|", line)]
        assert len(psql_rows) == 4, workflow.stdout
        read_api(tmp_path, env)
        own_org(tmp_path, env)
    finally:
        serve.send_signal(signal.SIGINT)
        serve.communicate(timeout=60)
    assert serve.returncode == 130
    assert not (tmp_path / "dora-demo.env").exists()


def read_api(tmp_path: Path, env: dict[str, str]) -> None:
    """The read API block, on a free port rather than 8080 (which may be taken on this machine)."""
    assert block(API).count("8080") == 5  # serve --port and four curls
    script = block(API).replace("8080", str(free_port()))
    result = sh("\n".join([". ./dora-demo.env", script]), tmp_path, env)
    assert result.returncode == 0, result.stderr
    banner, answers = result.stdout.split("\n", 1)  # curl adds no line breaks: the answers follow each other
    assert banner.startswith("serving the API at http://127.0.0.1:")
    teams, end = json.JSONDecoder().raw_decode(answers)
    velocity, end = json.JSONDecoder().raw_decode(answers, end)
    lead_time, refused = answers[end:].split('{"type"', 1)
    assert [t["name"] for t in teams["teams"]] == ["data", "mobile", "payments", "platform"]
    assert velocity["team"]["name"] == "platform" and len(velocity["weeks"]) == 12
    assert lead_time.startswith("team_id,team_name,month,prs_merged,median_lead_time_hours")
    assert json.JSONDecoder().raw_decode('{"type"' + refused)[0]["status"] == 401


def own_org(tmp_path: Path, env: dict[str, str]) -> None:
    """The own-organisation block with the demo's servers standing in for the placeholders."""
    steps = [line for line in block(OWN_ORG).splitlines() if not line.startswith("export ")]
    assert steps and all(line.startswith(("dora-collector ", "cp ")) for line in steps)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    result = sh("\n".join([". ./dora-demo.env", *steps]), tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert "synced 4 teams" in result.stdout  # examples/teams.json's four teams
    exported = dict(
        line.removeprefix("export ").split("=", 1) for line in (tmp_path / "dora-demo.env").read_text().splitlines()
    )
    with psycopg.connect(exported["DATABASE_URL"].strip("'")) as conn:
        weeks = conn.execute(block("", "sql")).fetchall()
    assert weeks, "the README's SQL example found no week for the platform team of examples/teams.json"
