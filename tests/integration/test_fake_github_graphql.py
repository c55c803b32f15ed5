"""The fake's GraphQL endpoint answers like GitHub: GitHub's schema, GitHub's cost formula, GitHub's refusals.

Every query here also validates against GitHub's full schema, and every answer replayed through the full schema
comes out unchanged (``assert_conforms_to_full_schema``): the fake cannot drift from what GitHub may return.
"""

from datetime import timedelta

import pytest
import requests
from github import Auth, Github
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    print_ast,
    validate_schema,
)

from collector.testing.fake_github import FakeDeployment, FakeGitHub, FakePull, FakeStatus, Fault
from collector.testing.fake_github_graphql import subset_schema
from tests.github_schemas import (
    AUTH,
    assert_conforms_to_full_schema,
    full_graphql_schema,
    full_schema_errors,
    post_graphql,
)
from tests.helpers import NOW, merged_pull, open_pull

REPO = "acme/api"
DEPLOYMENTS = """
query($owner: String!, $name: String!, $first: Int = 100, $after: String, $direction: OrderDirection = DESC) {
  rateLimit { cost limit remaining used resetAt nodeCount }
  repository(owner: $owner, name: $name) {
    id name nameWithOwner defaultBranchRef { name }
    deployments(environments: ["production"], orderBy: {field: CREATED_AT, direction: $direction},
                first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
      nodes {
        id databaseId commitOid environment createdAt updatedAt state
        latestStatus { state createdAt }
        statuses(first: 10) { totalCount pageInfo { hasNextPage endCursor } nodes { state createdAt } }
      }
    }
  }
}
"""
# The collector's query for merged PRs and their first commits (docs: one page costs 1 point).
MERGED_PRS = """
query($owner: String!, $name: String!, $after: String) {
  rateLimit { cost remaining resetAt nodeCount }
  repository(owner: $owner, name: $name) {
    defaultBranchRef { name }
    pullRequests(first: 100, after: $after, states: MERGED,
                 orderBy: {field: UPDATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor startCursor hasPreviousPage }
      nodes {
        number databaseId createdAt updatedAt mergedAt isDraft baseRefName
        author { __typename login }
        commits(first: 1) { totalCount nodes { commit { oid authoredDate committedDate } } }
      }
    }
  }
}
"""
VARIABLES = {"owner": "acme", "name": "api"}


@pytest.fixture
def fake(fake_github):
    fake_github.add_repo(REPO)
    return fake_github


def answered(fake, query, variables=None):
    """The data of an answer without errors, checked against GitHub's full schema."""
    answer = post_graphql(fake, query, variables)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    assert_conforms_to_full_schema(query, variables, answer.json()["data"])
    return answer.json()["data"]


def refused(fake, query, variables=None):
    """The errors of an answer GitHub gives with HTTP 200 and no data; the query is valid for GitHub's schema
    unless it is meant not to be."""
    answer = post_graphql(fake, query, variables)
    assert answer.status_code == 200
    return answer.json()["errors"]


def deployment(deployment_id, created, *states, environment="production"):
    statuses = [FakeStatus(state, created + timedelta(minutes=n + 1)) for n, state in enumerate(states)]
    return FakeDeployment(deployment_id, f"{deployment_id:040x}", environment, created, statuses)


def deployments_of(data):
    return [node["databaseId"] for node in data["repository"]["deployments"]["nodes"]]


# ---------------------------------------------------------------------------------------------- the schema
def default_of(argument):
    """An argument's default as the SDL writes it (graphql-core 3.2 and 3.3 keep the value differently)."""
    node = argument.ast_node
    return print_ast(node.default_value) if node is not None and node.default_value is not None else None


def test_the_served_schema_is_a_faithful_part_of_githubs():
    full, served = full_graphql_schema(), subset_schema()
    assert validate_schema(served) == []
    fields = 0
    for name, ours in served.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        theirs = full.type_map[name]
        assert type(ours) is type(theirs), name
        if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType):
            assert {i.name for i in ours.interfaces} <= {i.name for i in theirs.interfaces}, name
        if isinstance(ours, GraphQLEnumType):
            assert set(ours.values) == set(theirs.values), name
        if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in ours.fields.items():
                their_field = theirs.fields[field_name]
                assert str(field.type) == str(their_field.type), f"{name}.{field_name}"
                if isinstance(ours, GraphQLInputObjectType):
                    continue
                assert set(field.args) == set(their_field.args), f"{name}.{field_name}"
                for arg_name, arg in field.args.items():
                    their_arg = their_field.args[arg_name]
                    assert (str(arg.type), default_of(arg)) == (str(their_arg.type), default_of(their_arg))
                fields += 1
    assert fields > 60  # the check ran over the whole subset


