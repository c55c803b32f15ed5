"""The Lambda handler as a GitHub App installation, the App's private key in Secrets Manager (issue 9)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from collector import handler
from tests.app_keys import APP_ID, INSTALLATION_ID, app_key
from tests.helpers import merged_pull, rows
from tests.integration.test_lambda import (  # noqa: F401 - fixtures
    SCHEDULED,
    FakeContext,
    aws,
    rds_secret_for,
    secrets_endpoint,
)

RECENT = datetime.now(UTC) - timedelta(days=3)


@pytest.fixture
def app_lambda_env(aws, engine, fake_github, monkeypatch):  # noqa: F811 - the fixture imported above
    fake_github.tokens.clear()
    fake_github.add_app(APP_ID, app_key().public_pem, INSTALLATION_ID)
    suffix = uuid.uuid4().hex[:8]
    key_arn = aws.create_secret(Name=f"github-app-key-{suffix}", SecretString=app_key().private_pem)["ARN"]
    database = rds_secret_for(engine.url.render_as_string(False))
    db_arn = aws.create_secret(Name=f"db-{suffix}", SecretString=database)["ARN"]
    for name in ("GITHUB_TOKEN", "GITHUB_TOKEN_SECRET_ARN", "DATABASE_URL", "GITHUB_APP_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "GITHUB_APP_ID": APP_ID,
        "GITHUB_APP_INSTALLATION_ID": str(INSTALLATION_ID),
        "GITHUB_APP_PRIVATE_KEY_SECRET_ARN": key_arn,
        "DATABASE_URL_SECRET_ARN": db_arn,
        "GITHUB_API_URL": fake_github.base_url,
        "REPOSITORIES": "acme/api,acme/web",
        "MAX_WORKERS": "2",
        "LOG_LEVEL": "DEBUG",
    }.items():
        monkeypatch.setenv(name, value)
    for repo in ("acme/api", "acme/web"):
        fake_github.add_repo(repo)
        for n in range(1, 131):
            fake_github.add_pull(repo, merged_pull(n, merged=RECENT - timedelta(minutes=n)))


def test_a_scheduled_run_authenticates_as_the_app_with_its_key_from_secrets_manager(
    app_lambda_env, engine, fake_github, capsys, caplog
):
    response = handler.handler(SCHEDULED, FakeContext())
    assert response["status"] == "success" and response["prs_seen"] == 260
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(260,)]
    assert len(fake_github.minted) == 1
    gets = [r for r in fake_github.requests if r.method == "GET"]
    assert gets and all(r.authorization == "installation" for r in gets)
    captured = capsys.readouterr()
    shown = captured.out + captured.err + caplog.text
    for secret in [*app_key().body_lines, fake_github.minted[0].token]:
        assert secret not in shown
