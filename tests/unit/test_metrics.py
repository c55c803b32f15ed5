"""The run's embedded metrics (collector/metrics.py)."""

import json
import uuid

from collector.ledger import RepoOutcome, RunResult
from collector.metrics import publish_run_metrics


def test_quarantined_prs_are_a_metric_of_their_own(capsys):
    result = RunResult(uuid.uuid4(), "success", [RepoOutcome("acme/api", quarantined=2), RepoOutcome("acme/web")])
    publish_run_metrics(result)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    assert line["PRsQuarantined"] == [2.0]
