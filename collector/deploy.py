"""Migrations as part of a deployment: a CloudFormation custom resource runs ``alembic upgrade head``.

The stack's update waits for the migration; a failed migration fails (and rolls back) the deploy,
and the collector itself refuses to write into a schema that is behind.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

from collector import store
from collector.config import load_settings, resolve_secrets, secrets_cache
from collector.errors import CollectorError
from collector.logs import configure_logging
from collector.migrate import upgrade_to_head

log = logging.getLogger(__name__)
# What a warm container keeps between invocations (tests replace them to start "cold").
SECRETS = secrets_cache(os.environ)
PHYSICAL_ID = "dora-collector-schema"


def migrate_handler(event: dict[str, Any], context: Any) -> None:
    configure_logging("INFO")
    status, reason, data = "SUCCESS", "", {}
    try:
        if event.get("RequestType") in ("Create", "Update"):
            settings = load_settings(resolve_secrets(os.environ, SECRETS), need_github=False)
            engine = store.make_engine(settings.database_url, pool_size=1)
            with store.database_errors("migrate"):
                data["Revision"] = upgrade_to_head(engine)
            engine.dispose()
        # Delete: the data outlives the stack; dropping a metrics database is never automatic.
    except CollectorError as exc:
        status, reason = "FAILED", str(exc)
    except Exception as exc:  # any failure must still answer, or CloudFormation waits an hour
        status, reason = "FAILED", f"migration failed: {type(exc).__name__}"
    log.info("custom resource answered", extra={"status": status, "reason": reason, **data})
    _respond(event, status, reason, data)


def _respond(event: dict[str, Any], status: str, reason: str, data: dict[str, str]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or status,
            "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID,
            "StackId": event.get("StackId"),
            "RequestId": event.get("RequestId"),
            "LogicalResourceId": event.get("LogicalResourceId"),
            "Data": data,
        }
    ).encode()
    # The pre-signed S3 URL is signed for an empty Content-Type.
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
