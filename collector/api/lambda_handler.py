"""The API Lambda's entry point, thin: per container, the database secret (cached with a TTL) and the app."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from collector.api.app import create_app, problem
from collector.api.data import make_api_engine
from collector.config import early_log_level, load_settings, resolve_secrets, secrets_cache
from collector.errors import CollectorError
from collector.logs import configure_logging, request_id_var

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)
# What a warm container keeps between invocations (tests replace them to start "cold").
SECRETS = secrets_cache(os.environ)
ENGINES: dict[str, Engine] = {}
APPS: dict[str, APIGatewayHttpResolver] = {}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_id_var.set(getattr(context, "aws_request_id", None))
    configure_logging(early_log_level(os.environ), log_format="json")
    # The Globals name the collector's GitHub secrets too; this function may read its database secret only.
    environ = {name: value for name, value in os.environ.items() if not name.startswith("GITHUB_")}
    try:
        settings = load_settings(resolve_secrets(environ, SECRETS), need_github=False)
    except CollectorError as exc:  # a secret unreadable or malformed: the operators' problem, said in the log
        logger.error("API not configured", extra={"error": str(exc)})
        response = problem(503, "the API is not configured correctly; its log says why", {"Retry-After": "60"})
        return {"statusCode": response.status_code, "headers": response.headers, "body": response.body}
    return _app(settings.database_url).resolve(event, context)


def _app(database_url: str) -> APIGatewayHttpResolver:
    # Keyed by URL: a rotated database secret gets a fresh engine once the secret's TTL lapses. One request at a
    # time per container, so a small pool.
    if database_url not in APPS:
        ENGINES[database_url] = make_api_engine(database_url, pool_size=1)
        APPS[database_url] = create_app(ENGINES[database_url])
    return APPS[database_url]
