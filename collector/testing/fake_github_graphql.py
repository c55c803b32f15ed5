"""The fake GitHub's GraphQL endpoint (``POST /graphql``), as GitHub answers, costs and refuses.

- Queries run (graphql-core) against ``data/github-subset.graphql``: the types and fields the fake serves, each
  copied from GitHub's published schema (a test proves the copy faithful). GitHub's full schema takes over a
  second to build, too slow for every fake; the subset builds once, in milliseconds. A field outside the subset
  is refused as GitHub refuses an unknown field: copy it from the full schema to serve it.
- Cost, GitHub's documented formula ("Calculating a rate limit score"): each connection needs as many requests
  as the product of the ``first``/``last`` of the connections above it (1 at the top); the sum over the query's
  connections (aliases count apart), divided by 100, rounded half up (GitHub runs Ruby), is the cost, at least 1.
  It is charged against a points budget of its own, reported in ``rateLimit { cost }`` and on the request log.
- GitHub's refusals, all HTTP 200 with ``errors``: an invalid query (graphql-ruby's messages), a connection
  without ``first``/``last`` or asking for more than 100, more than 500,000 possible nodes, a spent budget. An
  unknown repository, pull request or node id is ``null`` with a ``NOT_FOUND`` error; a body that is not JSON
  is a 400.
- Values as GitHub gives them: enums upper case (``SUCCESS``); a deployment's statuses newest first; a bot's
  ``login`` without the ``[bot]`` that REST shows; keyset cursors, so a page boundary survives new items.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, build_schema, execute_sync, get_named_type, parse, print_ast, validate
from graphql.execution.values import get_variable_values
from graphql.language import (
    BREAK,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.type import GraphQLInterfaceType, GraphQLObjectType
from graphql.utilities import get_operation_ast

from collector.testing.fake_github_rest import deployment_node_id, iso, pull_id, statuses_newest_first, user_id

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from graphql import GraphQLAbstractType, GraphQLResolveInfo, GraphQLSchema
    from graphql.language import DocumentNode, Node, SelectionSetNode

    from collector.testing.fake_github import FakeDeployment, FakeGitHub, FakePull, FakeRepo, FakeStatus

_DOCS = "https://docs.github.com/graphql"
MAX_PAGE = 100  # GitHub: first and last must be within 1-100
MAX_NODES = 500_000  # GitHub: a query may ask for at most 500,000 nodes
# A deployment's state as GitHub derives it from its latest status (a recorded answer shows SUCCESS -> ACTIVE).
_DEPLOYMENT_STATE = {
    "success": "ACTIVE",
    "failure": "FAILURE",
    "error": "ERROR",
    "inactive": "INACTIVE",
    "pending": "PENDING",
    "queued": "QUEUED",
    "in_progress": "IN_PROGRESS",
    "waiting": "WAITING",
}

Ordered = tuple[list[Any], list[tuple[int, ...]]]  # items in connection order, and their keys, ascending


@functools.cache
def subset_schema() -> GraphQLSchema:
    """The served part of GitHub's schema, built once per process."""
    sdl = resources.files("collector.testing").joinpath("data/github-subset.graphql").read_text(encoding="utf-8")
    return build_schema(sdl)


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict[str, Any]
    cost: int = 0  # the points charged


@dataclass(frozen=True)
class Plan:
    """What a query may cost before it runs: GitHub's score and the nodes it may return."""

    cost: int
    node_count: int


