"""The OpenAPI document is a valid OpenAPI 3.1 document and describes every real answer; the Lambda handler, given
a real HTTP API event, answers exactly as ``serve`` does."""

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from collector.api import keys, lambda_handler
from tests.integration.api_client import Api, known_dataset, serving
from tests.integration.test_api_dora import dora_dataset

EVENT = Path(__file__).parents[2] / "events" / "api-velocity.json"


@pytest.fixture
def api(engine, fake_github):
    known_dataset(engine, fake_github)
    with serving(engine) as server:
        yield Api(server, keys.create_key(engine, "contract"))


@pytest.fixture
def document(api):
    answer = api.get("/openapi.json", key="")
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/json"
    return answer.json


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)  # openapi-spec-validator: the 3.1 schema and its rules (refs resolve, paths match)
    assert document["openapi"].startswith("3.1")


def test_the_document_lists_the_endpoints_and_asks_a_key_for_each_but_itself(document):
    assert set(document["paths"]) == {
        "/teams", "/metrics/team/{team_id}/velocity", "/metrics/team/{team_id}/lead-time",
        "/metrics/team/{team_id}/dora", "/openapi.json"
    }  # fmt: skip
    for path, operations in document["paths"].items():
        assert set(operations) == {"get"}
        expected = [] if path == "/openapi.json" else [{"apiKey": []}]
        assert operations["get"].get("security", []) == expected, path
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    # The parameter validation's 422 is never answered (a bad parameter is a 400 problem): not documented either.
    assert not any("422" in op["get"]["responses"] for op in document["paths"].values())


# Real requests, and the path template (and status) the document must describe them under.
REQUESTS = [
    ("/teams", "/teams"),
    ("/teams?format=csv", "/teams"),
    ("/teams?format=json&nope=1", "/teams"),
    ("/metrics/team/platform/velocity", "/metrics/team/{team_id}/velocity"),
    ("/metrics/team/platform/velocity?from=2025-03-03&to=2025-03-17&format=csv", "/metrics/team/{team_id}/velocity"),
    ("/metrics/team/mobile/velocity?from=2025-03-03", "/metrics/team/{team_id}/velocity"),
    ("/metrics/team/platform/velocity?from=2025-13-01", "/metrics/team/{team_id}/velocity"),
    ("/metrics/team/platform/velocity?from=2025-03-03&to=2025-03-01", "/metrics/team/{team_id}/velocity"),
    ("/metrics/team/nobody/velocity", "/metrics/team/{team_id}/velocity"),
    ("/metrics/team/platform/lead-time", "/metrics/team/{team_id}/lead-time"),
    ("/metrics/team/platform/lead-time?format=csv", "/metrics/team/{team_id}/lead-time"),
    ("/metrics/team/platform/lead-time?from=2010-01-01", "/metrics/team/{team_id}/lead-time"),
    ("/metrics/team/nobody/lead-time", "/metrics/team/{team_id}/lead-time"),
    ("/metrics/team/platform/dora", "/metrics/team/{team_id}/dora"),
    ("/metrics/team/platform/dora?format=csv&report_year=2021", "/metrics/team/{team_id}/dora"),
    ("/metrics/team/platform/dora?report_year=2019", "/metrics/team/{team_id}/dora"),
    ("/metrics/team/nobody/dora", "/metrics/team/{team_id}/dora"),
    ("/openapi.json", "/openapi.json"),
    ("/openapi.json?x=1", "/openapi.json"),
]


def conforms(document, template, answer):
    """The answer's status is documented for its operation, its content type too, and its body fits the schema."""
    responses = document["paths"][template]["get"]["responses"]
    assert str(answer.status) in responses, (template, answer.status, sorted(responses))
    response = responses[str(answer.status)]
    if answer.status == 304:
        assert "content" not in response and answer.body == b""
        return
    content_type = answer.headers["Content-Type"].split(";")[0]
    assert content_type in response["content"], (template, answer.status, content_type)
    if content_type == "text/csv":
        assert answer.text.endswith("\r\n")
        return
    # The schema's $refs point into the document (#/components/...): validate with the document as the root.
    schema = {**response["content"][content_type]["schema"], "components": document["components"]}
    errors = sorted(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(answer.json), key=str)
    assert errors == [], (template, answer.status, [e.message for e in errors])


@pytest.mark.parametrize(("request_path", "template"), REQUESTS, ids=[r for r, _ in REQUESTS])
def test_every_real_answer_is_the_one_the_document_describes(api, document, request_path, template):
    answer = api.get(request_path)
    assert answer.status < 500, answer.text
    conforms(document, template, answer)


