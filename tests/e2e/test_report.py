"""The HTML report: built from the views, self-contained, honest about its window, unfinished periods and
small samples, and really rendered by headless Chromium."""

import io
import os
import re
import shutil
import subprocess
import sys
import unicodedata
import uuid
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import make_url, text

from collector.report import (
    BLUE,
    IN_PROGRESS_STRIPE,
    INNER_W,
    LEFT,
    LOW_SAMPLE_BG,
    load_report,
    render_html,
)
from collector.testing.sample_org import generate_org
from tests.helpers import collect, member, merged_pull, open_pull, rows, sync, team_doc

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOW = datetime.now(UTC)
# A Wednesday: the week of Monday 2026-11-23 and the month of November are unfinished.
REPORT_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SIX_WEEKS = "last 6 weeks, 2026-10-19 \N{EN DASH} 2026-11-25"
# Written by test_report_four_keys.py's Chromium test when DORA_WRITE_DOCS_SCREENSHOT is set.
DOCS_PNG = Path(__file__).resolve().parents[2] / "docs" / "report.png"


@pytest.fixture
def populated(engine, fake_github):
    org = generate_org(seed=7, now=NOW, repo_sizes=(180, 90))
    org.serve(fake_github)
    sync(engine, org.teams_document)
    collect(engine, fake_github, list(org.repositories), now=NOW, since=NOW - timedelta(days=200))
    return engine


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def small_org(engine, fake_github):
    """platform merges 6 PRs a week from 2026-10-19 and 2 so far in the current week; tiny merged 3 PRs; dave
    is in no team. Two PRs merged the day before a six-week window starts, one in September."""
    sync(engine, team_doc(("platform", [member("alice"), member("bob")]), ("tiny", [member("carol")])))
    fake_github.add_repo("acme/api")
    pulls, number = [], 0
    for week in range(5):
        tuesday = date(2026, 10, 20) + timedelta(weeks=week)
        for i in range(6):
            number += 1
            merged = _at(tuesday, 8 + i)
            pulls.append(
                merged_pull(number, ("alice", "bob")[i % 2], merged=merged, created=merged - timedelta(hours=i + 1))
            )
    for day in (date(2026, 11, 23), date(2026, 11, 24)):  # the current week, so far
        number += 1
        pulls.append(merged_pull(number, "alice", merged=_at(day, 9), created=_at(day, 5)))
    for day in (date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)):
        number += 1
        pulls.append(merged_pull(number, "carol", merged=_at(day, 9), created=_at(day, 7)))
    pulls.append(merged_pull(number + 1, "dave", merged=_at(date(2026, 11, 10), 12)))
    # Sunday before the window: a very slow PR and an unmapped author that only a longer window shows.
    pulls.append(merged_pull(number + 2, "bob", merged=_at(date(2026, 10, 18), 12), created=_at(date(2026, 9, 1), 0)))
    pulls.append(merged_pull(number + 3, "erin", merged=_at(date(2026, 10, 18), 12)))
    pulls.append(open_pull(number + 4, "alice", created=_at(date(2026, 11, 20), 9)))
    pulls.append(merged_pull(number + 5, "alice", merged=_at(date(2026, 9, 15), 12)))  # only 12 weeks see it
    for pull in pulls:
        fake_github.add_pull("acme/api", pull)
    collect(engine, fake_github, ["acme/api"], now=REPORT_NOW, since=REPORT_NOW - timedelta(days=200))
    return engine


def html_at(engine, *, weeks=6, team=None):
    return render_html(load_report(engine, team=team, weeks=weeks, now=REPORT_NOW))


