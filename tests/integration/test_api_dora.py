"""GET /metrics/team/{team}/dora over real HTTP against a real PostgreSQL: the four keys per month with their bands,
for facts written as the four keys' collection stores them (tests/integration/test_four_keys_views.py)."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from collector.api import keys
from tests.helpers import at, merged_pull, rows
from tests.integration.api_client import Api, serving
from tests.integration.test_api import BAD_PARAMETERS, problem
from tests.integration.test_four_keys_views import configure, deploy, first_commit, incident, merged, teams

API = "acme/api"
DOCS = Path(__file__).parents[2] / "docs" / "api.md"
# Lead times of PRs 1-8 in hours: the median is 9, the p95 16 (percentile_cont between the two 16s).
LEAD_TIMES = (2, 4, 6, 8, 10, 12, 16, 16)


def sha(n):
    return f"{n:040x}"


def dora_dataset(engine, fake):
    """platform (alice) owns acme/api from 2025; payments (bob) owns nothing. February 2025 has 28 days, 4 weeks:

    - alice's PRs 1-8 merge on 1-8 February at 11:00, each shipped by deployment n at 12:00 that day; their first
      commits were LEAD_TIMES hours before it;
    - incident 1 opens on 3 February at 13:00, without a root cause: it fails deployment 3, the latest then, and is
      closed 1.5 hours later;
    - incident 2 opens on 20 March and is still open; its root cause is deployment 3's commit, which failed already.
    """
    teams(engine, "platform", "payments")
    configure(engine, API, owners=[("platform", 1, "2025-01-01", None)])
    pulls = [merged_pull(n, "alice", merged=at(f"2025-02-0{n}T11:00:00")) for n in range(1, 9)]
    merged(engine, fake, API, *pulls)
    for n, hours in enumerate(LEAD_TIMES, start=1):
        deployed = at(f"2025-02-0{n}T12:00:00")
        deploy(engine, API, str(n), deployed, sha=sha(n))
        first_commit(engine, n, (deployed - timedelta(hours=hours)).isoformat()[:19])
    incident(engine, API, 1, "2025-02-03T13:00:00", "2025-02-03T14:30:00")
    incident(engine, API, 2, "2025-03-20T09:00:00", sha=sha(3))


@pytest.fixture
def api(engine):
    with serving(engine) as server:
        yield Api(server, keys.create_key(engine, "dora"))


@pytest.fixture
def dataset(engine, fake_github):
    dora_dataset(engine, fake_github)
    return dict(rows(engine, "SELECT name, id FROM teams"))


@pytest.fixture
def bands(engine):
    """For a test that changes dora_benchmarks, which the API reads committed: the seeded rows are put back after."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE seeded_bands AS SELECT * FROM dora_benchmarks"))
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM dora_benchmarks"))
        conn.execute(text("INSERT INTO dora_benchmarks SELECT * FROM seeded_bands"))
        conn.execute(text("DROP TABLE seeded_bands"))


def empty_month(day, *, in_progress=False):
    return {
        "month": day,
        "in_progress": in_progress,
        "deployment_frequency": {"value": None, "unit": "deployments per week", "band": None, "low_sample": None,
                                 "n": 0, "days": 0},
        "change_lead_time": {"value": None, "unit": "hours", "band": None, "low_sample": None, "n": 0, "p95": None},
        "change_failure_rate": {"value": None, "unit": "fraction", "band": None, "low_sample": None, "n": 0,
                                "failed": 0},
        "time_to_restore": {"value": None, "unit": "hours", "band": None, "low_sample": None, "n": 0, "p95": None,
                            "open_incidents": 0},
    }  # fmt: skip


def docs_example():
    """The request docs/api.md shows for the endpoint, and the answer it prints for it."""
    doc = DOCS.read_text()
    (path,) = re.findall(r'curl -H "Authorization: Bearer \$KEY" "http://127\.0\.0\.1:8080(/metrics/team/[^"]*/dora\?[^"]*)"',
                         doc)  # fmt: skip
    (answer,) = [block for block in re.findall(r"^```json\n(.*?)^```$", doc, re.M | re.S) if '"report_year"' in block]
    return path, json.loads(answer)