def test_the_collectors_queries_are_valid_for_githubs_schema():
    assert full_schema_errors(DEPLOYMENTS) == []
    assert full_schema_errors(MERGED_PRS) == []
    assert full_schema_errors("{ repository(owner: 1) { nope } }") != []  # the check can fail


# ---------------------------------------------------------------------------------------------- deployments
def test_deployments_answer_with_githubs_shapes(fake):
    fake.add_deployment(REPO, deployment(7, NOW - timedelta(hours=1), "in_progress", "success"))
    data = answered(fake, DEPLOYMENTS, VARIABLES)
    repository = data["repository"]
    assert (repository["nameWithOwner"], repository["defaultBranchRef"]) == (REPO, {"name": "main"})
    (node,) = repository["deployments"]["nodes"]
    assert node["id"] == f"DE_{fake.repos[REPO].id}_7" and node["commitOid"] == f"{7:040x}"
    assert (node["state"], node["latestStatus"]) == (
        "ACTIVE",
        {"state": "SUCCESS", "createdAt": "2026-06-15T11:02:00Z"},
    )
    assert (node["createdAt"], node["updatedAt"]) == ("2026-06-15T11:00:00Z", "2026-06-15T11:02:00Z")


def test_deployment_statuses_are_newest_first_as_on_github(fake):
    fake.add_deployment(REPO, deployment(1, NOW - timedelta(hours=1), "queued", "in_progress", "success"))
    query = """{ repository(owner: "acme", name: "api") { deployments(first: 1) { nodes {
        newest: statuses(first: 1) { nodes { state } } oldest: statuses(last: 1) { nodes { state } }
        all: statuses(first: 10) { totalCount nodes { state } } } } } }"""
    (node,) = answered(fake, query)["repository"]["deployments"]["nodes"]
    assert node["newest"]["nodes"] == [{"state": "SUCCESS"}] and node["oldest"]["nodes"] == [{"state": "QUEUED"}]
    assert [s["state"] for s in node["all"]["nodes"]] == ["SUCCESS", "IN_PROGRESS", "QUEUED"]


@pytest.mark.parametrize(
    ("states", "state"),
    [(("success",), "ACTIVE"), (("in_progress", "failure"), "FAILURE"), (("error",), "ERROR"),
     (("success", "inactive"), "INACTIVE"), ((), "PENDING"), (("queued",), "QUEUED")],
)  # fmt: skip
def test_a_deployments_state_follows_its_latest_status(fake, states, state):
    fake.add_deployment(REPO, deployment(1, NOW, *states))
    (node,) = answered(fake, DEPLOYMENTS, VARIABLES)["repository"]["deployments"]["nodes"]
    assert node["state"] == state
    assert node["latestStatus"] == (None if not states else {"state": states[-1].upper(),
                                                              "createdAt": node["updatedAt"]})  # fmt: skip


def test_a_late_status_moves_updated_at_and_is_seen(fake):
    fake.add_deployment(REPO, deployment(1, NOW - timedelta(hours=3), "in_progress"))
    before = answered(fake, DEPLOYMENTS, VARIABLES)["repository"]["deployments"]["nodes"][0]
    fake.add_deployment_status(REPO, 1, FakeStatus("success", NOW))
    after = answered(fake, DEPLOYMENTS, VARIABLES)["repository"]["deployments"]["nodes"][0]
    assert (before["state"], after["state"]) == ("IN_PROGRESS", "ACTIVE")
    assert (before["updatedAt"], after["updatedAt"]) == ("2026-06-15T09:01:00Z", "2026-06-15T12:00:00Z")


def test_deployments_filter_environments_exactly(fake):
    fake.add_deployment(REPO, deployment(1, NOW - timedelta(days=2)))
    fake.add_deployment(REPO, deployment(2, NOW - timedelta(days=1), environment="staging"))
    fake.add_deployment(REPO, deployment(3, NOW, environment="Production"))
    assert deployments_of(answered(fake, DEPLOYMENTS, VARIABLES)) == [1]


