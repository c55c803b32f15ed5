"""GitHub's published schemas, kept under tests/data, to hold the fake GitHub (and the collector's queries) to.

- REST: the dereferenced JSON schemas of GitHub's OpenAPI description (``schema.<name>.deref.json``).
- GraphQL: GitHub's full SDL (``github-schema.graphql.gz``, from @octokit/graphql-schema), built once per test run.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

import requests
from graphql import GraphQLSchema, build_schema, execute_sync, parse, validate

DATA = Path(__file__).parent / "data"
AUTH = {"Authorization": "token test-token"}


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 writes ``nullable: true``; JSON Schema spells it as a union with null."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _openapi_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def rest_schema(name: str) -> dict[str, Any]:
    """The JSON schema of one of GitHub's REST objects: ``pull-request-simple``, ``workflow-run``, ``issue``..."""
    return _openapi_to_jsonschema(json.loads((DATA / f"schema.{name}.deref.json").read_text()))


@functools.cache
def full_graphql_schema() -> GraphQLSchema:
    """GitHub's whole GraphQL schema (about a second to build). GitHub's SDL defines a few fields twice and breaks
    some of graphql-core's deprecation rules, so it is built without those checks and marked valid."""
    schema = build_schema(gzip.decompress((DATA / "github-schema.graphql.gz").read_bytes()).decode(),
                          assume_valid_sdl=True)  # fmt: skip
    schema._validation_errors = []
    return schema


def full_schema_errors(query: str) -> list[str]:
    return [error.message for error in validate(full_graphql_schema(), parse(query))]


def post_graphql(fake: Any, query: str, variables: dict[str, Any] | None = None, **headers: str) -> requests.Response:
    body = {"query": query, **({"variables": variables} if variables is not None else {})}
    return requests.post(f"{fake.base_url}/graphql", json=body, headers={**AUTH, **headers}, timeout=10)


def assert_conforms_to_full_schema(query: str, variables: dict[str, Any] | None, data: dict[str, Any]) -> None:
    """An answer replayed through GitHub's full schema must come out unchanged: each value fits the field's type
    there (nullability, enum values, lists, scalars). Abstract types need ``__typename`` in the query."""
    schema = full_graphql_schema()
    document = parse(query)
    assert [e.message for e in validate(schema, document)] == []

    def replay(source: Any, info: Any, **_: Any) -> Any:
        return source.get(info.path.key) if isinstance(source, dict) else None

    result = execute_sync(schema, document, root_value=data, variable_values=variables or {}, field_resolver=replay,
                          type_resolver=lambda value, *_: value["__typename"])  # fmt: skip
    assert result.errors is None, result.errors
    assert result.data == data