# ---------------------------------------------------------------- exact answers


def test_the_example_in_the_docs_is_the_answer_for_the_dataset_it_describes(api, dataset):
    path, documented = docs_example()
    answer = api.get(path)
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.json == documented
    # What the example shows, spelled out: February's four keys (2024's bands), March without data but an open
    # incident (every key present: n 0, value, band and low_sample null, but the restored incidents' low sample).
    february, march = documented["months"]
    assert [february[k]["band"] for k in ("deployment_frequency", "change_lead_time", "change_failure_rate",
                                          "time_to_restore")] == ["high", "elite", "high", "high"]  # fmt: skip
    assert (february["deployment_frequency"]["value"], february["change_failure_rate"]["value"]) == (8 * 7 / 28, 1 / 8)
    restored_none = {**empty_month("2025-03-01")["time_to_restore"], "low_sample": True, "open_incidents": 1}
    assert march == {**empty_month("2025-03-01"), "time_to_restore": restored_none}


def test_by_default_every_one_of_the_12_months_up_to_today_is_there_with_or_without_data(api, dataset):
    answer = api.get(f"/metrics/team/{dataset['platform']}/dora")
    body = answer.json
    assert (body["team"], body["from"], body["to"], body["report_year"]) == (
        {"id": dataset["platform"], "name": "platform"}, "2024-05-01", "2025-04-30", 2024
    )  # fmt: skip
    months = [m["month"] for m in body["months"]]
    assert months == [*(f"2024-{m:02d}-01" for m in range(5, 13)), *(f"2025-{m:02d}-01" for m in range(1, 5))]
    with_deployments = [m["month"] for m in body["months"] if m["deployment_frequency"]["n"]]
    assert with_deployments == ["2025-02-01"]
    assert body["months"][0] == empty_month("2024-05-01")


def test_a_team_with_nothing_to_count_has_every_month_empty(api, dataset):
    body = api.get("/metrics/team/PAYMENTS/dora?from=2025-02-15&to=2025-03-01").json
    assert body["team"]["name"] == "payments"
    assert body["months"] == [empty_month("2025-02-01"), empty_month("2025-03-01")]


def test_every_month_that_overlaps_the_range_is_there(api, dataset):
    body = api.get("/metrics/team/platform/dora?from=2025-02-28&to=2025-03-01").json
    assert [m["month"] for m in body["months"]] == ["2025-02-01", "2025-03-01"]
    assert (body["from"], body["to"]) == ("2025-02-28", "2025-03-01")


def test_report_year_gives_that_reports_bands(api, dataset):
    body = api.get("/metrics/team/platform/dora?from=2025-02-01&to=2025-02-28&report_year=2021").json
    (february,) = body["months"]
    assert body["report_year"] == 2021
    # 2021: 9 hours is between "less than one hour" (elite) and "one day to one week" (high); 12.5% is within its
    # elite 0-15%. The values themselves do not depend on the report.
    bands = {key: february[key]["band"] for key in ("deployment_frequency", "change_lead_time", "change_failure_rate",
                                                    "time_to_restore")}  # fmt: skip
    assert bands == {"deployment_frequency": "high", "change_lead_time": "high", "change_failure_rate": "elite",
                     "time_to_restore": "high"}  # fmt: skip
    assert february["change_lead_time"]["value"] == 9.0


def test_a_new_report_is_the_default_as_soon_as_its_bands_are_stored_whatever_it_calls_them(api, engine, dataset,
                                                                                           bands):  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO dora_benchmarks (report_year, metric, band, rank, threshold, unit, wording, source) "
            "SELECT 2099, metric, 'cluster ' || rank, rank, threshold, unit, wording, 'a report from the future' "
            "FROM dora_benchmarks WHERE report_year = 2022"
        ))  # fmt: skip
    body = api.get("/metrics/team/platform/dora?from=2025-02-01&to=2025-02-28").json
    assert body["report_year"] == 2099
    # 2022's thresholds: no elite band, its high one is daily; 2 a week is its second, medium.
    assert body["months"][0]["deployment_frequency"]["band"] == "cluster 2"


