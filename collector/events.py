"""What a Lambda invocation asks for, from the event that carried it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from collector.config import parse_repositories
from collector.errors import ConfigError
from collector.membership import parse_instant

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

# EventBridge Scheduler passes the template's Input; these are the keys our template sends.
_SCHEDULER_KEYS = {"source", "scheduled_time", "execution_id"}
_SHARD_KEYS = {"repositories", "since", "sync_teams"}


@dataclass(frozen=True)
class Invocation:
    action: str  # "collect" | "teams-sync"
    trigger: str  # "schedule" | "shard" | "manual"
    repositories: tuple[str, ...] | None = None  # None: every configured repository
    since: datetime | None = None
    sync_teams: bool = True


def parse_event(event: Any) -> Invocation:
    """Accept EventBridge's scheduled event, EventBridge Scheduler's input, a shard, or a teams sync."""
    if event is None or event == {}:
        return Invocation("collect", "schedule")
    if not isinstance(event, dict):
        raise ConfigError("the event must be a JSON object")
    if event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event":
        return Invocation("collect", "schedule")
    if event.get("action") == "teams-sync" and set(event) == {"action"}:
        return Invocation("teams-sync", "manual")
    if "repositories" in event:
        return _shard(event)
    if set(event) <= _SCHEDULER_KEYS:
        return Invocation("collect", "schedule")
    raise ConfigError(f"unrecognised event with keys {sorted(event)}")


def _shard(event: dict[str, Any]) -> Invocation:
    unknown = set(event) - _SHARD_KEYS
    if unknown:
        raise ConfigError(f"shard event: unknown key {sorted(unknown)[0]!r}")
    raw = event["repositories"]
    if isinstance(raw, list) and all(isinstance(r, str) for r in raw):
        raw = ",".join(raw)
    if not isinstance(raw, str):
        raise ConfigError("shard event: repositories must be a list of owner/name strings")
    sync_teams = event.get("sync_teams", True)
    if not isinstance(sync_teams, bool):
        raise ConfigError("shard event: sync_teams must be true or false")
    return Invocation("collect", "shard", parse_repositories(raw), _since(event.get("since")), sync_teams)


def _since(since: Any) -> datetime | None:
    if since is None:
        return None
    if not isinstance(since, str):
        raise ConfigError(f"shard event: since must be an ISO-8601 date string (got {type(since).__name__})")
    try:
        return parse_instant(since)
    except ValueError:
        raise ConfigError(f"shard event: since {since!r} is not an ISO-8601 date") from None


def within_scope(invocation: Invocation, configured: Sequence[str]) -> Invocation:
    """Refuse a shard that names a repository outside REPOSITORIES: the event must not choose what the
    token reads. Names compare case-insensitively, as GitHub's do; the configured spelling is kept, since
    stored rows and watermarks are keyed by it."""
    if invocation.repositories is None:
        return invocation
    by_name = {name.lower(): name for name in configured}
    outside = [name for name in invocation.repositories if name.lower() not in by_name]
    if outside:
        verb = "is" if len(outside) == 1 else "are"
        raise ConfigError(f"shard event: {', '.join(outside)} {verb} not in REPOSITORIES")
    return replace(invocation, repositories=tuple(by_name[name.lower()] for name in invocation.repositories))
