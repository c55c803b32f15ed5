"""From queued requests to collections: the pure rules. No I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from collector.webhook_runs import due, newest_by_repository, reads_what_it_changed
from collector.webhooks import CollectionRequest

T = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("watermark", "expected"),
    [(None, True), (T - timedelta(hours=4), True), (T - timedelta(microseconds=1), True), (T, True),
     (T + timedelta(microseconds=1), False), (T + timedelta(seconds=30), False), (T + timedelta(days=3), False)],
    ids=["never collected", "before", "just before", "equal: [covered, watermark) is half-open", "just after",
         "after", "long after"],
)  # fmt: skip
def test_a_change_is_due_unless_a_collection_reached_past_it(watermark, expected):
    assert due(T, watermark) is expected


def test_requests_group_by_repository_newest_first_in_the_configured_spelling():
    requests = [CollectionRequest("ACME/api", T, "pull_request", "1"),
                CollectionRequest("acme/api", T + timedelta(minutes=5), "workflow_run", "2"),
                CollectionRequest("acme/API", T - timedelta(minutes=5), "release", "3"),
                CollectionRequest("acme/web", T, "issues", "4"),
                CollectionRequest("acme/gone", T, "issues", "5")]  # fmt: skip
    assert newest_by_repository(requests, ["acme/api", "Acme/Web"]) == {
        "acme/api": T + timedelta(minutes=5), "Acme/Web": T,
    }  # fmt: skip


SOURCES = {"acme/deploys": "deployments", "acme/workflow": "workflow", "acme/releases": "releases",
           "acme/merges": "merges"}  # fmt: skip


@pytest.mark.parametrize(
    ("event", "repository", "read"),
    [("pull_request", "acme/unconfigured", True),  # the PRs are read whatever the teams file says
     ("deployment_status", "acme/deploys", True), ("deployment_status", "ACME/Deploys", True),
     ("deployment_status", "acme/workflow", False), ("deployment_status", "acme/merges", False),
     ("workflow_run", "acme/workflow", True), ("workflow_run", "acme/deploys", False),
     ("release", "acme/releases", True), ("release", "acme/deploys", False),
     ("issues", "acme/merges", True), ("issues", "acme/releases", True),  # incidents: any configured repository
     ("deployment_status", "acme/unconfigured", False), ("workflow_run", "acme/unconfigured", False),
     ("release", "acme/unconfigured", False), ("issues", "acme/unconfigured", False),
     ("", "acme/unconfigured", True), ("check_run", "acme/unconfigured", True)],  # a message of another version
)  # fmt: skip
def test_a_request_asks_for_a_run_only_if_the_run_reads_what_its_event_changes(event, repository, read):
    assert reads_what_it_changed(CollectionRequest(repository, T, event, "1"), SOURCES) is read
