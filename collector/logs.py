"""Logs on stderr, one event per line, each carrying the run id (and Lambda request id).

JSON lines for machines (Lambda, a pipe, a file); on a terminal, a line for people: time, level, what the
event is about, the message, then its keys as key=value. ``LOG_FORMAT`` chooses either way explicitly.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from datetime import date, datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from collector.errors import TERMINAL_CONTROLS, ConfigError

run_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("aws_request_id", default=None)

LOG_FORMATS = ("auto", "json", "text")
_HANDLER_NAME = "dora-collector"
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
        return _is_ours(record.name)


def _is_ours(logger_name: str) -> bool:
    return logger_name == _OUR_LOGGER or logger_name.startswith(_OUR_LOGGER + ".")


# What every record has, whatever was logged: the rest of a record's attributes are the event's `extra`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "run_id",  # the summary names the run; a terminal needs it on no line
    "aws_request_id",
}
# A message or value may carry GitHub's text.
_UNPRINTABLE = re.compile(TERMINAL_CONTROLS)
_NEEDS_QUOTES = re.compile(r'[\s="]')


class TextFormatter(logging.Formatter):
    """``08:21:04 WARNING acme/api: pull request quarantined item=7 reason="…"``: local time, level, the
    repository the event is about (if any), the message, then the event's keys; a library's records name
    their logger."""

    def format(self, record: logging.LogRecord) -> str:
        keys = {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES and v is not None}
        subject = keys.pop("repository", None)
        parts = [time.strftime("%H:%M:%S", self.converter(record.created)), record.levelname]
        if not _is_ours(record.name):
            parts.append(f"[{record.name}]")
        message = _printable(record.getMessage())
        parts.append(f"{_printable(str(subject))}: {message}" if subject is not None else message)
        parts.extend(f"{_printable(key)}={_text_value(value)}" for key, value in keys.items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):  # a list or a mapping: compact JSON
        return _printable(json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":")))
    return _printable(json.dumps(value, ensure_ascii=False) if not value or _NEEDS_QUOTES.search(value) else value)


def _printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def chosen_format(requested: str | None, stream: TextIO) -> str:
    """``json`` or ``text``: as requested (LOG_FORMAT), or for ``auto``/unset, text on a terminal only."""
    value = (requested or "auto").strip().lower() or "auto"
    if value not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)} (got {requested!r})")
    if value == "auto":
        return "text" if _is_terminal(stream) else "json"
    return value


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def configure_logging(level: str = "INFO", stream: TextIO | None = None, *, log_format: str | None = None) -> None:
    """Install (or replace, on a warm Lambda) our handler on the root logger.

    ``log_format``: ``json``, ``text`` or ``auto`` (the default: text when the stream is a terminal).
    """
    stream = stream or sys.stderr
    formatter = TextFormatter() if chosen_format(log_format, stream) == "text" else _json_formatter()
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    handler.addFilter(_NoThirdPartyDebug())
    handler.addFilter(_ContextFilter())
    root.addHandler(handler)
    set_log_level(level)
    # `import github` installs a plain-text stderr handler of its own; route its records to ours.
    github_logger = logging.getLogger("github")
    for existing in list(github_logger.handlers):
        github_logger.removeHandler(existing)
    github_logger.propagate = True
    # Lambda's runtime adds a plain handler to the root logger; keep only ours.
    for existing in [h for h in root.handlers if h.get_name() != _HANDLER_NAME]:
        if type(existing).__module__.startswith(("awslambdaric", "bootstrap")):
            root.removeHandler(existing)


def set_log_level(level: str) -> None:
    """The level for our records and the root; libraries stay at WARNING or above (see _THIRD_PARTY)."""
    logging.getLogger().setLevel(level)
    for name in _THIRD_PARTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # alembic announces its dialect at INFO on every schema check.
    logging.getLogger("alembic").setLevel(logging.WARNING)
