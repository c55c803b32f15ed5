"""``dora-collector report``: one self-contained HTML file (inline SVG, no script, no network).

It reads the documented views only, so a ``dora_reader`` login can produce it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from collector.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from sqlalchemy import Engine

BLUE, NAVY, ORANGE, GREY = "#9ec5fe", "#1d4ed8", "#ea580c", "#94a3b8"
# Names come from outside (the teams file, GitHub). A bidirectional override or isolate in one reorders the
# text that follows it ("Trojan Source", CVE-2021-42574); marks, control characters (C0, C1) and paragraph or
# line separators have no business in a name either. All are stripped.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_STRIPPED = dict.fromkeys([ord(c) for c in _BIDI_CONTROLS] + [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029])


@dataclass
class TeamData:
    name: str
    weeks: list[tuple[date, int, float, float | None]] = field(default_factory=list)  # week, prs, weighted, avg h
    months: list[tuple[date, int, float | None, float | None, bool]] = field(default_factory=list)
    open_prs: tuple[int, float, float] | None = None  # count, p50 h, p90 h


@dataclass
class ReportData:
    generated_at: datetime
    weeks: int
    teams: list[TeamData]
    unattributed_by_reason: list[tuple[str, int]]
    unattributed: list[tuple[Any, ...]]
    unmapped: list[tuple[Any, ...]]


def load_report(engine: Engine, *, team: str | None, weeks: int) -> ReportData:
    with engine.connect() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        first_week = _monday(now.date()) - timedelta(weeks=weeks - 1)
        first_month = min(first_week.replace(day=1), _months_back(now.date(), 5))
        names = _team_names(conn)
        if team is not None and team not in names:
            known = ", ".join(names) or "none yet"
            raise ConfigError(f"no team named {team!r} has data (teams: {known})")
        teams = {name: TeamData(name) for name in names if team in (None, name)}
        for row in conn.execute(
            text("SELECT team_name, week, prs_merged, weighted_prs_merged, avg_cycle_time_hours "
                 "FROM view_team_velocity WHERE week >= :w ORDER BY week"), {"w": first_week},
        ):  # fmt: skip
            if row[0] in teams:
                teams[row[0]].weeks.append((row[1], row[2], float(row[3]), row[4]))
        for row in conn.execute(
            text("SELECT team_name, month, prs_merged, median_lead_time_hours, p95_lead_time_hours, low_sample "
                 "FROM view_dora_lead_time WHERE month >= :m ORDER BY month"), {"m": first_month},
        ):  # fmt: skip
            if row[0] in teams:
                teams[row[0]].months.append((row[1], row[2], row[3], row[4], row[5]))
        for row in conn.execute(text("SELECT team_name, open_prs, p50_age_hours, p90_age_hours FROM view_open_pr_age")):
            if row[0] in teams:
                teams[row[0]].open_prs = (row[1], float(row[2]), float(row[3]))
        for data in teams.values():
            data.weeks = _fill_weeks(data.weeks, first_week, weeks)
        by_reason = conn.execute(
            text("SELECT reason, count(*) FROM view_unattributed_prs WHERE merged_at >= :w GROUP BY 1 ORDER BY 2 DESC"),
            {"w": first_week},
        ).all()
        unattributed = conn.execute(
            text("SELECT repository, pr_number, coalesce(author, '(deleted)'), merged_at, reason "
                 "FROM view_unattributed_prs WHERE merged_at >= :w ORDER BY merged_at DESC LIMIT 30"),
            {"w": first_week},
        ).all()  # fmt: skip
        unmapped = conn.execute(
            text("SELECT author, prs_merged, repositories, last_merged_at FROM view_unmapped_authors "
                 "ORDER BY prs_merged DESC, author LIMIT 30")
        ).all()  # fmt: skip
    return ReportData(now, weeks, list(teams.values()), [tuple(r) for r in by_reason],
                      [tuple(r) for r in unattributed], [tuple(r) for r in unmapped])  # fmt: skip


def _team_names(conn: Any) -> list[str]:
    return list(
        conn.execute(
            text("SELECT team_name FROM view_team_velocity UNION SELECT team_name FROM view_dora_lead_time "
                 "UNION SELECT team_name FROM view_open_pr_age ORDER BY 1")
        ).scalars()
    )  # fmt: skip


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _fill_weeks(rows: Sequence[tuple[date, int, float, float | None]], first: date, weeks: int) -> list[Any]:
    """The view has no row for a week without PRs; the chart shows that week as zero."""
    by_week = {r[0]: r for r in rows}
    return [by_week.get(first + timedelta(weeks=i), (first + timedelta(weeks=i), 0, 0.0, None)) for i in range(weeks)]


# ---------------------------------------------------------------- rendering


def render_html(data: ReportData) -> str:
    sections = "\n".join(_team_section(i, team, data.weeks) for i, team in enumerate(data.teams)) or (
        '<p class="empty">No attributed pull requests yet: run <code>dora-collector run</code>.</p>'
    )
    nav = "".join(f'<a href="#team-{i}">{name_html(t.name)}</a>' for i, t in enumerate(data.teams))
    return _PAGE.format(
        css=_CSS,
        subtitle=escape(
            f"{len(data.teams)} team{'s' * (len(data.teams) != 1)} · last {data.weeks} weeks · "
            f"generated {data.generated_at:%Y-%m-%d %H:%M} UTC"
        ),
        nav=nav,
        sections=sections,
        health=_health_section(data),
    )


def _team_section(index: int, team: TeamData, weeks: int) -> str:
    merged = sum(w[1] for w in team.weeks)
    weighted = sum(w[2] for w in team.weeks)
    latest = next((m for m in reversed(team.months) if m[2] is not None), None)
    tiles = [
        ("PRs merged", f"{merged}", f"last {weeks} weeks"),
        ("Weighted PRs", f"{weighted:.1f}", "by allocation"),
        ("Median lead time", _hours(latest[2]) if latest else "n/a", f"{latest[0]:%b %Y}" if latest else "no data"),
        ("Open PRs", f"{team.open_prs[0]}" if team.open_prs else "0",
         f"p90 age {_hours(team.open_prs[2])}" if team.open_prs else "none open"),
    ]  # fmt: skip
    tile_html = "".join(
        f'<div class="tile"><div class="label">{escape(a)}</div><div class="value">{escape(b)}</div>'
        f'<div class="note">{escape(c)}</div></div>'
        for a, b, c in tiles
    )
    return (
        f'<section class="team" id="team-{index}"><h2>{name_html(team.name)}</h2><div class="tiles">{tile_html}</div>'
        f'<div class="charts"><figure><figcaption>Merged PRs per week</figcaption>{velocity_chart(team.weeks)}'
        f"</figure><figure><figcaption>Lead time per month (hours)</figcaption>{lead_time_chart(team.months)}"
        "</figure></div></section>"
    )


def _health_section(data: ReportData) -> str:
    reasons = (
        "".join(
            f'<div class="tile small"><div class="label">{escape(r.replace("_", " "))}</div>'
            f'<div class="value">{n}</div></div>'
            for r, n in data.unattributed_by_reason
        )
        or '<p class="empty">Every eligible pull request in the period was credited to a team.</p>'
    )
    unattributed = _table(
        ("Repository", "PR", "Author", "Merged", "Reason"),
        [(r, f"#{n}", a, f"{m:%Y-%m-%d}", reason.replace("_", " ")) for r, n, a, m, reason in data.unattributed],
    )
    unmapped = _table(
        ("Author", "Merged PRs", "Repositories", "Last merge"),
        [(a, n, repos, f"{last:%Y-%m-%d}") for a, n, repos, last in data.unmapped],
    )
    return (
        '<section class="health"><h2>Attribution health</h2>'
        "<p>Merged pull requests no team received, and people who merge but are in no team. "
        "Fix the teams file and run <code>dora-collector teams sync</code>: no GitHub request is needed.</p>"
        f'<div class="tiles">{reasons}</div><div class="tables"><div><h3>Unattributed pull requests</h3>'
        f"{unattributed}</div><div><h3>Unmapped authors</h3>{unmapped}</div></div></section>"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return '<p class="empty">None.</p>'
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


# ---------------------------------------------------------------- SVG charts

W, H = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 46


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


def velocity_chart(weeks: Sequence[tuple[date, int, float, float | None]]) -> str:
    ticks = nice_ticks(max([w[1] for w in weeks] + [1]))
    top = ticks[-1]
    inner_w, inner_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + inner_h * (1 - v / top)

    slot = inner_w / max(len(weeks), 1)
    every = max(1, math.ceil(len(weeks) / 8))
    parts = [_axes(ticks, y)]
    for i, (week, count, weighted, avg) in enumerate(weeks):
        x = LEFT + i * slot
        tip = f"week of {week:%Y-%m-%d}: {count} PRs, {weighted:.2f} weighted" + (
            f", mean cycle {avg:.1f} h" if avg is not None else ""
        )
        parts.append(
            f'<g class="bar"><title>{escape(tip)}</title>'
            f'<rect x="{x + slot * 0.12:.1f}" y="{y(count):.1f}" width="{slot * 0.76:.1f}" '
            f'height="{y(0) - y(count):.1f}" fill="{BLUE}" rx="2"/>'
            f'<rect x="{x + slot * 0.3:.1f}" y="{y(weighted):.1f}" width="{slot * 0.4:.1f}" '
            f'height="{y(0) - y(weighted):.1f}" fill="{NAVY}" rx="1"/></g>'
        )
        if i % every == 0:
            parts.append(f'<text class="xtick" x="{x + slot / 2:.1f}" y="{H - BOTTOM + 16}">{week:%b %d}</text>')
    legend = _legend([(BLUE, "rect", "PRs merged"), (NAVY, "rect", "weighted by allocation")])
    return _svg("".join(parts) + legend, "Merged pull requests per week")


def lead_time_chart(months: Sequence[tuple[date, int, float | None, float | None, bool]]) -> str:
    points = [m for m in months if m[2] is not None]
    ticks = nice_ticks(max([m[3] or 0 for m in points] + [1]))
    top = ticks[-1]
    inner_w, inner_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + inner_h * (1 - v / top)

    slot = inner_w / max(len(points), 1)

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    parts = [_axes(ticks, y)]
    for i, (month, count, _median, _p95, low) in enumerate(points):
        if low:
            parts.append(
                f'<rect class="low" x="{x(i) - slot / 2:.1f}" y="{TOP}" width="{slot:.1f}" height="{inner_h}">'
                f"<title>{escape(f'{month:%b %Y}: only {count} PRs, low sample')}</title></rect>"
            )
        parts.append(f'<text class="xtick" x="{x(i):.1f}" y="{H - BOTTOM + 16}">{month:%b}</text>')
    series = (
        ("p95", ORANGE, "5 4", [p[3] or 0.0 for p in points]),
        ("median", NAVY, "", [p[2] or 0.0 for p in points]),
    )
    for label, colour, dash, values in series:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        if path:
            parts.append(
                f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.2" stroke-dasharray="{dash}"/>'
            )
        for i, (point, value) in enumerate(zip(points, values, strict=True)):
            tip = f"{point[0]:%b %Y} {label}: {value:.1f} h over {point[1]} PRs" + (" (low sample)" if point[4] else "")
            fill = "#fff" if point[4] else colour  # hollow: do not read much into this month
            parts.append(
                f'<circle class="point" cx="{x(i):.1f}" cy="{y(value):.1f}" r="4" fill="{fill}" '
                f'stroke="{colour}" stroke-width="2"><title>{escape(tip)}</title></circle>'
            )
    legend = _legend([(NAVY, "line", "median"), (ORANGE, "dash", "p95"), (GREY, "low", "low sample (few PRs)")])
    return _svg("".join(parts) + legend, "Lead time per month")


def _legend(items: Sequence[tuple[str, str, str]]) -> str:
    parts, x = [], LEFT
    for colour, kind, label in items:
        y = H - 12
        if kind == "rect":
            parts.append(f'<rect x="{x}" y="{y - 9}" width="12" height="10" fill="{colour}" rx="2"/>')
        elif kind == "low":
            parts.append(f'<rect class="low" x="{x}" y="{y - 9}" width="12" height="10"/>')
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
            parts.append(
                f'<line x1="{x}" x2="{x + 14}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" stroke-width="2.2"{dash}/>'
            )
        parts.append(f'<text class="legend" x="{x + 18}" y="{y}">{escape(label)}</text>')
        x += 28 + 7 * len(label)
    return "".join(parts)


def _svg(body: str, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Delivery metrics · dora-collector</title>
<style>{css}</style></head>
<body><header><h1>Delivery metrics</h1><p class="subtitle">{subtitle}</p><nav>{nav}</nav></header>
<main>{sections}{health}</main>
<footer>Every figure comes from the documented SQL views (view_team_velocity, view_dora_lead_time,
view_open_pr_age, view_unattributed_prs, view_unmapped_authors): weeks start on Monday, UTC; a PR counts
for each team its author belonged to when it merged. Produced by dora-collector.</footer>
</body></html>
"""