def test_without_any_bands_stored_the_keys_come_without_bands(api, engine, dataset, bands):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM dora_benchmarks"))
    body = api.get("/metrics/team/platform/dora?from=2025-02-01&to=2025-02-28").json
    assert body["report_year"] is None
    assert body["months"][0]["change_failure_rate"] == {"value": 0.125, "unit": "fraction", "band": None,
                                                        "low_sample": False, "n": 8, "failed": 1}  # fmt: skip
    detail = problem(api.get("/metrics/team/platform/dora?report_year=2024"), 400)
    assert detail == "report_year 2024 has no bands: the years with bands are none: view_dora_benchmarks is empty"


def test_the_current_month_is_in_progress_with_or_without_data(api, engine, dataset):
    now = datetime.now(UTC)
    deploy(engine, API, "now", now)
    this_month = now.date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    body = api.get(f"/metrics/team/platform/dora?from={last_month}&to={now.date()}").json
    assert [(m["month"], m["in_progress"], m["deployment_frequency"]["n"]) for m in body["months"]] == [
        (last_month.isoformat(), False, 0),
        (this_month.isoformat(), True, 1),
    ]
    next_month = (this_month + timedelta(days=31)).replace(day=1)
    ahead = api.get(f"/metrics/team/platform/dora?from={next_month}&to={next_month}").json["months"]
    assert ahead == [empty_month(next_month.isoformat(), in_progress=True)]  # as the views mark a later month


def test_the_answer_agrees_with_dora_summary_for_every_report_year(api, engine, dataset, fake_github):
    # Another team and repository, shared: the summary's rows for both teams, by every report, are the API's.
    configure(engine, "acme/web", owners=[("payments", 0.5, "2025-01-01", None), ("platform", 0.5, "2025-01-01", None)])
    for n in range(1, 4):
        deploy(engine, "acme/web", str(n), f"2025-03-0{n}T12:00:00")
    incident(engine, "acme/web", 1, "2025-03-02T13:00:00", "2025-03-04T13:00:00")
    values = {
        "deployment_frequency": "deployments_per_week",
        "change_lead_time": "median_change_lead_time_hours",
        "change_failure_rate": "change_failure_rate",
        "time_to_restore": "median_time_to_restore_hours",
    }
    columns = {key: (value, f"{key}_band", f"{key}_low_sample") for key, value in values.items()}  # fmt: skip
    years = [year for (year,) in rows(engine, "SELECT DISTINCT report_year FROM view_dora_benchmarks ORDER BY 1")]
    compared = 0
    for year in years:
        summary = rows(
            engine,
            f"SELECT team_name, month, in_progress, {', '.join(c for cs in columns.values() for c in cs)} "
            "FROM dora_summary(:year) ORDER BY 1, 2",
            year=year,
        )
        for team, month, in_progress, *expected in summary:
            answer = api.get(f"/metrics/team/{team}/dora?from={month}&to={month}&report_year={year}").json
            (served,) = answer["months"]
            got = [served[key][field] for key in columns for field in ("value", "band", "low_sample")]
            assert got == [float(v) if v is not None and not isinstance(v, (bool, str)) else v for v in expected]
            assert served["in_progress"] == in_progress
            compared += 1
    assert len(years) >= 4 and compared == len(years) * 3  # platform's February and March, payments' March


# ---------------------------------------------------------------- CSV, ETag


def test_dora_as_csv_is_the_same_table_one_row_a_month(api, dataset):
    answer = api.get("/metrics/team/platform/dora?from=2025-02-01&to=2025-03-31&format=csv")
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="dora-{dataset["platform"]}.csv"'
    header, february, march, end = answer.text.split("\r\n")
    assert header.split(",") == [
        "team_id", "team_name", "report_year", "month", "in_progress",
        *(f"deployment_frequency_{f}" for f in ("value", "unit", "band", "low_sample", "n", "days")),
        *(f"change_lead_time_{f}" for f in ("value", "unit", "band", "low_sample", "n", "p95")),
        *(f"change_failure_rate_{f}" for f in ("value", "unit", "band", "low_sample", "n", "failed")),
        *(f"time_to_restore_{f}" for f in ("value", "unit", "band", "low_sample", "n", "p95", "open_incidents")),
    ]  # fmt: skip
    p = dataset["platform"]
    assert february == (
        f"{p},platform,2024,2025-02-01,false,2.0,deployments per week,high,false,8,8,"
        "9.0,hours,elite,false,8,16.0,0.125,fraction,high,false,8,1,1.5,hours,high,true,1,1.5,0"
    )
    assert march == (f"{p},platform,2024,2025-03-01,false,,deployments per week,,,0,0,"
                     ",hours,,,0,,,fraction,,,0,0,,hours,,true,0,,1")  # fmt: skip
    assert end == ""


