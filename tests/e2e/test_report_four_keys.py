"""The report's four DORA keys per team: the latest complete month with its bands, the month in progress, small
samples, and a reason wherever a key has no figure; readable by a dora_reader login and rendered by Chromium.

Deployments, incidents and first commits are inserted as their collection stores them (tests/four_keys_facts.py);
pull requests go through the collector and the local fake GitHub; repositories and owners through teams sync.
"""

import os
import random
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import pytest

from collector.report import BAND_COLOURS, IN_PROGRESS_STRIPE, KEYS, load_report, render_html
from collector.testing.sample_org import generate_org
from tests.e2e.test_report import (
    BIDI_CONTROLS,
    CHROMIUM,
    DOCS_PNG,
    FLAGS,
    REPORT_NOW,
    colour_mask,
    elements,
    needs_chromium,
    reader_login,
    report,
    screenshot,
    tags_of,
    team_html,
    texts_of,
)
from tests.four_keys_facts import deploy, first_commit, incident, repository
from tests.helpers import collect, member, merged_pull, rows, sync, team_doc

NOW = datetime.now(UTC)
API, PAY, WEB = "acme/api", "acme/pay", "acme/web"


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _october_days():
    return [date(2026, 10, d) for d in range(1, 32)]


@pytest.fixture
def keys_org(engine, fake_github):
    """REPORT_NOW is Wednesday 2026-11-25: October is the latest complete month, November in progress.

    platform (acme/api) in October: 31 deployments, one a day at noon (7 a week: elite); six changes, each
    first committed 30 hours before the deployment that shipped it (high); two incidents without a root cause,
    each failing the day's deployment (2 of 31, 6.5%: high), restored in 20 and 40 hours (median 30: low by
    2024's bands). September: six deployments; November so far: ten, and an open incident.
    payments (acme/pay): two deployments in October, no first commit known, no incident ever.
    quiet owns no repository."""
    teams = team_doc(
        ("platform", [member("alice"), member("bob")]), ("payments", [member("carol")]), ("quiet", [member("dave")])
    )
    sync(engine, {**teams, "repositories": [repository(API, "platform"), repository(PAY, "payments")]})
    fake_github.add_repo(API)
    for number, day in enumerate(_october_days()[2:8], start=1):  # merged an hour before each day's deployment
        fake_github.add_pull(API, merged_pull(number, "alice", merged=_at(day, 11), created=_at(day, 1)))
    collect(engine, fake_github, [API], now=REPORT_NOW, since=REPORT_NOW - timedelta(days=200))
    for number, day in enumerate(_october_days()[2:8], start=1):
        first_commit(engine, API, number, _at(day) - timedelta(hours=30))
    for i, day in enumerate(_october_days()):
        deploy(engine, API, f"oct-{i}", _at(day))
    for i in range(6):
        deploy(engine, API, f"sep-{i}", _at(date(2026, 9, 8 + i)))
    for i in range(10):
        deploy(engine, API, f"nov-{i}", _at(date(2026, 11, 2 + 2 * i), 9))
    deploy(engine, API, "failed", _at(date(2026, 10, 5), 14), status="failed")  # an attempt: never counted
    incident(engine, API, 1, _at(date(2026, 10, 10), 13), _at(date(2026, 10, 11), 9))  # 20 hours
    incident(engine, API, 2, _at(date(2026, 10, 20), 13), _at(date(2026, 10, 22), 5))  # 40 hours
    incident(engine, API, 3, _at(date(2026, 11, 20), 13))  # still open
    deploy(engine, PAY, "1", _at(date(2026, 10, 7)))
    deploy(engine, PAY, "2", _at(date(2026, 10, 21)))
    return engine


def html_of(engine, *, weeks=12, team=None):
    return render_html(load_report(engine, team=team, weeks=weeks, now=REPORT_NOW))


LABELS = ("Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore")


class KeyTile(NamedTuple):
    classes: list
    text: str
    html: str

    def band(self):
        """The headline's band: the first badge, before the month so far."""
        found = [t for _, t in elements(self.html.split('class="so-far"')[0], "span", "perf-band")]
        return found[0] if found else None


def tiles_by_label(section):
    """label -> KeyTile of a team section's four key tiles, in the order of the page."""
    chunks = section.split('<div class="tile dora-key')[1:]
    tiles = elements(section, "div", "dora-key")
    assert len(tiles) == len(chunks) == 4, [t for _, t in tiles]
    return {
        label: KeyTile(attrs["class"].split(), text, chunk)
        for label, (attrs, text), chunk in zip(LABELS, tiles, chunks, strict=True)
    }


