"""The scheduling state machine of template.yaml, executed by moto's Step Functions interpreter.

aws-sam-translator expands the template (tests/sam.py); the test resolves DefinitionSubstitutions for
the chosen parameters as CloudFormation and Step Functions would, creates the state machine in moto
with ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})`` and runs it.

What moto executes, and what it cannot:

- Every state of the definition runs as written: the ``aws-sdk:sfn:listExecutions`` guard against
  moto's own Step Functions (see the next point), Choice, Pass with the intrinsics (StringSplit,
  ArrayPartition, StringToJson, MathAdd, ArrayLength, ArrayContains), Wait, Fail, and the Map in
  DISTRIBUTED mode with MaxConcurrencyPath. moto runs a distributed map's iterations as threads of
  the parent execution, not as child executions, so the role's child-execution permissions are not
  exercised (nor is IAM at all).
- moto leaves an ``aws-sdk`` task's parameter and result names as written (its normalisation hooks
  are stubs), while Step Functions maps the definition's PascalCase names to the SDK's
  (``StateMachineArn`` -> ``stateMachineArn``) and the answer's back (``executions`` ->
  ``Executions``). The ``sfn`` fixture restores that mapping with moto's own helpers and botocore's
  service model, so the guard state runs as written.
- The Lambda function cannot run: moto needs Docker for that. With ``{"lambda": {"use_docker":
  False}}`` moto answers ``lambda:Invoke`` from its LambdaSimpleBackend; the test replaces that
  backend's ``invoke`` with a stub of the handler's contract, which records every event and answers
  ``{"run_id", "status", "prs_seen", "wait_seconds"}`` as a script says.
- Wait states would really wait (moto waits on an Event for the seconds given). The test replaces
  moto's wait with a recorder: the floor, the cap and the seconds read from the run's answer are
  asserted, and nothing sleeps.
- moto's ASL grammar rejects the integer ``ToleratedFailurePercentage: 0`` (it wants a decimal) and
  ignores the field when it runs; the test writes it as ``0.0``, the same number. The Retry on a run
  that raised waits 60 s for real and is not executed here (tests/unit/test_template.py pins it).
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from typing import Any

import boto3
import pytest
from botocore.session import get_session
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.utils import TMP_THREADS

from collector.config import parse_repositories
from collector.events import parse_event
from tests.sam import PARAMETERS, REGION, source, translate

ACCOUNT = "123456789012"
REPOSITORIES = "acme/r1,acme/r2, acme/r3,acme/r4,acme/r5,acme/r6,acme/r7"  # the pattern allows ", "
SCALE_OUT = {"EnableScaleOut": "true", "ShardSize": "3", "ShardConcurrency": "2"}


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def definition_for(parameters: dict[str, str]) -> str:
    """The definition Step Functions would receive from CloudFormation for these parameters."""
    given = {**PARAMETERS, **parameters}
    values = {name: given.get(name, p.get("Default")) for name, p in source()["Parameters"].items()}
    scale_out = values["EnableScaleOut"] == "true"

    def resolve(value: Any) -> str:
        if isinstance(value, dict) and "Fn::If" in value:
            condition, when_true, when_false = value["Fn::If"]
            assert condition == "ScaleOut", condition
            return resolve(when_true if scale_out else when_false)
        if isinstance(value, dict) and "Ref" in value:
            return str(values[value["Ref"]])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return function_arn(value["Fn::GetAtt"][0])
        assert isinstance(value, (int, str)), value
        return str(value)

    props = translate(parameters)["Resources"]["ShardStateMachine"]["Properties"]
    substitutions = {key: resolve(v) for key, v in props["DefinitionSubstitutions"].items()}
    separator, lines = props["DefinitionString"]["Fn::Join"]
    text = re.sub(r"\$\{(\w+)\}", lambda m: substitutions[m.group(1)], separator.join(lines))
    definition = json.loads(text)
    definition["States"]["CollectShards"]["ToleratedFailurePercentage"] = 0.0  # moto's grammar, see above
    return json.dumps(definition)


class FakeShardFunction:
    """The handler's contract: teams-sync answers counts; a shard answers its run, as scripted."""

    def __init__(self) -> None:
        # repository -> answers for the shard holding it, in order; the last one repeats.
        self.script: dict[str, list[dict[str, Any]]] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.calls: dict[tuple[str, ...], int] = defaultdict(int)
        self.collecting = threading.Event()  # set when a shard's run starts
        self.release = threading.Event()  # a shard's run ends once this is set
        self.release.set()

    def invoke(self, function_name: str, event: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.events.append((function_name, event))
        if event == {"action": "teams-sync"}:
            return {"teams": 2, "memberships": 5}
        self.collecting.set()
        assert self.release.wait(timeout=30), "the test never released the run"
        shard = tuple(event["repositories"])
        with self.lock:
            round_ = self.calls[shard]
            self.calls[shard] += 1
        default = [{"status": "success", "wait_seconds": 0}]
        answers = next((a for repo, a in self.script.items() if repo in shard), default)
        return {"run_id": f"run-{len(self.events)}", "prs_seen": 10, **answers[min(round_, len(answers) - 1)]}

    def collect_events(self) -> list[dict[str, Any]]:
        return [event for _, event in self.events if event != {"action": "teams-sync"}]


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    recorded: list[int] = []
    lock = threading.Lock()

    def record(self: WaitFunction, env: Any, wait_seconds: int) -> None:
        with lock:
            recorded.append(wait_seconds)

    monkeypatch.setattr(WaitFunction, "_wait_interval", record)
    return recorded


@pytest.fixture
def shard_function(monkeypatch: pytest.MonkeyPatch) -> FakeShardFunction:
    fake = FakeShardFunction()

    def invoke(self: LambdaSimpleBackend, function_name: str, qualifier: Any, body: Any, *args: Any) -> bytes:
        return json.dumps(fake.invoke(function_name, json.loads(body))).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    return fake


def _operation(task: StateTaskServiceAwsSdk) -> Any:
    action = task.resource.api_action  # listExecutions
    model = get_session().get_service_model(task._get_boto_service_name())
    return model.operation_model(action[0].upper() + action[1:])


def _sdk_request_names(self: StateTaskServiceAwsSdk, parameters: dict, *args: Any) -> None:
    self._to_boto_request(parameters, _operation(self).input_shape)


def _sdk_response_names(self: StateTaskServiceAwsSdk, response: Any, *args: Any) -> None:
    self._from_boto_response(response, _operation(self).output_shape)


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(StateTaskServiceAwsSdk, "_normalise_parameters", _sdk_request_names)
    monkeypatch.setattr(StateTaskServiceAwsSdk, "_normalise_response", _sdk_response_names)
    config = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        yield boto3.client("stepfunctions", region_name=REGION)


def create(sfn, parameters: dict[str, str]) -> str:
    role = f"arn:aws:iam::{ACCOUNT}:role/shards"
    return sfn.create_state_machine(name="dora-shards", definition=definition_for(parameters), roleArn=role)[
        "stateMachineArn"
    ]


def start(sfn, machine: str, name: str) -> tuple[str, threading.Thread]:
    before = len(TMP_THREADS)
    arn = sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
    # moto starts each execution on a thread of its own, the first one it registers.
    return arn, TMP_THREADS[before]


def run(sfn, machine: str, name: str = "run") -> dict[str, Any]:
    arn, thread = start(sfn, machine, name)
    thread.join(timeout=60)
    assert not thread.is_alive(), "the execution did not end"
    return sfn.describe_execution(executionArn=arn)


@pytest.mark.parametrize(
    ("parameters", "function", "shard_size"),
    [({"Repositories": REPOSITORIES}, "CollectorFunction", 7),
     ({"Repositories": REPOSITORIES, **SCALE_OUT}, "ShardCollectorFunction", 3)],
    ids=["one-shard", "scale-out"],
)  # fmt: skip
def test_every_repository_lands_in_exactly_one_shard_whose_event_the_handler_accepts(
    sfn, shard_function, waits, parameters, function, shard_size
):
    execution = run(sfn, create(sfn, parameters))

    assert execution["status"] == "SUCCEEDED", execution
    functions = {name for name, _ in shard_function.events}
    assert functions == {function_arn(function)}
    assert parse_event(shard_function.events[0][1]).action == "teams-sync"  # first, and only once
    assert [event for _, event in shard_function.events].count({"action": "teams-sync"}) == 1
    shards = [parse_event(event) for event in shard_function.collect_events()]
    assert all(s.action == "collect" and s.trigger == "shard" and not s.sync_teams for s in shards)
    collected = [repo for s in shards for repo in s.repositories or ()]
    assert sorted(collected) == sorted(parse_repositories(REPOSITORIES))  # each exactly once
    assert max(len(s.repositories or ()) for s in shards) == shard_size
    assert waits == []


def test_a_shard_that_ends_partial_is_invoked_again_until_it_succeeds(sfn, shard_function, waits):
    shard_function.script = {"acme/r4": [
        {"status": "partial", "wait_seconds": 0},  # stopped at the deadline: the 30 s floor
        {"status": "partial", "wait_seconds": 120},  # rate limit spent: until its reset
        {"status": "partial", "wait_seconds": 10**9},  # nonsense: capped at GitHub's hour
        {"status": "partial"},  # no wait_seconds (a handler from before the loop): the floor
        {"status": "success", "wait_seconds": 0},
    ]}  # fmt: skip
    execution = run(sfn, create(sfn, {"Repositories": REPOSITORIES, **SCALE_OUT}))

    assert execution["status"] == "SUCCEEDED", execution
    by_shard = defaultdict(list)
    for event in shard_function.collect_events():
        by_shard[tuple(event["repositories"])].append(event)
    (partial_shard,) = (shard for shard in by_shard if "acme/r4" in shard)
    assert len(by_shard[partial_shard]) == 5
    # Every continuation re-sends the shard's event unchanged: the same repositories, no teams sync.
    assert all(event == {"repositories": list(partial_shard), "sync_teams": False} for event in by_shard[partial_shard])
    assert all(len(events) == 1 for shard, events in by_shard.items() if shard != partial_shard)
    assert waits == [30, 120, 3600, 30]


def test_a_shard_still_partial_after_the_last_continuation_fails_the_execution_once_the_others_end(
    sfn, shard_function, waits
):
    shard_function.script = {"acme/r1": [{"status": "partial", "wait_seconds": 45}]}
    execution = run(sfn, create(sfn, {"Repositories": REPOSITORIES, **SCALE_OUT, "MaxContinuations": "2"}))

    assert execution["status"] == "FAILED" and execution["error"] == "ShardsStillPartial", execution
    assert "still partial after 2 continuations" in execution["cause"]
    history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    (collected,) = (json.loads(e["stateExitedEventDetails"]["output"])["collected"] for e in history
                    if e.get("stateExitedEventDetails", {}).get("name") == "CollectShards")  # fmt: skip
    ended = {tuple(shard["repositories"]): (shard["status"], shard["continuations"]) for shard in collected["shards"]}
    assert ended == {("acme/r1", "acme/r2", " acme/r3"): ("partial", 2),
                     ("acme/r4", "acme/r5", "acme/r6"): ("success", 0), ("acme/r7",): ("success", 0)}  # fmt: skip
    rounds = [event["repositories"] for event in shard_function.collect_events()]
    assert sum("acme/r1" in shard for shard in rounds) == 3  # the first run and two continuations
    assert sum("acme/r4" in shard for shard in rounds) == 1  # the other shards ran to their end
    assert sum("acme/r7" in shard for shard in rounds) == 1
    assert waits == [45, 45]


def test_an_execution_stands_aside_while_another_is_collecting(sfn, shard_function, waits):
    fake = shard_function
    fake.release.clear()  # the first execution's shard keeps running until the second has ended
    machine = create(sfn, {"Repositories": REPOSITORIES})
    first, first_thread = start(sfn, machine, "first")
    try:
        assert fake.collecting.wait(timeout=30), "the first execution never reached its shard"
        second = run(sfn, machine, "second")
    finally:
        fake.release.set()
    first_thread.join(timeout=60)

    assert second["status"] == "SUCCEEDED"
    history = sfn.get_execution_history(executionArn=second["executionArn"])["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["ListRunningExecutions", "StandAsideIfAnotherIsRunning", "AnotherExecutionIsCollecting"]
    assert sfn.describe_execution(executionArn=first)["status"] == "SUCCEEDED"
    assert len(fake.collect_events()) == 1 and [e for _, e in fake.events].count({"action": "teams-sync"}) == 1
