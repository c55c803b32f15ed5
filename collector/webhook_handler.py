"""The webhooks' two Lambda entry points, thin.

``receive``: behind the HTTP API's ``POST /webhooks/github``, answers GitHub within its 10 seconds and hands
an accepted delivery's repository to the SQS queue. It holds the webhook secret and may send to that queue,
nothing else: no database, no GitHub token. It imports no database or GitHub library either, so a cold
start stays short.

``collect``: the queue's consumer (SQS event source, partial batch responses): the collector's own code
path, settings and caches (collector/handler.py) with ``webhook_runs.collect_requested``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from datetime import UTC, datetime
from typing import Any

from collector import webhooks
from collector.config import early_log_level, load_webhook_settings, resolve_webhook_secret, secrets_cache
from collector.logs import configure_logging, request_id_var

log = logging.getLogger(__name__)
# What a warm container keeps between invocations (tests replace them to start "cold").
SECRETS = secrets_cache(os.environ)
QUEUES: dict[str, SqsQueue] = {}
# A request for a repository another run holds is asked again this much later (SQS's longest delay).
BUSY_DELAY_SECONDS = 900


def receive(event: Any, context: Any) -> dict[str, Any]:
    request_id_var.set(getattr(context, "aws_request_id", None))
    configure_logging(early_log_level(os.environ), log_format="json")
    # A setting or secret that cannot be read raises: the HTTP API answers 500, which the alarm counts.
    settings = load_webhook_settings(resolve_webhook_secret(os.environ, SECRETS), need_queue=True)
    assert settings.queue_url is not None  # need_queue
    headers, body = http_request(event)
    queue = _queue(settings.queue_url)
    answer = webhooks.receive(headers, body, secret=settings.secret, repositories=settings.repositories,
                              queue=queue, now=datetime.now(UTC))  # fmt: skip
    return {"statusCode": answer.status, "headers": {"content-type": "application/json"},
            "body": answer.body().decode()}  # fmt: skip


def http_request(event: Any) -> tuple[dict[str, str], bytes]:
    """Headers and the raw body of an HTTP API (payload format 2.0) event. The signature is over the bytes
    GitHub sent: a text body arrives as a string (UTF-8), any other as base64."""
    if not isinstance(event, dict) or not isinstance(event.get("headers", {}), dict):
        raise ValueError("not an HTTP API event")
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    if not isinstance(raw, str):
        raise ValueError("not an HTTP API event: its body is not a string")
    if event.get("isBase64Encoded"):
        try:
            return headers, base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise ValueError("not an HTTP API event: its body is not base64") from None
    return headers, raw.encode("utf-8", "surrogatepass")


class SqsQueue:
    """``webhooks.Queue`` on SQS. Its waits are bounded well inside GitHub's 10 seconds (the function's
    timeout is 6): a request that cannot be queued fails the delivery, and GitHub shows it as failed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None

    def put(self, request: webhooks.CollectionRequest, *, delay_seconds: int = 0) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if self._client is None:
                config = Config(
                    connect_timeout=2, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
                )
                self._client = boto3.client("sqs", config=config)
            self._client.send_message(
                QueueUrl=self.url, MessageBody=webhooks.encode(request), DelaySeconds=delay_seconds
            )
        except ClientError as exc:
            raise webhooks.QueueError(exc.response.get("Error", {}).get("Code", "error")) from None
        except BotoCoreError as exc:
            raise webhooks.QueueError(type(exc).__name__) from None


def collect(event: Any, context: Any) -> dict[str, Any]:
    """Collect the repositories a batch of queued requests names; the messages of those to try again are
    reported as the batch's failures, so SQS delivers them again after the visibility timeout."""
    from collector import handler
    from collector.config import load_settings, resolve_secrets, webhook_queue_url
    from collector.deadline import Deadline
    from collector.github_api import GitHubClientFactory
    from collector.metrics import publish_run_metrics
    from collector.webhook_runs import collect_requested

    request_id_var.set(getattr(context, "aws_request_id", None))
    configure_logging(early_log_level(os.environ), log_format="json")
    messages = sqs_messages(event)
    settings = load_settings(resolve_secrets(os.environ, handler.SECRETS))
    deadline = Deadline(context.get_remaining_time_in_millis() / 1000)
    collected = collect_requested(
        settings, [request for _, request in messages], engine=handler.engine_for(settings), deadline=deadline,
        make_github=lambda: GitHubClientFactory.from_settings(settings, deadline=deadline),
        clock=lambda: datetime.now(UTC),
    )  # fmt: skip
    for result in collected.results:
        publish_run_metrics(result)
    held = {name.lower() for name in collected.busy}
    busy = [request for _, request in messages if request.repository.lower() in held]
    again = {name.lower() for name in collected.retry} | _postponed(busy, webhook_queue_url(os.environ))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id, request in messages
                                  if request.repository.lower() in again]}  # fmt: skip


def _postponed(busy: list[webhooks.CollectionRequest], queue_url: str | None) -> set[str]:
    """Requests for a repository another run holds go back on the queue, one per repository (its newest), due
    in BUSY_DELAY_SECONDS: reported as failures they would use up the redrive's receives during a long backfill
    and end in the dead-letter queue, alarming for nothing. The repositories whose request cannot be sent back
    are returned, to be reported as failures after all."""
    newest: dict[str, webhooks.CollectionRequest] = {}
    for request in busy:
        name = request.repository.lower()
        if name not in newest or request.event_at > newest[name].event_at:
            newest[name] = request
    failed: set[str] = set()
    for name, request in newest.items():
        try:
            if queue_url is None:
                raise webhooks.QueueError("WEBHOOK_QUEUE_URL is not set")
            _queue(queue_url).put(request, delay_seconds=BUSY_DELAY_SECONDS)
        except webhooks.QueueError as exc:
            log.warning("could not postpone a webhook request", extra={"repository": name, "reason": str(exc)})
            failed.add(name)
    return failed


def _queue(url: str) -> SqsQueue:
    """One client per queue and warm container."""
    return QUEUES.get(url) or QUEUES.setdefault(url, SqsQueue(url))


def sqs_messages(event: Any) -> list[tuple[str, webhooks.CollectionRequest]]:
    """The requests of an SQS event, by message id. A message that is not one (it never will be) is logged
    and dropped, not retried."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise ValueError("not an SQS event")
    messages = []
    for record in records:
        message_id, body = (record.get("messageId"), record.get("body")) if isinstance(record, dict) else (None, None)
        try:
            messages.append((str(message_id), webhooks.decode(str(body))))
        except ValueError as exc:
            log.error("queued message dropped", extra={"message_id": str(message_id), "error": str(exc)})
    return messages