def report(engine, tmp_path, *args, url=None):
    out = tmp_path / "report.html"
    env = {**os.environ, "DATABASE_URL": url or engine.url.render_as_string(hide_password=False)}
    result = subprocess.run(
        [sys.executable, "-m", "collector", "report", "--out", str(out), *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return result, out


_VOID = {"meta", "br", "img", "hr", "input", "link", "wbr"}


class _Elements(HTMLParser):
    """Each element that ``wanted(tag, attrs)`` picks: its attributes and the text inside it."""

    def __init__(self, wanted):
        super().__init__()
        self.wanted, self.stack, self.found = wanted, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        match = None
        if self.wanted(tag, attrs):
            self.found.append((tag, attrs, []))
            match = len(self.found) - 1
        if tag not in _VOID:
            self.stack.append((tag, match))

    def handle_startendtag(self, tag, attrs):
        if self.wanted(tag, dict(attrs)):
            self.found.append((tag, dict(attrs), []))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, match in self.stack:
            if match is not None:
                self.found[match][2].append(data)


def elements(html, tag=None, cls=None):
    """(attributes, text) of each element with this tag and/or class."""
    parser = _Elements(
        lambda t, a: (tag is None or t == tag) and (cls is None or cls in (a.get("class") or "").split())
    )
    parser.feed(html)
    return [(attrs, "".join(texts)) for _, attrs, texts in parser.found]


def texts_of(html, tag):
    return [t for _, t in elements(html, tag)]


def tags_of(html):
    parser = _Elements(lambda t, a: True)
    parser.feed(html)
    return [(t, a) for t, a, _ in parser.found]


def team_html(html, name):
    """The HTML of one team's section."""
    for section in html.split('<section class="team"')[1:]:
        if f"<h2><bdi>{name}</bdi></h2>" in section:
            return section.split("</section>")[0]
    raise AssertionError(f"no section for {name}")


def tile(html, label):
    (found,) = [(a, t) for a, t in elements(html, "div", "tile") if t.startswith(label)]
    return found


BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_names_cannot_reorder_or_control_the_report_text(engine, fake_github, tmp_path):
    """Issue 9: a right-to-left override in a team name or a login reversed the text that followed it
    ("Trojan Source"). Override and isolate controls and other control characters are stripped, and each
    name is isolated in <bdi> so even a genuinely right-to-left name keeps to itself."""
    team = "\u202epayments\u202c \u2067ops\u2069\x1b[31m"
    author = "mallory\u202e\u200fevil"
    sync(engine, team_doc((team, [member("alice")]), ("\u05e6\u05d5\u05d5\u05ea", [member("bob")])))
    fake_github.add_repo("acme/api")
    for number, login in enumerate(("alice", "bob", author), start=1):
        fake_github.add_pull("acme/api", merged_pull(number, login, merged=NOW - timedelta(days=2)))
    collect(engine, fake_github, ["acme/api"], now=NOW, since=NOW - timedelta(days=30))
    result, out = report(engine, tmp_path)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert not [c for c in html if c in BIDI_CONTROLS or (unicodedata.category(c) == "Cc" and c != "\n")]
    isolated = texts_of(html, "bdi")
    cleaned_team = "payments ops[31m"
    assert isolated.count(cleaned_team) == 2  # the navigation and the team's heading
    assert isolated.count("\u05e6\u05d5\u05d5\u05ea") == 2
    assert "malloryevil" in isolated  # the unmapped authors' table
    assert f"<h2><bdi>{cleaned_team}</bdi></h2>" in html


def test_report_has_two_charts_per_team_and_the_health_tables(populated, tmp_path):
    result, out = report(populated, tmp_path)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    tags = tags_of(html)
    teams = [a for t, a in tags if t == "section" and a.get("class") == "team"]
    assert len(teams) == 4
    assert sum(1 for t, a in tags if t == "svg" and a.get("class") == "chart") == 8
    assert sum(1 for t, a in tags if t == "circle" and "point" in a.get("class", "")) > 0
    assert "Unattributed pull requests" in html and "Unmapped authors" in html
    assert "contractor-0" in html  # the sample's unmapped authors are listed


def test_report_is_self_contained(populated, tmp_path):
    _, out = report(populated, tmp_path)
    html = out.read_text()
    assert "<script" not in html and "<link" not in html and "src=" not in html
    # url() only names a pattern inside the page itself (the hatching of unfinished periods).
    assert re.findall(r"url\(([^)]*)\)", html) and all(
        ref.startswith("#ip-") for ref in re.findall(r"url\(([^)]*)\)", html)
    )
    # No attribute names anything to fetch but SVG's namespace name, which is never fetched; the only other
    # address is the State of DevOps report's, cited as text in the four keys' legend.
    attributes = {value for _, attrs in tags_of(html) for value in attrs.values() if value and "://" in value}
    assert attributes == {"http://www.w3.org/2000/svg"}
    cited = {
        re.search(r"https://\S+", source)[0] for (source,) in rows(populated, "SELECT source FROM view_dora_benchmarks")
    }
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"} | cited


# ---------------------------------------------------------------- the window


def test_every_tile_chart_and_table_names_its_window(small_org):
    html = html_at(small_org)
    tiles = elements(html, "div", "tile")
    assert len(tiles) == 2 * 4 + 1  # four per team, and one per unattributed reason (unknown author)
    for _, content in tiles:
        window = "now, as of the last run" if content.startswith("Open PRs") else SIX_WEEKS
        assert content.endswith(window), content
    captions = texts_of(html, "figcaption") + texts_of(html, "h3")
    assert len(captions) == 2 * 2 + 2
    assert all(caption.endswith(SIX_WEEKS) for caption in captions), captions
    assert SIX_WEEKS in elements(html, "p", "subtitle")[0][1]


def test_weeks_governs_every_section(small_org):
    """Nothing merged before the window counts anywhere: not in the tiles, the charts nor the health tables;
    the months are those the window touches, the first from the window's first day."""
    six = html_at(small_org, weeks=6)
    platform = team_html(six, "platform")
    assert tile(platform, "PRs merged")[1].startswith("PRs merged32")
    assert tile(platform, "PR lead time, median")[1].startswith("PR lead time, median4.0 hopen → merge, 32 PRs")
    assert "erin" not in six and "2026-10-18" not in six  # the unmapped author merged before the window
    months = load_report(small_org, team="platform", weeks=6, now=REPORT_NOW).teams[0].months
    assert [(m.start, m.prs) for m in months] == [(date(2026, 10, 19), 12), (date(2026, 11, 1), 20)]
    ticks = [t for a, t in elements(platform, "text", "xtick")]
    assert ticks[-2:] == ["Oct 19\N{EN DASH}", "Nov"]
    seven = html_at(small_org, weeks=7)  # one more week takes in the Sunday before
    assert tile(team_html(seven, "platform"), "PRs merged")[1].startswith("PRs merged33")
    assert "erin" in seven


def test_window_figures_agree_with_the_views(small_org):
    """A whole month inside the window has view_dora_lead_time's figures; a week has view_team_velocity's."""
    data = load_report(small_org, team="platform", weeks=12, now=REPORT_NOW)
    (october,) = [m for m in data.teams[0].months if m.start == date(2026, 10, 1)]
    (view,) = rows(
        small_org,
        "SELECT prs_merged, median_lead_time_hours, p95_lead_time_hours, low_sample FROM view_dora_lead_time "
        "WHERE team_name = 'platform' AND month = '2026-10-01'",
    )
    assert (october.prs, october.median, october.p95, october.low_sample) == view
    weeks = rows(
        small_org,
        "SELECT week, prs_merged, weighted_prs_merged::float FROM view_team_velocity WHERE team_name = 'platform' "
        "ORDER BY week",
    )
    assert [(w.start, w.prs, w.weighted) for w in data.teams[0].weeks if w.prs] == weeks


def test_the_window_is_read_in_utc_whatever_the_clock_zone(small_org):
    """10:00 on Monday 2026-11-30 in Sydney is still Sunday the 29th in UTC: the week of the 23rd is current."""
    sydney = datetime(2026, 11, 30, 10, tzinfo=ZoneInfo("Australia/Sydney"))
    window = load_report(small_org, team=None, weeks=1, now=sydney).window
    assert (window.first, window.today) == (date(2026, 11, 23), date(2026, 11, 29))


# ---------------------------------------------------------------- unfinished periods and small samples


def test_the_current_week_is_marked_in_progress_and_drawn_lighter(small_org):
    platform = team_html(html_at(small_org), "platform")
    velocity = platform.split("<svg")[1]
    bands = [a for a, _ in elements(velocity, "rect", "band")]
    assert [b["class"] for b in bands] == ["band in-progress"]
    assert float(bands[0]["x"]) == pytest.approx(LEFT + 5 * INNER_W / 6, abs=0.1)  # the sixth, last week
    bars = elements(velocity, "g", "bar")
    assert [a.get("class") for a, _ in bars] == ["bar"] * 5 + ["bar in-progress"]
    assert bars[-1][0]["opacity"] == "0.5"
    assert bars[-1][1] == "week of 2026-11-23 so far (in progress): 2 PRs, 2.00 weighted, mean PR lead time 4.0 h"
    assert "in progress (week so far)" in texts_of(velocity, "text")


def test_the_current_month_is_marked_in_progress_and_never_joins_the_line(small_org):
    """November's median is drawn as its own dashed point over a hatched month, not as the end of the line:
    an unfinished month must not read as a drop (or a rise)."""
    platform = team_html(html_at(small_org, weeks=12), "platform")
    lead = platform.split("<svg")[2]
    # September has one PR (low sample); November is unfinished.
    assert [a["class"] for a, _ in elements(lead, "rect", "band")] == ["band low", "band in-progress"]
    in_progress = [a for a, _ in elements(lead, "circle", "in-progress")]
    assert len(in_progress) == 2  # median and p95
    november_x = float(in_progress[0]["cx"])
    for path in (a["d"] for a, _ in elements(lead, "path")):
        xs = [float(x) for x in re.findall(r"[ML]([\d.]+),", path)]
        assert len(xs) == 2 and max(xs) < november_x  # September (from the 7th) and October, joined
    assert "in progress (month so far)" in texts_of(lead, "text")


def test_a_headline_from_few_prs_is_marked_low_sample(small_org):
    html = html_at(small_org)
    attrs, content = tile(team_html(html, "tiny"), "PR lead time, median")
    assert "low-sample" in attrs["class"].split() and "low sample: 3 PRs" in content
    attrs, content = tile(team_html(html, "platform"), "PR lead time, median")
    assert "low-sample" not in attrs["class"].split() and "low sample" not in content
    assert "p90 age" in tile(team_html(html, "platform"), "Open PRs")[1]
    assert "(low sample)" in tile(team_html(html, "platform"), "Open PRs")[1]  # one open PR
    with small_org.begin() as conn:  # the threshold is the one analysts set for the views
        conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 3"))
    try:
        attrs, content = tile(team_html(html_at(small_org), "tiny"), "PR lead time, median")
    finally:
        with small_org.begin() as conn:
            conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 5"))
    assert "low-sample" not in attrs["class"].split()


def test_low_sample_months_are_marked(populated, tmp_path):
    with populated.begin() as conn:  # every month becomes "low sample"
        conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 1000"))
    try:
        _, out = report(populated, tmp_path)
    finally:
        with populated.begin() as conn:
            conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 5"))
    tags = tags_of(out.read_text())
    lows = [a for t, a in tags if t == "rect" and a.get("class") == "band low"]
    hollow = [a for t, a in tags if t == "circle" and a.get("fill") == "#fff"]
    tiles = [a.get("class", "").split() for t, a in tags if t == "div" and "low-sample" in a.get("class", "").split()]
    assert len(lows) >= 4 * 3 and hollow and sum("dora-key" not in c for c in tiles) == 4
    assert sum("dora-key" in c for c in tiles) >= 4  # the sample deploys and fails: its four keys are marked too


def test_the_open_to_merge_figure_is_always_called_pr_lead_time(small_org):
    """DORA's lead time for changes runs from first commit to deploy; this one runs from opening a PR to
    merging it, and must not pass for the other: every other "lead time" on the page is "lead time for changes"."""
    html = html_at(small_org)
    assert "PR lead time" in html and "open → merge" in html
    assert re.findall(r"(?i)(?<!PR )lead time(?! for changes)", html) == []


# ---------------------------------------------------------------- teams


def test_team_names_match_case_insensitively(small_org, tmp_path):
    result, out = report(small_org, tmp_path, "--team", "PLATFORM", "--weeks", "4")
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert html.count('class="team"') == 1 and "<h2><bdi>platform</bdi></h2>" in html and "last 4 weeks" in html


def test_an_unknown_team_is_one_line_naming_the_known_teams(populated, tmp_path):
    bad, out = report(populated, tmp_path, "--team", "nobody")
    assert bad.returncode == 2 and not out.exists()
    assert bad.stderr == "dora-collector: error: no team named 'nobody' (teams: data, mobile, payments, platform)\n"


def test_a_team_without_credited_prs_shows_its_zeros_beside_the_others(engine, fake_github):
    sync(engine, team_doc(("platform", [member("alice")]), ("quiet", [member("bob")])))
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice", merged=REPORT_NOW - timedelta(days=2)))
    collect(engine, fake_github, ["acme/api"], now=REPORT_NOW)
    teams = load_report(engine, team=None, weeks=6, now=REPORT_NOW).teams
    assert [(t.name, sum(w.prs for w in t.weeks)) for t in teams] == [("platform", 1), ("quiet", 0)]
    assert [t.name for t in load_report(engine, team="QUIET", weeks=6, now=REPORT_NOW).teams] == ["quiet"]
    assert html_at(engine).count('class="team"') == 2


def test_a_token_given_as_the_team_is_not_printed_back(populated, tmp_path):
    token = "ghp_" + "a1" * 18
    bad, _ = report(populated, tmp_path, "--team", token)
    assert bad.returncode == 2 and token not in bad.stderr
    assert "no team named a 40-character value (teams:" in bad.stderr


def test_report_runs_as_a_dora_reader_login(populated, tmp_path):
    with reader_login(populated) as url:
        result, out = report(populated, tmp_path, url=url)
    assert result.returncode == 0, result.stderr
    assert out.read_text().count('class="team"') == 4


class reader_login:
    """A login in the dora_reader role, for the duration of a with block; yields its URL."""

    def __init__(self, engine):
        self.engine, self.login = engine, f"bi_{uuid.uuid4().hex[:8]}"

    def __enter__(self):
        with self.engine.begin() as conn:
            conn.execute(text(f"CREATE ROLE {self.login} LOGIN PASSWORD 'bi-password' IN ROLE dora_reader"))
        url = make_url(self.engine.url.render_as_string(hide_password=False))
        return url.set(username=self.login, password="bi-password").render_as_string(hide_password=False)

    def __exit__(self, *exc):
        with self.engine.begin() as conn:
            conn.execute(text(f"DROP ROLE {self.login}"))


# ---------------------------------------------------------------- empty states: the true next step


def empty_state(html):
    (state,) = elements(html, "section", "empty-state")
    assert 'class="team"' not in html
    return " ".join(state[1].split())


def test_a_new_database_says_sync_the_teams_then_run(engine, tmp_path):
    result, out = report(engine, tmp_path)
    assert result.returncode == 0, result.stderr
    assert empty_state(out.read_text()) == (
        "No teams synced yet and nothing collected: run dora-collector teams sync --file teams.json, "
        "then dora-collector run."
    )


def test_collected_prs_without_teams_say_sync_the_teams(engine, fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice", merged=REPORT_NOW - timedelta(days=3)))
    collect(engine, fake_github, ["acme/api"], now=REPORT_NOW)
    assert empty_state(html_at(engine)) == (
        "No teams synced yet: run dora-collector teams sync --file teams.json. "
        "The pull requests already collected are credited at once."
    )


def test_teams_without_a_run_say_run(engine):
    sync(engine, team_doc(("platform", [member("alice")])))
    assert empty_state(html_at(engine)) == "No collection run yet: run dora-collector run."


def test_prs_by_authors_in_no_team_point_at_the_unmapped_authors_and_the_teams_file(engine, fake_github):
    sync(engine, team_doc(("platform", [member("alice")])))
    fake_github.add_repo("acme/api")
    for number in (1, 2):
        fake_github.add_pull("acme/api", merged_pull(number, "dave", merged=REPORT_NOW - timedelta(days=number)))
    collect(engine, fake_github, ["acme/api"], now=REPORT_NOW)
    html = html_at(engine)
    state = empty_state(html)
    assert state.startswith("2 merged pull requests collected, none credited to a team: 2 are by authors in no team.")
    assert "view_unmapped_authors" in state and "teams file" in state and "teams sync --file teams.json" in state
    assert "<td><bdi>dave</bdi></td><td><bdi>2</bdi></td>" in html  # and the table below names them


def test_prs_outside_every_membership_say_fix_the_dates(engine, fake_github):
    sync(engine, team_doc(("platform", [member("alice", joined="2027-01-01")])))
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1, "alice", merged=REPORT_NOW - timedelta(days=1)))
    collect(engine, fake_github, ["acme/api"], now=REPORT_NOW)
    state = empty_state(html_at(engine))
    assert state.startswith("1 merged pull request collected, none credited to a team: their authors' memberships")
    assert "joined_at / left_at" in state


def test_runs_that_found_no_human_merge_say_check_the_repositories(engine, fake_github):
    sync(engine, team_doc(("platform", [member("alice")])))
    fake_github.add_repo("acme/api")
    bot = merged_pull(1, "dependabot[bot]", user_type="Bot", merged=REPORT_NOW - timedelta(days=1))
    fake_github.add_pull("acme/api", bot)
    collect(engine, fake_github, ["acme/api"], now=REPORT_NOW)
    assert "check the repositories the collector is given (REPOSITORIES)" in empty_state(html_at(engine))
    assert "No pull request merged in the window." in html_at(engine)


def test_runs_that_only_failed_say_so_with_the_reason_not_check_the_repositories(engine, fake_github):
    sync(engine, team_doc(("platform", [member("alice")])))
    collect(engine, fake_github, ["acme/gone"], now=REPORT_NOW)  # 404: the repository does not exist
    state = empty_state(html_at(engine))
    assert state.startswith("No collection run has succeeded yet; the last one failed: ")
    assert "acme/gone" in state and "REPOSITORIES" not in state.split("failed: ")[0]


def test_a_reader_login_that_cannot_tell_names_both_first_steps(engine, tmp_path):
    with reader_login(engine) as url:
        result, out = report(engine, tmp_path, url=url)
    assert result.returncode == 0, result.stderr
    assert empty_state(out.read_text()) == (
        "Nothing to show yet. On a new database: run dora-collector teams sync --file teams.json, "
        "then dora-collector run."
    )


# ---------------------------------------------------------------- really rendered

needs_chromium = pytest.mark.skipif(
    not CHROMIUM and not os.environ.get("DORA_REQUIRE_CHROMIUM"), reason="Debian's chromium is not installed"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]  # fmt: skip


def screenshot(page, tmp_path, size=(1300, 1800)):
    from PIL import Image

    assert CHROMIUM, "DORA_REQUIRE_CHROMIUM is set but chromium is missing"
    png = tmp_path / "screenshot.png"
    subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={size[0]},{size[1]}",
         f"--screenshot={png}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    image = Image.open(io.BytesIO(png.read_bytes())).convert("RGB")
    assert image.size == size
    return image


def near(rgb, colour, tolerance=12):
    target = bytes.fromhex(colour[1:])
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, target, strict=True))


