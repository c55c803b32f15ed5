"""The Grafana dashboard against a real migrated database: every panel's and variable's SQL runs as dora_reader,
the four keys' panels give the views' figures, and their colours are dora_band()'s bands of the newest report."""

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from collector.report import BAND_COLOURS
from tests.four_keys_facts import deploy, first_commit, incident, repository
from tests.helpers import collect, member, merged_pull, rows, sync, team_doc

DASHBOARD = json.loads((Path(__file__).parents[2] / "dashboards" / "dora-collector.json").read_text())
NOW = datetime.now(UTC)
LAST_MONTH = (NOW.replace(day=1) - timedelta(days=1)).replace(day=1).date()  # the last complete month
API = "acme/api"


def grafana_sql(sql, teams):
    """The SQL Grafana's PostgreSQL data source sends: its macros expanded as it expands them."""
    window = "BETWEEN '2000-01-01T00:00:00Z' AND '2100-01-01T00:00:00Z'"
    sql = re.sub(r"\$__timeFilter\(([^)]*)\)", lambda m: f"{m[1]} {window}", sql)
    quoted = ",".join("'" + t.replace("'", "''") + "'" for t in teams)
    return sql.replace("${team:sqlstring}", quoted)


def queries():
    """(title, sql) of every panel target and query variable."""
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["rawSql"]
    for variable in DASHBOARD["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable["query"]


def as_reader(engine, sql):
    with engine.connect() as conn:
        conn.execute(text("SET ROLE dora_reader"))
        try:
            return [tuple(r) for r in conn.execute(text(sql))]
        finally:
            conn.rollback()


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def keys_last_month(engine, fake_github):
    """platform in the last complete month: ten deployments of acme/api (days 1-10 at noon), five changes first
    committed 10 hours before the deployment that shipped them, one incident restored in 3 hours.
    payments ("o'hara & co", a quote in a name) owns acme/pay: one deployment."""
    odd = "o'hara & co"
    teams = team_doc(("platform", [member("alice")]), (odd, [member("bob")]))
    sync(engine, {**teams, "repositories": [repository(API, "platform"), repository("acme/pay", odd)]})
    days = [LAST_MONTH + timedelta(days=i) for i in range(10)]
    fake_github.add_repo(API)
    for number, day in enumerate(days[:5], start=1):
        fake_github.add_pull(API, merged_pull(number, "alice", merged=_at(day, 11), created=_at(day, 5)))
    collect(engine, fake_github, [API], now=NOW, since=NOW - timedelta(days=80))
    for number, day in enumerate(days[:5], start=1):
        first_commit(engine, API, number, _at(day, 2))
    for i, day in enumerate(days):
        deploy(engine, API, str(i), _at(day))
    incident(engine, API, 1, _at(days[3], 13), _at(days[3], 16))
    deploy(engine, "acme/pay", "1", _at(days[2]))
    return engine, ["platform", odd]


def test_every_query_of_the_dashboard_runs_as_dora_reader(keys_last_month):
    engine, teams = keys_last_month
    titles = []
    for title, sql in queries():
        as_reader(engine, grafana_sql(sql, teams))  # raises on a missing grant, column or view
        titles.append(title)
    assert len(titles) == sum(len(p.get("targets", [])) for p in DASHBOARD["panels"]) + 1


def test_the_team_variable_offers_every_team_even_without_a_pr(keys_last_month):
    engine, teams = keys_last_month
    (query,) = [v["query"] for v in DASHBOARD["templating"]["list"] if v["name"] == "team"]
    assert [r[0] for r in as_reader(engine, query)] == sorted(teams)  # o'hara & co merged nothing


def four_keys_panels(kind):
    row = next(i for i, p in enumerate(DASHBOARD["panels"]) if p["type"] == "row" and p["title"] == "DORA four keys")
    return [p for p in DASHBOARD["panels"][row + 1 :] if p["type"] == kind]


def test_the_stat_panels_give_each_team_its_key_for_the_last_complete_month(keys_last_month):
    engine, teams = keys_last_month
    stats = four_keys_panels("stat")
    assert len(stats) == 4
    found = {p["title"].split(",")[0]: as_reader(engine, grafana_sql(p["targets"][0]["rawSql"], teams)) for p in stats}
    days = (LAST_MONTH.replace(day=28) + timedelta(days=4)).replace(day=1) - LAST_MONTH
    month = datetime.combine(LAST_MONTH, datetime.min.time(), UTC)
    per_week = pytest.approx(7 / days.days)
    assert found == {
        "Deployment frequency": [(month, teams[1], per_week), (month, "platform", pytest.approx(70 / days.days))],
        "Lead time for changes": [(month, "platform", 10.0)],
        "Change failure rate": [(month, teams[1], 0.0), (month, "platform", 0.1)],
        "Time to restore": [(month, "platform", 3.0)],
    }


def test_the_table_gives_the_keys_with_their_bands_words(keys_last_month):
    engine, teams = keys_last_month
    (table,) = four_keys_panels("table")
    result = as_reader(engine, grafana_sql(table["targets"][0]["rawSql"], teams))
    by_team = {r[0]: r for r in result}
    platform = by_team["platform"]
    assert platform[1] == 2024
    columns = [
        "team", "report_year", "deployments_per_week", "deployment_frequency_band", "lead_time_for_changes_h",
        "change_lead_time_band", "change_failure_rate_pct", "change_failure_rate_band", "time_to_restore_h",
        "open_incidents", "time_to_restore_band", "low_sample",
    ]  # fmt: skip
    named = dict(zip(columns, platform, strict=True))
    assert (named["deployment_frequency_band"], named["change_lead_time_band"]) == ("high", "elite")
    assert (named["change_failure_rate_band"], named["time_to_restore_band"]) == ("high", "high")
    assert float(named["change_failure_rate_pct"]) == 10.0 and float(named["lead_time_for_changes_h"]) == 10.0
    assert named["low_sample"] == "time to restore"  # one incident; ten deployments and five changes are enough
    assert dict(zip(columns, by_team[teams[1]], strict=True))["low_sample"] == "deployment frequency, failure rate"
    override = table["fieldConfig"]["overrides"][0]
    assert override["matcher"] == {"id": "byRegexp", "options": "/_band$/"}
    assert sum(1 for c in columns if re.search(r"_band$", c)) == 4


def test_the_time_series_give_each_key_by_month(keys_last_month):
    engine, teams = keys_last_month
    series = four_keys_panels("timeseries")
    assert len(series) == 4
    month = datetime.combine(LAST_MONTH, datetime.min.time(), UTC)
    for panel in series:
        result = as_reader(engine, grafana_sql(panel["targets"][0]["rawSql"], teams))
        assert ("platform" in {r[1] for r in result}) and all(r[0] == month for r in result), panel["title"]


def grafana_colour(mappings, value):
    """What Grafana does with range mappings (getValueMappingResult): the first whose [from, to] holds the value."""
    for mapping in mappings:
        low, high = mapping["options"]["from"], mapping["options"]["to"]
        if low <= value <= high:
            return mapping["options"]["result"]["color"]
    return None


KEY_OF = {
    "Deployment frequency": "deployment_frequency",
    "Lead time for changes": "change_lead_time",
    "Change failure rate": "change_failure_rate",
    "Time to restore": "time_to_restore",
}


def test_the_stat_colours_are_dora_bands_of_the_newest_report(engine):
    """A new report in dora_benchmarks (a new migration) makes this fail until the dashboard's mappings follow."""
    ((year,),) = rows(engine, "SELECT max(report_year) FROM view_dora_benchmarks")
    colour_band = {bg: band for band, (bg, _) in BAND_COLOURS.items()}
    for panel in four_keys_panels("stat"):
        key = KEY_OF[panel["title"].split(",")[0]]
        mappings = panel["fieldConfig"]["defaults"]["mappings"]
        assert [m["options"]["result"]["index"] for m in mappings] == list(range(len(mappings)))
        bounds = [float(t) for (t,) in rows(
            engine, "SELECT threshold FROM view_dora_benchmarks WHERE report_year = :y AND metric = :k "
            "AND threshold IS NOT NULL", y=year, k=key)]  # fmt: skip
        values = {0.0, 1e6, *bounds, *(b * (1 + 1e-6) for b in bounds), *(b * (1 - 1e-6) for b in bounds)}
        for value in sorted(values):
            ((band,),) = rows(engine, "SELECT dora_band(:y, :k, :v)", y=year, k=key, v=value)
            assert colour_band[grafana_colour(mappings, value)] == band, (key, value)
        assert all(not math.isinf(m["options"]["from"]) for m in mappings)  # Grafana reads a null bound as 0
