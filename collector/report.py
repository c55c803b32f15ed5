"""``dora-collector report``: one self-contained HTML file (inline SVG, no script, no network).

Every figure covers one window, the last ``--weeks`` ISO weeks up to now, and says so. The current week and
month are unfinished: they are marked in progress, never drawn as a drop. A median or percentile over fewer
PRs than ``analytics_settings.low_sample_min_prs`` is marked low sample.

It reads the documented views, so a ``dora_reader`` login can produce it. Only two questions need more: is
the database new (no teams, no runs yet), and the low-sample threshold. Those it reads from the tables when
the login may; a ``dora_reader`` login gets the documented default and an empty-state message naming both
first steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from collector.config import shown
from collector.errors import ConfigError, counted

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from sqlalchemy import Connection, Engine

BLUE, NAVY, ORANGE, GREY = "#9ec5fe", "#1d4ed8", "#ea580c", "#94a3b8"
# The two markers, each in colours nothing else on the page uses (the screenshot test looks for them).
IN_PROGRESS_BG, IN_PROGRESS_STRIPE, IN_PROGRESS_EDGE = "#fffbeb", "#fde68a", "#d97706"
LOW_SAMPLE_BG, LOW_SAMPLE_EDGE = "#ede9e3", "#a8a29e"
EN_DASH = "\N{EN DASH}"
DEFAULT_LOW_SAMPLE_MIN_PRS = 5  # analytics_settings' default, for a login that cannot read the table
# Names come from outside (the teams file, GitHub). A bidirectional override or isolate in one reorders the
# text that follows it ("Trojan Source", CVE-2021-42574); marks, control characters (C0, C1) and paragraph or
# line separators have no business in a name either. All are stripped.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_STRIPPED = dict.fromkeys([ord(c) for c in _BIDI_CONTROLS] + [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029])


@dataclass(frozen=True)
class Window:
    """The last ``weeks`` ISO weeks (Monday, UTC), the current one included and unfinished."""

    first: date  # Monday of the first week
    today: date  # the report's day (UTC), in the last week
    weeks: int

    @classmethod
    def ending(cls, now: datetime, weeks: int) -> Window:
        today = now.astimezone(UTC).date()
        return cls(_monday(today) - timedelta(weeks=weeks - 1), today, weeks)

    @property
    def end(self) -> date:
        """The Monday after the current week (exclusive)."""
        return self.first + timedelta(weeks=self.weeks)

    @property
    def this_week(self) -> date:
        return self.end - timedelta(weeks=1)

    @property
    def this_month(self) -> date:
        return self.today.replace(day=1)

    def months(self) -> list[date]:
        """The first day inside the window of each calendar month it touches (the first may be mid-month)."""
        starts, month = [self.first], _next_month(self.first)
        while month <= self.today:
            starts.append(month)
            month = _next_month(month)
        return starts

    def label(self) -> str:
        return f"last {counted(self.weeks, 'week')}, {self.first:%Y-%m-%d} {EN_DASH} {self.today:%Y-%m-%d}"


@dataclass(frozen=True)
class Week:
    start: date
    prs: int
    weighted: float
    mean_hours: float | None
    in_progress: bool


@dataclass(frozen=True)
class Month:
    start: date  # the first day inside the window: the 1st, or the window's first day
    prs: int
    median: float | None
    p95: float | None
    low_sample: bool
    in_progress: bool


@dataclass(frozen=True)
class LeadTime:
    """PR lead time (open → merge) over the whole window."""

    prs: int
    median: float | None
    p95: float | None
    low_sample: bool


@dataclass(frozen=True)
class OpenPrs:
    count: int
    p90_age: float
    low_sample: bool


@dataclass(frozen=True)
class KeyMonth:
    """One of the four keys for one team and calendar month: a row of the key's view, with its band."""

    month: date  # the first of the calendar month (UTC), whole even where the window starts later
    value: float | None  # None: time to restore while no incident of the month is closed
    band: str | None  # None: no value, or no benchmark year
    n: int  # what the figure is over: deployments, changes, deployments, restored incidents
    low_sample: bool
    p95: float | None = None  # lead time for changes, time to restore
    deployment_days: int = 0  # deployment frequency
    failed: int = 0  # change failure rate: failed deployments
    open_incidents: int = 0  # time to restore: counted apart, never in the median


@dataclass
class TeamData:
    name: str
    weeks: list[Week] = field(default_factory=list)
    months: list[Month] = field(default_factory=list)
    lead_time: LeadTime = LeadTime(0, None, None, low_sample=False)
    open_prs: OpenPrs | None = None
    # The four keys: key -> calendar month -> figure, for the months the window touches.
    keys: dict[str, dict[date, KeyMonth]] = field(default_factory=dict)
    keys_ever: set[str] = field(default_factory=set)  # keys with a figure in any month, inside the window or not
    owned_repositories: int | None = None  # repositories the teams file gives it, ever; None: this login cannot tell


@dataclass(frozen=True)
class Status:
    """What an empty report needs to say the next step. ``None``: this login cannot read that table."""

    teams: int | None
    runs: int | None  # that collected: succeeded, or partial
    unattributed: int  # eligible PRs no team received, all time
    unknown_authors: int  # of those, PRs by logins in no team
    last_failure: str | None = None  # the newest run's error, when it failed
    repositories: int | None = None  # repositories in the teams file (the four keys' sources)


@dataclass(frozen=True)
class Health:
    """Attribution health over the window, for all teams."""

    attributed_prs: int  # PRs credited to any team
    by_reason: list[tuple[str, int]]  # PRs no team received, by reason
    unattributed: list[tuple[Any, ...]]  # the latest of them
    unmapped: list[tuple[Any, ...]]  # authors in no team


@dataclass(frozen=True)
class Benchmarks:
    """The State of DevOps report whose bands the four keys are given (the newest in view_dora_benchmarks)."""

    year: int | None  # None: no benchmark rows, so no bands
    source: str | None  # the report's citation
    bands: list[tuple[str, str, str]]  # (key, band, the report's wording), best band first


NO_BENCHMARKS = Benchmarks(None, None, [])


@dataclass
class ReportData:
    generated_at: datetime
    window: Window
    low_sample_min_prs: int
    teams: list[TeamData]
    health: Health
    status: Status
    benchmarks: Benchmarks = NO_BENCHMARKS