def test_deployments_order_by_creation_ascending_by_default(fake):
    for n, days in ((1, 3), (2, 1), (3, 2)):
        fake.add_deployment(REPO, deployment(n, NOW - timedelta(days=days)))
    default = """{ repository(owner: "acme", name: "api") { deployments(first: 10) { nodes { databaseId } } } }"""
    assert deployments_of(answered(fake, default)) == [1, 3, 2]
    assert deployments_of(answered(fake, DEPLOYMENTS, VARIABLES)) == [2, 3, 1]


def test_deployments_page_with_cursors_that_survive_new_deployments(fake):
    for n in range(1, 6):
        fake.add_deployment(REPO, deployment(n, NOW - timedelta(hours=10 - n)))
    first = answered(fake, DEPLOYMENTS, {**VARIABLES, "first": 2})["repository"]["deployments"]
    assert [d["databaseId"] for d in first["nodes"]] == [5, 4] and first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True and first["pageInfo"]["hasPreviousPage"] is False
    edges = """query($after: String) { repository(owner: "acme", name: "api") {
        deployments(first: 2, after: $after, orderBy: {field: CREATED_AT, direction: DESC}) {
          pageInfo { endCursor } edges { cursor node { databaseId } } } } }"""
    paged = answered(fake, edges)["repository"]["deployments"]
    assert [e["node"]["databaseId"] for e in paged["edges"]] == [5, 4]
    assert paged["edges"][-1]["cursor"] == paged["pageInfo"]["endCursor"] == first["pageInfo"]["endCursor"]
    following = answered(fake, edges, {"after": paged["edges"][0]["cursor"]})["repository"]["deployments"]
    assert [e["node"]["databaseId"] for e in following["edges"]] == [4, 3]  # any edge's cursor pages on
    fake.add_deployment(REPO, deployment(6, NOW))  # newer than the whole walk: must not shift it
    after = first["pageInfo"]["endCursor"]
    second = answered(fake, DEPLOYMENTS, {**VARIABLES, "first": 2, "after": after})["repository"]["deployments"]
    assert [d["databaseId"] for d in second["nodes"]] == [3, 2] and second["pageInfo"]["hasPreviousPage"] is True
    third = answered(fake, DEPLOYMENTS, {**VARIABLES, "first": 2, "after": second["pageInfo"]["endCursor"]})
    assert deployments_of(third) == [1]
    assert third["repository"]["deployments"]["pageInfo"]["hasNextPage"] is False


def test_deployments_page_backwards_with_last_and_before(fake):
    for n in range(1, 6):
        fake.add_deployment(REPO, deployment(n, NOW - timedelta(hours=10 - n)))
    query = """query($before: String) { repository(owner: "acme", name: "api") {
        deployments(last: 2, before: $before) { pageInfo { hasPreviousPage startCursor } nodes { databaseId } } } }"""
    page = answered(fake, query)["repository"]["deployments"]
    assert [d["databaseId"] for d in page["nodes"]] == [4, 5] and page["pageInfo"]["hasPreviousPage"] is True
    earlier = answered(fake, query, {"before": page["pageInfo"]["startCursor"]})
    assert deployments_of(earlier) == [2, 3]


