"""The read API over real HTTP (``serve``'s server) against a real PostgreSQL: exact answers for a known dataset,
every bad parameter, keys, ETags and CSV."""

import logging
import re

import pytest
from sqlalchemy import text

from collector.api import keys
from collector.api.app import create_app
from collector.api.data import make_api_engine
from collector.api.local import ApiServer
from tests.helpers import rows, sync, team_doc
from tests.integration.api_client import Api, known_dataset, serving

PROBLEM = "application/problem+json"
KEY_REQUIRED = {
    "type": "about:blank",
    "title": "Unauthorized",
    "status": 401,
    "detail": "a valid API key is required: send it as 'Authorization: Bearer <key>'",
}


@pytest.fixture
def api(engine):
    with serving(engine) as server:
        yield Api(server, keys.create_key(engine, "tests"))


@pytest.fixture
def dataset(engine, fake_github):
    known_dataset(engine, fake_github)
    return dict(rows(engine, "SELECT name, id FROM teams"))


def week(day, prs=0, weighted=0.0, avg=None):
    return {"week": day, "prs_merged": prs, "weighted_prs_merged": weighted, "avg_cycle_time_hours": avg,
            "in_progress": False}  # fmt: skip


QUIET = ("2025-03-10", "2025-03-24", "2025-04-07", "2025-04-14", "2025-04-21", "2025-04-28")


def platform_weeks():
    busy = {"2025-03-03": week("2025-03-03", 2, 1.5, 17.0), "2025-03-17": week("2025-03-17", 1, 1.0, 2.0),
            "2025-03-31": week("2025-03-31", 5, 5.0, 3.0)}  # fmt: skip
    return [busy.get(day) or week(day) for day in sorted([*busy, *QUIET])]


# ---------------------------------------------------------------- exact answers


def test_teams_lists_every_team_with_its_current_members(api, dataset):
    answer = api.get("/teams")
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.json == {
        "teams": [
            {"id": dataset["mobile"], "name": "mobile", "description": None, "current_members": 2,
             "current_allocation": 1.5},
            {"id": dataset["platform"], "name": "platform", "description": None, "current_members": 2,
             "current_allocation": 1.5},
        ]
    }  # fmt: skip


def test_velocity_by_default_is_the_12_weeks_up_to_today_with_quiet_weeks_as_zero(api, dataset):
    answer = api.get("/metrics/team/platform/velocity")
    assert answer.status == 200
    # The calendar starts at the team's first merge (3 March), so 9 of the 12 weeks since 10 February have rows.
    assert answer.json == {
        "team": {"id": dataset["platform"], "name": "platform"},
        "from": "2025-02-10",
        "to": "2025-04-30",
        "weeks": platform_weeks(),
    }


def test_velocity_credits_a_shared_author_at_their_weight_to_each_team(api, dataset):
    answer = api.get("/metrics/team/mobile/velocity?from=2025-03-01&to=2025-03-16")
    assert answer.json["weeks"] == [week("2025-03-03", 1, 0.5, 24.0), week("2025-03-10")]


def test_velocity_includes_every_week_that_overlaps_the_range(api, dataset):
    # 5 March is a Wednesday: its week (from Monday 3 March) overlaps the range; 17 March is that week's Monday.
    answer = api.get(f"/metrics/team/{dataset['platform']}/velocity?from=2025-03-05&to=2025-03-17")
    assert [w["week"] for w in answer.json["weeks"]] == ["2025-03-03", "2025-03-10", "2025-03-17"]
    assert answer.json["from"] == "2025-03-05" and answer.json["to"] == "2025-03-17"