def load_report(engine: Engine, *, team: str | None, weeks: int, now: datetime | None = None) -> ReportData:
    """The report's figures; ``now`` (default: the database's clock) decides the window and what is unfinished."""
    with engine.connect() as conn:
        now = now or conn.execute(text("SELECT now()")).scalar_one()
        window = Window.ending(now, weeks)
        threshold = _low_sample_min_prs(conn)
        teams = {name: TeamData(name) for name in _selected_teams(conn, team)}
        _add_weeks(conn, window, teams)
        _add_lead_times(conn, window, teams, threshold)
        for name, count, p90 in conn.execute(text("SELECT team_name, open_prs, p90_age_hours FROM view_open_pr_age")):
            if name in teams:
                teams[name].open_prs = OpenPrs(count, float(p90), low_sample=count < threshold)
        benchmarks = _benchmarks(conn)
        _add_four_keys(conn, window, teams, benchmarks.year)
        health = _health(conn, window)
        status = _status(conn)
    return ReportData(now, window, threshold, list(teams.values()), health, status, benchmarks)


def _span(window: Window) -> dict[str, datetime]:
    """The window as instants, midnight UTC: a bare date compared with a timestamptz would be read in the
    session's time zone."""
    return {"start": datetime.combine(window.first, time(), UTC), "end": datetime.combine(window.end, time(), UTC)}


def _add_weeks(conn: Connection, window: Window, teams: dict[str, TeamData]) -> None:
    """Every week of the window; the view has no row for a week without PRs, the chart shows it as zero."""
    rows = conn.execute(
        text("SELECT team_name, week, prs_merged, weighted_prs_merged, avg_cycle_time_hours "
             "FROM view_team_velocity WHERE week >= :first AND week < :end"),
        {"first": window.first, "end": window.end},
    )  # fmt: skip
    found: dict[tuple[str, date], Week] = {}
    for name, week, prs, weighted, mean_hours in rows:
        found[name, week] = Week(week, prs, float(weighted), mean_hours, week == window.this_week)
    starts = [window.first + timedelta(weeks=i) for i in range(window.weeks)]
    for name, data in teams.items():
        data.weeks = [found.get((name, s), Week(s, 0, 0.0, None, s == window.this_week)) for s in starts]


def _add_lead_times(conn: Connection, window: Window, teams: dict[str, TeamData], threshold: int) -> None:
    """PR lead time per month inside the window, and (month null) over the whole window, in one pass over
    the credits. A month the window starts in counts from the window's first day."""
    rows = conn.execute(
        text("SELECT team_name, date_trunc('month', merged_at AT TIME ZONE 'UTC')::date AS month, count(*), "
             "percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_time_hours), "
             "percentile_cont(0.95) WITHIN GROUP (ORDER BY cycle_time_hours) "
             "FROM view_pr_attribution WHERE merged_at >= :start AND merged_at < :end "
             "GROUP BY GROUPING SETS ((team_name, month), (team_name))"), _span(window),
    )  # fmt: skip
    months: dict[tuple[str, date], tuple[int, float, float]] = {}
    for name, month, count, median, p95 in rows:
        if name in teams and month is None:
            teams[name].lead_time = LeadTime(count, median, p95, low_sample=count < threshold)
        elif name in teams:
            months[name, max(month, window.first)] = (count, median, p95)
    for name, data in teams.items():
        data.months = [_month(start, months.get((name, start)), window, threshold) for start in window.months()]


# The four keys, as dora_benchmarks names them: each key's view and its columns (value, n, p95, deployment days,
# failed deployments, open incidents). The band is dora_band(), the function view_dora_summary applies.
KEYS = ("deployment_frequency", "change_lead_time", "change_failure_rate", "time_to_restore")
_KEY_VIEWS = {
    "deployment_frequency": ("view_dora_deployment_frequency", "deployments_per_week", "deployments", "NULL",
                             "deployment_days", "0", "0"),
    "change_lead_time": ("view_dora_change_lead_time", "median_change_lead_time_hours", "changes",
                         "p95_change_lead_time_hours", "0", "0", "0"),
    "change_failure_rate": ("view_dora_change_failure_rate", "change_failure_rate", "deployments", "NULL", "0",
                            "failed_deployments", "0"),
    "time_to_restore": ("view_dora_time_to_restore", "median_time_to_restore_hours", "restored",
                        "p95_time_to_restore_hours", "0", "0", "open_incidents"),
}  # fmt: skip


def _benchmarks(conn: Connection) -> Benchmarks:
    rows = conn.execute(
        text("SELECT report_year, metric, band, wording, source FROM view_dora_benchmarks "
             "WHERE report_year = (SELECT max(report_year) FROM view_dora_benchmarks) ORDER BY metric, rank")
    ).all()  # fmt: skip
    if not rows:
        return NO_BENCHMARKS
    return Benchmarks(rows[0].report_year, rows[0].source, [(r.metric, r.band, r.wording) for r in rows])


def _add_four_keys(conn: Connection, window: Window, teams: dict[str, TeamData], year: int | None) -> None:
    """Every month of every key (a few rows per team), kept for the calendar months the window touches; a key
    with a figure in some other month tells the page to say "none this month" rather than "none collected"."""
    months = set(calendar_months(window))
    for data in teams.values():
        data.keys = {key: {} for key in KEYS}
    for key, (view, value, *columns) in _KEY_VIEWS.items():
        rows = conn.execute(
            text(f"SELECT team_name, month, low_sample, dora_band(CAST(:year AS integer), :key, {value}), {value}, "
                 f"{', '.join(columns)} FROM {view}"), {"year": year, "key": key},
        )  # fmt: skip
        for name, month, low, band, value, n, p95, days, failed, still_open in rows:
            if name not in teams:
                continue
            teams[name].keys_ever.add(key)
            if month in months:
                figure = KeyMonth(month, _float(value), band, n, low, _float(p95), days, failed, still_open)
                teams[name].keys[key][month] = figure
    if _readable(conn, "repository_owners") and _readable(conn, "teams"):
        owned = conn.execute(
            text("SELECT t.name, count(DISTINCT o.repository) FROM teams t "
                 "LEFT JOIN repository_owners o ON o.team_id = t.id GROUP BY t.name")
        )  # fmt: skip
        for name, count in owned:
            if name in teams:
                teams[name].owned_repositories = count


def calendar_months(window: Window) -> list[date]:
    """The first day of each calendar month the window touches: the four keys' views count whole months."""
    return [start.replace(day=1) for start in window.months()]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _health(conn: Connection, window: Window) -> Health:
    span = _span(window)
    attributed = conn.execute(
        text("SELECT count(DISTINCT (repository, pr_number)) FROM view_pr_attribution "
             "WHERE merged_at >= :start AND merged_at < :end"), span,
    ).scalar_one()  # fmt: skip
    by_reason = conn.execute(
        text("SELECT reason, count(*) FROM view_unattributed_prs WHERE merged_at >= :start AND merged_at < :end "
             "GROUP BY 1 ORDER BY 2 DESC, 1"), span,
    ).all()  # fmt: skip
    unattributed = conn.execute(
        text("SELECT repository, pr_number, coalesce(author, '(deleted)'), merged_at, reason "
             "FROM view_unattributed_prs WHERE merged_at >= :start AND merged_at < :end "
             "ORDER BY merged_at DESC, repository, pr_number LIMIT 30"), span,
    ).all()  # fmt: skip
    # view_unmapped_authors counts all time; these are the same people (reason unknown_author: the login has
    # no membership at all), counted inside the window.
    unmapped = conn.execute(
        text("SELECT mode() WITHIN GROUP (ORDER BY author), count(*), count(DISTINCT repository), max(merged_at) "
             "FROM view_unattributed_prs WHERE reason = 'unknown_author' AND merged_at >= :start "
             "AND merged_at < :end GROUP BY lower(author) ORDER BY 2 DESC, 1 LIMIT 30"), span,
    ).all()  # fmt: skip
    return Health(attributed, [(r, n) for r, n in by_reason], [tuple(r) for r in unattributed],
                  [tuple(r) for r in unmapped])  # fmt: skip