def test_each_team_shows_the_four_keys_of_the_latest_complete_month_with_their_bands(keys_org):
    platform = tiles_by_label(team_html(html_of(keys_org), "platform"))
    expected = {
        "Deployment frequency": ("1.0 per day", "elite", "31 deployments on 31 days"),
        "Lead time for changes": ("30.0 h", "high", "first commit → production, median of 6 changes"),
        "Change failure rate": ("6.5%", "high", "2 of 31 deployments failed"),
        "Time to restore": ("30.0 h", "low", "median of 2 restored incidents"),
    }
    for label, (value, band, note) in expected.items():
        classes, content, _ = platform[label]
        assert content.startswith(f"{label}{value} {band}{note}"), content
        assert content.endswith("Oct 2026 · 2024 bands"), content
        assert "no-data" not in classes
        # Two restored incidents are a small sample; the rest are not.
        assert ("low-sample" in classes) == (label == "Time to restore")
        assert ("low sample: 2 restored incidents" in content) == (label == "Time to restore")
    # The band is a word in a badge coloured for it, not a colour alone.
    assert [tile.band() for tile in platform.values()] == ["elite", "high", "high", "low"]
    (badge,) = elements(platform["Deployment frequency"].html.split("</span>")[0] + "</span>", "span", "perf-band")
    assert badge[0]["class"] == "perf-band elite" and badge[0]["title"] == "elite by the 2024 report"


def test_the_bands_are_the_summarys_for_the_newest_report(keys_org):
    """The report reads the key views and applies dora_band() itself: the same figures and bands as
    view_dora_summary for every team and month."""
    data = load_report(keys_org, team=None, weeks=12, now=REPORT_NOW)
    shown = {
        (team.name, month, key): (figure.value, figure.band)
        for team in data.teams
        for key in KEYS
        for month, figure in team.keys[key].items()
    }
    summary = rows(
        keys_org,
        "SELECT team_name, month, report_year, deployments_per_week::float, deployment_frequency_band, "
        "median_change_lead_time_hours, change_lead_time_band, change_failure_rate::float, change_failure_rate_band, "
        "median_time_to_restore_hours, time_to_restore_band FROM view_dora_summary",
    )
    expected = {}
    for team, month, year, *figures in summary:
        assert year == data.benchmarks.year == 2024
        for key, value, band in zip(KEYS, figures[0::2], figures[1::2], strict=True):
            if value is not None or (key == "time_to_restore" and (team, month, key) in shown):
                expected[team, month, key] = (value, band)
    assert _rounded(shown) == _rounded(expected)
    assert ("platform", date(2026, 10, 1), "deployment_frequency") in shown


def _rounded(figures):
    return {k: (None if v is None else round(v, 9), band) for k, (v, band) in figures.items()}


def test_the_current_month_is_marked_in_progress_and_never_the_headline(keys_org):
    platform = team_html(html_of(keys_org), "platform")
    classes, content, tile_html = tiles_by_label(platform)["Deployment frequency"]
    assert "in-progress" not in classes
    assert "Nov so far: 2.3 per week high" in content  # ten deployments / (30 days / 7)
    trend = tile_html.split('<svg class="spark"')[1].split("</svg>")[0]
    slots = [a for a, _ in elements(trend, "rect", "band")]
    assert [s["class"] for s in slots] == ["band in-progress"]  # November, the last of three months
    bars = [a for a, _ in elements(trend, "rect", "bar")]
    assert [b["data-band"] for b in bars] == ["high", "elite", "high"]  # Sep 1.4/week, Oct, Nov so far
    assert bars[-1]["opacity"] == "0.55" and "opacity" not in bars[1]
    assert float(slots[0]["x"]) > float(bars[1]["x"])
    assert texts_of(trend, "text") == ["Sep", "Oct", "Nov"]


def test_a_bar_of_the_low_band_keeps_its_colour(keys_org):
    """The low-sample shading is styled by the class "low": the band named low must not wear it (it did)."""
    platform = team_html(html_of(keys_org), "platform")
    restore = tiles_by_label(platform)["Time to restore"].html
    (bar,) = [a for a, _ in elements(restore, "rect", "bar") if a.get("data-band") == "low"]
    assert bar["fill"] == BAND_COLOURS["low"][0] and "low" not in bar["class"].split()
    # The October slot is low sample too (two restored incidents): the shading lies behind the bar.
    assert restore.index('class="band low"') < restore.index('data-band="low"')


