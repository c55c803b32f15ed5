"""The Grafana dashboard reads the documented views only, so a dora_reader login can drive it."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
README = (ROOT / "sql" / "README.md").read_text()
DOCUMENTED = set(re.findall(r"^## (view_\w+)", README, re.MULTILINE))
DEPRECATED = set(re.findall(r"^## (view_\w+) \(deprecated\)", README, re.MULTILINE))


def sql_of(dashboard):
    yield from (t["rawSql"] for p in dashboard["panels"] for t in p.get("targets", []))
    yield from (v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query")


def test_every_query_reads_documented_views_only_and_none_deprecated():
    dashboard = json.loads((ROOT / "dashboards" / "dora-collector.json").read_text())
    queries = list(sql_of(dashboard))
    assert len(queries) >= 8
    for sql in queries:
        relations = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", sql, re.IGNORECASE))
        assert relations and relations <= DOCUMENTED - DEPRECATED - {"view_pr_titles"}, sql


def test_the_documented_views_are_the_ones_the_migrations_create():
    assert {
        "view_team_velocity", "view_team_velocity_calendar", "view_pr_lead_time", "view_dora_lead_time",
        "view_pr_attribution", "view_unattributed_prs", "view_unmapped_authors", "view_open_pr_age", "view_pr_titles",
        "view_teams", "view_dora_benchmarks", "view_dora_deployments", "view_dora_failed_deployments",
        "view_dora_deployment_attribution", "view_dora_deployment_frequency", "view_dora_change_failure_rate",
        "view_dora_change_attribution", "view_dora_change_lead_time", "view_dora_undeployed_prs",
        "view_dora_incident_attribution", "view_dora_time_to_restore", "view_dora_unowned_repositories",
        "view_dora_summary",
    } == DOCUMENTED  # fmt: skip
    assert {"view_dora_lead_time"} == DEPRECATED


def test_panels_have_unique_ids_and_do_not_overlap():
    dashboard = json.loads((ROOT / "dashboards" / "dora-collector.json").read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = [
        (p["gridPos"]["x"] + dx, p["gridPos"]["y"] + dy)
        for p in panels
        for dx in range(p["gridPos"]["w"])
        for dy in range(p["gridPos"]["h"])
    ]
    assert len(cells) == len(set(cells)) and all(x < 24 for x, _ in cells)


def test_the_four_keys_row_has_a_table_a_stat_and_a_series_per_key():
    dashboard = json.loads((ROOT / "dashboards" / "dora-collector.json").read_text())
    titles = [p["title"] for p in dashboard["panels"]]
    row = titles.index("DORA four keys")
    kinds = [p["type"] for p in dashboard["panels"][row + 1 :]]
    assert kinds == ["table"] + ["stat"] * 4 + ["timeseries"] * 4
    # Each key has its stat and its series, named as the report names it (lead time is "for changes").
    for key in ("Deployment", "Lead time for changes", "Change failure rate", "Time to restore"):
        assert sum(key in t for t in titles[row + 1 :]) == 2, key