def _selected_teams(conn: Connection, team: str | None) -> list[str]:
    """Every team of the teams file, or the one ``--team`` names (any case: team names are unique regardless of
    case in the teams file); none while no team has any credited PR, deployment or incident, so the page says the
    next step instead.
    A team without credits shows its zeros: a misspelt login must not hide the team it belongs to."""
    names = list(conn.execute(text("SELECT team_name FROM view_teams ORDER BY 1")).scalars())
    if team is not None:
        matches = [n for n in names if n == team] or [n for n in names if n.casefold() == team.casefold()]
        if len(matches) != 1:
            known = ", ".join(names) or "none yet"
            raise ConfigError(f"no team named {shown(team, limit=200)} (teams: {known})")
        names = matches
    credited = conn.execute(
        text("SELECT EXISTS (SELECT FROM view_team_velocity) OR EXISTS (SELECT FROM view_open_pr_age) "
             "OR EXISTS (SELECT FROM view_dora_deployment_attribution) "
             "OR EXISTS (SELECT FROM view_dora_incident_attribution)")
    ).scalar_one()  # fmt: skip
    return names if credited else []


def _low_sample_min_prs(conn: Connection) -> int:
    if not _readable(conn, "analytics_settings"):
        return DEFAULT_LOW_SAMPLE_MIN_PRS
    return int(conn.execute(text("SELECT low_sample_min_prs FROM analytics_settings")).scalar_one())


def _status(conn: Connection) -> Status:
    def count(table: str, where: str = "true") -> int | None:
        if not _readable(conn, table):
            return None
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one())

    unattributed, unknown = conn.execute(
        text("SELECT count(*), count(*) FILTER (WHERE reason = 'unknown_author') FROM view_unattributed_prs")
    ).one()
    runs = count("collector_runs", "status IN ('success', 'partial')")
    last_failure = _last_failure(conn) if runs is not None else None
    return Status(count("teams"), runs, unattributed, unknown, last_failure, count("repositories"))


def _last_failure(conn: Connection) -> str | None:
    newest = conn.execute(text("SELECT status, error FROM collector_runs ORDER BY started_at DESC LIMIT 1")).first()
    if newest is None or newest.status != "failed":
        return None
    return newest.error or "no reason recorded"


def _readable(conn: Connection, table: str) -> bool:
    return bool(conn.execute(text("SELECT has_table_privilege(:t, 'SELECT')"), {"t": f"public.{table}"}).scalar_one())


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month(start: date, row: tuple[int, float, float] | None, window: Window, threshold: int) -> Month:
    in_progress = start.replace(day=1) == window.this_month
    if row is None:
        return Month(start, 0, None, None, low_sample=False, in_progress=in_progress)
    count, median, p95 = row
    return Month(start, count, median, p95, low_sample=count < threshold, in_progress=in_progress)


# ---------------------------------------------------------------- rendering