TEMPLATES = [
    "/teams",
    "/metrics/team/{team_id}/velocity",
    "/metrics/team/{team_id}/lead-time",
    "/metrics/team/{team_id}/dora",
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_401_and_304_are_described_too(api, document, template):
    path = template.replace("{team_id}", "platform")
    conforms(document, template, api.get(path, key=""))
    etag = api.get(path).headers["ETag"]
    conforms(document, template, api.get(path, {"If-None-Match": etag}))


def test_dora_answers_with_every_key_counted_are_the_ones_the_document_describes(engine, fake_github):
    # The known dataset has no four keys' facts: this one has every key with values, and months without.
    dora_dataset(engine, fake_github)
    with serving(engine) as server:
        api = Api(server, keys.create_key(engine, "contract"))
        document = api.get("/openapi.json", key="").json
        for query in ("from=2025-01-01&to=2025-03-31", "from=2025-02-01&to=2025-02-28&report_year=2021"):
            answer = api.get(f"/metrics/team/platform/dora?{query}")
            months = answer.json["months"]
            assert any(m["time_to_restore"]["value"] is not None for m in months), query  # values, not only nulls
            conforms(document, "/metrics/team/{team_id}/dora", answer)


def test_a_format_checker_would_catch_a_date_that_is_not_one(document):
    # The answers' dates are checked as dates (format: date), not as any string.
    schema = {"$ref": "#/components/schemas/Week", "components": document["components"]}
    week = {"week": "2025-03-32", "prs_merged": 0, "weighted_prs_merged": 0, "avg_cycle_time_hours": None,
            "in_progress": False}  # fmt: skip
    assert list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(week))


# ---------------------------------------------------------------- the Lambda handler


@pytest.fixture
def lambda_env(engine, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("DATABASE_URL_SECRET_ARN", raising=False)
    monkeypatch.setattr(lambda_handler, "APPS", {})  # a cold container
    monkeypatch.setattr(lambda_handler, "ENGINES", {})
    yield
    for made in lambda_handler.ENGINES.values():
        made.dispose()


def test_the_lambda_handler_answers_a_real_http_api_event_as_serve_does(api, lambda_env, monkeypatch):
    event = json.loads(EVENT.read_text())
    event["headers"]["authorization"] = f"Bearer {api.key}"
    context = SimpleNamespace(aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678")
    answer = lambda_handler.handler(event, context)
    served = api.get(f"{event['rawPath']}?{event['rawQueryString']}")
    assert answer["statusCode"] == served.status == 200
    assert answer["body"] == served.text and json.loads(answer["body"])["weeks"][0]["prs_merged"] == 2
    for header in ("Content-Type", "ETag", "Cache-Control"):
        assert answer["headers"][header] == served.headers[header]
    event["headers"]["if-none-match"] = served.headers["ETag"]
    assert lambda_handler.handler(event, context)["statusCode"] == 304
    event["headers"]["authorization"] = "Bearer nope"
    refused = lambda_handler.handler(event, context)
    assert refused["statusCode"] == 401 and json.loads(refused["body"])["status"] == 401


def test_the_lambda_handler_without_a_database_setting_is_a_503_problem(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL_SECRET_ARN", raising=False)
    event = json.loads(EVENT.read_text())
    answer = lambda_handler.handler(event, SimpleNamespace(aws_request_id="r"))
    assert answer["statusCode"] == 503 and answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"])["detail"] == "the API is not configured correctly; its log says why"


def test_the_lambda_reads_its_database_secret_and_never_the_collectors_github_secret(api, lambda_env, monkeypatch):
    database_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dora-api-db-MnOpQr"
    url = os.environ["DATABASE_URL"]
    asked = []

    class Secrets:  # what the function's role allows: its own database secret, nothing else
        def get(self, arn):
            asked.append(arn)
            if arn != database_arn:
                raise AssertionError(f"the API asked for {arn}")
            return url

    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("DATABASE_URL_SECRET_ARN", database_arn)
    monkeypatch.setenv("GITHUB_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:github-AbCdEf")
    monkeypatch.setattr(lambda_handler, "SECRETS", Secrets())
    event = json.loads(EVENT.read_text())
    event["headers"]["authorization"] = f"Bearer {api.key}"
    answer = lambda_handler.handler(event, SimpleNamespace(aws_request_id="r"))
    assert answer["statusCode"] == 200 and asked == [database_arn]
