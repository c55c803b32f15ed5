"""The API's reads: the documented views only, through connections that have taken the role ``dora_api``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Integer, bindparam, event, text
from sqlalchemy.exc import DBAPIError

from collector import store
from collector.errors import DatabaseError
from collector.migrate import assert_schema_current

if TYPE_CHECKING:
    from datetime import date

    from sqlalchemy import Connection, Engine, RowMapping

API_ROLE = "dora_api"
# A request that waits longer has lost its client anyway (API Gateway gives up after 30 s).
STATEMENT_TIMEOUT_MS = 10_000
_INT4_MAX = 2**31 - 1


def make_api_engine(database_url: str, *, pool_size: int = 4) -> Engine:
    """An engine whose every connection serves as ``dora_api``, whatever login ``database_url`` names.

    Even an owner's (or a superuser's) URL then reads the views only and cannot write: the role's rights are
    the API's, not the login's.
    """
    engine = store.make_engine(database_url, pool_size=pool_size)
    event.listen(engine, "connect", _take_api_role)
    return engine


def _take_api_role(dbapi_connection: Any, connection_record: Any) -> None:
    # SET, not SET LOCAL, and committed: it lasts as long as the connection, through every checkout.
    dbapi_connection.execute(f"SET ROLE {API_ROLE}")
    dbapi_connection.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    dbapi_connection.commit()


def check_can_serve(engine: Engine, login: str) -> None:
    """One clear line when this login cannot serve: no ``dora_api`` role yet, no right to take it, or a schema
    that is not this version's."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (DBAPIError, psycopg.Error) as exc:
        error = exc if isinstance(exc, psycopg.Error) else exc.orig
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate == "22023":  # invalid_parameter_value: the role does not exist
            raise DatabaseError(f"the role {API_ROLE} does not exist: run `dora-collector migrate` first") from None
        if sqlstate == "42501":  # insufficient_privilege
            raise DatabaseError(
                f"the login {login} cannot take the role {API_ROLE}: as the database's owner, "
                f"GRANT {API_ROLE} TO {login}"
            ) from None
        raise DatabaseError(f"serve: {store.describe_db_error(exc)}") from None
    with store.database_errors("serve"):
        assert_schema_current(engine)


def teams(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT team_id AS id, team_name AS name, description, current_members, current_allocation "
            "FROM view_teams ORDER BY team_name, team_id"
        )
    )
    return [dict(row._mapping) for row in rows]


def find_team(conn: Connection, reference: str) -> dict[str, Any] | None:
    """The team ``reference`` names: a team id, or a name in any case (the exact spelling first)."""
    if "\x00" in reference:  # PostgreSQL's text cannot hold it, so no name does
        return None
    if reference.isascii() and reference.isdigit() and int(reference) <= _INT4_MAX:
        row = conn.execute(
            text("SELECT team_id AS id, team_name AS name FROM view_teams WHERE team_id = :id"), {"id": int(reference)}
        ).first()
        if row is not None:
            return dict(row._mapping)
    row = conn.execute(
        text(
            "SELECT team_id AS id, team_name AS name FROM view_teams WHERE lower(team_name) = lower(:name) "
            "ORDER BY team_name = :name DESC, team_id LIMIT 1"
        ),
        {"name": reference},
    ).first()
    return dict(row._mapping) if row is not None else None


def velocity(conn: Connection, team_id: int, first_week: date, last_day: date) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT week, prs_merged, weighted_prs_merged, avg_cycle_time_hours, in_progress "
            "FROM view_team_velocity_calendar WHERE team_id = :team AND week >= :first AND week <= :last ORDER BY week"
        ),
        {"team": team_id, "first": first_week, "last": last_day},
    )
    return [dict(row._mapping) for row in rows]


def lead_time(conn: Connection, team_id: int, first_month: date, last_day: date) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT month, prs_merged, median_lead_time_hours, p95_lead_time_hours, low_sample, in_progress "
            "FROM view_pr_lead_time WHERE team_id = :team AND month >= :first AND month <= :last ORDER BY month"
        ),
        {"team": team_id, "first": first_month, "last": last_day},
    )
    return [dict(row._mapping) for row in rows]


