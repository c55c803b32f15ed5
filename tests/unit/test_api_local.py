"""serve's adapter turns a request into the event API Gateway's HTTP API (payload 2.0) sends the API Lambda."""

from email.message import Message

from collector.api.local import http_api_event


def headers(*pairs):
    message = Message()
    for name, value in pairs:
        message[name] = value
    return message


def test_the_event_is_what_api_gateway_sends():
    event = http_api_event(
        "GET",
        "/metrics/team/%C3%A9quipe%20web/velocity?from=2025-01-01&from=2025-02-01&format=csv&empty=",
        headers(("Host", "127.0.0.1:8080"), ("Accept", "text/csv"), ("X-Twice", "a"), ("X-Twice", "b"),
                ("Cookie", "a=1; b=2")),
        b"",
        "127.0.0.1",
    )  # fmt: skip
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    # HTTP APIs deliver the path percent-decoded, the query string as sent, repeats joined with commas.
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/metrics/team/équipe web/velocity"
    assert event["rawQueryString"] == "from=2025-01-01&from=2025-02-01&format=csv&empty="
    assert event["queryStringParameters"] == {"from": "2025-01-01,2025-02-01", "format": "csv", "empty": ""}
    assert event["headers"] == {"host": "127.0.0.1:8080", "accept": "text/csv", "x-twice": "a,b"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["method"] == "GET" and event["requestContext"]["stage"] == "$default"
    assert event["isBase64Encoded"] is False and "body" not in event


def test_a_body_travels_base64_encoded_and_no_query_means_no_parameters():
    event = http_api_event("POST", "/teams", headers(("Content-Length", "2")), b"{}", "::1")
    assert event["isBase64Encoded"] is True and event["body"] == "e30="
    assert "queryStringParameters" not in event and event["rawQueryString"] == ""