def test_a_cursor_github_did_not_make_is_refused(fake):
    query = """{ repository(owner: "acme", name: "api") { deployments(first: 1, after: "bm9wZQ==") { totalCount } } }"""
    answer = post_graphql(fake, query).json()
    assert answer["data"] == {"repository": None}
    assert answer["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert answer["errors"][0]["path"] == ["repository", "deployments"]


# ---------------------------------------------------------------------------------------------- pull requests
def test_merged_pull_requests_with_their_first_commit(fake):
    bot = merged_pull(1, "dependabot[bot]", user_type="Bot", updated=NOW - timedelta(days=3))
    bot.first_commit_at = NOW - timedelta(days=9)
    fake.add_pull(REPO, bot)
    fake.add_pull(REPO, merged_pull(2, None, updated=NOW - timedelta(days=1)))  # a deleted account
    fake.add_pull(REPO, merged_pull(3, updated=NOW - timedelta(days=2)))
    fake.add_pull(REPO, open_pull(4, created=NOW))
    closed = FakePull(5, "closed", "alice", NOW, NOW, state="closed", closed_at=NOW)
    fake.add_pull(REPO, closed)
    data = answered(fake, MERGED_PRS, VARIABLES)
    nodes = data["repository"]["pullRequests"]["nodes"]
    assert [n["number"] for n in nodes] == [2, 3, 1]  # merged only, newest updated first
    by_number = {n["number"]: n for n in nodes}
    assert by_number[1]["author"] == {"__typename": "Bot", "login": "dependabot"}  # GraphQL drops "[bot]"
    assert by_number[2]["author"] is None
    assert by_number[1]["commits"]["nodes"][0]["commit"]["authoredDate"] == "2026-06-06T12:00:00Z"
    created = fake.repos[REPO].pulls[3].created_at
    expected = (created - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert by_number[3]["commits"]["nodes"][0]["commit"]["authoredDate"] == expected  # the default
    rest = requests.get(f"{fake.base_url}/repos/{REPO}/pulls", params={"state": "closed"}, headers=AUTH, timeout=5)
    assert by_number[3]["databaseId"] == next(p["id"] for p in rest.json() if p["number"] == 3)


def test_a_pull_request_by_number_and_its_commits_oldest_first(fake):
    pull = merged_pull(8)
    pull.commits, pull.first_commit_at = 3, NOW - timedelta(days=20)
    fake.add_pull(REPO, pull)
    empty = merged_pull(9)
    empty.commits = 0
    fake.add_pull(REPO, empty)
    query = """query($n: Int!) { repository(owner: "acme", name: "api") { pullRequest(number: $n) {
        number databaseId mergedAt createdAt
        commits(first: 2) { totalCount pageInfo { hasNextPage } nodes { commit { oid authoredDate } } } } } }"""
    found = answered(fake, query, {"n": 8})["repository"]["pullRequest"]
    assert found["commits"]["totalCount"] == 3 and found["commits"]["pageInfo"]["hasNextPage"] is True
    dates = [n["commit"]["authoredDate"] for n in found["commits"]["nodes"]]
    assert dates[0] == "2026-05-26T12:00:00Z" and dates == sorted(dates)
    nothing = answered(fake, query, {"n": 9})["repository"]["pullRequest"]["commits"]
    assert (nothing["totalCount"], nothing["nodes"]) == (0, [])


def test_an_unknown_pull_request_is_null_with_not_found(fake):
    answer = post_graphql(fake, '{ repository(owner: "acme", name: "api") { pullRequest(number: 99) { number } } }')
    assert answer.json()["data"] == {"repository": {"pullRequest": None}}
    (error,) = answer.json()["errors"]
    assert error["type"] == "NOT_FOUND" and error["path"] == ["repository", "pullRequest"]
    assert error["message"] == "Could not resolve to a PullRequest with the number of 99."


def test_nodes_by_id_resolve_deployments_and_pull_requests(fake):
    fake.add_deployment(REPO, deployment(4, NOW, "success"))
    fake.add_pull(REPO, merged_pull(5))
    repo_id = fake.repos[REPO].id
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
        ... on Deployment { databaseId state } ... on PullRequest { number } } }"""
    answer = post_graphql(fake, query, {"ids": [f"DE_{repo_id}_4", "nope", f"PR_{repo_id}_5"]}).json()
    assert answer["data"]["nodes"] == [
        {"__typename": "Deployment", "id": f"DE_{repo_id}_4", "databaseId": 4, "state": "ACTIVE"},
        None,
        {"__typename": "PullRequest", "id": f"PR_{repo_id}_5", "number": 5},
    ]
    assert [(e["type"], e["path"]) for e in answer["errors"]] == [("NOT_FOUND", ["nodes", 1])]
    assert_conforms_to_full_schema(query, {"ids": []}, {"nodes": []})


# ---------------------------------------------------------------------------------------------- refusals
def test_an_unknown_repository_is_null_with_githubs_not_found_error(fake):
    query = """{ known: repository(owner: "acme", name: "api") { name }
                 gone: repository(owner: "acme", name: "gone") { name } }"""
    answer = post_graphql(fake, query)
    assert answer.status_code == 200
    assert answer.json()["data"] == {"known": {"name": "api"}, "gone": None}
    (error,) = answer.json()["errors"]
    assert (error["type"], error["path"]) == ("NOT_FOUND", ["gone"])
    assert error["message"] == "Could not resolve to a Repository with the name 'acme/gone'."


def test_an_unknown_field_is_refused_in_githubs_words(fake):
    query = '{ repository(owner: "acme", name: "api") { nope } }'
    assert full_schema_errors(query) != []
    (error,) = refused(fake, query)
    assert error["message"] == "Field 'nope' doesn't exist on type 'Repository'"
    assert error["extensions"]["code"] == "undefinedField" and error["path"] == ["query", "repository", "nope"]
    assert error["locations"] == [{"line": 1, "column": 44}]


def test_an_unparseable_query_is_refused_in_githubs_words(fake):
    (error,) = refused(fake, "{ repository(owner: } }")
    assert error["message"] == 'Parse error on "}" (RCURLY) at [1, 21]'


def test_a_missing_variable_is_refused_in_githubs_words(fake):
    (error,) = refused(fake, DEPLOYMENTS, {"owner": "acme"})
    assert error["message"] == "Variable $name of type String! was provided invalid value"


def test_a_connection_needs_first_or_last(fake):
    query = '{ repository(owner: "acme", name: "api") { deployments { totalCount } } }'
    assert full_schema_errors(query) == []  # valid GraphQL: GitHub refuses it when it runs
    (error,) = refused(fake, query)
    assert error["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert error["message"] == (
        "You must provide a `first` or `last` value to properly paginate the `deployments` connection.")  # fmt: skip


def test_a_page_is_at_most_100(fake):
    (error,) = refused(fake, '{ repository(owner: "acme", name: "api") { deployments(last: 101) { totalCount } } }')
    assert error["type"] == "EXCESSIVE_PAGINATION"
    assert (
        error["message"]
        == "Requesting 101 records on the `deployments` connection exceeds the `last` limit of 100 records."
    )


def test_a_query_may_ask_for_at_most_500000_nodes(fake):
    query = """{ repository(owner: "acme", name: "api") { deployments(first: 100) { nodes {
        statuses(first: 100) { nodes { deployment { statuses(first: 100) { totalCount } } } } } } } }"""
    (error,) = refused(fake, query)
    assert error["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert error["message"] == (
        "This query requests up to 1,010,100 possible nodes which exceeds the maximum limit of 500,000.")  # fmt: skip


def test_bad_credentials_get_401(fake):
    answer = post_graphql(fake, "{ rateLimit { cost } }", Authorization="bearer nope")
    assert answer.status_code == 401 and answer.json()["message"] == "Bad credentials"
    assert fake.graphql_remaining == fake.graphql_rate_limit


def test_a_body_that_is_not_json_gets_400_and_no_query_gets_an_error(fake):
    bad = requests.post(f"{fake.base_url}/graphql", data=b"{nope", headers=AUTH, timeout=5)
    assert bad.status_code == 400 and bad.json()["message"] == "Problems parsing JSON"
    empty = requests.post(f"{fake.base_url}/graphql", json={"variables": {}}, headers=AUTH, timeout=5)
    assert empty.status_code == 200 and "query" in empty.json()["errors"][0]["message"]


def test_injected_faults_apply_to_graphql(fake):
    fake.inject(r"^/graphql$", Fault(502))
    assert post_graphql(fake, "{ rateLimit { cost } }").status_code == 502
    assert post_graphql(fake, "{ rateLimit { cost } }").status_code == 200


def test_the_request_log_names_each_query_s_operation(fake):
    """The benchmark splits GraphQL's cost by query: the log keeps each request's operation name."""
    post_graphql(fake, "query Probe { rateLimit { cost } }")
    two = {"query": "query A { rateLimit { cost } } query B { rateLimit { limit } }", "operationName": "B"}
    requests.post(f"{fake.base_url}/graphql", json=two, headers=AUTH, timeout=5)
    post_graphql(fake, "{ rateLimit { cost } }")
    requests.post(f"{fake.base_url}/graphql", data=b"not json", headers=AUTH, timeout=5)
    assert [r.graphql_operation for r in fake.graphql_requests[-4:]] == ["Probe", "B", "", ""]


# ---------------------------------------------------------------------------------------------- cost and budget
def cost_of(fake, query, variables=None):
    """What GitHub would charge, as rateLimit.cost reports it; the charge and the log agree with it."""
    before, logged = fake.graphql_remaining, len(fake.graphql_requests)
    data = answered(fake, "query { rateLimit { cost } } " + query if "rateLimit" not in query else query, variables)
    cost = data["rateLimit"]["cost"]
    assert fake.graphql_remaining == before - cost
    assert [r.graphql_cost for r in fake.graphql_requests[logged:]] == [cost]
    return cost


def repositories(count, body):
    return "{ rateLimit { cost } " + " ".join(
        f'r{n}: repository(owner: "acme", name: "api") {{ {body} }}' for n in range(count)) + " }"  # fmt: skip


def test_a_query_without_connections_costs_1(fake):
    assert cost_of(fake, '{ rateLimit { cost } repository(owner: "acme", name: "api") { name } }') == 1


def test_fifty_aliased_repositories_each_with_one_deployment_cost_1(fake):
    # 50 connections at the top, 1 request each: 50 / 100 = 0.5, which rounds to 1.
    assert cost_of(fake, repositories(50, "deployments(first: 1) { nodes { state } }")) == 1


def test_a_hundred_and_fifty_top_level_connections_cost_2(fake):
    assert cost_of(fake, repositories(150, "deployments(first: 1) { totalCount }")) == 2


def test_the_score_rounds_half_up_as_github_does(fake):
    # 5 x (1 deployments request + 49 statuses requests) = 250 -> 2.5 -> 3 (Ruby rounds half away from zero).
    assert cost_of(fake, repositories(5, "deployments(first: 49) { nodes { statuses(first: 1) { totalCount } } }")) == 3


def test_a_page_of_merged_prs_with_their_first_commit_costs_1(fake):
    # 1 pullRequests request + 100 commits requests = 101 -> 1.01 -> 1, as the GitHub docs' example.
    assert cost_of(fake, MERGED_PRS, VARIABLES) == 1


def test_a_page_of_deployments_with_ten_statuses_each_costs_1(fake):
    assert cost_of(fake, DEPLOYMENTS, VARIABLES) == 1


def test_thirty_repositories_with_a_page_of_deployments_and_statuses_cost_30(fake):
    body = "deployments(first: 100) { nodes { statuses(first: 10) { nodes { state } } } }"
    assert cost_of(fake, repositories(30, body)) == 30  # 30 x 101 = 3030 -> 30.3 -> 30


def test_a_connection_in_a_fragment_counts_where_the_fragment_is_spread(fake):
    query = """query { rateLimit { cost } a: repository(owner: "acme", name: "api") { ...Page }
        b: repository(owner: "acme", name: "api") { ...Page } }
        fragment Page on Repository { deployments(first: 100) { nodes { statuses(first: 100) { totalCount } } } }"""
    assert cost_of(fake, query) == 2  # 2 x 101


def test_rate_limit_reports_the_budget_after_the_query(fake):
    fake.graphql_remaining = 100
    data = answered(fake, DEPLOYMENTS, VARIABLES)["rateLimit"]
    assert (data["cost"], data["remaining"], data["used"], data["limit"]) == (1, 99, 4901, 5000)
    assert data["nodeCount"] == 100 + 100 * 10


def test_graphql_has_its_own_budget_and_headers(fake):
    answer = post_graphql(fake, DEPLOYMENTS, VARIABLES)
    assert answer.headers["X-RateLimit-Resource"] == "graphql"
    assert answer.headers["X-RateLimit-Remaining"] == str(fake.graphql_rate_limit - 1)
    assert fake.rate_remaining == fake.rate_limit and fake.counted_requests == 0  # REST untouched
    assert fake.graphql_points == 1


def test_invalid_queries_cost_nothing(fake):
    refused(fake, '{ repository(owner: "acme", name: "api") { deployments { totalCount } } }')
    refused(fake, "{ nope }")
    assert fake.graphql_remaining == fake.graphql_rate_limit and fake.graphql_points == 0


def test_a_spent_budget_is_refused_with_rate_limited(fake):
    fake.graphql_remaining = 29
    body = "deployments(first: 100) { nodes { statuses(first: 10) { nodes { state } } } }"
    (error,) = refused(fake, repositories(30, body))
    assert error["type"] == "RATE_LIMITED" and error["message"].startswith("API rate limit exceeded")
    assert fake.graphql_remaining == 29  # nothing charged for a refusal
    assert cost_of(fake, repositories(29, body)) == 29
    assert post_graphql(fake, "{ rateLimit { cost } }").headers["X-RateLimit-Remaining"] == "0"


@pytest.mark.parametrize("prefix", ["", "/api/v3"])
def test_pygithubs_requester_reaches_the_fake_graphql_as_it_reaches_githubs(prefix):
    """PyGithub posts to {base}/graphql, and to /api/graphql for a GitHub Enterprise Server's /api/v3."""
    with FakeGitHub(prefix=prefix) as served:
        served.add_repo(REPO)
        served.add_deployment(REPO, deployment(1, NOW, "success"))
        requester = Github(auth=Auth.Token("test-token"), base_url=served.base_url).requester
        headers, answer = requester.graphql_query(DEPLOYMENTS, VARIABLES)
        assert deployments_of(answer["data"]) == [1] and headers["x-ratelimit-resource"] == "graphql"
        assert [r.path for r in served.graphql_requests] == ["/graphql"]
