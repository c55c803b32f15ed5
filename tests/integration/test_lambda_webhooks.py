"""The webhooks' Lambda functions in-process: the HTTP API's real event shape (events/webhook.json) carrying the
fake GitHub's signed deliveries, moto's SQS and Secrets Manager over HTTP, then the queue's real messages as an
SQS event for the consumer, against the fake GitHub and a real PostgreSQL."""

import base64
import hashlib
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, SQSEvent

from collector import handler, store, webhook_handler, webhooks
from collector.config import SecretsManagerCache
from collector.errors import ConfigError, LockTakenError
from collector.github_api import GitHubClientFactory
from collector.membership import load_organisation
from collector.pipeline import run
from collector.sync import sync_organisation
from tests.helpers import FAST_RETRY, add, member, merged_pull, moto_server, rows, settings_for, team_doc, write_json
from tests.integration.test_four_keys_views import configure
from tests.integration.test_lambda import SCHEDULED, FakeContext, rds_secret_for

EVENT = json.loads((Path(__file__).parents[2] / "events" / "webhook.json").read_text())
SECRET = "lambda-webhook-secret-0123456789"
TOKEN = "ghp_webhookLambdaToken42"


@pytest.fixture(scope="module")
def moto_endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL_SQS": moto_endpoint,
                        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    # Fresh containers: nothing cached from another test.
    monkeypatch.setattr(webhook_handler, "SECRETS", SecretsManagerCache())
    monkeypatch.setattr(webhook_handler, "QUEUES", {})
    monkeypatch.setattr(handler, "SECRETS", SecretsManagerCache())
    engines = {}
    monkeypatch.setattr(handler, "ENGINES", engines)
    yield {"secrets": boto3.client("secretsmanager"), "sqs": boto3.client("sqs")}
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def stack(aws, engine, fake_github, tmp_path, monkeypatch):
    """The stack's environment (as template.yaml sets it) and an organisation collected ten minutes ago, since
    when PR 42 merged in acme/api."""
    suffix = uuid.uuid4().hex[:8]
    secrets, sqs = aws["secrets"], aws["sqs"]
    fake_github.tokens.add(TOKEN)
    queue_url = sqs.create_queue(QueueName=f"webhooks-{suffix}")["QueueUrl"]
    teams = write_json(tmp_path / "teams.json", team_doc(("platform", [member("alice"), member("bob")])))
    for name in ("GITHUB_TOKEN", "DATABASE_URL", "WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    environment = {
        "WEBHOOK_SECRET_ARN": secrets.create_secret(Name=f"hook-{suffix}", SecretString=SECRET)["ARN"],
        "WEBHOOK_QUEUE_URL": queue_url,
        "GITHUB_TOKEN_SECRET_ARN": secrets.create_secret(Name=f"gh-{suffix}", SecretString=TOKEN)["ARN"],
        "DATABASE_URL_SECRET_ARN": secrets.create_secret(
            Name=f"db-{suffix}", SecretString=rds_secret_for(engine.url.render_as_string(False))
        )["ARN"],
        "GITHUB_API_URL": fake_github.base_url,
        "REPOSITORIES": "acme/api,acme/web",
        "TEAMS_FILE": str(teams),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    now = datetime.now(UTC)
    for repo in ("acme/api", "acme/web"):
        add(fake_github, repo, *[merged_pull(n, merged=now - timedelta(days=1, minutes=n)) for n in range(1, 4)])
    sync_organisation(engine, load_organisation(teams))
    settings = settings_for(fake_github, engine, ["acme/api", "acme/web"])
    github = GitHubClientFactory(token="test-token", base_url=fake_github.base_url, policy=FAST_RETRY)
    assert run(settings, github=github, engine=engine, now=now - timedelta(minutes=10)).status == "success"
    fake_github.add_pull("acme/api", merged_pull(42, merged=now - timedelta(minutes=2), title="Café ✓ — fixed"))
    fake_github.clear_log()
    return {"queue_url": queue_url, **aws}


def http_event(headers, body, *, base64_body=False):
    """The HTTP API's event for a delivery, as events/webhook.json has it: headers lower-cased, the body a string."""
    event = json.loads(json.dumps(EVENT))
    event["headers"] = {**{k: v for k, v in event["headers"].items() if not k.startswith("x-")},
                        **{name.lower(): value for name, value in headers.items()},
                        "content-length": str(len(body))}  # fmt: skip
    event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
    event["isBase64Encoded"] = base64_body
    return event


def post(headers, body, **kwargs):
    response = webhook_handler.receive(http_event(headers, body, **kwargs), FakeContext(remaining_seconds=6))
    assert response["headers"] == {"content-type": "application/json"}
    return response["statusCode"], json.loads(response["body"])["message"]


def queued(stack):
    """Every message in the queue now, removed from it, as the SQS event Lambda's event source would send."""
    sqs, messages = stack["sqs"], []
    while batch := sqs.receive_message(QueueUrl=stack["queue_url"], MaxNumberOfMessages=10,
                                       AttributeNames=["All"]).get("Messages", []):  # fmt: skip
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=stack["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    arn = sqs.get_queue_attributes(QueueUrl=stack["queue_url"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                         "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                         "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "eu-west-1"}
                        for m in messages]}  # fmt: skip


