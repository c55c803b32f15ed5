"""``dora-collector api-keys`` and ``dora-collector serve`` as users run them: subprocesses, one-line errors, Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from sqlalchemy import make_url

from tests.e2e.test_cli import cli
from tests.helpers import member, rows, sync, team_doc
from tests.integration.test_api_role import login


@pytest.fixture
def env(engine):
    values = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DATABASE_", "LOG_"))}
    values["DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    return values


def test_create_prints_the_key_once_list_never_shows_it_revoke_refuses_it(env, engine):
    created = cli("api-keys", "create", "grafana-portal", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout == key + "\n" and key.startswith("dora_") and len(key) == 65  # stdout: the key alone
    assert created.stderr == "API key 'grafana-portal' created; it is shown this once, on stdout:\n"
    listed = cli("api-keys", "list", env=env)
    assert listed.returncode == 0 and key.split("_", 2)[2] not in listed.stdout and key not in listed.stdout
    header, line = listed.stdout.splitlines()
    assert header.split() == ["NAME", "CREATED", "LAST", "USED", "REVOKED"]
    assert line.startswith("grafana-portal  ") and line.endswith(" UTC  never      -")
    revoked = cli("api-keys", "revoke", "grafana-portal", env=env)
    assert revoked.stdout == "API key 'grafana-portal' revoked: requests with it get 401 from now on\n"
    assert rows(engine, "SELECT revoked_at IS NOT NULL FROM api_keys") == [(True,)]
    assert cli("api-keys", "create", "grafana-portal", env=env).returncode == 0  # the name is free again


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revoke", "nobody"], "no live API key is named 'nobody' (dora-collector api-keys list shows them)"),
        (["create", "taken"], "an API key named 'taken' exists already: revoke it first, or choose another name"),
    ],
    ids=["revoke-unknown", "create-taken"],
)
def test_a_mistake_is_one_line_and_exit_2(env, args, message):
    assert cli("api-keys", "create", "taken", env=env).returncode == 0
    result = cli("api-keys", *args, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"dora-collector: error: {message}\n")


def test_an_empty_list_says_how_to_make_a_key(env):
    assert cli("api-keys", "list", env=env).stdout == "no API keys yet: dora-collector api-keys create NAME\n"


def start_serving(env):
    process = subprocess.Popen(
        [sys.executable, "-m", "collector", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()
    assert first.startswith("serving the API at http://127.0.0.1:"), first + process.stderr.read()
    return process, first.split()[4]


def get(url, key=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_answers_over_http_and_stops_cleanly(env, engine, stop):
    sync(engine, team_doc(("platform", [member("alice")])))
    key = cli("api-keys", "create", "portal", env=env).stdout.strip()
    process, url = start_serving(env)
    try:
        assert get(f"{url}/teams", key)[1]["teams"][0]["name"] == "platform"
        assert get(f"{url}/teams")[0] == 401
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert out == "API server stopped\n" and "Traceback" not in err
    assert key not in err and key not in out  # not in the access log either
    assert "GET /teams 200" in err


def test_serve_with_a_login_that_cannot_take_the_role_is_one_line(env, engine):
    with login(engine) as url:
        result = cli("serve", "--port", "0", env={**env, "DATABASE_URL": url}, timeout=60)
    name = make_url(url).username
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"dora-collector: error: the login {name} cannot take the role dora_api: as the database's owner, "
        f"GRANT dora_api TO {name}\n"
    )


def test_serve_on_a_port_in_use_is_one_line(env):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port), env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"dora-collector: error: cannot serve on 127.0.0.1:{port}: Address already in use\n"