def report_years(conn: Connection) -> list[int]:
    """The State of DevOps reports whose bands view_dora_benchmarks holds, oldest first."""
    rows = conn.execute(text("SELECT DISTINCT report_year FROM view_dora_benchmarks ORDER BY report_year"))
    return [year for (year,) in rows]


# The four key views, read for one team with their bands by dora_band(), the rule view_dora_summary applies. Not
# through the summary: it computes every team's keys before any filter (sql/README.md). The team and the range are
# constants in each join, not only the month series: PostgreSQL pushes constants into a view's grouping, never a
# join's values. generate_series over timestamps without time zone: over dates it would pick timestamptz, whose
# months start at midnight in the session's TimeZone.
_DORA = text(
    """
    SELECT
        m.month,
        m.month >= date_trunc('month', now() AT TIME ZONE 'UTC')::date AS in_progress,
        f.deployments_per_week AS f_value,
        dora_band(:year, 'deployment_frequency', f.deployments_per_week) AS f_band,
        f.low_sample AS f_low_sample,
        coalesce(f.deployments, 0) AS f_n,
        coalesce(f.deployment_days, 0) AS f_days,
        l.median_change_lead_time_hours AS l_value,
        dora_band(:year, 'change_lead_time', l.median_change_lead_time_hours) AS l_band,
        l.low_sample AS l_low_sample,
        coalesce(l.changes, 0) AS l_n,
        l.p95_change_lead_time_hours AS l_p95,
        c.change_failure_rate AS c_value,
        dora_band(:year, 'change_failure_rate', c.change_failure_rate) AS c_band,
        c.low_sample AS c_low_sample,
        coalesce(c.deployments, 0) AS c_n,
        coalesce(c.failed_deployments, 0) AS c_failed,
        r.median_time_to_restore_hours AS r_value,
        dora_band(:year, 'time_to_restore', r.median_time_to_restore_hours) AS r_band,
        r.low_sample AS r_low_sample,
        coalesce(r.restored, 0) AS r_n,
        r.p95_time_to_restore_hours AS r_p95,
        coalesce(r.open_incidents, 0) AS r_open_incidents
    FROM generate_series(CAST(:first AS timestamp), CAST(:last AS timestamp), interval '1 month') AS s (start)
    CROSS JOIN LATERAL (SELECT s.start::date AS month) AS m
    LEFT JOIN view_dora_deployment_frequency AS f
        ON f.team_id = :team AND f.month BETWEEN :first AND :last AND f.month = m.month
    LEFT JOIN view_dora_change_lead_time AS l
        ON l.team_id = :team AND l.month BETWEEN :first AND :last AND l.month = m.month
    LEFT JOIN view_dora_change_failure_rate AS c
        ON c.team_id = :team AND c.month BETWEEN :first AND :last AND c.month = m.month
    LEFT JOIN view_dora_time_to_restore AS r
        ON r.team_id = :team AND r.month BETWEEN :first AND :last AND r.month = m.month
    ORDER BY m.month
    """
).bindparams(bindparam("year", type_=Integer))
# Each key's columns, by the prefix the query gives them, and its unit (view_dora_benchmarks.unit).
_KEYS = {"deployment_frequency": ("f", "deployments per week"), "change_lead_time": ("l", "hours"),
         "change_failure_rate": ("c", "fraction"), "time_to_restore": ("r", "hours")}  # fmt: skip


def dora(
    conn: Connection, team_id: int, first_month: date, last_month: date, report_year: int | None
) -> list[dict[str, Any]]:
    """Every month from ``first_month`` to ``last_month`` (first days), each with the four keys of the team."""
    rows = conn.execute(_DORA, {"team": team_id, "first": first_month, "last": last_month, "year": report_year})
    return [_dora_month(row._mapping) for row in rows]


def _dora_month(row: RowMapping) -> dict[str, Any]:
    month: dict[str, Any] = {"month": row["month"], "in_progress": row["in_progress"]}
    for key, (prefix, unit) in _KEYS.items():
        fields = {name.removeprefix(f"{prefix}_"): value for name, value in row.items() if name[:2] == f"{prefix}_"}
        month[key] = {**fields, "unit": unit}
    return month
