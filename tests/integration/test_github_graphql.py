"""GitHubClient.graphql against the fake over HTTP: its answers, its errors, its own budget and points."""

import json
from datetime import timedelta

import pytest

from collector import fetch_keys
from collector.errors import GitHubAuthError
from collector.github_api import (
    BudgetSpent,
    GitHubClientFactory,
    GitHubRequestError,
    GitHubTimeoutError,
    GraphQLPartialError,
)
from collector.testing.fake_github import FakeDeployment, FakeStatus, Fault
from tests.github_schemas import assert_conforms_to_full_schema, post_graphql
from tests.helpers import FAST_RETRY, NOW, add, merged_pull

GRAPHQL = (("X-RateLimit-Resource", "graphql"), ("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", "4990"),
           ("X-RateLimit-Reset", "1900000000"))  # fmt: skip


def factory(fake, **options):
    return GitHubClientFactory(token="test-token", base_url=fake.base_url, policy=FAST_RETRY, **options)


def answer(payload, status=200, headers=GRAPHQL):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Fault(status=status, body=body, headers=headers)


def test_a_query_returns_its_data_and_counts_its_points_apart_from_rest(fake_github):
    fake_github.inject(r"^/graphql$", answer({"data": {"rateLimit": {"cost": 3}, "viewer": {"login": "octocat"}}}))
    gh = factory(fake_github)
    data = gh.client().graphql("query { rateLimit { cost } viewer { login } }")
    assert data == {"rateLimit": {"cost": 3}, "viewer": {"login": "octocat"}}
    assert (gh.stats.graphql_requests, gh.stats.graphql_points, gh.stats.requests) == (1, 3, 0)
    assert gh.stats.graphql_remaining == 4990 and gh.stats.rate_limit_remaining is None
    (request,) = fake_github.requests
    assert (request.method, request.path) == ("POST", "/graphql")


def test_a_query_that_does_not_say_its_cost_counts_githubs_least(fake_github):
    fake_github.inject(r"^/graphql$", answer({"data": {"viewer": None}}))
    gh = factory(fake_github)
    gh.client().graphql("query { viewer { login } }")
    assert gh.stats.graphql_points == 1


def test_a_repository_not_found_under_an_alias_is_null_not_an_error(fake_github):
    error = {"type": "NOT_FOUND", "path": ["r1"], "message": "Could not resolve to a Repository with the name 'a/x'."}
    fake_github.inject(r"^/graphql$", answer({"data": {"r0": {"id": "1"}, "r1": None}, "errors": [error]}))
    assert factory(fake_github).client().graphql("query { x }") == {"r0": {"id": "1"}, "r1": None}


def test_errors_under_aliases_fail_those_aliases_alone(fake_github):
    errors = [{"type": "FORBIDDEN", "path": ["r1", "deployments"], "message": "Resource protected by SAML"},
              {"type": "NOT_FOUND", "path": ["r2"], "message": "gone"}]  # fmt: skip
    fake_github.inject(r"^/graphql$", answer({"data": {"r0": {"id": "1"}, "r1": None, "r2": None}, "errors": errors}))
    with pytest.raises(GraphQLPartialError) as raised:
        factory(fake_github).client().graphql("query { x }")
    assert raised.value.failed == {"r1": "Resource protected by SAML"}
    assert raised.value.data["r0"] == {"id": "1"}


def test_an_error_of_the_whole_query_is_one_clear_error(fake_github):
    error = {"message": "Field 'nope' doesn't exist on type 'Query'", "locations": [{"line": 1, "column": 9}]}
    fake_github.inject(r"^/graphql$", answer({"errors": [error]}))
    with pytest.raises(GitHubRequestError, match=r"^GitHub refused the GraphQL query: Field 'nope' doesn't exist"):
        factory(fake_github).client().graphql("query { nope }")


