"""Logs: JSON lines with the run id for machines (a pipe, a file, Lambda), one readable line per event on a
terminal; PyGithub's own plain-text stderr handler must not leak."""

import io
import json
import logging
import os
import re
from datetime import UTC, datetime

import github  # noqa: F401 - importing it installs PyGithub's plain-text handler
import pytest

from collector import handler
from collector.errors import ConfigError
from collector.logs import configure_logging, request_id_var, run_id_var
from tests.terminal import Terminal

CLOCK = r"\d\d:\d\d:\d\d"


@pytest.fixture
def terminal():
    term = Terminal()
    yield term
    term.close()


@pytest.fixture
def pipe():
    """The write end of a real pipe as a text stream, and a function that reads what went through."""
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")

    def received():
        stream.flush()
        return os.read(read_end, 65536).decode()

    yield stream, received
    stream.close()
    os.close(read_end)


def log_a_quarantine():
    token = run_id_var.set("run-123")
    try:
        logging.getLogger("collector.pipeline").warning(
            "pull request quarantined", extra={"repository": "acme/api", "item": "7", "reason": "not JSON: line 1"}
        )
    finally:
        run_id_var.reset(token)


def test_pygithub_records_come_out_as_json_with_the_run_id():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    token = run_id_var.set("run-123")
    try:
        logging.getLogger("github.Requester").warning("secondary rate limit hit")
        logging.getLogger("collector.pipeline").info("repository collected", extra={"repository": "acme/api"})
    finally:
        run_id_var.reset(token)
    assert logging.getLogger("github").handlers == []
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"], line["run_id"]) for line in lines] == [
        ("github.Requester", "secondary rate limit hit", "run-123"),
        ("collector.pipeline", "repository collected", "run-123"),
    ]
    assert lines[1]["repository"] == "acme/api" and lines[1]["level"] == "INFO"


def test_lambda_request_id_is_on_every_line():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    token = request_id_var.set("req-9")
    try:
        logging.getLogger("collector").info("hello")
    finally:
        request_id_var.reset(token)
    assert json.loads(stream.getvalue())["aws_request_id"] == "req-9"


def test_configuring_twice_keeps_one_handler():
    configure_logging("INFO", stream=io.StringIO())
    configure_logging("DEBUG", stream=io.StringIO())
    configure_logging("INFO", stream=io.StringIO(), log_format="text")
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "dora-collector"]
    assert len(ours) == 1


def test_debug_is_ours_alone_whatever_the_level():
    """Issue 9: at LOG_LEVEL=DEBUG, libraries (botocore: secret values, session tokens) logged at DEBUG too.

    The known ones are pinned to WARNING; any other library's DEBUG record is dropped by our handler."""
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    for name in ("botocore.parsers", "boto3", "urllib3.connectionpool", "s3transfer", "github.Requester",
                 "aws_lambda_powertools.metrics", "psycopg"):  # fmt: skip
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    logging.getLogger("botocore.parsers").debug("Response body: %s", "the-secret")
    logging.getLogger("some_sdk.wire").debug("Authorization: %s", "the-secret")  # a library nobody listed
    logging.getLogger().debug("the-secret")  # a library logging through the root logger itself
    logging.getLogger("some_sdk.wire").info("connected")
    logging.getLogger("botocore.credentials").warning("credentials expire soon")
    logging.getLogger("collector.pipeline").debug("page fetched")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("some_sdk.wire", "INFO"),
        ("botocore.credentials", "WARNING"),
        ("collector.pipeline", "DEBUG"),
    ]


def test_a_terminal_gets_one_readable_line_per_event(terminal):
    configure_logging("INFO", stream=terminal.stream())
    log_a_quarantine()
    (line,) = terminal.lines(1)
    # Local time, level, the repository the event is about, the message, then its keys; no run id.
    assert re.fullmatch(CLOCK + r' WARNING acme/api: pull request quarantined item=7 reason="not JSON: line 1"', line)


def test_a_pipe_gets_json_lines(pipe):
    stream, received = pipe
    configure_logging("INFO", stream=stream)
    log_a_quarantine()
    (line,) = [json.loads(x) for x in received().splitlines()]
    assert (line["level"], line["repository"], line["reason"], line["run_id"]) == (
        "WARNING", "acme/api", "not JSON: line 1", "run-123",
    )  # fmt: skip


def test_log_format_json_on_a_terminal_gives_json(terminal):
    configure_logging("INFO", stream=terminal.stream(), log_format="json")
    log_a_quarantine()
    (line,) = terminal.lines(1)
    assert json.loads(line)["message"] == "pull request quarantined"


def test_log_format_text_through_a_pipe_gives_text(pipe):
    stream, received = pipe
    configure_logging("INFO", stream=stream, log_format="TEXT")
    log_a_quarantine()
    assert re.fullmatch(CLOCK + r" WARNING acme/api: pull request quarantined item=7 .*\n", received())


def test_an_unknown_log_format_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"LOG_FORMAT must be one of auto, json, text \(got 'yaml'\)"):
        configure_logging("INFO", stream=io.StringIO(), log_format="yaml")


def test_the_lambda_handler_logs_json_even_on_a_terminal(terminal, monkeypatch):
    """`sam local invoke` in a terminal, say: CloudWatch's format does not depend on where stderr goes."""
    monkeypatch.setattr("sys.stderr", terminal.stream())
    monkeypatch.setenv("LOG_FORMAT", "text")
    with pytest.raises(ConfigError):  # configured first, then the event is refused
        handler.handler(["not", "an", "event"], None)
    logging.getLogger("collector").warning("hello")
    (line,) = terminal.lines(1)
    assert json.loads(line)["message"] == "hello"


def test_text_keys_render_plainly_and_leave_out_what_is_unset():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, log_format="text")
    when = datetime(2026, 6, 15, 13, 0, tzinfo=UTC)
    logging.getLogger("collector.ledger").info(
        "run finished", extra={"status": "partial", "not_modified": True, "rate_limit_reset": when, "error": None,
                               "ratio": 0.5, "failed": ["acme/a"], "empty": ""}
    )  # fmt: skip
    assert stream.getvalue().split(" ", 2)[2] == (
        "run finished status=partial not_modified=true rate_limit_reset=2026-06-15T13:00:00+00:00 ratio=0.5 "
        'failed=["acme/a"] empty=""\n'
    )


def test_a_librarys_text_line_names_its_logger():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, log_format="text")
    logging.getLogger("github.Requester").warning("secondary rate limit hit")
    assert stream.getvalue().split(" ", 1)[1] == "WARNING [github.Requester] secondary rate limit hit\n"


def test_text_lines_cannot_drive_the_terminal():
    """A message or value may carry GitHub's text: an escape sequence or a newline is shown, not obeyed."""
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, log_format="text")
    logging.getLogger("collector.pipeline").warning(
        "pull request \x1b[2Jquarantined", extra={"repository": "acme/\u202eipa", "reason": "bad\nline\x07"}
    )
    line = stream.getvalue()
    assert line.count("\n") == 1 and "\x1b" not in line and "\u202e" not in line and "\x07" not in line
    assert line.split(" ", 2)[2] == 'acme/\\u202eipa: pull request \\u001b[2Jquarantined reason="bad\\nline\\u0007"\n'


def test_a_traceback_follows_its_text_line():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, log_format="text")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("collector").exception("it broke")
    first, *rest = stream.getvalue().splitlines()
    assert first.endswith("ERROR it broke") and rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: boom"