class GitHubError(Exception):
    """A refusal GitHub reports with a ``type`` (NOT_FOUND, INVALID_CURSOR_ARGUMENTS, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def answer(fake: FakeGitHub, body: bytes) -> Answer:
    """GitHub's answer to one POST /graphql: parsed, checked, costed, charged, executed. The caller holds the
    fake's lock, so the budget and the data stay still while the query runs."""
    request = _request(body)
    if isinstance(request, Answer):
        return request
    query, variables, operation_name = request
    document, invalid = _checked(query)
    if document is None or invalid:
        return Answer(200, {"errors": list(invalid)})
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        unnamed = "An operation name is required"
        return Answer(200, {"errors": [{"message": f'No operation named "{operation_name}"' if operation_name
                                        else unnamed}]})  # fmt: skip
    coerced = get_variable_values(subset_schema(), operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return Answer(200, {"errors": [_variable_error(operation, variables, error) for error in coerced]})
    plan = plan_query(subset_schema(), document, operation, variables)
    if isinstance(plan, list):
        return Answer(200, {"errors": plan})
    if plan.cost > fake.graphql_remaining:
        return Answer(200, {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]})
    fake.graphql_remaining -= plan.cost
    return _execute(fake, document, operation_name, variables, plan)


def _execute(
    fake: FakeGitHub, document: DocumentNode, operation_name: str | None, variables: dict[str, Any], plan: Plan
) -> Answer:
    rate = {
        "cost": plan.cost,
        "limit": fake.graphql_rate_limit,
        "nodeCount": plan.node_count,
        "remaining": fake.graphql_remaining,
        "used": fake.graphql_rate_limit - fake.graphql_remaining,
        "resetAt": iso(datetime.fromtimestamp(fake.rate_reset, UTC)),
    }
    context = _Context(fake, rate)
    result = execute_sync(
        subset_schema(),
        document,
        root_value=_Root(context),
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        type_resolver=_type_of,
    )
    payload: dict[str, Any] = {"data": result.data}
    errors = [*map(_execution_error, result.errors or ()), *context.unresolved]
    if errors:
        payload["errors"] = errors
    return Answer(200, payload, plan.cost)


def _request(body: bytes) -> tuple[str, dict[str, Any], str | None] | Answer:
    try:
        request = json.loads(body)
    except ValueError:  # UnicodeDecodeError is one
        return Answer(400, {"message": "Problems parsing JSON", "documentation_url": _DOCS, "status": "400"})
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        return Answer(200, {"errors": [{"message": "A query attribute must be specified and must be a string."}]})
    variables = request.get("variables") or {}
    if isinstance(variables, str):
        try:
            variables = json.loads(variables) or {}
        except ValueError:
            variables = None
    if not isinstance(variables, dict):
        return Answer(200, {"errors": [{"message": "Variables are invalid JSON."}]})
    operation_name = request.get("operationName")
    return request["query"], variables, operation_name if isinstance(operation_name, str) else None


