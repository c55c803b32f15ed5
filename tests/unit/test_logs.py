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