def test_an_unchanged_answer_is_a_304_and_a_new_fact_changes_it(api, engine, dataset):
    path = "/metrics/team/platform/dora?from=2025-02-01&to=2025-03-31"
    etag = api.get(path).headers["ETag"]
    assert api.get(path, {"If-None-Match": etag}).status == 304
    assert api.get(path + "&report_year=2021", {"If-None-Match": etag}).status == 200  # other bands, other body
    incident(engine, API, 3, "2025-03-21T09:00:00", "2025-03-21T10:00:00")
    changed = api.get(path, {"If-None-Match": etag})
    assert changed.status == 200 and changed.json["months"][1]["time_to_restore"]["n"] == 1


# ---------------------------------------------------------------- every bad parameter: 4xx, never 500

DORA_BAD_PARAMETERS = [
    *((query, detail.replace("it takes format, from, to", "it takes format, from, report_year, to"))
      for query, detail in BAD_PARAMETERS),
    ("report_year=2019", "report_year 2019 has no bands: the years with bands are 2021, 2022, 2023, 2024"),
    ("report_year=9999&from=2025-01-01", "report_year 9999 has no bands: the years with bands are 2021, 2022, 2023, "
                                         "2024"),
    ("report_year=24", "query parameter 'report_year' must be a year as YYYY (got '24')"),
    ("report_year=2024.0", "query parameter 'report_year' must be a year as YYYY (got '2024.0')"),
    ("report_year=%2B2024", "query parameter 'report_year' must be a year as YYYY (got '+2024')"),
    ("report_year=%202024", "query parameter 'report_year' must be a year as YYYY (got ' 2024')"),
    ("report_year=%E0%A5%A8%E0%A5%A6%E0%A5%A8%E0%A5%AA",
     "query parameter 'report_year' must be a year as YYYY (got '\u0968\u0966\u0968\u096a')"),
    ("report_year=", "query parameter 'report_year' must be a year as YYYY (got '')"),
    ("report_year=2021&report_year=2024", "query parameter 'report_year' must be a year as YYYY (got 2 values)"),
    ("report_year=2024&from=x", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got 'x')"),
    ("report_year=x&from=2025-03-10&to=2025-03-09",
     "query parameter 'report_year' must be a year as YYYY (got 'x')"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "detail"), DORA_BAD_PARAMETERS, ids=[q for q, _ in DORA_BAD_PARAMETERS])
def test_a_bad_parameter_is_a_400_problem_that_says_what_to_fix(api, dataset, query, detail):
    assert problem(api.get(f"/metrics/team/platform/dora?{query}"), 400) == detail


def test_a_bad_report_year_is_said_before_an_unknown_team(api, dataset):
    assert problem(api.get("/metrics/team/nobody/dora?report_year=2019"), 400).startswith("report_year 2019 ")
    assert problem(api.get("/metrics/team/nobody/dora?report_year=2021"), 404).startswith("no team 'nobody'")


def test_five_years_of_months_at_most(api, dataset):
    body = api.get("/metrics/team/platform/dora?from=2020-01-02&to=2025-01-02").json
    assert len(body["months"]) == 61 and body["months"][0]["month"] == "2020-01-01"
    assert problem(api.get("/metrics/team/platform/dora?from=2020-01-01&to=2025-01-02"), 400) == (
        "from 2020-01-01 to 2025-01-02 is more than 5 years: ask for 5 at most"
    )
