"""Every GraphQL query the collector sends is valid against GitHub's published schema, and costs what we think."""

import pytest
from graphql import parse

from collector import fetch_keys, keys
from collector.fetch_keys import ProbeAsk
from tests.github_schemas import full_schema_errors as errors


def probe(n):
    asks = [ProbeAsk(f"acme/r{i}", deployments=i % 3 != 1, branch=i % 2 == 0) for i in range(n)]
    return fetch_keys.probe_query(asks)


QUERIES = {
    "probe": probe(keys.PROBE_BATCH)[0],
    "probe of one repository's branch": fetch_keys.probe_query([ProbeAsk("acme/api", False, True)])[0],
    "deployments": fetch_keys.DEPLOYMENTS_QUERY,
    "first commits": fetch_keys.first_commits_query([(f"acme/r{n % 7}", n) for n in range(1, 101)])[0],
}


@pytest.mark.parametrize("name", QUERIES)
def test_the_query_is_valid_against_githubs_schema(name):
    assert errors(QUERIES[name]) == []


def test_the_schema_catches_a_wrong_field():
    assert errors(QUERIES["deployments"].replace("commitOid", "commitSha"))


@pytest.mark.parametrize("name", QUERIES)
def test_every_query_asks_what_it_cost(name):
    assert "rateLimit { cost }" in " ".join(QUERIES[name].split())


def test_names_travel_as_variables_never_in_the_query_text():
    query, variables = fetch_keys.probe_query([ProbeAsk('acme/we"ird', True, True)])
    assert "we" not in query and variables == {"o0": "acme", "n0": 'we"ird'}
    query, variables, _ = fetch_keys.first_commits_query([('acme/we"ird', 3)])
    assert "we" not in query and "p3: pullRequest(number: 3)" in query


def test_a_probe_asks_each_repository_only_what_it_needs():
    query, _ = fetch_keys.probe_query([ProbeAsk("a/b", True, False), ProbeAsk("a/c", False, True)])
    first, second = query.split("r1:")
    assert "deployments(first: 1" in first and "defaultBranchRef" not in first
    assert "defaultBranchRef" in second and "deployments" not in second


def connections(query):
    """The connections a query fetches by GitHub's formula: each ``first``/``last: N`` field, once per node above it."""
    document = parse(query)
    total = 0

    def walk(selections, multiplier):
        nonlocal total
        for field in selections or ():
            first = next((a for a in field.arguments or () if a.name.value in ("first", "last")), None)
            inner = multiplier
            if first is not None:
                total += multiplier
                inner = multiplier * int(first.value.value)
            if field.selection_set:
                walk(field.selection_set.selections, inner)

    walk(document.definitions[0].selection_set.selections, 1)
    return total


def test_a_probe_of_50_repositories_costs_one_point():
    assert connections(probe(keys.PROBE_BATCH)[0]) <= keys.PROBE_BATCH
    assert keys.graphql_points(connections(probe(keys.PROBE_BATCH)[0])) == 1


def test_a_page_of_deployments_with_their_statuses_costs_one_point():
    assert connections(fetch_keys.DEPLOYMENTS_QUERY) == 1 + keys.DEPLOYMENTS_PAGE
    assert keys.graphql_points(connections(fetch_keys.DEPLOYMENTS_QUERY)) == 1


def test_100_first_commits_cost_one_point():
    query = QUERIES["first commits"]
    assert connections(query) == keys.FIRST_COMMIT_BATCH
    assert keys.graphql_points(connections(query)) == 1