@needs_chromium
def test_headless_chromium_renders_the_charts(populated, tmp_path):
    _, out = report(populated, tmp_path)
    assert CHROMIUM, "DORA_REQUIRE_CHROMIUM is set but chromium is missing"
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    rendered = tags_of(dom.stdout)
    assert sum(1 for t, a in rendered if t == "svg" and a.get("class") == "chart") == 8
    assert sum(1 for t, _ in rendered if t == "rect") > 50
    image = screenshot(out, tmp_path)
    colours = image.getcolors(maxcolors=2_000_000)
    assert colours is not None and len(colours) > 100  # charts, text and tiles, not a flat fill
    non_white = sum(count for count, rgb in colours if sum(rgb) < 720) / (1300 * 1800)
    assert non_white > 0.1, "the page looks blank"  # a blank page is ~0, the header alone ~0.08
    # The bar chart's blue really reached the screen.
    assert any(abs(r - 0x1D) < 30 and abs(g - 0x4E) < 30 and abs(b - 0xD8) < 30 for (_, (r, g, b)) in colours)


@needs_chromium
def test_the_in_progress_and_low_sample_markers_reach_the_screen(small_org, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(html_at(small_org))
    image = screenshot(page, tmp_path)
    width, height = image.size
    # The row that crosses most complete bars (their blue): it lies in platform's weekly chart, the first one.
    blue = colour_mask(image, BLUE, 3).crop((0, 0, width // 2, height))
    per_row = [blue.crop((0, y, width // 2, y + 1)).histogram()[255] for y in range(height)]
    row = per_row.index(max(per_row))
    assert max(per_row) > 100, "no bars on the screen"
    hatch = colour_mask(image, IN_PROGRESS_STRIPE, 6)
    blue_x = [x for x in range(width // 2) if blue.getpixel((x, row))]
    hatch_x = [x for x in range(width // 2) if hatch.getpixel((x, row))]
    # The unfinished week's hatching shows, and only after the last complete week: that week is the marked one.
    assert len(hatch_x) > 5, "the in-progress hatching is not visible"
    assert min(hatch_x) > max(blue_x)
    # Low sample: two shaded blocks, tiny's headline tile (3 PRs) and, lower, its month (the chart's grid lines
    # cross the month: rows a few pixels apart are one block). Nothing of platform's is shaded. The header's
    # key shows the same shading, so the search starts below it.
    header = next(y for y in range(height) if near(image.getpixel((5, y)), "#f1f5f9", 2))
    low = colour_mask(image, LOW_SAMPLE_BG, 2)
    shaded = [y for y in range(header, height) if low.crop((0, y, width, y + 1)).histogram()[255] > 100]
    blocks = [[shaded[0]]] if shaded else []
    for y in shaded[1:]:
        if y - blocks[-1][-1] <= 10:
            blocks[-1].append(y)
        else:
            blocks.append([y])
    assert [len(b) > 40 for b in blocks] == [True, True], "the low-sample shading is not visible as expected"
    assert blocks[0][0] > row, "a figure of platform is marked low sample"


def colour_mask(image, colour, tolerance):
    """A black and white image: white where ``image`` is within ``tolerance`` of ``colour`` on every channel."""
    from PIL import ImageChops

    channels = [
        band.point(lambda v, t=t: 255 if abs(v - t) <= tolerance else 0)
        for band, t in zip(image.split(), bytes.fromhex(colour[1:]), strict=True)
    ]
    return ImageChops.multiply(ImageChops.multiply(channels[0], channels[1]), channels[2])
