"""The Lambda handler in-process: real scheduled-event payload, fake Lambda context, local Secrets
Manager (moto's server over HTTP), the fake GitHub and a real PostgreSQL."""

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest
from sqlalchemy import make_url, text

from collector import deploy, handler
from collector.config import SecretsManagerCache
from collector.errors import ConfigError, DatabaseError, RunFailedError
from collector.migrate import head_revision
from tests.conftest import create_database, drop_database
from tests.helpers import member, merged_pull, moto_server, rows, snapshot, team_doc, write_json

EVENTS = Path(__file__).parents[2] / "events"
SCHEDULED = json.loads((EVENTS / "scheduled.json").read_text())
DB_PASSWORD = "db-Pa55word-never-logged"
TOKEN = "ghp_lambdaSecretToken42"
RECENT = datetime.now(UTC) - timedelta(days=3)
SESSION_TOKEN = "IQoJb3JpZ2luX2VjSessionTokenNeverLogged"
SECRET_ACCESS_KEY = "aws-Secret-Access-Key-never-logged"


class FakeContext:
    def __init__(self, remaining_seconds=900.0):
        self.aws_request_id = f"req-{uuid.uuid4()}"
        self.function_name = "dora-collector"
        self._remaining_ms = int(remaining_seconds * 1000)

    def get_remaining_time_in_millis(self):
        return self._remaining_ms