def test_when_the_window_lies_inside_the_current_month_the_tiles_show_it_in_progress(keys_org):
    platform = tiles_by_label(team_html(html_of(keys_org, weeks=1), "platform"))
    classes, content, _ = platform["Deployment frequency"]
    assert "in-progress" in classes
    assert content.endswith("Nov 2026 so far (in progress) · 2024 bands")
    assert "so far:" not in content.split("Nov 2026")[0]  # no second "so far" line for the same month


def test_a_figure_over_few_deployments_is_marked_low_sample(keys_org):
    payments = tiles_by_label(team_html(html_of(keys_org), "payments"))
    classes, content, _ = payments["Deployment frequency"]
    assert "low-sample" in classes and "low sample: 2 deployments" in content
    assert content.startswith("Deployment frequency2.0 per month medium")  # 2 in 31 days: 0.45 a week
    classes, content, _ = payments["Change failure rate"]
    assert "low-sample" in classes and content.startswith("Change failure rate0% elite0 of 2 deployments failed")
    platform = tiles_by_label(team_html(html_of(keys_org), "platform"))
    assert ["low-sample" in tile.classes for tile in platform.values()] == [False, False, False, True]


def test_a_key_without_a_figure_says_why(keys_org):
    html = html_of(keys_org)
    payments = tiles_by_label(team_html(html, "payments"))
    classes, content, _ = payments["Lead time for changes"]
    assert "no-data" in classes
    assert "no deployed change with a known first commit (view_dora_undeployed_prs says why)" in content
    assert "no incident collected (issues with the repositories' incident label)" in payments["Time to restore"].text
    # quiet has no key in any month: one line instead of four empty tiles, naming the next step.
    quiet = team_html(html, "quiet")
    assert not elements(quiet, "div", "dora-key")
    (line,) = [t for _, t in elements(quiet, "p", "keys-empty")]
    assert line.startswith("no repository in the teams file names this team as an owner.")
    assert "teams sync --file teams.json" in line


def test_a_month_without_deployments_or_incidents_says_so(keys_org):
    """A team that deployed before, but not in the headline month, says "no deployment in Oct 2026", not "none
    collected"; one whose incidents opened in other months says "no incident opened in Oct 2026"."""
    with keys_org.begin() as conn:
        conn.exec_driver_sql("UPDATE deployments SET deployed_at = '2026-09-10 12:00+00' WHERE repository = %s", (PAY,))
        conn.exec_driver_sql("UPDATE incidents SET created_at = created_at - interval '30 days' WHERE number < 3")
    html = html_of(keys_org)
    payments = tiles_by_label(team_html(html, "payments"))
    assert "no deployment in Oct 2026" in payments["Deployment frequency"].text
    assert "no deployment in Oct 2026, so no change shipped" in payments["Lead time for changes"].text
    assert "no deployment in Oct 2026" in payments["Change failure rate"].text
    platform = tiles_by_label(team_html(html, "platform"))
    assert "no incident opened in Oct 2026" in platform["Time to restore"].text


def test_the_headline_month_is_whole_even_where_the_window_starts_later(keys_org):
    """The keys' views count calendar months: a five-week window from Monday 2026-10-26 shows all of October."""
    platform = tiles_by_label(team_html(html_of(keys_org, weeks=5), "platform"))
    assert platform["Deployment frequency"].text.startswith("Deployment frequency1.0 per day elite31 deployments")
    assert platform["Deployment frequency"].text.endswith("Oct 2026 · 2024 bands")


def test_an_incident_not_closed_yet_is_counted_apart_not_a_blank(keys_org):
    with keys_org.begin() as conn:
        conn.exec_driver_sql("UPDATE incidents SET state = 'open', closed_at = NULL WHERE number IN (1, 2)")
    tile = tiles_by_label(team_html(html_of(keys_org), "platform"))["Time to restore"]
    assert "no-data" in tile.classes and "2 incidents opened, none closed yet" in tile.text
    assert tile.band() is None
    assert "Nov so far: 1 incident opened, none closed yet" in tile.text


