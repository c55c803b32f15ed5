"""template.yaml, expanded by aws-sam-translator and linted by cfn-lint, then held to the deployment rules."""

import importlib
import json

import pytest

from collector.metrics import NAMESPACE, SERVICE
from collector.migrate import head_revision
from tests.sam import lint, source, translate

WEBHOOK_SECRET = {"Fn::If": ["HasWebhookSecretArn", {"Ref": "WebhookSecretArn"}, {"Ref": "WebhookSecret"}]}
SCALE_OUT_VPC = {"EnableScaleOut": "true", "SubnetIds": "subnet-1,subnet-2", "SecurityGroupIds": "sg-1",
                 "AlarmEmail": "oncall@example.com"}  # fmt: skip
API_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dora-api-db-MnOpQr"
WITH_API = {"ApiDatabaseSecretArn": API_SECRET}


@pytest.fixture(scope="module")
def default():
    return translate()["Resources"]


@pytest.fixture(scope="module")
def scale_out():
    return translate(SCALE_OUT_VPC)["Resources"]


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


@pytest.mark.parametrize(
    "parameters", [{}, SCALE_OUT_VPC, WITH_API, {**SCALE_OUT_VPC, **WITH_API}],
    ids=["default", "scale-out-vpc", "api", "api-scale-out-vpc"],
)  # fmt: skip
def test_expanded_template_passes_cfn_lint(parameters):
    assert lint(translate(parameters)) == []


def test_cfn_lint_catches_a_wrong_runtime_or_architecture():
    template = translate()
    template["Resources"]["CollectorFunction"]["Properties"]["Runtime"] = "python2.7"
    template["Resources"]["MigrateFunction"]["Properties"]["Architectures"] = ["sparc"]
    problems = " ".join(lint(template))
    assert "python2.7" in problems and "sparc" in problems


def test_functions_are_arm64_on_a_current_python(scale_out):
    functions = of_type(scale_out, "AWS::Lambda::Function")
    assert set(functions) == {"CollectorFunction", "MigrateFunction", "ShardCollectorFunction", "ApiFunction",
                              "WebhookFunction", "WebhookCollectorFunction"}  # fmt: skip
    for function in functions.values():
        assert function["Properties"]["Architectures"] == ["arm64"]
        assert function["Properties"]["Runtime"] in ("python3.12", "python3.13")


def test_handlers_name_real_callables(default):
    for function in of_type(default, "AWS::Lambda::Function").values():
        module, name = function["Properties"]["Handler"].rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name))