@pytest.fixture(scope="module")
def secrets_endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(secrets_endpoint, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": secrets_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    # A fresh container: nothing cached from another test.
    monkeypatch.setattr(handler, "SECRETS", SecretsManagerCache())
    engines = {}
    monkeypatch.setattr(handler, "ENGINES", engines)
    monkeypatch.setattr(deploy, "SECRETS", SecretsManagerCache())
    yield boto3.client("secretsmanager", endpoint_url=secrets_endpoint)
    for engine in engines.values():
        engine.dispose()


def rds_secret_for(database_url):
    """An RDS-style credentials secret pointing at the test database."""
    url = make_url(database_url)
    host = url.host or url.query["host"]
    return json.dumps(
        {"engine": "postgres", "username": url.username or "postgres", "password": DB_PASSWORD,
         "host": host, "port": url.port or 5432, "dbname": url.database}
    )  # fmt: skip


@pytest.fixture
def lambda_env(aws, engine, fake_github, tmp_path, monkeypatch):
    fake_github.tokens.add(TOKEN)
    suffix = uuid.uuid4().hex[:8]
    token_arn = aws.create_secret(Name=f"github-{suffix}", SecretString=TOKEN)["ARN"]
    db_arn = aws.create_secret(Name=f"db-{suffix}", SecretString=rds_secret_for(engine.url.render_as_string(False)))[
        "ARN"
    ]
    teams = write_json(tmp_path / "teams.json", team_doc(("platform", [member("alice")]), ("data", [member("bob")])))
    for name in ("GITHUB_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    values = {
        "GITHUB_TOKEN_SECRET_ARN": token_arn,
        "DATABASE_URL_SECRET_ARN": db_arn,
        "GITHUB_API_URL": fake_github.base_url,
        "REPOSITORIES": "acme/api,acme/web",
        "TEAMS_FILE": str(teams),
        "MAX_WORKERS": "2",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for repo in ("acme/api", "acme/web"):
        fake_github.add_repo(repo)
        for n in range(1, 131):
            fake_github.add_pull(
                repo, merged_pull(n, "alice" if n % 2 else "bob", merged=RECENT - timedelta(minutes=n))
            )
    return {"token_arn": token_arn, "db_arn": db_arn}


def emf_lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"')]


def test_scheduled_event_runs_collection_and_publishes_embedded_metrics(lambda_env, engine, fake_github, capsys):
    context = FakeContext()
    response = handler.handler(SCHEDULED, context)
    assert response["status"] == "success" and response["prs_seen"] == 260
    assert rows(engine, "SELECT count(*) FROM pr_metrics") == [(260,)]
    captured = capsys.readouterr()
    (emf,) = emf_lines(captured.out)
    namespace = emf["_aws"]["CloudWatchMetrics"][0]
    assert namespace["Namespace"] == "DoraCollector"
    names = {m["Name"] for m in namespace["Metrics"]}
    assert names >= {"PRsSeen", "RowsWritten", "GitHubRequests", "RateLimitRemaining", "RepositoriesFailed",
                     "DurationSeconds"}  # fmt: skip
    assert emf["PRsSeen"] == [260.0] and emf["GitHubRequests"] == [4.0] and emf["RepositoriesFailed"] == [0.0]
    assert emf["RateLimitRemaining"] == [float(fake_github.rate_remaining)]
    assert emf["run_id"] == response["run_id"]
    logs = [json.loads(line) for line in captured.err.splitlines()]
    run_logs = [line for line in logs if line.get("run_id")]
    assert run_logs and all(line["aws_request_id"] == context.aws_request_id for line in run_logs)
    assert TOKEN not in captured.out + captured.err and DB_PASSWORD not in captured.out + captured.err


def test_secrets_are_fetched_once_per_container_and_cached(lambda_env, aws, engine, capsys, monkeypatch):
    handler.handler(SCHEDULED, FakeContext())
    aws.delete_secret(SecretId=lambda_env["token_arn"], ForceDeleteWithoutRecovery=True)
    assert handler.handler(SCHEDULED, FakeContext())["status"] == "success"  # served from the cache
    monkeypatch.setattr(handler, "SECRETS", SecretsManagerCache(ttl_seconds=0))  # a cold container
    with pytest.raises(ConfigError, match=r"cannot read secret .*ResourceNotFoundException"):
        handler.handler(SCHEDULED, FakeContext())


@pytest.fixture
def fresh_library_loggers():
    """Library loggers as a new container has them, with no level of their own (an earlier test may have set one)."""
    loggers = [logging.getLogger(name) for name in ("boto3", "botocore", "urllib3")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.NOTSET)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def test_debug_logs_of_a_warm_container_carry_no_secret(lambda_env, fresh_library_loggers, caplog, capsys, monkeypatch):
    """Issue 9: at LOG_LEVEL=DEBUG, once the secrets' TTL lapsed, botocore logged GetSecretValue's answer and
    the session token: the root logger stayed at DEBUG from the last invocation. Third-party loggers never
    reach our handler at DEBUG, whatever LOG_LEVEL says."""
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setattr(handler, "SECRETS", SecretsManagerCache(ttl_seconds=0))  # expired on every invocation
    caplog.handler.setLevel(logging.DEBUG)  # sees every record that reaches the root logger
    fetched = []
    monkeypatch.setattr(SecretsManagerCache, "fetch", _counting(SecretsManagerCache.fetch, fetched))
    for _ in range(2):  # cold, then warm
        assert handler.handler(SCHEDULED, FakeContext())["status"] == "success"
    assert len(fetched) == 4  # both secrets, fetched again by the warm invocation
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
    stderr = capsys.readouterr().err
    for secret in (TOKEN, DB_PASSWORD, SESSION_TOKEN, SECRET_ACCESS_KEY):
        assert secret not in caplog.text and secret not in stderr
    lines = [json.loads(line) for line in stderr.splitlines()]
    assert lines and all(line["level"] != "DEBUG" or line["logger"].startswith("collector") for line in lines)


def _counting(fetch, calls):
    def counted(self, arn):
        calls.append(arn)
        return fetch(self, arn)

    return counted


class LambdaRuntimeHandler(logging.Handler):
    """Stands for the plain handler Lambda's Python runtime puts on the root logger before our code runs."""

    __module__ = "awslambdaric.bootstrap"

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_a_cold_container_configures_logging_before_it_reads_secrets(lambda_env, fresh_library_loggers, monkeypatch):
    """Issue 9: secrets were fetched before our logging was in place, through the runtime's handler at the
    runtime's level (AWS_LAMBDA_LOG_LEVEL=DEBUG sets the root logger to DEBUG)."""
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    runtime = LambdaRuntimeHandler()
    root = logging.getLogger()
    root.addHandler(runtime)
    root.setLevel(logging.DEBUG)
    assert handler.handler(SCHEDULED, FakeContext())["status"] == "success"
    assert runtime not in root.handlers
    assert [record.name for record in runtime.records] == []


def test_a_plain_url_database_secret_works_too(lambda_env, aws, engine, monkeypatch):
    arn = aws.create_secret(Name=f"db-url-{uuid.uuid4().hex[:6]}", SecretString=engine.url.render_as_string(False))[
        "ARN"
    ]
    monkeypatch.setenv("DATABASE_URL_SECRET_ARN", arn)
    assert handler.handler(SCHEDULED, FakeContext())["status"] == "success"


def test_a_shard_event_collects_only_its_repositories(lambda_env, engine, capsys):
    handler.handler({"repositories": ["acme/web"], "sync_teams": True}, FakeContext())
    assert rows(engine, "SELECT DISTINCT repository FROM pull_requests") == [("acme/web",)]
    assert rows(engine, "SELECT trigger, repositories_total FROM collector_runs") == [("shard", 1)]


def test_a_shard_naming_an_unconfigured_repository_is_refused_before_github_is_asked(lambda_env, engine, fake_github):
    """Issue 9: the event chose what the token read."""
    fake_github.add_repo("other/private")
    with pytest.raises(ConfigError, match=r"^shard event: other/private is not in REPOSITORIES$"):
        handler.handler({"repositories": ["acme/api", "other/private"]}, FakeContext())
    assert fake_github.requests == []
    assert rows(engine, "SELECT count(*) FROM collector_runs") == [(0,)]


def test_a_shard_names_repositories_in_any_case(lambda_env, engine):
    handler.handler({"repositories": ["ACME/Web"]}, FakeContext())
    assert rows(engine, "SELECT DISTINCT repository FROM pull_requests") == [("acme/web",)]


def test_a_failed_repository_raises_so_retry_and_dead_letter_queue_apply(lambda_env, capsys, monkeypatch):
    monkeypatch.setenv("REPOSITORIES", "acme/api,acme/missing")
    with pytest.raises(RunFailedError, match="acme/missing: 404"):
        handler.handler(SCHEDULED, FakeContext())
    (emf,) = emf_lines(capsys.readouterr().out)
    assert emf["RepositoriesFailed"] == [1.0]


def test_little_time_left_ends_partial_and_the_next_invocation_completes(lambda_env, engine, fake_github, capsys):
    fake_github.latency = 0.2
    # 20 s is the margin: with 20.05 s left, any first page (0.2 s of latency) ends in the margin,
    # so no repository can finish and no watermark may move.
    response = handler.handler(SCHEDULED, FakeContext(remaining_seconds=20.05))
    assert response["status"] == "partial"
    assert rows(engine, "SELECT count(*) FROM collector_state") == [(0,)]
    assert rows(engine, "SELECT status, repositories_done FROM collector_runs") == [("partial", 0)]
    fake_github.latency = 0
    assert handler.handler(SCHEDULED, FakeContext())["status"] == "success"
    resumed = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE pull_requests, pr_metrics, collector_state"))
    handler.handler(SCHEDULED, FakeContext())
    assert snapshot(engine) == resumed and len(resumed["pull_requests"]) == 260


def test_a_teams_sync_event_syncs_without_github(lambda_env, engine, fake_github):
    assert handler.handler({"action": "teams-sync"}, FakeContext()) == {"teams": 2, "memberships": 2, "repositories": 0}
    assert fake_github.requests == []


def test_a_teams_sync_event_without_a_teams_file_is_skipped(lambda_env, monkeypatch):
    monkeypatch.delenv("TEAMS_FILE")
    assert handler.handler({"action": "teams-sync"}, FakeContext()) == {"skipped": "TEAMS_FILE is not set"}


def test_a_teams_sync_event_refuses_a_schema_that_is_behind(lambda_env, aws, pg_server, monkeypatch):
    """Issue 9: the teams-sync path skipped the schema check the collect path makes."""
    url = create_database(pg_server)
    try:
        monkeypatch.setenv(
            "DATABASE_URL_SECRET_ARN", aws.create_secret(Name=f"db-new-{uuid.uuid4().hex[:6]}", SecretString=url)["ARN"]
        )
        with pytest.raises(DatabaseError, match="run `dora-collector migrate`"):
            handler.handler({"action": "teams-sync"}, FakeContext())
    finally:
        for engine in handler.ENGINES.values():
            engine.dispose()
        handler.ENGINES.clear()
        drop_database(pg_server, url)


def test_a_teams_sync_event_reports_an_unreachable_database_in_one_line(lambda_env, aws, monkeypatch):
    """Issue 9: the teams-sync path raised the driver's exception, not a one-line error."""
    unreachable = f"postgresql://dora:{DB_PASSWORD}@127.0.0.1:9/dora"
    monkeypatch.setenv(
        "DATABASE_URL_SECRET_ARN",
        aws.create_secret(Name=f"db-gone-{uuid.uuid4().hex[:6]}", SecretString=unreachable)["ARN"],
    )
    with pytest.raises(DatabaseError, match=r"^teams sync: ") as raised:
        handler.handler({"action": "teams-sync"}, FakeContext())
    message = str(raised.value)
    assert "\n" not in message and DB_PASSWORD not in message and raised.value.__cause__ is None


def test_the_collector_refuses_a_schema_that_is_behind(lambda_env, aws, pg_server, monkeypatch):
    url = create_database(pg_server)
    try:
        arn = aws.create_secret(Name=f"db-new-{uuid.uuid4().hex[:6]}", SecretString=url)["ARN"]
        monkeypatch.setenv("DATABASE_URL_SECRET_ARN", arn)
        with pytest.raises(DatabaseError, match="run `dora-collector migrate`"):
            handler.handler(SCHEDULED, FakeContext())
    finally:
        for engine in handler.ENGINES.values():
            engine.dispose()
        handler.ENGINES.clear()
        drop_database(pg_server, url)


# ------------------------------------------------------------------ the migrate custom resource


class _Capture(BaseHTTPRequestHandler):
    bodies: list

    def do_PUT(self):
        self.bodies.append(
            (self.headers.get("Content-Type"), json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        return


@pytest.fixture
def cloudformation():
    bodies = []
    server = HTTPServer(("127.0.0.1", 0), type("Capture", (_Capture,), {"bodies": bodies}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/presigned", bodies
    server.shutdown()
    server.server_close()


def custom_resource_event(response_url, request_type="Create"):
    return {
        "RequestType": request_type, "ResponseURL": response_url, "StackId": "arn:aws:cloudformation:stack/x",
        "RequestId": "r1", "LogicalResourceId": "SchemaMigration", "ResourceType": "Custom::SchemaMigration",
        "ResourceProperties": {"MigrationsVersion": "0001"},
    }  # fmt: skip


def test_migrate_custom_resource_migrates_and_answers_cloudformation(aws, pg_server, cloudformation, monkeypatch):
    response_url, bodies = cloudformation
    url = create_database(pg_server)
    try:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.setenv(
            "DATABASE_URL_SECRET_ARN", aws.create_secret(Name=f"m-{uuid.uuid4().hex[:6]}", SecretString=url)["ARN"]
        )
        deploy.migrate_handler(custom_resource_event(response_url), FakeContext())
        ((content_type, body),) = bodies
        assert content_type == "" and body["Status"] == "SUCCESS"
        assert body["Data"] == {"Revision": head_revision()} and body["PhysicalResourceId"] == deploy.PHYSICAL_ID
    finally:
        drop_database(pg_server, url)


def test_migrate_custom_resource_reports_failure_without_secrets(aws, cloudformation, monkeypatch):
    response_url, bodies = cloudformation
    monkeypatch.delenv("DATABASE_URL_SECRET_ARN", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://dora:{DB_PASSWORD}@127.0.0.1:9/dora")
    deploy.migrate_handler(custom_resource_event(response_url, "Update"), FakeContext())
    ((_, body),) = bodies
    assert body["Status"] == "FAILED" and body["Reason"].startswith("migrate: ")
    assert DB_PASSWORD not in json.dumps(body)


def test_deleting_the_stack_leaves_the_database_alone(aws, cloudformation, monkeypatch):
    response_url, bodies = cloudformation
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    deploy.migrate_handler(custom_resource_event(response_url, "Delete"), FakeContext())
    assert bodies[0][1]["Status"] == "SUCCESS"


def test_a_run_stopped_by_the_rate_limit_budget_tells_the_state_machine_how_long_to_wait(lambda_env, fake_github):
    fake_github.rate_limit, fake_github.rate_remaining = 100, 12  # two requests above the 10 % reserve
    response = handler.handler(SCHEDULED, FakeContext())
    assert response["status"] == "partial"
    expected = fake_github.rate_reset - time.time()
    assert expected - 5 <= response["wait_seconds"] <= expected + 5


def test_a_run_stopped_by_the_deadline_is_continued_at_once(lambda_env, fake_github):
    fake_github.latency = 0.2
    response = handler.handler(SCHEDULED, FakeContext(remaining_seconds=20.05))
    assert (response["status"], response["wait_seconds"]) == ("partial", 0)


def test_a_shard_event_with_an_earlier_since_extends_the_stored_history(lambda_env, engine):
    def shard(minutes):  # the PRs were merged 1 to 130 minutes before RECENT
        since = (RECENT - timedelta(minutes=minutes)).isoformat()
        return handler.handler({"repositories": ["acme/api"], "since": since, "sync_teams": True}, FakeContext())

    assert shard(40)["status"] == "success"
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(40,)]
    assert shard(100)["status"] == "success"
    assert rows(engine, "SELECT count(*), max(number) FROM pull_requests") == [(100, 100)]