def test_without_repositories_in_the_teams_file_every_team_says_configure_them(engine, fake_github):
    sync(engine, team_doc(("platform", [member("alice")]), ("payments", [member("bob")])))
    fake_github.add_repo(API)
    fake_github.add_pull(API, merged_pull(1, "alice", merged=REPORT_NOW - timedelta(days=3)))
    collect(engine, fake_github, [API], now=REPORT_NOW)
    html = html_of(engine)
    lines = [t for _, t in elements(html, "p", "keys-empty")]
    assert len(lines) == 2 and all(line.startswith("no repositories in the teams file yet.") for line in lines)
    assert not elements(html, "section", "overview")  # no key anywhere: no table of blanks
    assert "About the four keys" in html


def test_only_some_keys_present_render_cleanly(engine, fake_github):
    """Incidents but no deployment at all: the time to restore and a reason for each other key."""
    sync(engine, {**team_doc(("platform", [member("alice")])), "repositories": [repository(API, "platform")]})
    incident(engine, API, 1, _at(date(2026, 10, 3), 8), _at(date(2026, 10, 3), 10))
    platform = tiles_by_label(team_html(html_of(engine), "platform"))
    assert platform["Time to restore"].text.startswith("Time to restore2.0 h high")
    for label in ("Deployment frequency", "Lead time for changes", "Change failure rate"):
        assert "no deployments collected from its 1 repository: check their deployment source" in platform[label].text


def test_a_team_owning_no_repository_still_has_its_changes_lead_time(engine, fake_github):
    """Changes are credited to their authors' teams, deployments to the repository's owners: a team whose people
    ship in another team's repository has a lead time for changes, and says why it has no deployments."""
    teams = team_doc(("platform", [member("alice")]), ("guests", [member("erin")]))
    sync(engine, {**teams, "repositories": [repository(API, "platform")]})
    day = date(2026, 10, 6)
    fake_github.add_repo(API)
    fake_github.add_pull(API, merged_pull(1, "erin", merged=_at(day, 11), created=_at(day, 1)))
    collect(engine, fake_github, [API], now=REPORT_NOW, since=REPORT_NOW - timedelta(days=200))
    first_commit(engine, API, 1, _at(day, 2))
    deploy(engine, API, "1", _at(day))
    guests = tiles_by_label(team_html(html_of(engine), "guests"))
    assert guests["Lead time for changes"].text.startswith("Lead time for changes10.0 h elite")
    for label in ("Deployment frequency", "Change failure rate"):
        assert "no deployments: no repository in the teams file names this team as an owner" in guests[label].text


def test_the_overview_puts_every_team_side_by_side(keys_org):
    html = html_of(keys_org)
    (overview,) = elements(html, "section", "overview")
    assert overview[1].startswith("The four keys, October 2026bands of the 2024 State of DevOps report")
    table = html.split('<section class="overview">')[1].split("</section>")[0]
    body = [t for _, t in elements(table, "tr")][1:]
    assert body == [
        "payments2.0 per month medium low sampleno data0% elite low sampleno data",
        "platform1.0 per day elite30.0 h high6.5% high30.0 h low low sample",
        "quietno datano datano datano data",
    ]
    assert html.index('class="overview"') < html.index('class="team"')
    # One team: its section is the picture; no table of one row.
    assert not elements(html_of(keys_org, team="platform"), "section", "overview")


def test_the_legend_says_what_each_key_means_and_cites_the_report(keys_org):
    html = html_of(keys_org)
    (about,) = elements(html, "section", "about-keys")
    for label in ("Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore"):
        assert f"{label}: " in about[1]
    ((source,),) = rows(keys_org, "SELECT DISTINCT source FROM view_dora_benchmarks WHERE report_year = 2024")
    assert f"Bands are those of the {source}." in about[1]
    assert "Between once per day and once per week" in about[1]  # the report's own words for 2024's high band
    head = [t for _, t in elements(html.split('class="bands"')[1], "th")][1:5]
    assert head == ["elite", "high", "medium", "low"]


def test_only_the_open_to_merge_figure_is_called_pr_lead_time(keys_org):
    """DORA's lead time is always "lead time for changes"; the open → merge figure is always "PR lead time"."""
    html = html_of(keys_org)
    assert re.findall(r"(?i)(?<!PR )lead time(?! for changes)", html) == []
    assert "Lead time for changes" in html and "PR lead time" in html