# ---------------------------------------------------------------------------------------------- cost
def plan_query(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> Plan | list[dict[str, Any]]:
    """GitHub's score of a valid query, or GitHub's refusals of its pagination (before anything runs)."""
    walk = _CostWalk(schema, document, operation, variables)
    root = schema.get_root_type(operation.operation)
    assert root is not None  # validation refused operations the schema has no root for
    walk.selections(operation.selection_set, root, 1, ())
    if not walk.errors and walk.nodes > MAX_NODES:
        walk.errors.append(
            {
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": f"This query requests up to {walk.nodes:,} "
                f"possible nodes which exceeds the maximum limit of {MAX_NODES:,}.",
            }
        )
    if walk.errors:
        return walk.errors
    requests = sum(walk.requests.values())
    return Plan(cost=max(1, math.floor(requests / 100 + 0.5)), node_count=walk.nodes)


class _CostWalk:
    """Walks a query's selections, multiplying page sizes down the connections."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and isinstance(definition.default_value, IntValueNode):
                self.variables[name] = int(definition.default_value.value)
        self.requests: dict[tuple[str, ...], int] = {}  # by response path: the same field merged counts once
        self.nodes = 0
        self.errors: list[dict[str, Any]] = []

    def selections(self, selection_set: SelectionSetNode, parent: Any, multiplier: int, path: tuple[str, ...]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, multiplier, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, inner, multiplier, path)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                inner = self.schema.get_type(fragment.type_condition.name.value)
                self.selections(fragment.selection_set, inner, multiplier, path)

    def field(self, node: FieldNode, parent: Any, multiplier: int, path: tuple[str, ...]) -> None:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) or node.name.value not in parent.fields:
            return  # __typename and the like
        named = get_named_type(parent.fields[node.name.value].type)
        key = (*path, node.alias.value if node.alias else node.name.value)
        if named.name.endswith("Connection"):
            size = self.page_size(node, key)
            if size is None:
                return
            if key not in self.requests:
                self.requests[key] = multiplier
                self.nodes += multiplier * size
            multiplier *= size
        if node.selection_set is not None:
            self.selections(node.selection_set, named, multiplier, key)

    def page_size(self, node: FieldNode, path: tuple[str, ...]) -> int | None:
        name = node.name.value
        sizes = {which: self.int_argument(node, which) for which in ("first", "last")}
        which = "first" if sizes["first"] is not None else "last"
        size = sizes[which]
        problem = None
        if size is None:
            problem = (
                "MISSING_PAGINATION_BOUNDARIES",
                f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
            )
        elif size > MAX_PAGE:
            problem = (
                "EXCESSIVE_PAGINATION",
                f"Requesting {size} records on the `{name}` connection exceeds the "
                f"`{which}` limit of {MAX_PAGE} records.",
            )
        if problem is None:
            return max(size or 0, 0)
        self.errors.append(
            {"type": problem[0], "path": list(path), "locations": _locations([node]), "message": problem[1]}
        )
        return None

    def int_argument(self, node: FieldNode, name: str) -> int | None:
        argument = next((a for a in node.arguments or () if a.name.value == name), None)
        if argument is None:
            return None
        value: Any = None
        if isinstance(argument.value, IntValueNode):
            value = int(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            value = self.variables.get(argument.value.name.value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


# ---------------------------------------------------------------------------------------------- errors
@functools.lru_cache(maxsize=512)
def _checked(query: str) -> tuple[DocumentNode | None, tuple[dict[str, Any], ...]]:
    """A query parsed and validated once (the collector sends the same few queries again and again)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, (_syntax_error(query, error),)
    return document, tuple(_validation_error(document, error) for error in validate(subset_schema(), document))


_TOKENS = {
    "{": "LCURLY",
    "}": "RCURLY",
    "(": "LPAREN",
    ")": "RPAREN",
    "[": "LBRACKET",
    "]": "RBRACKET",
    ":": "COLON",
    "=": "EQUALS",
    "!": "BANG",
    "$": "VAR_SIGN",
    "@": "DIR_SIGN",
    "|": "PIPE",
    "&": "AMP",
    "...": "ELLIPSIS",
}


def _syntax_error(query: str, error: GraphQLError) -> dict[str, Any]:
    """graphql-ruby's words: ``Parse error on "}" (RCURLY) at [1, 5]``."""
    locations = _locations(error)
    position = next(iter(error.positions)) if error.positions else len(query)
    token = re.match(r'\.\.\.|[{}()\[\]:=!$@|&]|[_A-Za-z]\w*|-?\d[\d.eE+-]*|"[^"]*"', query[position:])
    if token is None:
        return {"message": "Unexpected end of document", "locations": locations}
    text = token[0]
    kind = _TOKENS.get(text) or (
        "STRING"
        if text[0] == '"'
        else "IDENTIFIER"
        if text[0] not in "-0123456789"
        else "FLOAT"
        if "." in text
        else "INT"
    )
    where = f"[{locations[0]['line']}, {locations[0]['column']}]" if locations else ""
    return {"message": f'Parse error on "{text.strip(chr(34))}" ({kind}) at {where}', "locations": locations}


# graphql-core's validation messages (3.2 and 3.3 spellings) in graphql-ruby's words, with its extensions.
_VALIDATION: tuple[tuple[re.Pattern[str], str, Callable[[dict[str, str]], dict[str, str]]], ...] = (
    (
        re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\."),
        "Field '{field}' doesn't exist on type '{type}'",
        lambda m: {"code": "undefinedField", "typeName": m["type"], "fieldName": m["field"]},
    ),
    (
        re.compile(r"Unknown argument '(?P<arg>\w+)' on field '\w+\.(?P<field>\w+)'\."),
        "Field '{field}' doesn't accept argument '{arg}'",
        lambda m: {"code": "argumentNotAccepted", "name": m["field"], "typeName": "Field", "argumentName": m["arg"]},
    ),
    (
        re.compile(
            r"(?:Field '(?P<field>\w+)' argument '(?P<arg>\w+)'|Argument '\w+\.(?P<field3>\w+)\((?P<arg3>\w+):\)')"
            r" of type '[^']+' is required, but it was not provided\."
        ),
        "Field '{field}' is missing required arguments: {arg}",
        lambda m: {"code": "missingRequiredArguments", "className": "Field", "name": m["field"], "arguments": m["arg"]},
    ),
    (
        re.compile(r"Field '(?P<field>\w+)' of type '\W*(?P<type>\w+)\W*' must have a selection of subfields\."),
        "Field must have selections (field '{field}' returns {type} but has no selections. "
        "Did you mean '{field} {{ ... }}'?)",
        lambda m: {"code": "selectionMismatch", "nodeName": f"field '{m['field']}'", "typeName": m["type"]},
    ),
)


def _validation_error(document: DocumentNode, error: GraphQLError) -> dict[str, Any]:
    found: dict[str, Any] = {"path": _ast_path(document, error.nodes[0]) if error.nodes else []}
    for pattern, message, extensions in _VALIDATION:
        match = pattern.match(error.message)
        if match is not None:
            # The 3.3 spelling's groups end in 3.
            names = {k.rstrip("3"): v for k, v in match.groupdict().items() if v is not None}
            found["extensions"] = extensions(names)
            found.update(locations=_locations(error), message=message.format(**names))
            return found
    found.update(locations=_locations(error), message=error.message)
    return found


def _ast_path(document: DocumentNode, target: Node) -> list[str]:
    """graphql-ruby's path to a node of the query: ``["query", "repository", "nope"]``."""
    found: list[str] = []

    class Finder(Visitor):
        def enter(self, node: Node, *args: Any) -> Any:
            if node is not target:
                return None
            ancestors = [*args[3], node] if len(args) > 3 else [node]
            found.extend(segment for n in ancestors if (segment := _segment(n)))
            return BREAK

    visit(document, Finder())
    return found


def _segment(node: Any) -> str | None:
    if isinstance(node, OperationDefinitionNode):
        return node.operation.value + (f" {node.name.value}" if node.name else "")
    if isinstance(node, FragmentDefinitionNode):
        return f"fragment {node.name.value}"
    if isinstance(node, FieldNode):
        return node.alias.value if node.alias else node.name.value
    if isinstance(node, InlineFragmentNode):
        return f"... on {node.type_condition.name.value}" if node.type_condition else "..."
    return None


def _variable_error(
    operation: OperationDefinitionNode, variables: dict[str, Any], error: GraphQLError
) -> dict[str, Any]:
    match = re.match(r"Variable '\$(\w+)'", error.message)
    definition = next(
        (d for d in operation.variable_definitions or () if match and d.variable.name.value == match[1]), None
    )
    if definition is None:
        return {"locations": _locations(error), "message": error.message}
    name = definition.variable.name.value
    return {
        "extensions": {"value": variables.get(name), "problems": [{"path": [], "explanation": error.message}]},
        "locations": _locations(error),
        "message": f"Variable ${name} of type {print_ast(definition.type)} was provided invalid value",
    }


def _execution_error(error: GraphQLError) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(error.original_error, GitHubError):
        found["type"] = error.original_error.kind
    found.update(path=error.path, locations=_locations(error), message=error.message)
    return found


def _locations(error_or_nodes: GraphQLError | Sequence[Node]) -> list[dict[str, int]]:
    if isinstance(error_or_nodes, GraphQLError):
        return [{"line": loc.line, "column": loc.column} for loc in error_or_nodes.locations or ()]
    return [
        {"line": node.loc.start_token.line, "column": node.loc.start_token.column}
        for node in error_or_nodes
        if node.loc is not None
    ]


# ---------------------------------------------------------------------------------------------- connections
def _cursor(key: tuple[int, ...]) -> str:
    """Opaque like GitHub's (``cursor:v2:`` and a position, base64); the position is the item's sort key."""
    return base64.b64encode(b"cursor:v2:" + json.dumps(list(key)).encode()).decode()


def _position(cursor: str) -> tuple[int, ...]:
    try:
        raw = base64.b64decode(cursor, validate=True)
        if raw.startswith(b"cursor:v2:"):
            key = json.loads(raw[len(b"cursor:v2:") :])
            if isinstance(key, list) and all(isinstance(k, int) for k in key):
                return tuple(key)
    except (binascii.Error, ValueError):
        pass
    raise GitHubError("INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor.")


def _order(items: Sequence[Any], key: Callable[[Any], tuple[int, ...]], descending: bool) -> Ordered:
    keyed = sorted(((tuple(-k for k in key(item)) if descending else key(item)), n) for n, item in enumerate(items))
    return [items[n] for _, n in keyed], [k for k, _ in keyed]


def _ordered(repo: FakeRepo, key: tuple[Any, ...], build: Callable[[], Ordered]) -> Ordered:
    """A repository's connection in order, built once until its PRs or deployments change."""
    found: Ordered | None = repo.ordered.get(key)
    if found is None:
        found = repo.ordered[key] = build()
    return found


def _connection(ordered: Ordered, args: dict[str, Any], wrap: Callable[[Any], Any]) -> dict[str, Any]:
    """One page of a connection, Relay's way: after/before narrow the window, first/last cut it."""
    items, keys = ordered
    start, end = 0, len(items)
    if args.get("after") is not None:
        start = bisect_right(keys, _position(args["after"]))
    if args.get("before") is not None:
        end = max(start, bisect_left(keys, _position(args["before"])))
    low, high = start, end
    if args.get("first") is not None:
        high = min(high, low + max(args["first"], 0))
    if args.get("last") is not None:
        low = max(low, high - max(args["last"], 0))
    cursors = [_cursor(keys[n]) for n in range(low, high)]
    nodes = [wrap(item) for item in items[low:high]]
    page_info = {
        "hasNextPage": high < end or (args.get("before") is not None and end < len(items)),
        "hasPreviousPage": low > start or (args.get("after") is not None and start > 0),
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }
    edges = [{"cursor": cursor, "node": node} for cursor, node in zip(cursors, nodes, strict=True)]
    return {"totalCount": len(items), "pageInfo": page_info, "nodes": nodes, "edges": edges}


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


# ---------------------------------------------------------------------------------------------- objects
@dataclass
class _Context:
    fake: FakeGitHub
    rate: dict[str, Any]
    unresolved: list[dict[str, Any]] = field(default_factory=list)  # errors for the ids nodes() could not find


def _type_of(value: Any, info: GraphQLResolveInfo, abstract_type: GraphQLAbstractType) -> str:
    return str(value.typename)


class _Root:
    def __init__(self, context: _Context) -> None:
        self.context = context
        self.fake = context.fake

    def rateLimit(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return self.context.rate

    def repository(self, info: GraphQLResolveInfo, owner: str, name: str, **args: Any) -> _Repository:
        repo = self.fake.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise GitHubError("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return _Repository(repo)

    def node(self, info: GraphQLResolveInfo, **args: Any) -> Any:
        found = self._node(args["id"])
        if found is None:
            raise GitHubError("NOT_FOUND", f"Could not resolve to a node with the global id of '{args['id']}'")
        return found

    def nodes(self, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
        found = [self._node(node_id) for node_id in ids]
        for index, node_id in enumerate(ids):
            if found[index] is None:
                self.context.unresolved.append(
                    {
                        "type": "NOT_FOUND",
                        "path": [*info.path.as_list(), index],
                        "locations": _locations(info.field_nodes),
                        "message": f"Could not resolve to a node with the global id of '{node_id}'",
                    }
                )
        return found

    def _node(self, node_id: str) -> Any:
        match = re.fullmatch(r"(DE|PR|R)_(\d{1,18})(?:_(\d{1,18}))?", node_id)
        repo = self.fake.repo_by_id(int(match[2])) if match else None
        if match is None or repo is None:
            return None
        if match[1] == "R" and match[3] is None:
            return _Repository(repo)
        number = int(match[3] or -1)
        if match[1] == "DE" and number in repo.deployments:
            return _Deployment(repo, repo.deployments[number])
        if match[1] == "PR" and number in repo.pulls:
            return _PullRequest(repo, repo.pulls[number])
        return None


class _Repository:
    typename = "Repository"

    def __init__(self, repo: FakeRepo) -> None:
        self.repo = repo
        self.id = f"R_{repo.id}"
        self.databaseId = repo.id
        self.name = repo.name
        self.nameWithOwner = repo.full_name
        self.defaultBranchRef = _ref(repo, repo.default_branch)

    def deployments(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        environments = args.get("environments")
        descending = (args.get("orderBy") or {}).get("direction") == "DESC"
        key = ("deployments", None if environments is None else tuple(environments), descending)
        repo = self.repo
        ordered = _ordered(
            repo,
            key,
            lambda: _order(
                [d for d in repo.deployments.values() if environments is None or d.environment in environments],
                lambda d: (_seconds(d.created_at), d.id),
                descending,
            ),
        )
        return _connection(ordered, args, lambda deployment: _Deployment(repo, deployment))

    def pullRequest(self, info: GraphQLResolveInfo, number: int) -> _PullRequest:
        pull = self.repo.pulls.get(number)
        if pull is None:
            raise GitHubError("NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}.")
        return _PullRequest(self.repo, pull)

    def pullRequests(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        states = None if args.get("states") is None else tuple(sorted(args["states"]))
        order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
        filters = (
            states,
            args.get("baseRefName"),
            args.get("headRefName"),
            None if args.get("labels") is None else tuple(args["labels"]),
        )
        key = ("pullRequests", *filters, order["field"], order["direction"])
        repo = self.repo
        ordered = _ordered(
            repo,
            key,
            lambda: _order(
                [p for p in repo.pulls.values() if _pull_matches(repo, p, *filters)],
                lambda p: (_pull_sort_value(p, order["field"]), p.number),
                order["direction"] == "DESC",
            ),
        )
        return _connection(ordered, args, lambda pull: _PullRequest(repo, pull))


def _ref(repo: FakeRepo, name: str) -> dict[str, str]:
    return {"id": f"REF_{repo.id}_{name}", "name": name, "prefix": "refs/heads/"}


def _pull_state(pull: FakePull) -> str:
    if pull.merged_at is not None:
        return "MERGED"
    return "CLOSED" if pull.state == "closed" else "OPEN"


def _pull_matches(
    repo: FakeRepo,
    pull: FakePull,
    states: tuple[str, ...] | None,
    base: str | None,
    head: str | None,
    labels: tuple[str, ...] | None,
) -> bool:
    return (
        (states is None or _pull_state(pull) in states)
        and (base is None or (pull.base_ref or repo.default_branch) == base)
        and (head is None or head == f"feature-{pull.number}")
        and not labels  # the fake's PRs carry no labels
    )


def _pull_sort_value(pull: FakePull, order_field: str) -> int:
    if order_field == "UPDATED_AT":
        return _seconds(pull.updated_at)
    return 0 if order_field == "COMMENTS" else _seconds(pull.created_at)  # the fake's PRs have no comments


class _Actor:
    def __init__(self, login: str, kind: str = "User") -> None:
        # GraphQL names a bot without the "[bot]" that REST appends (dependabot, not dependabot[bot]).
        self.typename = "Bot" if kind == "Bot" else "User"
        self.login = login.removesuffix("[bot]") if kind == "Bot" else login
        self.databaseId = user_id(login)
        self.id = f"{'BOT' if kind == 'Bot' else 'U'}_{self.databaseId}"


_OCTOCAT = _Actor("octocat")


class _Deployment:
    typename = "Deployment"

    def __init__(self, repo: FakeRepo, deployment: FakeDeployment) -> None:
        self.repo = repo
        self.deployment = deployment
        self.id = deployment_node_id(repo, deployment)
        self.databaseId = deployment.id
        self.commitOid = deployment.sha
        self.environment = self.latestEnvironment = self.originalEnvironment = deployment.environment
        self.createdAt = iso(deployment.created_at)
        self.updatedAt = iso(deployment.updated_at)
        self.description = None
        self.payload = "{}"
        self.task = "deploy"
        self.creator = _OCTOCAT
        self.ref = _ref(repo, deployment.ref)
        newest = statuses_newest_first(deployment)
        self.latestStatus = _DeploymentStatus(self, *newest[0]) if newest else None
        # GitHub shows a deployment without statuses as pending.
        self.state = _DEPLOYMENT_STATE[newest[0][1].state] if newest else "PENDING"

    @property
    def repository(self) -> _Repository:
        return _Repository(self.repo)

    def statuses(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        """Newest first, as GitHub lists them: a recorded GitHub answer lists a deployment's statuses
        SUCCESS 22:36:49, IN_PROGRESS 22:36:46, SUCCESS 22:36:33 (gesellix/deployments-status-publisher's
        README), and GitHub's REST listing does the same."""
        ordered = _order(
            list(enumerate(self.deployment.statuses)),
            lambda pair: (_seconds(pair[1].created_at), pair[0]),
            descending=True,
        )
        return _connection(ordered, args, lambda pair: _DeploymentStatus(self, *pair))


class _DeploymentStatus:
    typename = "DeploymentStatus"

    def __init__(self, deployment: _Deployment, index: int, status: FakeStatus) -> None:
        self.deployment = deployment
        self.id = f"DES_{deployment.repo.id}_{deployment.databaseId}_{index}"
        self.state = status.state.upper()
        self.createdAt = self.updatedAt = iso(status.created_at)
        self.creator = _OCTOCAT
        self.description = ""
        self.environment = deployment.environment
        self.environmentUrl = self.logUrl = None


class _PullRequest:
    typename = "PullRequest"

    def __init__(self, repo: FakeRepo, pull: FakePull) -> None:
        self.repo = repo
        self.pull = pull
        self.id = f"PR_{repo.id}_{pull.number}"  # the REST item's node_id
        self.databaseId = pull_id(repo, pull.number)  # the REST item's id
        self.number = pull.number
        self.title = pull.title
        self.body = pull.body or ""
        self.author = None if pull.user is None else _Actor(pull.user, pull.user_type)
        self.baseRefName = pull.base_ref or repo.default_branch
        self.headRefName = f"feature-{pull.number}"
        self.createdAt = iso(pull.created_at)
        self.updatedAt = iso(pull.updated_at)
        self.closedAt = iso(pull.closed_at)
        self.mergedAt = iso(pull.merged_at)
        self.merged = pull.merged_at is not None
        self.closed = pull.state == "closed"
        self.isDraft = pull.draft
        self.state = _pull_state(pull)

    @property
    def repository(self) -> _Repository:
        return _Repository(self.repo)

    def commits(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        """Oldest first, as GitHub lists a PR's commits: ``commits(first: 1)`` is the first commit."""
        indexes = list(range(max(self.pull.commits, 0)))
        return _connection((indexes, [(n,) for n in indexes]), args, lambda n: _PullRequestCommit(self, n))


class _PullRequestCommit:
    typename = "PullRequestCommit"

    def __init__(self, pull: _PullRequest, index: int) -> None:
        first = pull.pull.first_commit_at or pull.pull.created_at - timedelta(hours=1)
        oid = hashlib.sha1(f"{pull.repo.id}/{pull.number}/{index}".encode()).hexdigest()
        self.pullRequest = pull
        self.id = f"PURC_{oid}"
        authored = iso(first + timedelta(minutes=index))
        self.commit = {
            "id": f"C_{oid}",
            "oid": oid,
            "message": f"Commit {index + 1} of #{pull.number}",
            "authoredDate": authored,
            "committedDate": authored,
        }
