"""template.yaml's webhook resources (EnableWebhooks=true), expanded by aws-sam-translator and linted by cfn-lint:
switched off by default, answering within GitHub's 10 s, least privilege throughout."""

import json
import re
from pathlib import Path

import pytest

from collector import errors
from tests.sam import lint, source, translate

ROOT = Path(__file__).parents[2]
OWN_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dora-webhook-AbCdEf"
ON = {"EnableWebhooks": "true"}
ON_EVERYTHING = {**ON, "WebhookSecretArn": OWN_SECRET, "EnableScaleOut": "true", "SubnetIds": "subnet-1,subnet-2",
                 "SecurityGroupIds": "sg-1"}  # fmt: skip
WEBHOOK_SECRET = {"Fn::If": ["HasWebhookSecretArn", {"Ref": "WebhookSecretArn"}, {"Ref": "WebhookSecret"}]}
GITHUB_TIMEOUT_SECONDS = 10


@pytest.fixture(scope="module")
def on():
    return translate(ON)["Resources"]


def statements(resources, role):
    return [s for p in resources[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize("parameters", [ON, ON_EVERYTHING], ids=["generated-secret", "own-secret-scale-out-vpc"])
def test_the_expanded_template_with_webhooks_passes_cfn_lint(parameters):
    assert lint(translate(parameters)) == []


def test_webhooks_are_off_by_default_so_existing_stacks_are_unchanged():
    template = source()
    assert template["Parameters"]["EnableWebhooks"]["Default"] == "false"
    assert template["Conditions"]["Webhooks"] == {"Fn::Equals": [{"Ref": "EnableWebhooks"}, "true"]}
    webhook = {name: r for name, r in template["Resources"].items() if name.startswith("Webhook")}
    assert webhook and {r.get("Condition") for r in webhook.values()} <= {"Webhooks", "GeneratesWebhookSecret"}
    assert template["Outputs"]["WebhookUrl"]["Condition"] == "Webhooks"
    # Nothing that exists without webhooks refers to them.
    others = json.dumps({name: r for name, r in template["Resources"].items() if name not in webhook})
    assert not re.search(r'"Webhook\w*"|\$\{Webhook', others)


def test_the_route_is_post_webhooks_github_on_an_http_api_of_its_own(on):
    assert on["WebhookApi"]["Properties"]["ProtocolType"] == "HTTP"
    route = on["WebhookRoute"]["Properties"]
    assert route["RouteKey"] == "POST /webhooks/github" and route["ApiId"] == {"Ref": "WebhookApi"}
    assert route["Target"] == {"Fn::Sub": "integrations/${WebhookIntegration}"}
    integration = on["WebhookIntegration"]["Properties"]
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["WebhookFunction", "Arn"]}
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert [n for n, r in on.items() if r["Type"] == "AWS::ApiGatewayV2::Route"] == ["WebhookRoute"]


def test_github_gets_an_answer_within_its_10_seconds(on):
    function = on["WebhookFunction"]["Properties"]
    integration = on["WebhookIntegration"]["Properties"]
    # The function is stopped first, then the integration: GitHub always hears an answer before it gives up.
    assert function["Timeout"] * 1000 < integration["TimeoutInMillis"] < GITHUB_TIMEOUT_SECONDS * 1000
    assert function["Handler"] == "collector.webhook_handler.receive"


def test_only_that_route_may_invoke_the_function(on):
    permission = on["WebhookApiPermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "WebhookFunction"}
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"]["Fn::Sub"].endswith(":${WebhookApi}/*/POST/webhooks/github")


def test_the_stage_throttles_and_logs_access(on):
    stage = on["WebhookStage"]["Properties"]
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["WebhookApiLogGroup", "Arn"]}
    json.loads(stage["AccessLogSettings"]["Format"])  # one JSON line per request


def test_the_webhook_function_may_read_its_secret_and_send_to_its_queue_and_nothing_else(on):
    assert statements(on, "WebhookRole") == [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": {"Fn::GetAtt": ["WebhookLogGroup", "Arn"]}},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": WEBHOOK_SECRET},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["WebhookQueue", "Arn"]}},
    ]  # fmt: skip
    assert "ManagedPolicyArns" not in on["WebhookRole"]["Properties"]
    function = on["WebhookFunction"]["Properties"]
    # No VPC: the public endpoint has no network path to the database, and needs no NAT.
    assert function["VpcConfig"] == {"Ref": "AWS::NoValue"}
    assert function["Role"] == {"Fn::GetAtt": ["WebhookRole", "Arn"]}
    assert function["Environment"]["Variables"]["WEBHOOK_SECRET_ARN"] == WEBHOOK_SECRET
    assert function["Environment"]["Variables"]["WEBHOOK_QUEUE_URL"] == {"Ref": "WebhookQueue"}
    assert function["ReservedConcurrentExecutions"] >= 1


def test_the_secret_is_generated_unless_one_is_named():
    template = source()
    conditions = template["Conditions"]
    assert conditions["HasWebhookSecretArn"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebhookSecretArn"}, ""]}]}
    unnamed = {"Fn::Not": [{"Condition": "HasWebhookSecretArn"}]}
    assert conditions["GeneratesWebhookSecret"] == {"Fn::And": [{"Condition": "Webhooks"}, unnamed]}
    generated = template["Resources"]["WebhookSecret"]
    assert generated["Condition"] == "GeneratesWebhookSecret"
    assert generated["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert template["Outputs"]["WebhookSecretArn"]["Value"] == WEBHOOK_SECRET


def test_the_collector_of_webhook_requests_reads_the_queue_and_the_collectors_secrets_only(on):
    assert statements(on, "WebhookCollectorRole") == [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": {"Fn::GetAtt": ["WebhookCollectorLogGroup", "Arn"]}},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": [{"Ref": "GitHubTokenSecretArn"}, {"Ref": "DatabaseSecretArn"}]},
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
         "Resource": {"Fn::GetAtt": ["WebhookQueue", "Arn"]}},
        # Busy repositories' requests go back on the queue, delayed (collector/webhook_handler.py).
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["WebhookQueue", "Arn"]}},
    ]  # fmt: skip
    assert on["WebhookCollectorFunction"]["Properties"]["Environment"]["Variables"]["WEBHOOK_QUEUE_URL"] == {
        "Ref": "WebhookQueue"
    }
    managed = on["WebhookCollectorRole"]["Properties"]["ManagedPolicyArns"]
    assert managed["Fn::If"][0] == "HasVpc" and managed["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    function = on["WebhookCollectorFunction"]["Properties"]
    assert function["Handler"] == "collector.webhook_handler.collect"
    assert function["VpcConfig"]["Fn::If"][0] == "HasVpc"  # the database's network, as the collector's
    assert "SchemaMigration" in on["WebhookCollectorFunction"]["DependsOn"]


def test_the_queue_gathers_bursts_retries_busy_repositories_and_parks_what_keeps_failing(on):
    queue = on["WebhookQueue"]["Properties"]
    consumer = on["WebhookCollectorFunction"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert 0 < queue["DelaySeconds"] <= 60
    assert queue["VisibilityTimeout"] >= 6 * consumer["Timeout"]  # Lambda's advice for SQS event sources
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 5}  # fmt: skip
    # The dead-letter queue keeps a message longer than the queue did (its age carries over).
    assert on["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    (mapping,) = [r["Properties"] for r in on.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["MaximumBatchingWindowInSeconds"] > 0
    assert mapping["ScalingConfig"]["MaximumConcurrency"] <= consumer["ReservedConcurrentExecutions"]


def test_failing_deliveries_and_parked_requests_alarm(on):
    alarm = on["WebhookErrorsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert alarm["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "WebhookApi"}}]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    dead = on["DeadLetterAlarm"]["Properties"]["Dimensions"]
    assert dead == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]


def test_the_teams_sync_waits_for_a_webhooks_collection_rather_than_failing():
    definition = source()["Resources"]["ShardStateMachine"]["Properties"]["Definition"]
    (busy,) = [r for r in definition["States"]["SyncTeams"]["Retry"] if r["ErrorEquals"] == ["LockTakenError"]]
    assert issubclass(getattr(errors, busy["ErrorEquals"][0]), errors.DatabaseError)  # Lambda's errorType
    waited = sum(busy["IntervalSeconds"] * busy["BackoffRate"] ** n for n in range(busy["MaxAttempts"]))
    assert waited > 2 * source()["Resources"]["WebhookCollectorFunction"]["Properties"]["Timeout"]


def test_every_function_built_by_the_makefile_has_its_target():
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    (targets,) = re.findall(r"^(build-[^:\n]+):", makefile, re.MULTILINE)
    resources = source()["Resources"].items()
    built = {name for name, r in resources if r.get("Metadata", {}).get("BuildMethod") == "makefile"}
    assert {f"build-{name}" for name in built} == set(targets.split())


def test_ci_checks_the_webhook_resources_with_checkov():
    # checkov resolves Conditions with the defaults: the second pass must switch the webhooks on.
    ci = (ROOT / ".ci" / "run").read_text()
    assert """'/^  EnableWebhooks:$/,/Default:/ s/Default: "false"/Default: "true"/'""" in ci