def test_hostile_team_names_stay_inert_in_the_four_keys(engine):
    name = '<img src=x onerror=alert(1)>\u202e"&'
    sync(engine, {**team_doc((name, [member("alice")]), ("ok", [member("bob")])),
                  "repositories": [repository(API, name), repository(PAY, "ok")]})  # fmt: skip
    deploy(engine, API, "1", _at(date(2026, 10, 7)))
    deploy(engine, PAY, "1", _at(date(2026, 10, 8)))
    html = html_of(engine)
    assert "<img" not in html and not [c for c in html if c in BIDI_CONTROLS]
    cleaned = "&lt;img src=x onerror=alert(1)&gt;&quot;&amp;"
    assert html.count(f"<bdi>{cleaned}</bdi>") == 3  # navigation, overview and the team's heading
    assert len(elements(html, "div", "dora-key")) == 8


def test_an_empty_database_renders_without_the_four_keys_sections(engine):
    html = html_of(engine)
    assert elements(html, "section", "empty-state")
    assert not elements(html, "section", "overview") and not elements(html, "section", "about-keys")


def test_the_four_keys_render_for_a_dora_reader_login(keys_org, tmp_path):
    """Every query the four keys need is one dora_reader may run; what it may not read (who owns what) only
    makes a reason more general."""
    with reader_login(keys_org) as url:
        result, out = report(keys_org, tmp_path, "--weeks", "30", url=url)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    platform = team_html(html, "platform")
    assert len(elements(platform, "div", "dora-key")) == 4
    assert [tile.band() for tile in tiles_by_label(platform).values()] == ["elite", "high", "high", "low"]
    (line,) = [t for _, t in elements(team_html(html, "quiet"), "p", "keys-empty")]
    assert line.startswith("no deployment or incident credited to this team yet. Give it repositories")


# ---------------------------------------------------------------- really rendered


@pytest.fixture
def populated_with_keys(engine, fake_github):
    """The sample organisation of the report's screenshot, with deployments, incidents and first commits
    (until the sample organisation carries them itself): platform and payments share acme/service-00 and deploy
    it on most weekdays; mobile and data share acme/service-01 and deploy it weekly."""
    org = generate_org(seed=7, now=NOW, repo_sizes=(180, 90))
    org.serve(fake_github)
    owners = [repository("acme/service-00", ("platform", 0.6), ("payments", 0.4)),
              repository("acme/service-01", ("mobile", 0.5), ("data", 0.5))]  # fmt: skip
    sync(engine, {**org.teams_document, "repositories": owners})
    collect(engine, fake_github, list(org.repositories), now=NOW, since=NOW - timedelta(days=200))
    rng = random.Random(7)
    day = (NOW - timedelta(days=180)).date()
    while day <= NOW.date():
        moment = _at(day, rng.randint(9, 17))
        if day.weekday() < 5 and rng.random() < 0.8 and moment < NOW:
            deploy(engine, "acme/service-00", f"d{day:%Y%m%d}", moment)
        if day.weekday() == 2 and moment < NOW:
            deploy(engine, "acme/service-01", f"w{day:%Y%m%d}", moment)
        day += timedelta(days=1)
    for number in range(1, 16):
        opened = NOW - timedelta(days=rng.uniform(1, 170))
        repo = "acme/service-00" if number % 3 else "acme/service-01"
        incident(engine, repo, number, opened, opened + timedelta(hours=rng.lognormvariate(2.5, 1.0)))
    for repo in org.repositories:
        for pull in org.pulls[repo]:
            if pull.merged_at is not None:
                first_commit(engine, repo, pull.number, pull.created_at - timedelta(hours=rng.uniform(1, 72)))
    return engine


@needs_chromium
def test_headless_chromium_shows_the_bands_in_their_colours(populated_with_keys, tmp_path):
    _, out = report(populated_with_keys, tmp_path)
    assert CHROMIUM, "DORA_REQUIRE_CHROMIUM is set but chromium is missing"
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    rendered = tags_of(dom.stdout)
    assert sum(1 for t, a in rendered if t == "svg" and a.get("class") == "spark") == 4 * 4
    image = screenshot(out, tmp_path)
    bands = {a["class"].split()[1] for t, a in rendered if t == "span" and "perf-band" in a.get("class", "")}
    assert len(bands) >= 2, bands
    for band in bands:  # each band shown reaches the screen in its colour
        assert colour_mask(image, BAND_COLOURS[band][0], 3).histogram()[255] > 40, band
    assert colour_mask(image, IN_PROGRESS_STRIPE, 6).histogram()[255] > 0
    if os.environ.get("DORA_WRITE_DOCS_SCREENSHOT"):  # refreshes the README's picture
        image.crop((0, 0, 1300, 1240)).save(DOCS_PNG, optimize=True)