def test_lead_time_is_monthly_median_and_p95_with_small_months_flagged(api, dataset):
    answer = api.get("/metrics/team/platform/lead-time")
    assert answer.status == 200
    body = answer.json
    assert (body["team"], body["from"], body["to"]) == (
        {"id": dataset["platform"], "name": "platform"}, "2024-05-01", "2025-04-30"
    )  # fmt: skip
    # March: 10, 24 and 2 hours; April: 1 to 5 hours. percentile_cont interpolates: 10 + 0.9 * 14 and 4 + 0.8.
    assert body["months"] == [
        {"month": "2025-03-01", "prs_merged": 3, "median_lead_time_hours": 10.0,
         "p95_lead_time_hours": pytest.approx(22.6), "low_sample": True, "in_progress": False},
        {"month": "2025-04-01", "prs_merged": 5, "median_lead_time_hours": 3.0,
         "p95_lead_time_hours": pytest.approx(4.8), "low_sample": False, "in_progress": False},
    ]  # fmt: skip


def test_lead_time_includes_every_month_that_overlaps_the_range(api, dataset):
    answer = api.get("/metrics/team/platform/lead-time?from=2025-03-31&to=2025-04-01")
    assert [m["month"] for m in answer.json["months"]] == ["2025-03-01", "2025-04-01"]


@pytest.mark.parametrize("reference", ["platform", "PLATFORM", "Platform", "{id}"])
def test_a_team_is_named_by_its_id_or_its_name_in_any_case(api, dataset, reference):
    answer = api.get(f"/metrics/team/{reference.format(id=dataset['platform'])}/velocity")
    assert answer.status == 200 and answer.json["team"] == {"id": dataset["platform"], "name": "platform"}


def test_a_name_with_spaces_and_accents_is_url_encoded(api, engine):
    sync(engine, team_doc(("équipe web", [])))
    answer = api.get("/metrics/team/%C3%89QUIPE%20WEB/lead-time")
    assert answer.status == 200 and answer.json["team"]["name"] == "équipe web" and answer.json["months"] == []


def test_a_team_without_merges_has_no_weeks_yet(api, engine):
    sync(engine, team_doc(("new", [])))
    assert api.get("/metrics/team/new/velocity").json["weeks"] == []


# ---------------------------------------------------------------- every bad parameter: 4xx, never 500


def problem(answer, status):
    assert answer.status == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM and answer.headers["Cache-Control"] == "no-store"
    body = answer.json
    assert set(body) == {"type", "title", "status", "detail"} and body["status"] == status
    return body["detail"]


BAD_PARAMETERS = [
    ("from=2025-13-01", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got '2025-13-01')"),
    ("to=2025-02-30", "query parameter 'to' must be a date as YYYY-MM-DD, 1970 or later (got '2025-02-30')"),
    ("from=yesterday", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got 'yesterday')"),
    ("from=20250101", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got '20250101')"),
    ("from=2025-W01-1", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got '2025-W01-1')"),
    ("from=1700000000", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got '1700000000')"),
    ("from=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95-01-01",
     "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got '\uff12\uff10\uff12\uff15-01-01')"),
    ("from=", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got '')"),
    ("from=2025-01-01&from=2025-02-01",
     "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got 2 values)"),
    ("to=2025-01-01,2025-02-01",
     "query parameter 'to' must be a date as YYYY-MM-DD, 1970 or later (got '2025-01-01,2025-02-01')"),
    ("from=x&to=y", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got 'x'); "
                    "query parameter 'to' must be a date as YYYY-MM-DD, 1970 or later (got 'y')"),
    ("from=2025-03-10&to=2025-03-09", "from (2025-03-10) is after to (2025-03-09): give from <= to"),
    ("from=2026-01-01", "from (2026-01-01) is after to (2025-04-30): give from <= to"),
    ("from=2020-01-01&to=2025-01-02", "from 2020-01-01 to 2025-01-02 is more than 5 years: ask for 5 at most"),
    ("format=xml", "query parameter 'format' must be json or csv (got 'xml')"),
    ("from=0001-01-01&to=0001-01-03", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got "
                                      "'0001-01-01'); query parameter 'to' must be a date as YYYY-MM-DD, 1970 or "
                                      "later (got '0001-01-03')"),
    ("to=0001-01-03", "query parameter 'to' must be a date as YYYY-MM-DD, 1970 or later (got '0001-01-03')"),
    ("from=1969-12-31", "query parameter 'from' must be a date as YYYY-MM-DD, 1970 or later (got '1969-12-31')"),
    ("form=2025-01-01", "unknown query parameter 'form': it takes format, from, to"),
]  # fmt: skip
METRICS = ["/metrics/team/platform/velocity", "/metrics/team/platform/lead-time"]