def render_html(data: ReportData) -> str:
    sections = "\n".join(_team_section(i, team, data) for i, team in enumerate(data.teams))
    if data.teams:
        sections = _overview(data) + sections + _about_keys(data.benchmarks)
    nav = "".join(f'<a href="#team-{i}">{name_html(t.name)}</a>' for i, t in enumerate(data.teams))
    count = len(data.teams)
    return _PAGE.format(
        css=_CSS,
        subtitle=escape(
            f"{counted(count, 'team')} · {data.window.label()} · "
            f"generated {data.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        ),
        key=(
            '<span class="swatch in-progress"></span> in progress: this week and this month so far, not finished'
            f'<span class="swatch low-sample"></span> low sample: a figure over fewer than '
            f"{data.low_sample_min_prs} PRs, deployments, changes or incidents, read with care"
        ),
        nav=nav,
        sections=sections or f'<section class="empty-state"><p>{empty_message(data)}</p></section>',
        health=_health_section(data),
    )


def empty_message(data: ReportData) -> str:
    """The true next step when no team has any credited PR, told apart from the data."""
    status = data.status
    sync, run = "<code>dora-collector teams sync --file teams.json</code>", "<code>dora-collector run</code>"
    if status.teams == 0:
        if status.runs == 0:
            return f"No teams synced yet and nothing collected: run {sync}, then {run}."
        return f"No teams synced yet: run {sync}. The pull requests already collected are credited at once."
    if status.runs == 0 and status.last_failure:
        failure = name_html(status.last_failure)
        return f"No collection run has succeeded yet; the last one failed: {failure}. Fix that, then {run}."
    if status.runs == 0:
        return f"No collection run yet: run {run}."
    if status.unattributed:
        prs = counted(status.unattributed, "merged pull request")
        if status.unknown_authors:
            return (
                f"{prs} collected, none credited to a team: {status.unknown_authors} "
                f"{'is' if status.unknown_authors == 1 else 'are'} by authors in no team. "
                "Add them to the teams file (<code>view_unmapped_authors</code> lists them all; the window's are "
                f"under Attribution health below) and run {sync}. No GitHub request is needed."
            )
        return (
            f"{prs} collected, none credited to a team: their authors' memberships do not cover the days they "
            "merged (reasons under Attribution health below). Fix joined_at / left_at in the teams file and run "
            f"{sync}."
        )
    if status.teams is None or status.runs is None:
        return f"Nothing to show yet. On a new database: run {sync}, then {run}."
    return (
        "The collection runs so far found no merged pull request by a person into a default branch: check the "
        f"repositories the collector is given (REPOSITORIES), then run {run}."
    )


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    note: str
    window: str
    low_sample: int | None = None  # how many PRs, when the figure is low sample


def _team_section(index: int, team: TeamData, data: ReportData) -> str:
    window = data.window.label()
    lead, open_prs = team.lead_time, team.open_prs
    tiles = [
        Tile("PRs merged", f"{sum(w.prs for w in team.weeks)}", "credited to the team", window),
        Tile("Weighted PRs", f"{sum(w.weighted for w in team.weeks):.1f}", "by allocation", window),
        Tile("PR lead time, median", _hours(lead.median),
             f"open → merge, {counted(lead.prs, 'PR')} · p95 {_hours(lead.p95)}" if lead.prs
             else "open → merge: no PR merged", window, lead.prs if lead.low_sample else None),
        # The count is no sample; its p90 age is, and says so.
        Tile("Open PRs", f"{open_prs.count}" if open_prs else "0",
             (f"p90 age {_hours(open_prs.p90_age)}" + " (low sample)" * open_prs.low_sample) if open_prs
             else "none open", "now, as of the last run"),
    ]  # fmt: skip
    caption = f'<span class="window">{escape(window)}</span>'
    return (
        f'<section class="team" id="team-{index}"><h2>{name_html(team.name)}</h2>{_keys_block(index, team, data)}'
        f'<p class="group">Pull requests</p><div class="tiles">{"".join(_tile(t) for t in tiles)}</div>'
        '<div class="charts">'
        f"<figure><figcaption>Merged PRs per week{caption}</figcaption>{velocity_chart(team.weeks, f't{index}')}"
        f"</figure><figure><figcaption>PR lead time (open → merge) per month, hours{caption}</figcaption>"
        f"{lead_time_chart(team.months, f't{index}')}</figure></div></section>"
    )


def _tile(tile: Tile, *, small: bool = False) -> str:
    classes = "tile" + " small" * small + " low-sample" * (tile.low_sample is not None)
    badge = (
        f'<div class="badge">low sample: {counted(tile.low_sample, "PR")}</div>' if tile.low_sample is not None else ""
    )
    note = f'<div class="note">{escape(tile.note)}</div>' if tile.note else ""
    return (
        f'<div class="{classes}"><div class="label">{escape(tile.label)}</div>'
        f'<div class="value">{escape(tile.value)}</div>{note}{badge}'
        f'<div class="window">{escape(tile.window)}</div></div>'
    )


def _health_section(data: ReportData) -> str:
    window = data.window.label()
    if data.health.by_reason:
        reasons = "".join(
            _tile(Tile(r.replace("_", " "), f"{n}", "", window), small=True) for r, n in data.health.by_reason
        )
    elif data.health.attributed_prs:
        reasons = '<p class="empty">Every eligible pull request in the window was credited to a team.</p>'
    else:
        reasons = '<p class="empty">No pull request merged in the window.</p>'
    unattributed = _table(
        ("Repository", "PR", "Author", "Merged", "Reason"),
        [(r, f"#{n}", a, f"{m:%Y-%m-%d}", reason.replace("_", " ")) for r, n, a, m, reason in data.health.unattributed],
    )
    unmapped = _table(
        ("Author", "Merged PRs", "Repositories", "Last merge"),
        [(a, n, repos, f"{last:%Y-%m-%d}") for a, n, repos, last in data.health.unmapped],
    )
    caption = f'<span class="window">{escape(window)}</span>'
    return (
        '<section class="health"><h2>Attribution health, all teams</h2>'
        "<p>Merged pull requests no team received, and people who merge but are in no team. Fix the teams file "
        "and run <code>dora-collector teams sync --file teams.json</code>: no GitHub request is needed.</p>"
        f'<div class="tiles">{reasons}</div><div class="tables"><div><h3>Unattributed pull requests, latest 30'
        f"{caption}</h3>{unattributed}</div><div><h3>Unmapped authors (in no team){caption}</h3>{unmapped}</div>"
        "</div></section>"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return '<p class="empty">None in the window.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{name_html(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def name_html(value: object) -> str:
    """A value from outside as HTML: controls stripped, escaped, and isolated (``<bdi>``) so that even a
    right-to-left name cannot move the text around it."""
    return f"<bdi>{escape(str(value).translate(_STRIPPED))}</bdi>"


def _hours(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 24:.1f} d" if value >= 72 else f"{value:.1f} h"


# ---------------------------------------------------------------- the four keys

KEY_LABELS = {
    "deployment_frequency": "Deployment frequency",
    "change_lead_time": "Lead time for changes",
    "change_failure_rate": "Change failure rate",
    "time_to_restore": "Time to restore",
}
KEY_MEANINGS = {
    "deployment_frequency": "how often the team's repositories deploy to production: the month's deployments, "
    "weighted by the team's share of each repository, per week (per day from 7 a week, per month below 1).",
    "change_lead_time": "from a change's first commit to the deployment that shipped it; the median over the "
    "changes deployed in the month. Not PR lead time (open → merge).",
    "change_failure_rate": "the share of the month's deployments that failed: an incident names it as the root "
    "cause (or opened while it was the latest deployment), or a later pull request reverted a change it shipped.",
    "time_to_restore": "from an incident's opening to its closing; the median over the incidents opened in the month "
    "and closed since. Open incidents are counted apart, never guessed.",
}
_SAMPLE_NOUN = {
    "deployment_frequency": "deployment",
    "change_lead_time": "change",
    "change_failure_rate": "deployment",
    "time_to_restore": "restored incident",
}
# Each band's background and text colour, with at least 4.5:1 contrast between them (WCAG AA): the band's name is
# always written in it, so colour is never the only thing that tells the bands apart.
BAND_COLOURS = {
    "elite": ("#15803d", "#ffffff"),
    "high": ("#bbf7d0", "#14532d"),
    "medium": ("#fed7aa", "#7c2d12"),
    "low": ("#b91c1c", "#ffffff"),
}
NO_BAND = ("#e2e8f0", "#334155")


def headline_month(window: Window) -> date:
    """The month the four keys' tiles show: the latest complete calendar month the window touches, or the current
    one (in progress) when the window lies inside it."""
    complete = [m for m in calendar_months(window) if m < window.this_month]
    return complete[-1] if complete else window.this_month


def key_value(key: str, figure: KeyMonth) -> str:
    """The figure in units a person reads: deployments per day, week or month; hours or days; percent."""
    if figure.value is None:
        return EN_DASH
    if key == "deployment_frequency":
        return _frequency(figure.value, figure.month)
    if key == "change_failure_rate":
        return f"{round(figure.value * 100, 1):g}%"
    return _hours(figure.value)


def _frequency(per_week: float, month: date) -> str:
    if per_week >= 7:
        return f"{per_week / 7:.1f} per day"
    if per_week >= 1:
        return f"{per_week:.1f} per week"
    days = (_next_month(month) - month).days  # the view divides the month's deployments by days / 7
    return f"{per_week * days / 7:.1f} per month"


def _key_note(key: str, figure: KeyMonth) -> str:
    if key == "deployment_frequency":
        return f"{counted(figure.n, 'deployment')} on {counted(figure.deployment_days, 'day')}"
    if key == "change_lead_time":
        return f"first commit → production, median of {counted(figure.n, 'change')} · p95 {_hours(figure.p95)}"
    if key == "change_failure_rate":
        return f"{figure.failed} of {counted(figure.n, 'deployment')} failed"
    opened = figure.n + figure.open_incidents
    if figure.value is None:
        return f"{counted(opened, 'incident')} opened, none closed yet"
    still_open = f" · {figure.open_incidents} still open" if figure.open_incidents else ""
    return f"median of {counted(figure.n, 'restored incident')}{still_open}"


def _why_none(key: str, team: TeamData, month: date, status: Status) -> str:
    """A few words on why a key has no figure for the month: not a blank."""
    deployed = "deployment_frequency" in team.keys_ever
    name = f"{month:%b %Y}"
    if key == "time_to_restore":
        if key not in team.keys_ever:
            return "no incident collected (issues with the repositories' incident label)"
        return f"no incident opened in {name}"
    if not deployed:
        return _no_deployments(team, status)
    if key == "change_lead_time" and month in team.keys["deployment_frequency"]:
        return "no deployed change with a known first commit (view_dora_undeployed_prs says why)"
    if key == "change_lead_time":
        return f"no deployment in {name}, so no change shipped"
    return f"no deployment in {name}"


def _no_deployments(team: TeamData, status: Status) -> str:
    """Why a team has no deployment in any month. ``None`` counts: this login cannot read who owns what."""
    if team.owned_repositories == 0 and status.repositories:
        return "no deployments: no repository in the teams file names this team as an owner"
    if team.owned_repositories:
        repositories = counted(team.owned_repositories, "repository", "repositories")
        return f"no deployments collected from its {repositories}: check their deployment source"
    return "no deployments collected: configure repositories in the teams file"


def _why_no_keys(team: TeamData, status: Status) -> str:
    """Why a team has none of the four keys in any month, and the next step."""
    sync, run = "<code>dora-collector teams sync --file teams.json</code>", "<code>dora-collector run</code>"
    if status.repositories == 0:
        return (
            "no repositories in the teams file yet. Add <code>repositories</code> with their owners, deployment "
            f"source and incident label, run {sync}, then {run}."
        )
    if team.owned_repositories == 0:
        return f"no repository in the teams file names this team as an owner. Add it to their owners and run {sync}."
    if team.owned_repositories:
        repositories = counted(team.owned_repositories, "repository", "repositories")
        return (
            f"no deployment or incident collected yet from its {repositories}. Check their deployment source and "
            f"incident label, then {run}."
        )
    return (
        "no deployment or incident credited to this team yet. Give it repositories in the teams file (owners, "
        f"deployment source, incident label), then {run}."
    )


def _band_badge(band: str | None, year: int | None) -> str:
    if band is None:
        return ""
    name = escape(band)
    return f'<span class="perf-band {name}" title="{name} by the {year} report">{name}</span>'


def _keys_block(index: int, team: TeamData, data: ReportData) -> str:
    """The four keys' tiles of one team, or one line saying why it has none in any month."""
    if not team.keys_ever:
        why = _why_no_keys(team, data.status)
        return f'<p class="group">The four keys</p><p class="keys-empty">{why}</p>'
    month = headline_month(data.window)
    tiles = "".join(_key_tile(key, team, month, data, f"k{index}-{i}") for i, key in enumerate(KEYS))
    return f'<p class="group">The four keys</p><div class="tiles dora-keys">{tiles}</div>'


def _key_tile(key: str, team: TeamData, month: date, data: ReportData, uid: str) -> str:
    window, year = data.window, data.benchmarks.year
    figure = team.keys[key].get(month)
    classes = "tile dora-key"
    if figure is not None and figure.value is not None:
        value = f'<div class="value">{escape(key_value(key, figure))} {_band_badge(figure.band, year)}</div>'
        note = f'<div class="note">{escape(_key_note(key, figure))}</div>'
    else:
        classes += " no-data"
        why = _key_note(key, figure) if figure is not None else _why_none(key, team, month, data.status)
        value, note = f'<div class="value">{EN_DASH}</div>', f'<div class="note why">{escape(why)}</div>'
    badge = ""
    if figure is not None and figure.low_sample and figure.value is not None:
        classes += " low-sample"
        badge = f'<div class="badge">low sample: {counted(figure.n, _SAMPLE_NOUN[key])}</div>'
    in_progress = month == window.this_month
    classes += " in-progress" * in_progress
    trend = key_trend(key, calendar_months(window), team.keys[key], window, uid, year)
    so_far = "" if in_progress else _so_far(key, team, window, year)
    period = f"{month:%b %Y}" + " so far (in progress)" * in_progress
    bands = f"{year} bands" if year else "no bands: view_dora_benchmarks is empty"
    return (
        f'<div class="{classes}"><div class="label">{escape(KEY_LABELS[key])}</div>{value}{note}{badge}{trend}'
        f'{so_far}<div class="window">{escape(period)} · {escape(bands)}</div></div>'
    )


def _so_far(key: str, team: TeamData, window: Window, year: int | None) -> str:
    """The current month, unfinished, told apart from the headline."""
    figure = team.keys[key].get(window.this_month)
    if figure is None:
        value, band = "nothing yet", ""
    elif figure.value is None:
        value, band = _key_note(key, figure), ""
    else:
        value, band = key_value(key, figure), _band_badge(figure.band, year)
    return (
        f'<div class="so-far"><span class="swatch in-progress"></span>{window.this_month:%b} so far: '
        f"{escape(value)} {band}</div>"
    )


def _overview(data: ReportData) -> str:
    """Every team's four keys for the headline month, side by side: the page's ten-second picture."""
    if len(data.teams) < 2 or not any(team.keys_ever for team in data.teams):
        return ""
    month = headline_month(data.window)
    head = "".join(f'<th scope="col">{escape(KEY_LABELS[key])}</th>' for key in KEYS)
    body = []
    for index, team in enumerate(data.teams):
        cells = "".join(_overview_cell(key, team.keys[key].get(month), data.benchmarks.year) for key in KEYS)
        body.append(f'<tr><th scope="row"><a href="#team-{index}">{name_html(team.name)}</a></th>{cells}</tr>')
    period = f"{month:%B %Y}" + " so far (in progress)" * (month == data.window.this_month)
    year = f"bands of the {data.benchmarks.year} State of DevOps report" if data.benchmarks.year else "no bands"
    return (
        f'<section class="overview"><h2>The four keys, {escape(period)}<span class="window">{escape(year)}; '
        "each team's section says why a key is missing and shows its months</span></h2>"
        f'<table class="dora-overview"><thead><tr><th scope="col">Team</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></section>"
    )


def _overview_cell(key: str, figure: KeyMonth | None, year: int | None) -> str:
    if figure is None or figure.value is None:
        return '<td class="none">no data</td>'
    low = ' <span class="badge">low sample</span>' if figure.low_sample else ""
    return f"<td>{escape(key_value(key, figure))} {_band_badge(figure.band, year)}{low}</td>"


def _about_keys(benchmarks: Benchmarks) -> str:
    """What each key means, and where the bands come from, with the report's own words for each."""
    meanings = "".join(
        f"<li><strong>{escape(KEY_LABELS[key])}</strong>: {escape(KEY_MEANINGS[key])}</li>" for key in KEYS
    )
    if benchmarks.year is None:
        bands = "<p>No benchmark rows in <code>view_dora_benchmarks</code>: the keys are shown without bands.</p>"
    else:
        bands = (
            f"<p>Bands are those of the {name_html(benchmarks.source)}. A value takes the best band whose bound "
            'it reaches (the bounds are our reading of the report\'s words; sql/README.md, "Bands"). '
            "Each key covers a whole calendar month (UTC), even where the window starts later.</p>"
            + _bands_table(benchmarks)
        )
    return f'<section class="about-keys"><h2>About the four keys</h2><ul>{meanings}</ul>{bands}</section>'


def _bands_table(benchmarks: Benchmarks) -> str:
    names = list(dict.fromkeys(band for _, band, _ in benchmarks.bands))
    words = {(key, band): wording for key, band, wording in benchmarks.bands}
    head = "".join(f"<th>{_band_badge(band, benchmarks.year)}</th>" for band in names)
    body = "".join(
        f'<tr><th scope="row">{escape(KEY_LABELS.get(key, key))}</th>'
        + "".join(f"<td>{name_html(words.get((key, band), EN_DASH))}</td>" for band in names)
        + "</tr>"
        for key in dict.fromkeys(key for key, _, _ in benchmarks.bands)
    )
    return f'<table class="bands"><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>'


SPARK_W, SPARK_H, SPARK_TOP, SPARK_BASE = 220, 46, 3, 30


def key_trend(
    key: str, months: Sequence[date], figures: dict[date, KeyMonth], window: Window, uid: str, year: int | None
) -> str:
    """One bar per calendar month, coloured by its band; the current month over hatching, lighter; a month
    without a figure a grey dash. Each bar's height is its value against the highest shown."""
    top = max([f.value for f in figures.values() if f.value is not None and f.value > 0] + [0.0]) or 1.0
    slot = SPARK_W / max(len(months), 1)
    parts = []
    for i, month in enumerate(months):
        x, figure = i * slot, figures.get(month)
        in_progress = month == window.this_month
        tip = _trend_tip(key, month, figure, in_progress, year)
        if figure is not None and figure.low_sample and figure.value is not None:
            parts.append(_spark_slot("low", x, slot, uid, tip))
        if in_progress:  # over the low-sample shading: the hatching's gaps let it show
            parts.append(_spark_slot("in-progress", x, slot, uid, tip))
        if figure is None or figure.value is None:
            parts.append(f'<line class="none" x1="{x + slot * 0.3:.1f}" x2="{x + slot * 0.7:.1f}" y1="{SPARK_BASE}" '
                         f'y2="{SPARK_BASE}"><title>{escape(tip)}</title></line>')  # fmt: skip
        else:
            height = max(1.5, (SPARK_BASE - SPARK_TOP) * max(figure.value, 0.0) / top)
            fill, ink = BAND_COLOURS.get(figure.band or "", NO_BAND)
            lighter = ' opacity="0.55"' * in_progress
            parts.append(
                # The band in a data attribute: a class "low" would take the low-sample shading's style.
                f'<rect class="bar" data-band="{escape(figure.band or "none")}" x="{x + slot * 0.2:.1f}" '
                f'y="{SPARK_BASE - height:.1f}" width="{slot * 0.6:.1f}" height="{height:.1f}" fill="{fill}" '
                f'stroke="{ink}" stroke-width="1"{lighter}><title>{escape(tip)}</title></rect>'
            )
        parts.append(f'<text class="xtick" x="{x + slot / 2:.1f}" y="{SPARK_H - 4}">{month:%b}</text>')
    hatch = (
        f'<defs><pattern id="ip-{uid}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="2.5" height="6" fill="{IN_PROGRESS_STRIPE}"/></pattern></defs>'
    )
    label = f"{KEY_LABELS[key]} per month, coloured by band"
    return (
        f'<svg class="spark" viewBox="0 0 {SPARK_W} {SPARK_H}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{hatch}{"".join(parts)}</svg>'
    )


def _spark_slot(kind: str, x: float, width: float, uid: str, tip: str) -> str:
    """A month's background in a trend: hatched for in progress, dashed grey for low sample."""
    fill = f' fill="url(#ip-{uid})"' if kind == "in-progress" else ""
    return (
        f'<rect class="band {kind}" x="{x:.1f}" y="0" width="{width:.1f}" height="{SPARK_BASE + 2}"{fill}>'
        f"<title>{escape(tip)}</title></rect>"
    )


def _trend_tip(key: str, month: date, figure: KeyMonth | None, in_progress: bool, year: int | None) -> str:
    name = f"{month:%b %Y}" + " so far (in progress)" * in_progress
    if figure is None:
        return f"{name}: none"
    if figure.value is None:
        return f"{name}: {_key_note(key, figure)}"
    band = f", {figure.band} ({year} bands)" if figure.band else ""
    low = ", low sample" if figure.low_sample else ""
    return f"{name}: {key_value(key, figure)}{band}; {_key_note(key, figure)}{low}"


# ---------------------------------------------------------------- SVG charts

W, H = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 46
INNER_W, INNER_H = W - LEFT - RIGHT, H - TOP - BOTTOM


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to at least ``maximum``."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(maximum / step - 1e-9) + 1)]


def _axes(ticks: Sequence[float], y: Any, fmt: str = "{:g}") -> str:
    lines = []
    for tick in ticks:
        lines.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        lines.append(f'<text class="ytick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}">{fmt.format(tick)}</text>')
    return "".join(lines)


def _scale(top: float) -> Any:
    def y(v: float) -> float:
        return TOP + INNER_H * (1 - v / top)

    return y


def _band(kind: str, x: float, width: float, uid: str, tip: str) -> str:
    """The background of one slot: hatched for in progress, dashed grey for low sample."""
    fill = f' fill="url(#ip-{uid})"' if kind == "in-progress" else ""
    return (
        f'<rect class="band {kind}" x="{x:.1f}" y="{TOP}" width="{width:.1f}" height="{INNER_H}"{fill}>'
        f"<title>{escape(tip)}</title></rect>"
    )


def velocity_chart(weeks: Sequence[Week], uid: str) -> str:
    ticks = nice_ticks(max([w.prs for w in weeks] + [1]))
    y = _scale(ticks[-1])
    slot = INNER_W / max(len(weeks), 1)
    every = max(1, math.ceil(len(weeks) / 8))
    bands, bars = [], []
    for i, week in enumerate(weeks):
        x = LEFT + i * slot
        so_far = " so far (in progress)" if week.in_progress else ""
        tip = f"week of {week.start:%Y-%m-%d}{so_far}: {week.prs} PRs, {week.weighted:.2f} weighted" + (
            f", mean PR lead time {_hours(week.mean_hours)}" if week.mean_hours is not None else ""
        )
        if week.in_progress:  # an unfinished week is lighter, over a hatched slot: not a drop
            bands.append(_band("in-progress", x, slot, uid, tip))
        lighter = ' opacity="0.5"' if week.in_progress else ""
        bars.append(
            f'<g class="bar{" in-progress" * week.in_progress}"{lighter}>'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{x + slot * 0.12:.1f}" y="{y(week.prs):.1f}" width="{slot * 0.76:.1f}" '
            f'height="{y(0) - y(week.prs):.1f}" fill="{BLUE}" rx="2"/>'
            f'<rect x="{x + slot * 0.3:.1f}" y="{y(week.weighted):.1f}" width="{slot * 0.4:.1f}" '
            f'height="{y(0) - y(week.weighted):.1f}" fill="{NAVY}" rx="1"/></g>'
        )
        if i % every == 0:
            bars.append(f'<text class="xtick" x="{x + slot / 2:.1f}" y="{H - BOTTOM + 16}">{week.start:%b %d}</text>')
    legend = _legend([(BLUE, "rect", "PRs merged"), (NAVY, "rect", "weighted by allocation"),
                      (uid, "in-progress", "in progress (week so far)")])  # fmt: skip
    body = "".join(bands) + _axes(ticks, y) + "".join(bars) + legend
    return _svg(body, "Merged pull requests per week", uid)


def lead_time_chart(months: Sequence[Month], uid: str) -> str:
    ticks = nice_ticks(max([m.p95 or 0 for m in months] + [1]))
    y = _scale(ticks[-1])
    slot = INNER_W / max(len(months), 1)
    every = max(1, math.ceil(len(months) / 8))
    label = "%b %Y" if months and months[0].start.year != months[-1].start.year else "%b"

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    bands, parts = [], []
    for i, month in enumerate(months):
        name = _month_name(month)
        if month.low_sample:
            bands.append(_band("low", x(i) - slot / 2, slot, uid, f"{name}: only {month.prs} PRs, low sample"))
        if month.in_progress:
            bands.append(_band("in-progress", x(i) - slot / 2, slot, uid, f"{name} so far: in progress"))
        if i % every == 0:
            tick = f"{month.start:{label}}" + (f" {month.start.day}{EN_DASH}" if month.start.day != 1 else "")
            parts.append(f'<text class="xtick" x="{x(i):.1f}" y="{H - BOTTOM + 16}">{tick}</text>')
    series = (("p95", ORANGE, "5 4", [m.p95 for m in months]), ("median", NAVY, "", [m.median for m in months]))
    for series_name, colour, dash, values in series:
        parts.append(line_path([(x(i), y(v)) if v is not None and not m.in_progress else None
                            for i, (m, v) in enumerate(zip(months, values, strict=True))], colour, dash))  # fmt: skip
        for i, (month, value) in enumerate(zip(months, values, strict=True)):
            if value is None:
                continue
            so_far = " so far (in progress)" if month.in_progress else ""
            low = " (low sample)" if month.low_sample else ""
            tip = f"{_month_name(month)}{so_far} {series_name}: {_hours(value)} over {month.prs} PRs{low}"
            # Hollow: do not read much into this month. Dashed: not finished.
            fill = "#fff" if month.low_sample or month.in_progress else colour
            extra = ' stroke-dasharray="2 2"' * month.in_progress
            parts.append(
                f'<circle class="point{" in-progress" * month.in_progress}" cx="{x(i):.1f}" cy="{y(value):.1f}" '
                f'r="4" fill="{fill}" stroke="{colour}" stroke-width="2"{extra}><title>{escape(tip)}</title></circle>'
            )
    legend = _legend([(NAVY, "line", "median"), (ORANGE, "dash", "p95"), (uid, "low", "low sample (few PRs)"),
                      (uid, "in-progress", "in progress (month so far)")])  # fmt: skip
    body = "".join(bands) + _axes(ticks, y) + "".join(parts) + legend
    return _svg(body, "PR lead time (open to merge) per month", uid)


def _month_name(month: Month) -> str:
    if month.start.day == 1:
        return f"{month.start:%b %Y}"
    last = _next_month(month.start) - timedelta(days=1)
    return f"{month.start:%b} {month.start.day}{EN_DASH}{last.day}, {month.start:%Y} (where the window starts)"


def line_path(points: Sequence[tuple[float, float] | None], colour: str, dash: str) -> str:
    """A path through the points; a missing one (no PRs, or unfinished) breaks it rather than joins across."""
    commands, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{point[0]:.1f},{point[1]:.1f}")
        pen_down = True
    if not commands:
        return ""
    path = " ".join(commands)
    return f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.2" stroke-dasharray="{dash}"/>'


def _legend(items: Sequence[tuple[str, str, str]]) -> str:
    parts, x = [], LEFT
    for colour, kind, label in items:
        y = H - 12
        if kind == "rect":
            parts.append(f'<rect x="{x}" y="{y - 9}" width="12" height="10" fill="{colour}" rx="2"/>')
        elif kind == "low":
            parts.append(f'<rect class="low" x="{x}" y="{y - 9}" width="12" height="10"/>')
        elif kind == "in-progress":
            hatch = f"url(#ip-{colour})"  # for this kind, "colour" is the chart's id
            parts.append(f'<rect class="in-progress" x="{x}" y="{y - 9}" width="12" height="10" fill="{hatch}"/>')
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
            parts.append(
                f'<line x1="{x}" x2="{x + 14}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" stroke-width="2.2"{dash}/>'
            )
        parts.append(f'<text class="legend" x="{x + 18}" y="{y}">{escape(label)}</text>')
        x += 28 + 7 * len(label)
    return "".join(parts)


def _svg(body: str, label: str, uid: str) -> str:
    # A pattern per chart: ids are document-wide, and a page may hold many charts. Its gaps are transparent,
    # so a month both low sample and in progress shows both.
    hatch = (
        f'<defs><pattern id="ip-{uid}" width="8" height="8" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="3" height="8" fill="{IN_PROGRESS_STRIPE}"/></pattern></defs>'
    )
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{hatch}{body}</svg>'
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Delivery metrics · dora-collector</title>
<style>{css}</style></head>
<body><header><h1>Delivery metrics</h1><p class="subtitle">{subtitle}</p><p class="key">{key}</p><nav>{nav}</nav>
</header>
<main>{sections}{health}</main>
<footer>Every figure comes from the documented SQL views (view_team_velocity, view_pr_attribution,
view_open_pr_age, view_unattributed_prs; for the four keys view_dora_deployment_frequency,
view_dora_change_lead_time, view_dora_change_failure_rate, view_dora_time_to_restore and view_dora_benchmarks):
weeks start on Monday, UTC; a PR counts for each team its author belonged to when it merged, a deployment or an
incident for the teams that owned its repository then. PR lead time is the time from opening a pull request to
merging it; lead time for changes, from a change's first commit to its deployment. Produced by dora-collector.</footer>
</body></html>
"""

BAND_CSS = "\n".join(
    f".perf-band.{band} {{ background:{bg}; color:{ink}; }}" for band, (bg, ink) in BAND_COLOURS.items()
)
_CSS = f"""
:root {{ --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --card:#fff; --bg:#f1f5f9; }}
* {{ box-sizing: border-box; }}
body {{ margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
       color:var(--ink); background:var(--bg); }}
header {{ background:linear-gradient(120deg,#0f172a,#1e3a8a); color:#fff; padding:28px 40px 18px; }}
h1 {{ margin:0; font-size:26px; letter-spacing:-.01em; }}
.subtitle {{ margin:4px 0 6px; color:#cbd5e1; }}
.key {{ margin:0 0 14px; color:#cbd5e1; font-size:13px; }}
.swatch {{ display:inline-block; width:14px; height:11px; margin:0 6px -1px 0; border-radius:2px; }}
.key .swatch.low-sample {{ margin-left:18px; }}
.swatch.in-progress {{ background:repeating-linear-gradient(45deg,{IN_PROGRESS_STRIPE} 0 3px,
                     {IN_PROGRESS_BG} 3px 8px); }}
.swatch.low-sample {{ background:{LOW_SAMPLE_BG}; border:1px dashed {LOW_SAMPLE_EDGE}; }}
nav a {{ display:inline-block; margin:0 8px 6px 0; padding:3px 12px; border-radius:999px; color:#e0e7ff;
        background:rgba(255,255,255,.12); text-decoration:none; font-size:13px; }}
main {{ padding:24px 40px; max-width:1260px; }}
section {{ background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 22px;
          margin-bottom:22px; box-shadow:0 1px 2px rgba(15,23,42,.05); }}
h2 {{ margin:0 0 12px; font-size:19px; }} h3 {{ font-size:15px; margin:14px 0 8px; }}
.tiles {{ display:flex; flex-wrap:wrap; gap:12px; margin-bottom:8px; }}
.tile {{ flex:1 1 150px; border:1px solid var(--line); border-radius:10px; padding:10px 14px; background:#f8fafc; }}
.tile.small {{ flex:0 1 200px; }}
.tile .label {{ color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }}
.tile .value {{ font-size:24px; font-weight:650; }}
.tile .note, .tile .window {{ color:var(--muted); font-size:12px; }}
.tile.low-sample {{ background:{LOW_SAMPLE_BG}; border:1px dashed {LOW_SAMPLE_EDGE}; }}
.tile.low-sample .value {{ color:#78716c; }}
.badge {{ display:inline-block; margin:2px 0; padding:0 6px; border-radius:4px; font-size:11px; font-weight:600;
          color:#44403c; border:1px dashed {LOW_SAMPLE_EDGE}; }}
.window {{ display:block; color:var(--muted); font-size:12px; font-weight:400; }}
.charts {{ display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:18px; }}
figure {{ margin:0; }} figcaption {{ font-weight:600; margin:6px 0 2px; color:#334155; }}
svg.chart {{ width:100%; height:auto; }}
svg .grid {{ stroke:#e2e8f0; stroke-width:1; }}
svg text {{ font:11px system-ui,sans-serif; fill:#64748b; }}
svg .ytick {{ text-anchor:end; }} svg .xtick {{ text-anchor:middle; }} svg .legend {{ fill:#334155; }}
svg .low {{ fill:{LOW_SAMPLE_BG}; stroke:{LOW_SAMPLE_EDGE}; stroke-dasharray:3 3; }}
svg rect.in-progress {{ stroke:{IN_PROGRESS_EDGE}; stroke-width:1; stroke-dasharray:4 2; }}
.tables {{ display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:18px; }}
table {{ border-collapse:collapse; width:100%; font-size:13px; }}
th {{ text-align:left; color:var(--muted); font-weight:600; border-bottom:2px solid var(--line); padding:6px 8px; }}
td {{ border-bottom:1px solid var(--line); padding:5px 8px; }}
tr:nth-child(even) td {{ background:#f8fafc; }}
.group {{ margin:4px 0 6px; color:var(--muted); font-size:12px; font-weight:600; text-transform:uppercase;
          letter-spacing:.05em; }}
.tiles.dora-keys .tile {{ flex:1 1 230px; background:#fff; }}
.tile.dora-key .value {{ display:flex; align-items:center; flex-wrap:wrap; gap:4px 10px; }}
.tile.dora-key.no-data .value {{ color:var(--muted); }}
.tile.dora-key .why {{ color:#334155; }}
.tile.dora-key.in-progress {{ border:1px dashed {IN_PROGRESS_EDGE}; }}
.tile.low-sample .perf-band {{ opacity:.85; }}
.so-far {{ color:var(--muted); font-size:12px; }}
.perf-band {{ display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px; font-weight:700;
             line-height:1.5; letter-spacing:.03em; text-transform:uppercase; vertical-align:middle;
             background:{NO_BAND[0]}; color:{NO_BAND[1]}; }}
{BAND_CSS}
.keys-empty {{ margin:0 0 12px; padding:10px 14px; border:1px dashed #cbd5e1; border-radius:10px; color:#334155; }}
svg.spark {{ display:block; width:100%; max-width:260px; height:auto; margin:6px 0 2px; }}
svg.spark .none {{ stroke:{GREY}; stroke-width:2; }}
svg.spark .xtick {{ font-size:10px; }}
table.dora-overview td, table.dora-overview th {{ vertical-align:middle; }}
table.dora-overview th a {{ color:inherit; }}
table.dora-overview td.none {{ color:var(--muted); font-style:italic; }}
.about-keys ul {{ margin:0 0 10px; padding-left:20px; }} .about-keys li {{ margin:3px 0; }}
table.bands td {{ font-size:12px; }}
.empty {{ color:var(--muted); font-style:italic; }}
.empty-state p {{ margin:0; font-size:16px; }}
code {{ background:#eef2ff; padding:1px 5px; border-radius:4px; font-size:13px; }}
footer {{ color:var(--muted); font-size:12px; padding:0 40px 30px; max-width:1260px; }}
"""


def write_report(out: Path, html: str) -> None:
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
