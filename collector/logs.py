"""JSON lines on stderr, one event per line, each carrying the run id (and Lambda request id)."""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

run_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("aws_request_id", default=None)

_HANDLER_NAME = "dora-collector-json"
_OUR_LOGGER = "collector"
# Libraries whose DEBUG output carries secrets (botocore logs GetSecretValue's answer and the request's
# session token; urllib3 and PyGithub log requests) or is merely noise: only their warnings and errors pass.
_THIRD_PARTY = ("boto3", "botocore", "s3transfer", "urllib3", "github", "aws_lambda_powertools", "psycopg")


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = run_id_var.get()
        request_id = request_id_var.get()
        if request_id is not None:
            record.aws_request_id = request_id
        return True


class _NoThirdPartyDebug(logging.Filter):
    """DEBUG is ours alone: a library's DEBUG record never leaves through our handler, whatever LOG_LEVEL says.

    Pinning the known libraries' levels is not enough on its own: another library's logger inherits the
    root's level, which LOG_LEVEL=DEBUG lowers for the whole (warm) container.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            return True
        return record.name == _OUR_LOGGER or record.name.startswith(_OUR_LOGGER + ".")


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Install (or replace, on a warm Lambda) our JSON handler on the root logger."""
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(_NoThirdPartyDebug())
    handler.addFilter(_ContextFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in _THIRD_PARTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # `import github` installs a plain-text stderr handler of its own; route its records to ours.
    github_logger = logging.getLogger("github")
    for existing in list(github_logger.handlers):
        github_logger.removeHandler(existing)
    github_logger.propagate = True
    # alembic announces its dialect at INFO on every schema check.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Lambda's runtime adds a plain handler to the root logger; keep only ours.
    for existing in [h for h in root.handlers if h.get_name() != _HANDLER_NAME]:
        if type(existing).__module__.startswith(("awslambdaric", "bootstrap")):
            root.removeHandler(existing)