def test_a_spent_graphql_limit_stops_the_run_until_it_resets(fake_github):
    error = {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}
    headers = (("X-RateLimit-Resource", "graphql"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1900000000"))
    fake_github.inject(r"^/graphql$", answer({"errors": [error]}, headers=headers))
    with pytest.raises(BudgetSpent) as raised:
        factory(fake_github).client().graphql("query { x }")
    assert raised.value.reset is not None and raised.value.reset.year == 2030


def test_the_graphql_reserve_is_kept_apart_from_rests(fake_github):
    low = (("X-RateLimit-Resource", "graphql"), ("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", "400"))
    fake_github.inject(r"^/graphql$", answer({"data": {"rateLimit": {"cost": 1}}}, headers=low))
    fake_github.add_repo("acme/api")
    gh = factory(fake_github, rate_limit_reserve=0.1)
    gh.client().graphql("query { rateLimit { cost } }")
    with pytest.raises(BudgetSpent, match="GraphQL rate-limit budget is down to the reserve"):
        gh.client().graphql("query { rateLimit { cost } }")
    assert gh.client().get("/repos/acme/api/pulls").status == 200  # REST's own budget is untouched
    assert gh.stats.graphql_requests == 1


@pytest.mark.parametrize(
    "body",
    [b"<html>Unicorn!</html>", b"[1, 2]", b'{"data": [1]}', b'{"data": {}, "errors": "bad"}', b'{"data": null}',
     b'{"errors": [{"message": "line one\\nforged line\\u001b[31m"}]}'],
)  # fmt: skip
def test_a_hostile_answer_is_one_line_of_error_never_a_traceback(fake_github, body):
    fake_github.inject(r"^/graphql$", answer(body))
    with pytest.raises(GitHubRequestError) as raised:
        factory(fake_github).client().graphql("query { x }")
    message = str(raised.value)
    assert "\n" not in message and "\x1b" not in message and message.startswith("GitHub")


def test_a_query_github_timed_out_on_is_asked_again(fake_github):
    message = "Something went wrong while executing your query. This may be the result of a timeout."
    timeout = {"data": None, "errors": [{"message": message}]}
    fake_github.inject(r"^/graphql$", answer(timeout), answer({"data": {"ok": True}}))
    gh = factory(fake_github)
    assert gh.client().graphql("query { ok }") == {"ok": True}
    assert gh.stats.retries == 1 and gh.stats.graphql_requests == 2


def test_a_query_github_keeps_timing_out_on_gives_up(fake_github):
    timeout = {"errors": [{"message": "Something went wrong while executing your query."}]}
    fake_github.inject(r"^/graphql$", *[answer(timeout)] * FAST_RETRY.attempts)
    with pytest.raises(GitHubTimeoutError, match="gave up after retries"):
        factory(fake_github).client().graphql("query { x }")


def test_a_server_error_is_retried(fake_github):
    fake_github.inject(r"^/graphql$", Fault(502, "Bad Gateway"), answer({"data": {"ok": 1}}))
    assert factory(fake_github).client().graphql("query { ok }") == {"ok": 1}


def test_a_rejected_token_is_an_auth_error(fake_github):
    fake_github.inject(r"^/graphql$", answer({"message": "Bad credentials"}, status=401))
    with pytest.raises(GitHubAuthError, match="GITHUB_TOKEN"):
        factory(fake_github).client().graphql("query { x }")


def test_a_missing_endpoint_says_to_check_the_api_url(fake_github):
    fake_github.inject(r"^/graphql$", answer({"message": "Not Found"}, status=404))
    with pytest.raises(GitHubRequestError, match=r"no GraphQL endpoint at /graphql .*GITHUB_API_URL"):
        factory(fake_github).client().graphql("query { x }")


@pytest.mark.parametrize(
    ("api", "graphql"),
    [("https://api.github.com", "https://api.github.com/graphql"),
     ("https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"),
     ("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"),
     ("http://127.0.0.1:8080/prefix", "http://127.0.0.1:8080/prefix/graphql")],
)  # fmt: skip
def test_the_graphql_endpoint_is_beside_the_rest_root_or_at_api_graphql_on_enterprise(api, graphql):
    assert GitHubClientFactory(token="t", base_url=api).graphql_url == graphql


def test_a_token_github_echoes_is_never_shown(fake_github):
    fake_github.inject(r"^/graphql$", answer({"errors": [{"message": "bad token test-token here"}]}))
    with pytest.raises(GitHubRequestError) as raised:
        factory(fake_github).client().graphql("query { x }")
    assert "test-token" not in str(raised.value)


def test_the_fakes_answers_to_the_collectors_queries_fit_githubs_schema(fake_github):
    add(fake_github, "acme/api", merged_pull(1), merged_pull(2))
    statuses = [FakeStatus("in_progress", NOW - timedelta(hours=2)), FakeStatus("success", NOW - timedelta(hours=1))]
    deployment = FakeDeployment(7, "a" * 40, "production", NOW - timedelta(hours=3), statuses)
    fake_github.add_deployment("acme/api", deployment)
    asks = [fetch_keys.ProbeAsk("acme/api", True, True)]
    first_commits = fetch_keys.first_commits_query([("acme/api", 1), ("acme/api", 2)])
    for query, variables in (
        fetch_keys.probe_query(asks),
        (fetch_keys.DEPLOYMENTS_QUERY, {"owner": "acme", "name": "api", "after": None}),
        first_commits[:2],
    ):
        answer = post_graphql(fake_github, query, variables).json()
        assert "errors" not in answer
        assert_conforms_to_full_schema(query, variables, answer["data"])