@pytest.mark.parametrize(("query", "detail"), BAD_PARAMETERS, ids=[q for q, _ in BAD_PARAMETERS])
@pytest.mark.parametrize("path", METRICS, ids=["velocity", "lead-time"])
def test_a_bad_parameter_is_a_400_problem_that_says_what_to_fix(api, dataset, path, query, detail):
    assert problem(api.get(f"{path}?{query}"), 400) == detail


def test_exactly_five_years_is_allowed(api, dataset):
    assert api.get("/metrics/team/platform/velocity?from=2020-01-02&to=2025-01-02").status == 200
    assert api.get("/metrics/team/platform/lead-time?from=2019-02-28&to=2024-02-29").status == 200


@pytest.mark.parametrize(
    ("team", "shown"),
    [("nobody", "'nobody'"), ("99999999999", "'99999999999'"), ("0", "'0'"), ("plat%25form", "'plat%form'"),
     ("ghp_" + "x" * 36, "a 40-character value")],
    ids=["name", "id-past-int4", "zero", "percent", "token-like"],
)  # fmt: skip
@pytest.mark.parametrize("path", ["velocity", "lead-time", "dora"])
def test_an_unknown_team_is_a_404_naming_it(api, dataset, path, team, shown):
    detail = problem(api.get(f"/metrics/team/{team}/{path}"), 404)
    assert detail == f"no team {shown}: give a team's id or its name (any case); GET /teams lists them"


@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [("GET", "/nope", "no endpoint GET '/nope': /openapi.json lists them"),
     ("POST", "/teams", "no endpoint POST '/teams': /openapi.json lists them"),
     ("GET", "/metrics/team/%00/velocity", "no endpoint GET '/metrics/team/\\x00/velocity': /openapi.json lists them")],
    ids=["path", "method", "nul"],
)  # fmt: skip
def test_an_unknown_endpoint_is_a_404_problem(api, method, path, detail):
    assert problem(api.get(path, method=method), 404) == detail


def test_teams_takes_only_format(api, dataset):
    assert problem(api.get("/teams?team=x"), 400) == "unknown query parameter 'team': it takes format"
    assert problem(api.get("/teams?format=pdf"), 400) == "query parameter 'format' must be json or csv (got 'pdf')"


def test_an_unreachable_database_is_a_503_problem_not_a_500(engine):
    dead = make_api_engine(engine.url.set(port=1).render_as_string(hide_password=False), pool_size=1)
    with ApiServer(create_app(dead)) as server:
        answer = Api(server).get("/teams", key=keys.create_key(engine, "outage"))
    dead.dispose()
    assert problem(answer, 503) == "the database is unavailable; try again in a minute"
    assert answer.headers["Retry-After"] == "60"


# ---------------------------------------------------------------- keys


def bad_keys(engine, good):
    key_id = good.split("_")[1]
    revoked = keys.create_key(engine, "revoked")
    keys.revoke_key(engine, "revoked")
    return {
        "missing": None,
        "empty": "",
        "not-a-key": "hello",
        "wrong-secret": f"dora_{key_id}_{'A' * 43}",
        "unknown-id": f"dora_{'0' * 16}_{good.split('_', 2)[2]}",
        "truncated": good[:-1],
        "revoked": revoked,
    }


@pytest.mark.parametrize("case", ["missing", "empty", "not-a-key", "wrong-secret", "unknown-id", "truncated",
                                  "revoked", "basic-scheme", "key-without-scheme"])  # fmt: skip