_CSS = """
:root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --card:#fff; --bg:#f1f5f9; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:linear-gradient(120deg,#0f172a,#1e3a8a); color:#fff; padding:28px 40px 18px; }
h1 { margin:0; font-size:26px; letter-spacing:-.01em; }
.subtitle { margin:4px 0 14px; color:#cbd5e1; }
nav a { display:inline-block; margin:0 8px 6px 0; padding:3px 12px; border-radius:999px; color:#e0e7ff;
        background:rgba(255,255,255,.12); text-decoration:none; font-size:13px; }
main { padding:24px 40px; max-width:1260px; }
section { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 22px;
          margin-bottom:22px; box-shadow:0 1px 2px rgba(15,23,42,.05); }
h2 { margin:0 0 12px; font-size:19px; } h3 { font-size:15px; margin:14px 0 8px; }
.tiles { display:flex; flex-wrap:wrap; gap:12px; margin-bottom:8px; }
.tile { flex:1 1 150px; border:1px solid var(--line); border-radius:10px; padding:10px 14px; background:#f8fafc; }
.tile.small { flex:0 1 170px; }
.tile .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.tile .value { font-size:24px; font-weight:650; }
.tile .note { color:var(--muted); font-size:12px; }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:18px; }
figure { margin:0; } figcaption { font-weight:600; margin:6px 0 2px; color:#334155; }
svg.chart { width:100%; height:auto; }
svg .grid { stroke:#e2e8f0; stroke-width:1; }
svg text { font:11px system-ui,sans-serif; fill:#64748b; }
svg .ytick { text-anchor:end; } svg .xtick { text-anchor:middle; } svg .legend { fill:#334155; }
svg .low { fill:#e2e8f0; fill-opacity:.55; stroke:#cbd5e1; stroke-dasharray:3 3; }
.tables { display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:18px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th { text-align:left; color:var(--muted); font-weight:600; border-bottom:2px solid var(--line); padding:6px 8px; }
td { border-bottom:1px solid var(--line); padding:5px 8px; }
tr:nth-child(even) td { background:#f8fafc; }
.empty { color:var(--muted); font-style:italic; }
code { background:#eef2ff; padding:1px 5px; border-radius:4px; font-size:13px; }
footer { color:var(--muted); font-size:12px; padding:0 40px 30px; max-width:1260px; }
"""


def write_report(out: Path, html: str) -> None:
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
