"""The API's routes over the documented views: HTTP semantics, no transport.

Powertools' ``APIGatewayHttpResolver`` routes, validates the parameters (pydantic) and writes the OpenAPI 3.1
document from the same declarations; this module adds what an API for a polling portal needs on top:

- **Keys first.** A metrics request without a live key gets 401 before anything else is looked at (its
  parameters included), with the same body whatever was wrong with the key.
- **Problems, not stack traces.** Every error is ``application/problem+json`` (RFC 9457) with one ``detail``
  that says what to fix; Powertools' own 422 and 404 bodies are replaced.
- **Nothing new, nothing sent.** Every 200 carries a strong ``ETag`` (SHA-256 of the body) and
  ``Cache-Control: private, max-age=60``; a request whose ``If-None-Match`` matches gets 304 and no body.
- **CSV** where the answer is a table (``?format=csv``), with spreadsheet formulas defused.
"""

import csv
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, BeforeValidator
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from collector import __version__
from collector.api import data
from collector.api.keys import KeyChecker
from collector.api.schemas import Dora, DoraMonth, LeadTime, Month, Problem, Teams, Velocity, Week
from collector.config import shown
from collector.store import describe_db_error

logger = logging.getLogger(__name__)

MAX_RANGE_YEARS = 5
DEFAULT_WEEKS = 12
DEFAULT_MONTHS = 12
CACHE_CONTROL = "private, max-age=60"
PROBLEM_JSON = "application/problem+json"
_KEY_REQUIRED = "a valid API key is required: send it as 'Authorization: Bearer <key>'"
_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]
# A cell that starts with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP, "CSV
# Injection"): such a text cell is written with a leading apostrophe, which spreadsheets show as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ApiProblem(Exception):
    """An answer other than 200, said in one sentence."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _iso_date(value: object) -> date:
    # date.fromisoformat alone would also take 20250101 and 2025-W01-1; pydantic would take 1700000000.
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError("not YYYY-MM-DD")
    day = date.fromisoformat(value)
    if day.year < 1970:  # nothing was merged before; and date arithmetic near year 1 would overflow
        raise ValueError("before 1970")
    return day


def _year(value: object) -> int:
    # int() alone would also take " 2024", "+2024", "2_024" and "२०२४".
    if not isinstance(value, str) or len(value) != 4 or not value.isascii() or not value.isdigit():
        raise ValueError("not YYYY")
    return int(value)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
FirstDay = Annotated[IsoDate | None, Query(alias="from", description="First day (YYYY-MM-DD).")]
LastDay = Annotated[IsoDate | None, Query(alias="to", description="Last day (YYYY-MM-DD); default today.")]
Output = Annotated[
    Literal["json", "csv"], Query(alias="format", description="json (default) or csv: the same table as CSV.")
]
TeamReference = Annotated[
    str, Path(description="The team's id, or its name in any case (URL-encoded); GET /teams lists both.")
]
ReportYear = Annotated[
    int | None,
    BeforeValidator(_year),
    Query(alias="report_year", description="The State of DevOps report whose bands to give (YYYY); default: the "
          "newest in view_dora_benchmarks."),
]  # fmt: skip
# What each query parameter must be, said the same way in every error about it.
_EXPECTED = {"from": "a date as YYYY-MM-DD, 1970 or later", "to": "a date as YYYY-MM-DD, 1970 or later",
             "format": "json or csv", "report_year": "a year as YYYY"}  # fmt: skip


def create_app(engine: Engine, *, today: Callable[[], date] | None = None) -> APIGatewayHttpResolver:
    """The API over ``engine`` (an ``data.make_api_engine``); ``today`` (UTC by default) sets the default ranges."""
    today = today or (lambda: datetime.now(UTC).date())
    keys = KeyChecker(engine)
    # debug=False whatever POWERTOOLS_DEV says: debug mode prints every event, Authorization header included.
    app = APIGatewayHttpResolver(enable_validation=True, debug=False)
    app.configure_openapi(
        title="dora-collector API",
        version=__version__,
        summary="Per-team delivery metrics (velocity, PR lead time, the four DORA keys with their bands) from the "
        "collector's documented views.",
        description="Every metrics request needs an API key (`dora-collector api-keys create NAME`), sent as "
        "`Authorization: Bearer <key>`. Errors are RFC 9457 problem details. Answers carry an ETag: send it "
        "back in If-None-Match and an unchanged answer is a 304 without a body.",
        security_schemes={
            "apiKey": HTTPBearer(bearerFormat="dora_<key id>_<secret>", description="An API key, shown once.")
        },
    )

    def require_key(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        if not _key_is_valid(keys, app):
            raise ApiProblem(401, _KEY_REQUIRED)
        return next_middleware(app)

    @app.get(
        "/teams",
        operation_id="listTeams",
        summary="Every team, with its current members",
        description="Reads view_teams: every team in the teams file, with or without merges.",
        security=_SECURITY,
        responses=_responses(Teams, table=True),
        middlewares=[require_key, _known_parameters, _conditional(CACHE_CONTROL)],
    )
    def list_teams(output: Output = "json") -> Response[str]:
        with engine.connect() as conn:
            answer = Teams.model_validate({"teams": data.teams(conn)})
        columns = ("team_id", "team_name", "description", "current_members", "current_allocation")
        rows = ((t.id, t.name, t.description, t.current_members, t.current_allocation) for t in answer.teams)
        return _csv(columns, rows, "teams.csv") if output == "csv" else _json(answer)

    @app.get(
        "/metrics/team/<team_id>/velocity",
        operation_id="getVelocity",
        summary="A team's PRs merged per ISO week, weeks without merges as 0",
        description="Reads view_team_velocity_calendar: every week (Monday, UTC) that overlaps [from, to], from "
        "the week of the team's first attributed merge on. Default: the 12 weeks up to `to`, its own included.",
        security=_SECURITY,
        responses=_responses(Velocity, table=True),
        middlewares=[require_key, _known_parameters, _conditional(CACHE_CONTROL)],
    )
    def get_velocity(
        team_id: TeamReference,
        first: FirstDay = None,
        last: LastDay = None,
        output: Output = "json",
    ) -> Response[str]:
        last = last or today()
        first = first or _monday(last) - timedelta(weeks=DEFAULT_WEEKS - 1)
        _check_range(first, last)
        with engine.connect() as conn:
            team = _team(conn, team_id)
            weeks = data.velocity(conn, team["id"], _monday(first), last)
        answer = Velocity.model_validate({"team": team, "from": first, "to": last, "weeks": weeks})
        columns = ("team_id", "team_name", *Week.model_fields)  # the view's column names
        rows = ((team["id"], team["name"], *w.model_dump().values()) for w in answer.weeks)
        return _csv(columns, rows, f"velocity-{team['id']}.csv") if output == "csv" else _json(answer)

    @app.get(
        "/metrics/team/<team_id>/lead-time",
        operation_id="getLeadTime",
        summary="A team's monthly PR lead time: median and p95, small samples flagged",
        description="Reads view_pr_lead_time: PR lead time is opened -> merged (not DORA's lead time for "
        "changes). Months that overlap [from, to] with at least one merge. Default: the 12 months up to `to`, "
        "its own included.",
        security=_SECURITY,
        responses=_responses(LeadTime, table=True),
        middlewares=[require_key, _known_parameters, _conditional(CACHE_CONTROL)],
    )
    def get_lead_time(
        team_id: TeamReference,
        first: FirstDay = None,
        last: LastDay = None,
        output: Output = "json",
    ) -> Response[str]:
        last = last or today()
        first = first or _months_before(last.replace(day=1), DEFAULT_MONTHS - 1)
        _check_range(first, last)
        with engine.connect() as conn:
            team = _team(conn, team_id)
            months = data.lead_time(conn, team["id"], first.replace(day=1), last)
        answer = LeadTime.model_validate({"team": team, "from": first, "to": last, "months": months})
        columns = ("team_id", "team_name", *Month.model_fields)
        rows = ((team["id"], team["name"], *m.model_dump().values()) for m in answer.months)
        return _csv(columns, rows, f"lead-time-{team['id']}.csv") if output == "csv" else _json(answer)

    @app.get(
        "/metrics/team/<team_id>/dora",
        operation_id="getDora",
        summary="A team's four DORA keys per month, each with its band by a State of DevOps report",
        description="Reads view_dora_deployment_frequency, view_dora_change_lead_time, "
        "view_dora_change_failure_rate and view_dora_time_to_restore, with the bands of view_dora_summary "
        "(dora_band()). Every month that overlaps [from, to], with or without data. Default: the 12 months up to "
        "`to`, its own included, and the newest report in view_dora_benchmarks.",
        security=_SECURITY,
        responses=_responses(Dora, table=True),
        middlewares=[require_key, _known_parameters, _conditional(CACHE_CONTROL)],
    )
    def get_dora(
        team_id: TeamReference,
        first: FirstDay = None,
        last: LastDay = None,
        report_year: ReportYear = None,
        output: Output = "json",
    ) -> Response[str]:
        last = last or today()
        first = first or _months_before(last.replace(day=1), DEFAULT_MONTHS - 1)
        _check_range(first, last)
        with engine.connect() as conn:
            year = _report_year(data.report_years(conn), report_year)
            team = _team(conn, team_id)
            months = data.dora(conn, team["id"], first.replace(day=1), last.replace(day=1), year)
        answer = Dora.model_validate({"team": team, "from": first, "to": last, "report_year": year, "months": months})
        return _csv(*_dora_table(answer), f"dora-{team['id']}.csv") if output == "csv" else _json(answer)

    document: list[str] = []  # made on first request: the routes must all be registered

    @app.get(
        "/openapi.json",
        operation_id="getOpenApiDocument",
        summary="This API's OpenAPI 3.1 document (no key needed)",
        responses={
            200: {"description": "The document.", "content": {"application/json": {"schema": {"type": "object"}}}},
            400: {"description": "A query parameter was given.", "content": {PROBLEM_JSON: {"model": Problem}}},
        },
        middlewares=[_known_parameters, _conditional("public, max-age=300")],
    )
    def get_openapi_document() -> Response[str]:
        if not document:
            document.append(json.dumps(openapi_document(app), separators=(",", ":")))
        return Response(200, "application/json", document[0])

    _handle_errors(app, keys)
    return app


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """Powertools' document, less what it adds that this API never answers: a 422 for invalid parameters (this
    API answers 400 with a problem), its schemas, and a body for 304."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    for operation in (op for path in document["paths"].values() for op in path.values()):
        operation["responses"].pop("422", None)
        operation["responses"].get("304", {}).pop("content", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    return document


# ---------------------------------------------------------------- parameters


def _check_range(first: date, last: date) -> None:
    if first > last:
        raise ApiProblem(400, f"from ({first}) is after to ({last}): give from <= to")
    if first < _years_before(last, MAX_RANGE_YEARS):
        raise ApiProblem(
            400, f"from {first} to {last} is more than {MAX_RANGE_YEARS} years: ask for {MAX_RANGE_YEARS} at most"
        )


def _report_year(available: Sequence[int], asked: int | None) -> int | None:
    """The report whose bands are given: the one asked for, which must have bands, or the newest."""
    if asked is None:
        return max(available, default=None)
    if asked not in available:
        years = ", ".join(map(str, available)) or "none: view_dora_benchmarks is empty"
        raise ApiProblem(400, f"report_year {asked} has no bands: the years with bands are {years}")
    return asked


def _team(conn: Any, reference: str) -> dict[str, Any]:
    team = data.find_team(conn, reference)
    if team is None:
        raise ApiProblem(
            404, f"no team {shown(reference, 100)}: give a team's id or its name (any case); GET /teams lists them"
        )
    return team


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _months_before(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February, in a year without one
        return day.replace(year=day.year - years, day=28)


def _known_parameters(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """A parameter the route does not take is refused, not ignored: ?form= must not quietly mean the default."""
    known = {field.alias for field in app.context["_route"].dependant.query_params}
    unknown = sorted(set(app.current_event.query_string_parameters) - known)
    if unknown:
        takes = f"it takes {', '.join(sorted(known))}" if known else "it takes none"
        raise ApiProblem(400, f"unknown query parameter {shown(unknown[0])}: {takes}")
    return next_middleware(app)


# ---------------------------------------------------------------- answers


def _responses(model: type[BaseModel], *, table: bool) -> dict[int, Any]:
    content: dict[str, Any] = {"application/json": {"model": model}}
    if table:
        content["text/csv"] = {"schema": {"type": "string"}}
    etag = {"description": "Strong validator: send it back in If-None-Match.", "schema": {"type": "string"}}
    headers = {"ETag": etag}

    def problem(description: str) -> dict[str, Any]:
        return {"description": description, "content": {PROBLEM_JSON: {"model": Problem}}}

    return {
        200: {"description": "The answer (JSON, or CSV with ?format=csv).", "headers": headers, "content": content},
        304: {"description": "Not modified: If-None-Match holds the current ETag.", "headers": headers},
        400: problem(
            "A parameter is wrong (a bad date, from after to, a range past 5 years, a report year without bands, "
            "one not taken)."
        ),
        401: problem("No valid API key."),
        404: problem("No such team (or no such endpoint)."),
        503: problem("The database is unavailable; try again shortly."),
    }


# A month's keys (its fields that are models): each key's fields become CSV columns named <key>_<field>.
_DORA_KEYS = {name: field.annotation for name, field in DoraMonth.model_fields.items()
              if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)}  # fmt: skip


def _dora_table(answer: Dora) -> tuple[list[str], list[list[Any]]]:
    """One row per month, its keys flattened, in the models' order."""
    plain = [name for name in DoraMonth.model_fields if name not in _DORA_KEYS]  # month, in_progress
    columns = ["team_id", "team_name", "report_year", *plain]
    columns += [f"{key}_{field}" for key, model in _DORA_KEYS.items() for field in model.model_fields]
    rows = []
    for month in answer.months:
        values = month.model_dump()
        row = [answer.team.id, answer.team.name, answer.report_year, *(values[name] for name in plain)]
        rows.append(row + [value for key in _DORA_KEYS for value in values[key].values()])
    return columns, rows


def _json(answer: BaseModel) -> Response[str]:
    return Response(200, "application/json", answer.model_dump_json(by_alias=True))


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(columns)
    writer.writerows([_cell(value) for value in row] for row in rows)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(200, "text/csv; charset=utf-8; header=present", out.getvalue(), headers=headers)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value.isoformat() if isinstance(value, date) else str(value)


def _conditional(cache_control: str) -> Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]:
    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        response = next_middleware(app)
        if response.status_code != 200 or not isinstance(response.body, str):
            return response
        etag = '"' + hashlib.sha256(response.body.encode()).hexdigest()[:32] + '"'
        response.headers.update({"ETag": etag, "Cache-Control": cache_control})
        if _matches(app.current_event.headers.get("if-none-match"), etag):
            return Response(304, None, None, headers={"ETag": etag, "Cache-Control": cache_control})
        return response

    return middleware


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's If-None-Match: a list of entity tags or ``*``, compared weakly (a W/ prefix is ignored)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _key_is_valid(keys: KeyChecker, app: APIGatewayHttpResolver) -> bool:
    return keys.is_valid(app.current_event.headers.get("authorization"))


def problem(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response[str]:
    body = Problem(type="about:blank", title=HTTPStatus(status).phrase, status=status, detail=detail)
    return Response(
        status, PROBLEM_JSON, body.model_dump_json(), headers={"Cache-Control": "no-store", **(headers or {})}
    )


def _unauthorized() -> Response[str]:
    return problem(401, _KEY_REQUIRED, {"WWW-Authenticate": 'Bearer realm="dora-collector"'})


def _unavailable(exc: BaseException) -> Response[str]:
    logger.warning("database unavailable", extra={"error": describe_db_error(exc)})
    return problem(503, "the database is unavailable; try again in a minute", {"Retry-After": "60"})


def _handle_errors(app: APIGatewayHttpResolver, keys: KeyChecker) -> None:
    @app.exception_handler(ApiProblem)
    def api_problem(exc: ApiProblem) -> Response[str]:
        return _unauthorized() if exc.status == 401 else problem(exc.status, exc.detail)

    @app.exception_handler(RequestValidationError)
    def invalid_parameters(exc: RequestValidationError) -> Response[str]:
        # Validation runs before the route's middlewares: the key is checked here first, so a request without
        # one learns nothing, not even that its parameters are wrong.
        try:
            if not _key_is_valid(keys, app):
                return _unauthorized()
        except SQLAlchemyError as db_error:
            return _unavailable(db_error)
        return problem(400, "; ".join(_parameter_problem(error) for error in exc.errors()))

    @app.not_found
    def no_such_endpoint(exc: NotFoundError) -> Response[str]:
        event = app.current_event
        return problem(404, f"no endpoint {event.http_method} {shown(event.path, 80)}: /openapi.json lists them")

    @app.exception_handler(SQLAlchemyError)
    def database_unavailable(exc: SQLAlchemyError) -> Response[str]:
        return _unavailable(exc)

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[str]:
        logger.error("request failed", exc_info=exc)
        return problem(500, "the API failed to answer; its log says why")


def _parameter_problem(error: Mapping[str, Any]) -> str:
    where, name = [*error.get("loc", ()), "?", "?"][:2]
    value = error.get("input")
    got = f" (got {shown(value)})" if isinstance(value, str) else ""
    if isinstance(value, list):  # repeated, or commas in it: API Gateway joins repeats with commas
        got = f" (got {len(value)} values)"
    expected = _EXPECTED.get(str(name), "valid")
    return f"{where} parameter {shown(str(name))} must be {expected}{got}"
