import json
from pathlib import Path

import pytest

from collector.errors import ConfigError
from collector.events import Invocation, parse_event, within_scope

EVENTS = Path(__file__).parents[2] / "events"


def test_eventbridge_scheduled_event_collects_everything():
    invocation = parse_event(json.loads((EVENTS / "scheduled.json").read_text()))
    assert (invocation.action, invocation.trigger, invocation.repositories) == ("collect", "schedule", None)


@pytest.mark.parametrize(
    "event", [{}, None, {"source": "dora-collector.schedule", "scheduled_time": "2026-01-01T00:00:00Z"}]
)
def test_scheduler_payloads_collect_everything(event):
    assert parse_event(event).trigger == "schedule"


def test_shard_event_names_repositories_and_since():
    invocation = parse_event(json.loads((EVENTS / "shard.json").read_text()))
    assert invocation.repositories == ("acme/api", "acme/web")
    assert invocation.since is not None and invocation.since.isoformat() == "2025-01-01T00:00:00+00:00"
    assert invocation.sync_teams is True
    assert parse_event({"repositories": "acme/a,acme/b", "sync_teams": False}).sync_teams is False


def test_teams_sync_event():
    assert parse_event({"action": "teams-sync"}).action == "teams-sync"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"repositories": ["not-a-repo"]}, "is not owner/name"),
        ({"repositories": ["a/b"], "since": "soon"}, "not an ISO-8601 date"),
        # Issue 9: a since of the wrong type was silently ignored, so the shard collected from the watermark.
        ({"repositories": ["a/b"], "since": 20250101}, "since must be an ISO-8601 date string"),
        ({"repositories": ["a/b"], "since": ["2025-01-01"]}, "since must be an ISO-8601 date string"),
        ({"repositories": ["a/b"], "since": True}, "since must be an ISO-8601 date string"),
        ({"repositories": ["a/b"], "shard": 1}, "unknown key 'shard'"),
        ({"what": "ever"}, "unrecognised event"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_malformed_events_are_rejected_clearly(event, message):
    with pytest.raises(ConfigError, match=message):
        parse_event(event)


def test_a_null_since_means_no_since():
    assert parse_event({"repositories": ["a/b"], "since": None}).since is None


CONFIGURED = ("acme/api", "Acme/Web")


def test_a_shard_may_only_name_configured_repositories():
    """Issue 9: a shard named any repository and the collector fetched it with the token."""
    shard = parse_event({"repositories": ["acme/api", "evil/exfiltrate", "other/repo"]})
    with pytest.raises(ConfigError, match=r"^shard event: evil/exfiltrate, other/repo are not in REPOSITORIES$"):
        within_scope(shard, CONFIGURED)


def test_configured_repositories_match_case_insensitively_and_keep_the_configured_spelling():
    # GitHub treats owner/name case-insensitively; the stored rows and watermarks use the configured name.
    shard = parse_event({"repositories": ["ACME/API", "acme/web"]})
    assert within_scope(shard, CONFIGURED).repositories == ("acme/api", "Acme/Web")


def test_an_invocation_without_repositories_is_in_scope():
    scheduled = Invocation("collect", "schedule")
    assert within_scope(scheduled, CONFIGURED) is scheduled
