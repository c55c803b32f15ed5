"""template.yaml, expanded by aws-sam-translator and linted by cfn-lint, then held to the deployment rules."""

import importlib
import json

import pytest

from collector.metrics import NAMESPACE, SERVICE
from collector.migrate import head_revision
from tests.sam import lint, source, translate

SCALE_OUT_VPC = {"EnableScaleOut": "true", "SubnetIds": "subnet-1,subnet-2", "SecurityGroupIds": "sg-1",
                 "AlarmEmail": "oncall@example.com"}  # fmt: skip


@pytest.fixture(scope="module")
def default():
    return translate()["Resources"]


@pytest.fixture(scope="module")
def scale_out():
    return translate(SCALE_OUT_VPC)["Resources"]


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


@pytest.mark.parametrize("parameters", [{}, SCALE_OUT_VPC], ids=["default", "scale-out-vpc"])
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
    assert set(functions) == {"CollectorFunction", "MigrateFunction", "ShardCollectorFunction"}
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


def test_four_hourly_schedule_with_retries_and_a_dead_letter_queue(default):
    schedules = of_type(default, "AWS::Scheduler::Schedule").values()
    target = {"Fn::GetAtt": ["CollectorFunction", "Arn"]}
    (props,) = (s["Properties"] for s in schedules if s["Properties"]["Target"]["Arn"] == target)
    assert props["ScheduleExpression"] == "rate(4 hours)"
    assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert props["Target"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    # The scheduler's input is a payload the handler accepts.
    from collector.events import parse_event

    assert parse_event(json.loads(props["Target"]["Input"])).trigger == "schedule"
    # A run that raises is retried by Lambda's async invocation, then parked in the same queue.
    invoke = default["CollectorFunctionEventInvokeConfig"]["Properties"]
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def _statements(resources):
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def test_least_privilege_no_wildcard_resources_and_exactly_two_secrets(scale_out):
    for role, statement in _statements(scale_out):
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources, (role, statement)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a.endswith(":*") for a in actions), (role, statement)
        if "secretsmanager:GetSecretValue" in actions:
            assert actions == ["secretsmanager:GetSecretValue"] or actions == "secretsmanager:GetSecretValue"
            assert {json.dumps(r) for r in resources} <= {
                json.dumps({"Ref": "GitHubTokenSecretArn"}),
                json.dumps({"Ref": "DatabaseSecretArn"}),
            }


def test_vpc_access_is_attached_only_with_a_vpc(default):
    for name in ("CollectorRole", "MigrateRole"):
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


def test_scale_out_is_a_distributed_map_over_shards_behind_a_parameter(scale_out):
    machine = scale_out["ShardStateMachine"]
    assert machine["Condition"] == "ScaleOut" and scale_out["ShardCollectorFunction"]["Condition"] == "ScaleOut"
    definition = json.loads(json.dumps(source()["Resources"]["ShardStateMachine"]["Properties"]["Definition"]))
    shards = definition["States"]["CollectShards"]
    assert shards["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert shards["MaxConcurrency"] == "${ShardConcurrency}"
    assert shards["ItemSelector"] == {"repositories.$": "$$.Map.Item.Value", "sync_teams": False}
    assert "States.ArrayPartition" in definition["States"]["Partition"]["Parameters"]["shards.$"]
    assert definition["States"]["SyncTeams"]["Parameters"]["Payload"] == {"action": "teams-sync"}
    # The single function's own schedule stands down while the state machine schedules the work.
    (single,) = (s for s in of_type(scale_out, "AWS::Scheduler::Schedule").values()
                 if s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": ["CollectorFunction", "Arn"]})  # fmt: skip
    assert single["Properties"]["State"] == {"Fn::If": ["ScaleOut", "DISABLED", "ENABLED"]}


def test_concurrent_shards_share_githubs_per_token_pace(scale_out):
    variables = scale_out["ShardCollectorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["GITHUB_CONCURRENT_RUNS"] == {"Ref": "ShardConcurrency"}
    assert variables["GITHUB_TOKEN_SECRET_ARN"] == {"Ref": "GitHubTokenSecretArn"}  # the globals still apply
    single = scale_out["CollectorFunction"]["Properties"]["Environment"]["Variables"]
    assert "GITHUB_CONCURRENT_RUNS" not in single


def test_migrations_run_at_deploy_and_track_the_head_revision(default):
    migration = default["SchemaMigration"]
    assert migration["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    assert migration["Properties"]["MigrationsVersion"] == head_revision()
    assert "SchemaMigration" in default["CollectorFunction"]["DependsOn"]


def test_function_environment_uses_the_collectors_variable_names():
    variables = set(source()["Globals"]["Function"]["Environment"]["Variables"])
    known = {"GITHUB_TOKEN_SECRET_ARN", "DATABASE_URL_SECRET_ARN", "DATABASE_HOST", "DATABASE_NAME", "DATABASE_SSLMODE",
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