def test_collector_never_runs_twice_at_once_and_has_the_full_lambda_time(default):
    props = default["CollectorFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["Timeout"] == 900


@pytest.mark.parametrize("parameters", [{}, SCALE_OUT_VPC], ids=["default", "scale-out-vpc"])
def test_the_four_hourly_schedule_starts_the_state_machine_with_retries_and_a_dead_letter_queue(parameters):
    # The state machine is the one path for every scheduled run, so a partial run is always continued.
    (schedule,) = of_type(translate(parameters)["Resources"], "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["Target"]["Arn"] == {"Ref": "ShardStateMachine"}
    assert props["ScheduleExpression"] == "rate(4 hours)" and "State" not in props
    assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert props["Target"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_a_run_invoked_asynchronously_that_raises_is_parked_in_the_dead_letter_queue(default):
    invoke = default["CollectorFunctionEventInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == 1
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def _statements(resources):
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def test_least_privilege_no_wildcard_resources_and_exactly_three_secrets(scale_out):
    for role, statement in _statements(scale_out):
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources, (role, statement)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a.endswith(":*") for a in actions), (role, statement)
        if "secretsmanager:GetSecretValue" in actions:
            assert actions == ["secretsmanager:GetSecretValue"] or actions == "secretsmanager:GetSecretValue"
            collectors = {
                json.dumps({"Ref": "GitHubTokenSecretArn"}),
                json.dumps({"Ref": "DatabaseSecretArn"}),
                json.dumps({"Ref": "ApiDatabaseSecretArn"}),
            }
            # The webhook's role reads its own secret only (tests/unit/test_template_webhooks.py).
            allowed = {json.dumps(WEBHOOK_SECRET)} if role == "WebhookRole" else collectors
            assert {json.dumps(r) for r in resources} <= allowed


def test_vpc_access_is_attached_only_with_a_vpc(default):
    for name in ("CollectorRole", "MigrateRole", "ApiRole"):
        managed = default[name]["Properties"]["ManagedPolicyArns"]
        assert managed["Fn::If"][0] == "HasVpc" and managed["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert default["CollectorFunction"]["Properties"]["VpcConfig"]["Fn::If"][0] == "HasVpc"


def test_parameters_cover_what_a_deployer_sets():
    parameters = source()["Parameters"]
    assert {
        "GitHubTokenSecretArn", "DatabaseSecretArn", "Repositories", "TeamsFile", "SubnetIds", "SecurityGroupIds",
        "LogRetentionDays", "AlarmEmail", "EnableScaleOut", "ShardSize", "ShardConcurrency",
    } <= set(parameters)  # fmt: skip


def test_alarms_cover_errors_duration_dead_letters_and_silence(default):
    alarms = of_type(default, "AWS::CloudWatch::Alarm")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    assert set(by_metric) >= {"Errors", "Duration", "ApproximateNumberOfMessagesVisible", "PRsSeen"}
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert by_metric["Duration"]["Threshold"] < default["CollectorFunction"]["Properties"]["Timeout"] * 1000
    silence = by_metric["PRsSeen"]
    assert silence["Namespace"] == NAMESPACE and silence["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
    assert silence["Period"] == 86400 and silence["TreatMissingData"] == "breaching"


def _definition():
    return json.loads(json.dumps(source()["Resources"]["ShardStateMachine"]["Properties"]["Definition"]))


def test_scale_out_is_a_distributed_map_over_shards_behind_a_parameter(default, scale_out):
    assert "Condition" not in scale_out["ShardStateMachine"]  # it also schedules the single-function mode
    assert scale_out["ShardCollectorFunction"]["Condition"] == "ScaleOut"
    substitutions = default["ShardStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions["FunctionArn"] == {"Fn::If": ["ScaleOut", {"Fn::GetAtt": ["ShardCollectorFunction", "Arn"]},
                                                       {"Fn::GetAtt": ["CollectorFunction", "Arn"]}]}  # fmt: skip
    # Without scale-out, one shard of every repository (a parameter holds at most 1,024 of them), one at a time.
    assert substitutions["ShardSize"] == {"Fn::If": ["ScaleOut", {"Ref": "ShardSize"}, 1024]}
    assert substitutions["ShardConcurrency"] == {"Fn::If": ["ScaleOut", {"Ref": "ShardConcurrency"}, 1]}
    definition = _definition()
    shards = definition["States"]["CollectShards"]
    assert shards["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    # MaxConcurrency must be an integer and a substitution is text: the Pass state parses it.
    assert "MaxConcurrency" not in shards and shards["MaxConcurrencyPath"] == "$.max_concurrency"
    partition = definition["States"]["Partition"]["Parameters"]
    assert partition["max_concurrency.$"] == "States.StringToJson('${ShardConcurrency}')"
    assert shards["ItemSelector"] == {"repositories.$": "$$.Map.Item.Value", "sync_teams": False}
    assert "States.ArrayPartition" in partition["shards.$"]
    assert definition["States"]["SyncTeams"]["Parameters"]["Payload"] == {"action": "teams-sync"}


def test_a_shard_that_ends_partial_is_invoked_again_with_bounded_waits_and_rounds():
    parameter = source()["Parameters"]["MaxContinuations"]
    assert parameter["Default"] == 24 and parameter["MinValue"] == 0
    states = _definition()["States"]["CollectShards"]["ItemProcessor"]["States"]
    assert states["FirstRound"]["Parameters"]["payload.$"] == "$"
    assert states["CollectShard"]["Parameters"]["Payload.$"] == "$.payload"
    assert states["Continue"]["Parameters"]["payload.$"] == "$.payload" and states["Continue"]["Next"] == "CollectShard"
    (again,) = states["ContinueIfPartial"]["Choices"]
    assert {"Variable": "$.invocation.Payload.status", "StringEquals": "partial"} in again["And"]
    assert {"Variable": "$.continuations", "NumericLessThanPath": "$.max_continuations"} in again["And"]
    waits = {name: s for name, s in states.items() if s["Type"] == "Wait"}
    assert {s.get("Seconds") for s in waits.values()} == {30, 3600, None}
    # The only wait read from the run's answer is reached when that answer is a number in (30, 3600].
    (read,) = (name for name, s in waits.items() if "SecondsPath" in s)
    (rule,) = (c for c in states["ChooseWait"]["Choices"] if c["Next"] == read)
    path = waits[read]["SecondsPath"]
    assert {"Variable": path, "IsNumeric": True} in rule["And"]
    assert {"Variable": path, "NumericGreaterThan": 30} in rule["And"]
    (cap,) = (c for c in states["ChooseWait"]["Choices"] if c["Next"] != read)
    assert states["ChooseWait"]["Choices"].index(cap) == 0  # the cap is checked first
    assert {"Variable": path, "NumericGreaterThan": 3600} in cap["And"] and waits[cap["Next"]]["Seconds"] == 3600
    assert waits[states["ChooseWait"]["Default"]]["Seconds"] == 30


def test_a_shard_run_that_raised_is_retried_once_a_minute_later_then_fails_the_map():
    # As Lambda's asynchronous retry did when the schedule invoked the function itself.
    shards = _definition()["States"]["CollectShards"]
    retries = shards["ItemProcessor"]["States"]["CollectShard"]["Retry"]
    assert retries[-1] == {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 60, "MaxAttempts": 1}
    assert shards["ToleratedFailurePercentage"] == 0 and "Catch" not in shards


def test_an_execution_stands_aside_while_another_is_collecting(scale_out):
    states = _definition()["States"]
    assert _definition()["StartAt"] == "ListRunningExecutions"
    assert states["ListRunningExecutions"]["Parameters"]["StateMachineArn.$"] == "$$.StateMachine.Id"
    (rule,) = states["StandAsideIfAnotherIsRunning"]["Choices"]
    assert rule["NumericGreaterThan"] == 1 and states[rule["Next"]]["Type"] == "Succeed"
    statements = [s for role, s in _statements(scale_out) if role == "ShardStateMachineRole"]
    (listing,) = (s for s in statements if "states:ListExecutions" in s["Action"])
    assert listing["Resource"]["Fn::Sub"].endswith(":stateMachine:${AWS::StackName}-shards")
    (invoke,) = (s for s in statements if s["Action"] == "lambda:InvokeFunction")
    assert invoke["Resource"] == scale_out["ShardStateMachine"]["Properties"]["DefinitionSubstitutions"]["FunctionArn"]


def test_concurrent_shards_share_githubs_per_token_pace(scale_out):
    variables = scale_out["ShardCollectorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["GITHUB_CONCURRENT_RUNS"] == {"Ref": "ShardConcurrency"}
    assert variables["GITHUB_TOKEN_SECRET_ARN"] == {  # the globals still apply
        "Fn::If": ["UsesGitHubApp", {"Ref": "AWS::NoValue"}, {"Ref": "GitHubTokenSecretArn"}]
    }
    single = scale_out["CollectorFunction"]["Properties"]["Environment"]["Variables"]
    assert "GITHUB_CONCURRENT_RUNS" not in single


def test_migrations_run_at_deploy_and_track_the_head_revision(default):
    migration = default["SchemaMigration"]
    assert migration["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    assert migration["Properties"]["MigrationsVersion"] == head_revision()
    assert "SchemaMigration" in default["CollectorFunction"]["DependsOn"]


def test_function_environment_uses_the_collectors_variable_names():
    variables = set(source()["Globals"]["Function"]["Environment"]["Variables"])
    known = {"GITHUB_TOKEN_SECRET_ARN", "GITHUB_APP_ID", "GITHUB_APP_INSTALLATION_ID",
             "GITHUB_APP_PRIVATE_KEY_SECRET_ARN",
             "DATABASE_URL_SECRET_ARN", "DATABASE_HOST", "DATABASE_NAME", "DATABASE_SSLMODE",
             "GITHUB_API_URL", "REPOSITORIES", "TEAMS_FILE", "LOOKBACK_DAYS", "MAX_WORKERS", "LOG_LEVEL",
             "POWERTOOLS_METRICS_NAMESPACE"}  # fmt: skip
    assert variables == known


def test_every_checkov_skip_names_a_check_and_says_why():
    # CI runs checkov on template.yaml (.ci/run); a skipped check is annotated on its resource, with its reason.
    skips = [(name, skip) for name, resource in source()["Resources"].items()
             for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])]  # fmt: skip
    assert skips, "the template has checkov skips; this test must see them"
    for name, skip in skips:
        assert set(skip) == {"id", "comment"}, name
        assert skip["id"].startswith("CKV_AWS_") and len(skip["comment"].split()) >= 8, (name, skip)


def test_migrations_never_run_twice_at_once(default):
    assert default["MigrateFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_the_collector_signs_in_with_a_token_or_as_a_github_app_never_both():
    variables = source()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["GITHUB_TOKEN_SECRET_ARN"]["Fn::If"][:2] == ["UsesGitHubApp", {"Ref": "AWS::NoValue"}]
    expected = {"GITHUB_APP_ID": "GitHubAppId", "GITHUB_APP_INSTALLATION_ID": "GitHubAppInstallationId",
                "GITHUB_APP_PRIVATE_KEY_SECRET_ARN": "GitHubTokenSecretArn"}  # fmt: skip
    for name, parameter in expected.items():
        assert variables[name]["Fn::If"] == ["UsesGitHubApp", {"Ref": parameter}, {"Ref": "AWS::NoValue"}]
    assert source()["Conditions"]["UsesGitHubApp"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubAppId"}, ""]}]}


# ---------------------------------------------------------------- the read API


@pytest.fixture(scope="module")
def api():
    return translate(WITH_API)["Resources"]


API_RESOURCES = {"ApiFunction", "HttpApi", "HttpApiApiGatewayDefaultStage", "ApiInvokePermission", "ApiRole",
                 "ApiLogGroup", "ApiAccessLogGroup"}  # fmt: skip


def test_the_api_is_deployed_only_with_its_own_database_secret(default, api):
    assert source()["Parameters"]["ApiDatabaseSecretArn"]["Default"] == ""
    assert source()["Conditions"]["HasApi"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiDatabaseSecretArn"}, ""]}]}
    for name in API_RESOURCES:
        assert default[name]["Condition"] == "HasApi", name
    assert source()["Outputs"]["ApiUrl"]["Condition"] == "HasApi"


def test_the_api_function_is_the_apps_lambda_handler_on_arm64(api):
    props = api["ApiFunction"]["Properties"]
    assert props["Handler"] == "collector.api.lambda_handler.handler"
    assert props["Architectures"] == ["arm64"] and props["Runtime"] in ("python3.12", "python3.13")
    assert props["Timeout"] < 30  # API Gateway's integration timeout
    assert props["ReservedConcurrentExecutions"] == {"Ref": "ApiMaxConcurrency"}  # bounds the database connections
    assert props["Environment"]["Variables"]["DATABASE_URL_SECRET_ARN"] == {"Ref": "ApiDatabaseSecretArn"}
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": "ApiLogGroup"}}
    assert "SchemaMigration" in api["ApiFunction"]["DependsOn"]


def test_the_http_api_is_throttled_logs_access_without_headers_and_routes_five_gets(api):
    stage = api["HttpApiApiGatewayDefaultStage"]["Properties"]
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": {"Ref": "ApiThrottleRateLimit"},
                                             "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurstLimit"}}  # fmt: skip
    access = stage["AccessLogSettings"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.requestId" in access["Format"] and "header" not in access["Format"].lower()
    json.loads(access["Format"])  # one JSON object a line
    paths = api["HttpApi"]["Properties"]["Body"]["paths"]
    assert set(paths) == {"/teams", "/metrics/team/{team_id}/velocity", "/metrics/team/{team_id}/lead-time",
                          "/metrics/team/{team_id}/dora", "/openapi.json"}  # fmt: skip
    for operations in paths.values():
        assert set(operations) == {"get"}
        integration = operations["get"]["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy" and integration["payloadFormatVersion"] == "2.0"
        assert "${ApiFunction.Arn}" in integration["uri"]["Fn::Sub"]
    permission = api["ApiInvokePermission"]["Properties"]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"]["Fn::Sub"].endswith(":${HttpApi}/*/GET/*")


def test_the_api_documents_exactly_the_routes_the_gateway_sends_it():
    from collector import store
    from collector.api.app import create_app, openapi_document

    engine = store.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    documented = set(openapi_document(create_app(engine))["paths"])
    assert documented == set(source()["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]["paths"])


def test_the_api_role_reads_its_own_secret_and_writes_its_own_log_group_only(api):
    statements = [s for role, s in _statements(api) if role == "ApiRole"]
    assert {json.dumps(s["Resource"]) for s in statements} == {
        json.dumps({"Fn::GetAtt": ["ApiLogGroup", "Arn"]}),
        json.dumps({"Ref": "ApiDatabaseSecretArn"}),
    }
    (secret,) = (s for s in statements if s["Action"] == "secretsmanager:GetSecretValue")
    assert secret["Resource"] == {"Ref": "ApiDatabaseSecretArn"}


def test_no_api_accepts_a_larger_burst_than_its_function_may_run_at_once():
    template = source()
    resources, parameters = template["Resources"], template["Parameters"]
    api_burst = parameters["ApiThrottleBurstLimit"]["Default"]
    assert api_burst <= parameters["ApiMaxConcurrency"]["Default"]
    webhook_burst = resources["WebhookStage"]["Properties"]["DefaultRouteSettings"]["ThrottlingBurstLimit"]
    assert webhook_burst <= resources["WebhookFunction"]["Properties"]["ReservedConcurrentExecutions"]
