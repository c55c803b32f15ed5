"""Every input ends in exit 0 or one clear line and exit 2: never a traceback, never a secret (issue "The first hour").

Properties (hypothesis) over environments, teams files and arguments, driven through the real entry point,
``main(argv, environ)``, and once through a real process. A URL that passes validation points at a closed local
port or at the test database, so nothing waits and nothing outside the tests is reached.
"""

import io
import json
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import make_url

from collector.cli import main
from tests.strategies import (
    CLOSED_PORT,
    closed_database_urls,
    environments,
    hostile,
    instants,
    teams_files,
    tokens,
)

ERROR = "dora-collector: error: "
TEAMS = json.dumps(
    {"teams": [{"name": "platform", "members": [{"github_username": "alice", "joined_at": "2024-01-01"}]}]}
)


def invoke(argv, environ):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv, environ)
    return code, out.getvalue(), err.getvalue()


def assert_clear(code, out, err, secrets=()):
    """Exit 0, or exit 2 with one line on stderr; JSON log lines may come first. No secret anywhere."""
    assert "Traceback" not in out + err
    for secret in secrets:
        assert secret not in out + err
    lines = err.splitlines()
    plain = [line for line in lines if not line.startswith("{")]
    for line in lines:
        if line.startswith("{"):
            json.loads(line)
    # `pytest --hypothesis-show-statistics` shows which outcomes the examples reached.
    said = re.sub(r"/\S*/", ".../", (plain[-1] if plain else out)[len(ERROR) if code else 0 :])
    event(f"exit {code}: {said[:50]}")
    if code == 0:
        assert plain == [], err
        return
    assert code == 2, (code, err)
    assert out == "" and err.endswith("\n")
    assert plain == [lines[-1]] and lines[-1].startswith(ERROR), err
    assert len(lines[-1]) < 2000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "teams.json").write_text(TEAMS)
    return folder


@st.composite
def working_database_urls(draw, url):
    """The test database's URL, spelled as providers and guides spell it."""
    parsed = make_url(url)
    scheme = draw(st.sampled_from(["postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "POSTGRES"]))
    query = draw(st.sampled_from([{}, {"sslmode": "prefer"}, {"sslmode": "disable"}, {"connect_timeout": "10"}]))
    spelled = parsed.update_query_dict(query).render_as_string(hide_password=False)
    spelled = scheme + spelled[spelled.index("://") :]
    return spelled, parsed.password or ""


def database_urls(url, *, working):
    """URLs that fail validation or point at the closed port, and, where ``working``, the test database."""
    closed = closed_database_urls()
    return st.one_of(closed, working_database_urls(url)) if working else closed


COMMANDS = {
    "migrate": lambda files: ["migrate"],
    "teams sync": lambda files: ["teams", "sync", "--file", str(files / "teams.json")],
    "report": lambda files: ["report", "--out", str(files / "report.html")],
    # run never gets the test database: it would go on to GitHub, and that is what the other e2e tests drive.
    "run": lambda files: ["run"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_environment_ends_in_exit_0_or_one_clear_line(command, data, files, database_url):
    urls = database_urls(database_url, working=command != "run")
    environ, secrets = data.draw(environments(urls, teams_file=str(files / "teams.json")))
    code, out, err = invoke(COMMANDS[command](files), environ)
    assert_clear(code, out, err, secrets)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=25)
@given(data=st.data())
def test_any_spelling_of_a_working_database_url_migrates(data, database_url):
    """Regression: postgres:// (Heroku, Render, Supabase) ended in NoSuchModuleError."""
    url, _ = data.draw(working_database_urls(database_url))
    code, out, err = invoke(["migrate"], {"DATABASE_URL": url})
    assert code == 0, err
    assert out.startswith("database at revision")


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_teams_file_ends_in_exit_0_or_one_clear_line(data, files, database_url):
    saved = files / "generated.json"
    saved.write_bytes(data.draw(teams_files()))
    code, out, err = invoke(["teams", "sync", "--file", str(saved)], {"DATABASE_URL": database_url})
    assert_clear(code, out, err)
    if code == 0:
        assert out.startswith("synced ")


def arguments(files):
    """Argument lists as people type them, and as nobody should: any option value, stray words, a NUL."""
    paths = st.one_of(
        st.sampled_from(["teams.json", "missing.json", "", ".", "..", "\x00", "a\x00b"]),
        st.text(st.characters(exclude_characters="/\x00"), max_size=12),
    ).map(lambda name: str(files / name) if name and "\x00" not in name else name)
    since = st.one_of(instants, hostile)
    options = {
        "migrate": st.just([]),
        "teams": st.builds(lambda path: ["sync", "--file", path], paths) | st.just([]) | st.just(["sync"]),
        "run": st.one_of(st.just([]), since.map(lambda value: ["--since", value])),
        "report": st.builds(
            lambda team, weeks, out: [*team, *weeks, *out],
            st.one_of(st.just([]), hostile.map(lambda value: ["--team", value])),
            st.one_of(st.just([]), st.one_of(st.integers(-5, 600).map(str), hostile).map(lambda v: ["--weeks", v])),
            st.one_of(st.just([]), paths.map(lambda value: ["--out", value])),
        ),
    }
    command = st.sampled_from([*options, "collect", "", "--verbose"])
    stray = st.lists(st.one_of(hostile, st.sampled_from(["--help", "-h", "--version", "--since", "--"])), max_size=2)
    return command.flatmap(
        lambda name: st.builds(lambda rest, extra: [name, *rest, *extra], options.get(name, st.just([])), stray)
    )


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_arguments_end_in_exit_0_or_one_clear_line(data, files):
    argv = data.draw(arguments(files))
    token = data.draw(tokens)
    environ = {"DATABASE_URL": f"postgresql://dora:pw-hunter2@127.0.0.1:{CLOSED_PORT}/dora", "GITHUB_TOKEN": token,
               "REPOSITORIES": "acme/api"}  # fmt: skip
    code, out, err = invoke(argv, environ)
    assert_clear(code, out, err, [token, "pw-hunter2"])


@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
@given(
    command=st.sampled_from([["migrate"], ["run"], ["report", "--weeks", "4"], ["teams", "sync", "--file", "-"]]),
    drawn=environments(closed_database_urls()),
)
def test_no_traceback_reaches_the_stderr_of_a_real_process(command, drawn, files):
    environ, secrets = drawn
    environ = {name: value for name, value in environ.items() if can_be_in_a_process_environment(value)}
    base = {name: value for name, value in os.environ.items() if name in ("PATH", "PYTHONPATH", "HOME", "LANG")}
    result = subprocess.run(
        [sys.executable, "-m", "collector", *command], env={**base, **environ}, cwd=files,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert_clear(result.returncode, result.stdout, result.stderr, secrets)


def can_be_in_a_process_environment(value):
    """No NUL, and a lone surrogate only as an undecodable byte (what os.environ makes of one)."""
    try:
        return "\x00" not in value and bool(os.fsencode(value) or True)
    except UnicodeEncodeError:
        return False
