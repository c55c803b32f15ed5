"""From queued requests to collections: the pure rules. No I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from collector.webhook_runs import due, newest_by_repository
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