def collect(sqs_event):
    return webhook_handler.collect(sqs_event, FakeContext(remaining_seconds=120))


def webhook_runs(engine):
    return rows(engine, "SELECT status, repositories_total FROM collector_runs WHERE trigger = 'webhook'")


def test_the_event_template_is_an_http_api_event_that_sam_local_can_invoke_with_the_example_secret():
    event = APIGatewayProxyEventV2(EVENT)
    assert (event.request_context.http.method, event.raw_path) == ("POST", "/webhooks/github")
    example = json.loads((Path(__file__).parents[2] / "events" / "env.example.json").read_text())["WebhookFunction"]
    assert webhooks.verify(event.body.encode(), event.headers["x-hub-signature-256"], example["WEBHOOK_SECRET"])


def test_a_signed_delivery_is_answered_202_and_queued_once_then_collected_once(stack, engine, fake_github, capsys):
    status, message = post(*fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42))
    assert (status, message) == (202, "collection of acme/api scheduled")
    sqs_event = queued(stack)
    (record,) = SQSEvent(sqs_event).records
    assert webhooks.decode(record.body).repository == "acme/api"

    assert collect(sqs_event) == {"batchItemFailures": []}

    assert webhook_runs(engine) == [("success", 1)]
    assert rows(engine, "SELECT title FROM pr_metrics WHERE pr_number = 42") == [("Café ✓ — fixed",)]
    (emf,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert emf["PRsSeen"] == [1.0]


def test_a_bad_signature_an_unknown_repository_and_a_stale_delivery_queue_nothing(stack, fake_github):
    fake_github.add_repo("acme/secret")
    headers, body = fake_github.webhook("pull_request", "acme/api", secret="guessed-secret-0000000", number=42)
    assert post(headers, body)[0] == 401
    assert post({k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}, body)[0] == 401
    assert post(*fake_github.webhook("release", "acme/secret", secret=SECRET)) == (
        200, "ignored: acme/secret is not in REPOSITORIES",
    )  # fmt: skip
    old = datetime.now(UTC) - timedelta(days=2)
    assert post(*fake_github.webhook("workflow_run", "acme/api", secret=SECRET, at=old))[1].startswith("ignored: stale")
    assert queued(stack) == {"Records": []}


def test_a_replayed_delivery_reaches_the_queue_but_collects_nothing(stack, engine, fake_github):
    delivery = fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42)
    post(*delivery)
    collect(queued(stack))
    fake_github.clear_log()
    headers, body = delivery
    assert post(headers, body)[0] == 202  # GitHub's redelivery: the same id
    assert post({**headers, "X-GitHub-Delivery": str(uuid.uuid4())}, body)[0] == 202  # a replay: any id

    assert collect(queued(stack)) == {"batchItemFailures": []}
    assert webhook_runs(engine) == [("success", 1)] and fake_github.requests == []


def test_the_signature_is_over_the_bytes_github_sent_text_or_base64(stack, fake_github):
    headers, body = fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42)
    assert "Café ✓".encode() in body  # raw UTF-8, as GitHub sends it
    assert post(headers, body)[0] == 202
    assert post(headers, body, base64_body=True)[0] == 202
    assert len(queued(stack)["Records"]) == 2