@pytest.mark.parametrize(
    "path",
    [
        "/teams",
        *METRICS,
        "/metrics/team/platform/velocity?from=bad",
        "/metrics/team/platform/dora",
        "/metrics/team/platform/dora?report_year=1999",
    ],
)
def test_every_request_without_a_live_key_gets_the_same_401(api, engine, case, path):
    if case == "basic-scheme":
        answer = api.get(path, {"Authorization": f"Basic {api.key}"}, key="")
    elif case == "key-without-scheme":
        answer = api.get(path, {"Authorization": api.key}, key="")
    else:
        key = bad_keys(engine, api.key)[case]
        answer = api.get(path, {"Authorization": "Bearer " + key} if key is not None else {}, key="")
    assert answer.status == 401 and answer.json == KEY_REQUIRED
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="dora-collector"'
    assert answer.headers["Content-Type"] == PROBLEM


def test_the_openapi_document_needs_no_key(api):
    assert api.get("/openapi.json", key="").status == 200


def test_the_scheme_is_case_insensitive(api, dataset):
    assert api.get("/teams", {"Authorization": f"bearer {api.key}"}, key="").status == 200


def test_a_revoked_key_is_refused_at_once(api, engine, dataset):
    assert api.get("/teams").status == 200
    keys.revoke_key(engine, "tests")
    assert api.get("/teams").status == 401


def test_use_is_recorded_and_the_secret_is_stored_only_as_its_hash(api, engine, dataset):
    assert rows(engine, "SELECT last_used_at IS NULL FROM api_keys WHERE name = 'tests'") == [(True,)]
    api.get("/teams")
    ((last_used, stored),) = rows(engine, "SELECT last_used_at, secret_hash FROM api_keys WHERE name = 'tests'")
    assert last_used is not None
    secret = api.key.split("_", 2)[2]
    assert len(bytes(stored)) == 32 and secret.encode() not in bytes(stored)
    hashed = "SELECT count(*) FROM api_keys WHERE secret_hash = sha256(convert_to(:s, 'UTF8'))"
    assert rows(engine, hashed, s=secret) == [(1,)]


def test_use_is_written_at_most_once_a_minute(engine):
    key = keys.create_key(engine, "polling")
    key_id, secret = key.split("_", 2)[1:]
    digest = rows(engine, "SELECT sha256(convert_to(:s, 'UTF8'))", s=secret)[0][0]

    def used(ago):
        with engine.begin() as conn:
            conn.execute(text("UPDATE api_keys SET last_used_at = now() - CAST(:ago AS interval)"), {"ago": ago})
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL ROLE dora_api"))
            conn.execute(text("SELECT api_key_used(:k, :h)"), {"k": key_id, "h": digest})
        return rows(engine, "SELECT now() - last_used_at < interval '1 second' FROM api_keys")[0][0]

    assert used("30 seconds") is False
    assert used("2 minutes") is True


def test_a_key_is_checked_in_constant_time_whatever_is_wrong_with_it(api, engine, dataset, monkeypatch):
    compared = []
    real = keys.hmac.compare_digest

    def recording(a, b):
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", recording)
    well_formed = {case: key for case, key in bad_keys(engine, api.key).items()
                   if case in ("wrong-secret", "unknown-id", "revoked")}  # fmt: skip
    for case, key in {**well_formed, "valid": api.key}.items():
        compared.clear()
        assert api.get("/teams", key=key).status == (200 if case == "valid" else 401)
        assert compared == [(32, 32)], case


def test_keys_never_reach_a_log(api, engine, dataset, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    sent = [api.key, *(k for k in bad_keys(engine, api.key).values() if k)]
    for key in sent:
        for path in ["/teams", "/metrics/team/platform/velocity?from=bad", "/nope"]:
            api.get(path, key=key)
    logged = caplog.text + "".join(capfd.readouterr())
    assert "GET /teams 200" in caplog.text  # the server did log the requests
    for key in sent:
        assert key not in logged and key.split("_", 2)[-1] not in logged


# ---------------------------------------------------------------- ETag, Cache-Control, 304


def test_an_unchanged_answer_is_a_304_without_a_body(api, dataset):
    first = api.get("/metrics/team/platform/velocity")
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag) and first.headers["Cache-Control"] == "private, max-age=60"
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = api.get("/metrics/team/platform/velocity", {"If-None-Match": sent})
        assert again.status == 304 and again.body == b"", sent
        assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "private, max-age=60"
        assert "Content-Length" not in again.headers
    assert api.get("/metrics/team/platform/velocity", {"If-None-Match": '"other"'}).status == 200


