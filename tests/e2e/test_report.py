"""The HTML report: built from the views, self-contained, and really rendered by headless Chromium."""

import io
import os
import re
import shutil
import subprocess
import sys
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import make_url, text

from collector.testing.sample_org import generate_org
from tests.helpers import collect, member, merged_pull, sync, team_doc

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOW = datetime.now(UTC)


@pytest.fixture
def populated(engine, fake_github):
    org = generate_org(seed=7, now=NOW, repo_sizes=(180, 90))
    org.serve(fake_github)
    sync(engine, org.teams_document)
    collect(engine, fake_github, list(org.repositories), now=NOW, since=NOW - timedelta(days=200))
    return engine


def report(engine, tmp_path, *args, url=None):
    out = tmp_path / "report.html"
    env = {**os.environ, "DATABASE_URL": url or engine.url.render_as_string(hide_password=False)}
    result = subprocess.run(
        [sys.executable, "-m", "collector", "report", "--out", str(out), *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return result, out


class _Texts(HTMLParser):
    """The text inside each element of one tag."""

    def __init__(self, tag):
        super().__init__()
        self.tag, self.depth, self.texts = tag, 0, []

    def handle_starttag(self, tag, attrs):
        if tag == self.tag:
            self.depth += 1
            self.texts.append("")

    def handle_endtag(self, tag):
        if tag == self.tag:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.texts[-1] += data


def texts_of(html, tag):
    parser = _Texts(tag)
    parser.feed(html)
    return parser.texts


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


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html):
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_report_has_two_charts_per_team_and_the_health_tables(populated, tmp_path):
    result, out = report(populated, tmp_path)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    tags = tags_of(html)
    teams = [a for t, a in tags if t == "section" and a.get("class") == "team"]
    assert len(teams) == 4
    assert sum(1 for t, a in tags if t == "svg" and a.get("class") == "chart") == 8
    assert sum(1 for t, a in tags if t == "circle" and a.get("class") == "point") > 0
    assert "Unattributed pull requests" in html and "Unmapped authors" in html
    assert "contractor-0" in html  # the sample's unmapped authors are listed


def test_report_is_self_contained(populated, tmp_path):
    _, out = report(populated, tmp_path)
    html = out.read_text()
    assert "<script" not in html and "<link" not in html and "src=" not in html and "url(" not in html
    # The only URL is SVG's namespace name, which is never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}


def test_low_sample_months_are_marked(populated, tmp_path):
    with populated.begin() as conn:  # every month becomes "low sample"
        conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 1000"))
    try:
        _, out = report(populated, tmp_path)
    finally:
        with populated.begin() as conn:
            conn.execute(text("UPDATE analytics_settings SET low_sample_min_prs = 5"))
    tags = tags_of(out.read_text())
    lows = [a for t, a in tags if t == "rect" and a.get("class") == "low"]
    hollow = [a for t, a in tags if t == "circle" and a.get("fill") == "#fff"]
    assert len(lows) > 4 and hollow


def test_one_team_and_an_unknown_team(populated, tmp_path):
    result, out = report(populated, tmp_path, "--team", "payments", "--weeks", "4")
    assert result.returncode == 0
    html = out.read_text()
    assert html.count('class="team"') == 1 and "payments" in html and "last 4 weeks" in html
    bad, _ = report(populated, tmp_path, "--team", "nobody")
    assert bad.returncode == 2
    assert (
        bad.stderr
        == "dora-collector: error: no team named 'nobody' has data (teams: data, mobile, payments, platform)\n"
    )


def test_report_runs_as_a_dora_reader_login(populated, tmp_path):
    login = f"bi_{uuid.uuid4().hex[:8]}"
    with populated.begin() as conn:
        conn.execute(text(f"CREATE ROLE {login} LOGIN PASSWORD 'bi-password' IN ROLE dora_reader"))
    try:
        url = make_url(populated.url.render_as_string(hide_password=False)).set(username=login, password="bi-password")
        result, out = report(populated, tmp_path, url=url.render_as_string(hide_password=False))
        assert result.returncode == 0, result.stderr
        assert out.read_text().count('class="team"') == 4
    finally:
        with populated.begin() as conn:
            conn.execute(text(f"DROP ROLE {login}"))


@pytest.mark.skipif(
    not CHROMIUM and not os.environ.get("DORA_REQUIRE_CHROMIUM"), reason="Debian's chromium is not installed"
)
def test_headless_chromium_renders_the_charts(populated, tmp_path):
    from PIL import Image

    _, out = report(populated, tmp_path)
    assert CHROMIUM, "DORA_REQUIRE_CHROMIUM is set but chromium is missing"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--hide-scrollbars", "--window-size=1300,1800"]  # fmt: skip
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120)
    rendered = tags_of(dom.stdout)
    assert sum(1 for t, a in rendered if t == "svg" and a.get("class") == "chart") == 8
    assert sum(1 for t, _ in rendered if t == "rect") > 50
    png = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={png}", out.as_uri()], capture_output=True, timeout=120, check=True
    )
    image = Image.open(io.BytesIO(png.read_bytes())).convert("RGB")
    assert image.size == (1300, 1800)
    colours = image.getcolors(maxcolors=2_000_000)
    assert colours is not None and len(colours) > 100  # charts, text and tiles, not a flat fill
    non_white = sum(count for count, rgb in colours if sum(rgb) < 720) / (1300 * 1800)
    assert non_white > 0.1, "the page looks blank"  # a blank page is ~0, the header alone ~0.08
    # The bar chart's blue really reached the screen.
    assert any(abs(r - 0x1D) < 30 and abs(g - 0x4E) < 30 and abs(b - 0xD8) < 30 for (_, (r, g, b)) in colours)