def test_a_queue_that_cannot_be_reached_fails_the_delivery_so_github_shows_it(stack, fake_github, monkeypatch):
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", stack["queue_url"] + "-gone")
    status, message = post(*fake_github.webhook("release", "acme/api", secret=SECRET))
    assert status == 503 and "could not be scheduled" in message


def test_the_secret_is_read_once_per_container_and_a_missing_one_raises(stack, fake_github, monkeypatch):
    fetched = []
    fetch = SecretsManagerCache.fetch
    monkeypatch.setattr(SecretsManagerCache, "fetch", lambda self, arn: fetched.append(arn) or fetch(self, arn))
    for _ in range(3):
        post(*fake_github.webhook("release", "acme/api", secret=SECRET))
    assert len(fetched) == 1
    monkeypatch.setattr(webhook_handler, "SECRETS", SecretsManagerCache())
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope-AbCdEf")
    # Raised, not answered: the HTTP API answers 500, which WebhookErrorsAlarm counts.
    with pytest.raises(ConfigError, match=r"cannot read secret .*ResourceNotFoundException"):
        post(*fake_github.webhook("release", "acme/api", secret=SECRET))


def test_a_request_whose_repository_another_run_holds_goes_back_on_the_queue_not_to_the_dead_letters(
    stack, engine, fake_github
):
    configure(engine, "acme/web", source="releases")  # a release changes what a run of it reads
    post(*fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42))
    post(*fake_github.webhook("release", "acme/web", secret=SECRET))
    sqs_event = queued(stack)
    with store.run_lock(engine, ["acme/api"]):  # the schedule is collecting it, perhaps for hours
        # Not a failure: a failure uses up one of the redrive's receives and ends in the dead-letter queue.
        assert collect(sqs_event) == {"batchItemFailures": []}
    assert webhook_runs(engine) == [("success", 1)]  # acme/web's
    # A new message, due in 15 minutes, asks again: the same request.
    attributes = stack["sqs"].get_queue_attributes(QueueUrl=stack["queue_url"], AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    assert webhook_handler.BUSY_DELAY_SECONDS == 900


def test_a_busy_request_that_cannot_go_back_on_the_queue_is_reported_for_redelivery(
    stack, engine, fake_github, monkeypatch
):
    post(*fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42))
    sqs_event = queued(stack)
    (record,) = sqs_event["Records"]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", stack["queue_url"] + "-gone")
    with store.run_lock(engine, ["acme/api"]):
        assert collect(sqs_event) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}


def test_a_message_that_is_not_a_request_is_dropped_not_retried(stack, engine):
    sqs_event = {"Records": [{"messageId": "m-1", "body": "{}", "eventSource": "aws:sqs"}]}
    assert collect(sqs_event) == {"batchItemFailures": []}
    assert webhook_runs(engine) == []


def test_a_shard_that_finds_a_repository_held_ends_partial_for_the_state_machine_to_continue(stack, engine):
    with store.run_lock(engine, ["acme/api"]):  # a webhook's collection
        answer = handler.handler({"repositories": ["acme/api", "acme/web"], "sync_teams": False}, FakeContext())
        assert answer == {"run_id": None, "status": "partial", "prs_seen": 0, "wait_seconds": 0}
        # A run invoked by hand still fails, so Lambda's retry and the dead-letter queue apply.
        with pytest.raises(LockTakenError, match="another collector run is collecting acme/api"):
            handler.handler(SCHEDULED, FakeContext())
    assert handler.handler({"repositories": ["acme/api", "acme/web"]}, FakeContext())["status"] == "success"


def test_the_consumer_logs_json_lines_with_the_request_id_and_no_secret(stack, fake_github, capsys):
    post(*fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42))
    context = FakeContext()
    webhook_handler.collect(queued(stack), context)
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines()]
    assert any(line.get("message") == "webhook delivery answered" for line in lines)
    assert any(line.get("aws_request_id") == context.aws_request_id for line in lines)
    for secret in (SECRET, TOKEN, hashlib.sha256(SECRET.encode()).hexdigest()):
        assert secret not in err


def test_the_webhook_function_loads_no_database_or_github_library():
    """Its cold start stays short, inside GitHub's 10 s: the collector's stack is the consumer's alone."""
    heavy = ("sqlalchemy", "psycopg", "github", "alembic", "tenacity", "collector.store", "collector.pipeline")
    probe = f"import sys, collector.webhook_handler; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == "[]\n"