def test_the_etag_changes_with_the_data_and_with_the_format(api, engine, dataset):
    before = api.get("/teams").headers["ETag"]
    assert api.get("/teams?format=csv").headers["ETag"] != before
    sync(engine, team_doc(("platform", []), ("mobile", []), ("data", [])))
    changed = api.get("/teams", {"If-None-Match": before})
    assert changed.status == 200 and changed.headers["ETag"] != before and len(changed.json["teams"]) == 3


def test_a_304_still_needs_a_key(api, dataset):
    etag = api.get("/teams").headers["ETag"]
    assert api.get("/teams", {"If-None-Match": etag}, key="").status == 401


# ---------------------------------------------------------------- CSV


def test_velocity_as_csv_is_the_same_table(api, dataset):
    answer = api.get("/metrics/team/platform/velocity?format=csv&from=2025-03-03&to=2025-03-17")
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="velocity-{dataset["platform"]}.csv"'
    p = dataset["platform"]
    assert answer.text == (
        "team_id,team_name,week,prs_merged,weighted_prs_merged,avg_cycle_time_hours,in_progress\r\n"
        f"{p},platform,2025-03-03,2,1.5,17.0,false\r\n"
        f"{p},platform,2025-03-10,0,0.0,,false\r\n"
        f"{p},platform,2025-03-17,1,1.0,2.0,false\r\n"
    )


def test_lead_time_as_csv(api, dataset):
    answer = api.get("/metrics/team/platform/lead-time?format=csv&from=2025-04-01&to=2025-04-30")
    assert answer.text == (
        "team_id,team_name,month,prs_merged,median_lead_time_hours,p95_lead_time_hours,low_sample,in_progress\r\n"
        f"{dataset['platform']},platform,2025-04-01,5,3.0,4.8,false,false\r\n"
    )


def test_csv_escapes_values_and_defuses_spreadsheet_formulas(api, engine):
    names = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", 'quoted "name", with comma']
    sync(engine, {"teams": [{"name": n, "description": "=cmd|' /C calc'!A0", "members": []} for n in names]})
    lines = api.get("/teams?format=csv").text.split("\r\n")
    assert lines[0] == "team_id,team_name,description,current_members,current_allocation"
    cells = sorted(line.split(",", 1)[1] for line in lines[1:] if line)
    assert cells == sorted([
        "'+1,'=cmd|' /C calc'!A0,0,0.0",
        "'-1,'=cmd|' /C calc'!A0,0,0.0",
        "'@SUM(A1),'=cmd|' /C calc'!A0,0,0.0",
        '"\'=HYPERLINK(""http://x"",""y"")",\'=cmd|\' /C calc\'!A0,0,0.0',
        '"quoted ""name"", with comma",\'=cmd|\' /C calc\'!A0,0,0.0',
    ])  # fmt: skip


@pytest.mark.parametrize(
    "framing",
    ["Transfer-Encoding: chunked\r\n", "Content-Length: 0\r\nContent-Length: 40\r\n"],
    ids=["chunked", "two lengths"],
)
def test_a_body_framed_another_way_is_refused_and_cannot_smuggle_a_second_request(api, framing):
    import socket
    from urllib.parse import urlsplit

    hidden = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
    parts = urlsplit(api.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST /teams HTTP/1.1\r\nHost: x\r\n{framing}\r\n".encode() + b"27\r\n" + hidden + b"\r\n0\r\n\r\n"
        )
        answers = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its one answer
            answers += chunk
    assert answers.startswith(b"HTTP/1.1 400 ") and answers.count(b"HTTP/1.1 ") == 1
