"""Logs are JSON lines with the run id; PyGithub's own plain-text stderr handler must not leak."""

import io
import json
import logging

import github  # noqa: F401 - importing it installs PyGithub's plain-text handler

from collector.logs import configure_logging, request_id_var, run_id_var


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
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "dora-collector-json"]
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
