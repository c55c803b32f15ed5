"""``dora-collector run`` as a GitHub App installation: the App's settings instead of GITHUB_TOKEN (issue 9)."""

import os

import pytest

from tests.app_keys import APP_ID, INSTALLATION_ID, app_key
from tests.e2e.test_cli import cli, populate
from tests.helpers import rows, snapshot


@pytest.fixture
def app_env(engine, fake_github):
    fake_github.tokens.clear()  # only installation tokens open the API
    fake_github.add_app(APP_ID, app_key().public_pem, INSTALLATION_ID)
    values = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DATABASE_", "REPOSITORIES"))}
    values.update(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        GITHUB_APP_ID=APP_ID,
        GITHUB_APP_INSTALLATION_ID=str(INSTALLATION_ID),
        GITHUB_APP_PRIVATE_KEY=app_key().private_pem,
        GITHUB_API_URL=fake_github.base_url,
        REPOSITORIES="acme/api,acme/web",
        MAX_WORKERS="2",
    )
    return values


def assert_no_secret_in(output, fake):
    for secret in [*app_key().body_lines, *(m.token for m in fake.minted)]:
        assert secret not in output


def test_a_run_as_an_app_installation(app_env, fake_github, engine):
    populate(fake_github)
    result = cli("run", env=app_env)
    assert result.returncode == 0, result.stderr
    assert "6 PRs collected from 2 repositories" in result.stdout and result.stdout.endswith("succeeded.\n")
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(6,)]
    assert len(fake_github.minted) == 1
    assert_no_secret_in(result.stdout + result.stderr, fake_github)


def test_a_wrong_app_id_is_one_clear_line_and_changes_nothing(app_env, fake_github, engine):
    populate(fake_github)
    before = snapshot(engine)
    result = cli("run", env={**app_env, "GITHUB_APP_ID": "4243"})
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "dora-collector: error: GitHub rejected the GitHub App's JWT (401 A JSON web token could not be decoded): "
        "check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"
    )
    assert snapshot(engine) == before
    assert_no_secret_in(result.stdout + result.stderr, fake_github)


def test_a_key_that_does_not_load_exits_2_in_one_line_before_anything_is_asked(app_env, fake_github):
    broken = app_key().private_pem[: len(app_key().private_pem) // 2]
    result = cli("run", env={**app_env, "GITHUB_APP_PRIVATE_KEY": broken})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dora-collector: error: GITHUB_APP_PRIVATE_KEY does not load as a PEM private key; check it was copied whole"
    ]
    assert fake_github.requests == []
    assert_no_secret_in(result.stdout + result.stderr, fake_github)


def test_a_token_and_an_app_together_exit_2(app_env, fake_github):
    result = cli("run", env={**app_env, "GITHUB_TOKEN": "ghp_also"})
    assert result.returncode == 2
    assert "both GITHUB_TOKEN and a GitHub App" in result.stderr and "ghp_also" not in result.stderr
