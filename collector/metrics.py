"""Per-run CloudWatch embedded metrics (EMF), written to stdout by Powertools for AWS Lambda."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from collector.pipeline import RunResult

NAMESPACE = "DoraCollector"
SERVICE = "collector"


def publish_run_metrics(result: RunResult) -> None:
    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    count = MetricUnit.Count
    metrics.add_metric(name="PRsSeen", unit=count, value=result.prs_seen)
    metrics.add_metric(name="RowsWritten", unit=count, value=result.rows_written)
    metrics.add_metric(name="GitHubRequests", unit=count, value=result.github_requests)
    metrics.add_metric(name="GitHubRequestsNotModified", unit=count, value=result.github_not_modified)
    metrics.add_metric(name="GitHubGraphQLPoints", unit=count, value=result.graphql_points)
    metrics.add_metric(name="PRsQuarantined", unit=count, value=result.prs_quarantined)
    metrics.add_metric(name="DeploymentsRead", unit=count, value=result.keys.deployments)
    metrics.add_metric(name="IncidentsRead", unit=count, value=result.keys.incidents)
    metrics.add_metric(name="RepositoriesFailed", unit=count, value=len(result.failed))
    metrics.add_metric(name="RepositoriesUnfinished", unit=count, value=result.repositories_unfinished)
    metrics.add_metric(name="DurationSeconds", unit=MetricUnit.Seconds, value=result.duration_seconds)
    if result.rate_limit_remaining is not None:
        metrics.add_metric(name="RateLimitRemaining", unit=count, value=result.rate_limit_remaining)
    metrics.add_metadata(key="run_id", value=str(result.run_id))
    metrics.add_metadata(key="status", value=result.status)
    metrics.flush_metrics()
