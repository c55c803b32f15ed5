"""AWS Lambda entry point, thin. Per container: secrets (cached with a TTL) and the engine."""

from __future__ import annotations

import logging
import math
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from collector import store
from collector.config import Settings, early_log_level, load_settings, resolve_secrets, secrets_cache
from collector.deadline import Deadline
from collector.errors import LockTakenError, RunFailedError
from collector.events import parse_event, within_scope
from collector.github_api import GitHubClientFactory
from collector.logs import configure_logging, request_id_var
from collector.membership import load_organisation
from collector.metrics import publish_run_metrics
from collector.migrate import assert_schema_current
from collector.pipeline import RunResult, run
from collector.sync import sync_organisation

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)
# What a warm container keeps between invocations (tests replace them to start "cold").
SECRETS = secrets_cache(os.environ)
ENGINES: dict[str, Engine] = {}


def handler(event: Any, context: Any) -> dict[str, Any]:
    request_id_var.set(getattr(context, "aws_request_id", None))
    # First: reading secrets logs (botocore), on our terms; JSON lines, for CloudWatch, even in a terminal.
    configure_logging(early_log_level(os.environ), log_format="json")
    invocation = parse_event(event)
    settings = load_settings(resolve_secrets(os.environ, SECRETS), need_github=invocation.action == "collect")
    if invocation.action == "teams-sync":  # the scale-out state machine's first step
        return _teams_sync(settings)
    invocation = within_scope(invocation, settings.repositories)
    deadline = Deadline(context.get_remaining_time_in_millis() / 1000)
    github = GitHubClientFactory.from_settings(settings, deadline=deadline)
    try:
        result = run(
            settings, github=github, engine=engine_for(settings), now=datetime.now(UTC), since=invocation.since,
            repositories=invocation.repositories, trigger=invocation.trigger, sync_teams=invocation.sync_teams,
        )  # fmt: skip
    except LockTakenError as exc:
        if invocation.trigger != "shard":
            raise
        # Another run holds one of the shard's repositories (a webhook's collection, for seconds): the state
        # machine continues a partial shard after its 30 s floor wait, as after a deadline. Not an error.
        log.warning("shard left for its continuation", extra={"reason": str(exc)})
        return {"run_id": None, "status": "partial", "prs_seen": 0, "wait_seconds": 0}
    publish_run_metrics(result)
    if result.status == "failed":
        raise RunFailedError(result.error or "the run failed")  # the schedule's retry and DLQ apply
    return {"run_id": str(result.run_id), "status": result.status, "prs_seen": result.prs_seen,
            "wait_seconds": _wait_seconds(result)}  # fmt: skip


def _wait_seconds(result: RunResult) -> int:
    """How long the state machine waits before it continues a partial run: until GitHub's budget resets."""
    if result.status != "partial" or result.rate_limit_reset is None:
        return 0
    return min(max(math.ceil((result.rate_limit_reset - datetime.now(UTC)).total_seconds()), 0), 3700)


def _teams_sync(settings: Settings) -> dict[str, Any]:
    if settings.teams_file is None:
        return {"skipped": "TEAMS_FILE is not set"}
    org = load_organisation(settings.teams_file)  # validated fully before the database is touched
    engine = engine_for(settings)
    with store.database_errors("teams sync"):
        assert_schema_current(engine)
        synced = sync_organisation(engine, org)
    return {"teams": synced.teams, "memberships": synced.memberships, "repositories": synced.repositories}


def engine_for(settings: Settings) -> Engine:
    # Keyed by URL: a rotated database secret gets a fresh engine once the secret's TTL lapses.
    if settings.database_url not in ENGINES:
        ENGINES[settings.database_url] = store.make_engine(settings.database_url, pool_size=settings.max_workers + 2)
    return ENGINES[settings.database_url]
