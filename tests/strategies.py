"""Hypothesis strategies for what people hand the CLI: environment values, database URLs, teams files, arguments.

Secrets are drawn distinctive (a fixed prefix and enough characters) so that finding one in the output means
it leaked, never that it happened to spell a word of a message.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.app_keys import app_key

# Nothing listens here: a URL that passes validation fails to connect at once. Every URL drawn below that
# could pass names this port explicitly, so no draw reaches a server on a default port or socket.
CLOSED_PORT = "9"

# Values people paste, and values nobody should: NUL, line breaks, lone surrogates (os.environ holds them for
# undecodable bytes), look-alike digits, huge values.
ODD_VALUES = [
    "", " ", "\t", "\r", "\n", "\x00", "\x1b[2J", "\u2028", "\udcff", "0", "-1", "+7", "1_0", "\u0663", "\uff19",
    "99999999999999999999", "null", "None", "true", "${DATABASE_URL}", "'quoted'", '"quoted"', "9" * 5000,
    "x" * 100_000, "acme/api\nacme/web",
]  # fmt: skip
hostile = st.one_of(
    st.text(max_size=40),
    st.sampled_from(ODD_VALUES),
    st.integers(-(10**6), 10**20).map(str),
)


def padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value as an env file may leave it: spaces, a tab, or the \\r of a file saved with CRLF line endings."""
    pad = st.sampled_from(["", "", "", " ", "\t", "\r", "\r\n", "  "])
    return st.builds(lambda before, value, after: before + value + after, pad, values, pad)


def mostly(usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any], odds: int = 4) -> st.SearchStrategy[Any]:
    """``usual`` about ``odds`` times in ``odds + 1``: most settings people give are right, and a run with one
    wrong setting reaches further than one with five. Shrinks towards ``usual``."""
    return st.sampled_from([True] * odds + [False]).flatmap(lambda yes: usual if yes else unusual)


def present() -> st.SearchStrategy[bool]:
    return st.sampled_from([True, True, True, False])


def now_and_then(odds: int) -> st.SearchStrategy[bool]:
    """True once in ``odds + 1`` draws (``st.integers`` would favour its bounds); shrinks to False."""
    return st.sampled_from([False] * odds + [True])


tokens = st.text(string.ascii_letters + string.digits, min_size=36, max_size=36).map("ghp_".__add__)
# Password managers make letters, digits, punctuation (@ : / # % included); now and then anything at all.
passwords = mostly(
    st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S"]), min_size=6, max_size=16),
    st.text(st.characters(codec="utf-8"), min_size=6, max_size=16),
).map("pw-".__add__)
private_keys = st.builds(lambda: app_key().private_pem)


def integers_text(low: int, high: int) -> st.SearchStrategy[str]:
    return mostly(st.integers(low, high).map(str), hostile, odds=6)


@st.composite
def closed_database_urls(draw: st.DrawFn) -> tuple[str, str]:
    """A URL built the ways people build them, pointing at nothing, often with one part wrong; returns
    (url, password)."""
    password = draw(passwords)
    written = quote(password, safe="") if draw(st.booleans()) else password
    wrong = draw(st.sampled_from([None] * 6 + ["scheme", "user", "host", "port", "database", "query"]))

    def part(name: str, right: list[str], wrongs: list[str]) -> str:
        return draw(st.sampled_from(wrongs if wrong == name else right))

    scheme = part(
        "scheme",
        ["postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "POSTGRES"],
        ["mysql", "postgresql+asyncpg", "http", "", "postgresql:"],
    )
    user = part("user", ["dora"], ["", "u%40x", "admin@server"])
    host = part("host", ["127.0.0.1", "[::1]", "localhost"], ["", "[::1", "[127.0.0.1]"])
    port = part("port", [CLOSED_PORT, "\uff19"], ["", "54x2", "99999", "0", "-1", "5432,h2:5432"])
    database = part("database", ["dora"], ["", "d%00b", "my db", "pl\u00e4tform"])
    query = part(
        "query",
        ["", "?sslmode=require", "?sslmode=disable&application_name=dora"],
        ["?sslmode=bogus", "?connect_timeout=x", "?pgbouncer=true", "?host=", "?application_name=%00"],
    )
    return f"{scheme}://{user}:{written}@{host}:{port}/{database}{query}", password


def environments(
    database_urls: st.SearchStrategy[tuple[str, str]], teams_file: str = "teams.json"
) -> st.SearchStrategy[tuple[dict[str, str], list[str]]]:
    """Any subset of the settings, most of them valid; returns (environment, the secrets in it)."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[dict[str, str], list[str]]:
        env: dict[str, str] = {}
        secrets: list[str] = []
        pastable: list[str] = []  # what could land in the wrong setting: not a bare password, a typo's twin
        if draw(present()):
            url, password = draw(mostly(database_urls, hostile.map(lambda value: (value, ""))))
            env["DATABASE_URL"] = draw(padded(st.just(url)))
            secrets += [password, quote(password, safe="")] if password else []
            pastable += [url] if password else []
        token = draw(tokens)
        if draw(present()):  # a token, usually; a GitHub App sometimes; both, or neither, now and then
            env["GITHUB_TOKEN"] = draw(padded(mostly(st.just(token), hostile)))
            secrets.append(token)
            pastable.append(token)
        if draw(st.sampled_from([False, False, False, True])):
            env["GITHUB_APP_ID"] = draw(mostly(st.just("4242"), hostile))
            env["GITHUB_APP_INSTALLATION_ID"] = draw(mostly(st.just("7001"), hostile))
            if draw(present()):
                pem = draw(mostly(private_keys, private_keys.map(lambda pem: pem[:500])))
                env["GITHUB_APP_PRIVATE_KEY"] = draw(st.sampled_from([pem, pem.replace("\n", "\\n")]))
                secrets += app_key().body_lines
                pastable += [app_key().private_pem, app_key().body_lines[0]]
        settings = {
            "REPOSITORIES": mostly(st.just("acme/api, acme/web"), st.lists(hostile, max_size=3).map(",".join)),
            "GITHUB_API_URL": mostly(st.just(f"http://127.0.0.1:{CLOSED_PORT}"), hostile),
            "TEAMS_FILE": mostly(st.just(teams_file), hostile),
            "MAX_WORKERS": integers_text(1, 32),
            "LOOKBACK_DAYS": integers_text(1, 3650),
            "GITHUB_MAX_REQUESTS_PER_MINUTE": integers_text(0, 100_000),
            "GITHUB_CONCURRENT_RUNS": integers_text(1, 100),
            "GITHUB_RATE_LIMIT_RESERVE_PERCENT": integers_text(0, 90),
            "LOG_LEVEL": mostly(st.sampled_from(["DEBUG", "info", "Warning", "ERROR"]), hostile),
            "LOG_FORMAT": mostly(st.sampled_from(["auto", "json", "text", "JSON"]), hostile),
        }
        for name, values in settings.items():
            if draw(present() if name == "REPOSITORIES" else st.booleans()):
                env[name] = draw(padded(values))
        # A credential pasted into the wrong setting must not be quoted back either.
        if pastable and draw(now_and_then(4)):
            env[draw(st.sampled_from(sorted(settings)))] = draw(st.sampled_from(pastable))
        return env, secrets

    return build()


# ---------------------------------------------------------------- teams files

logins = mostly(st.sampled_from(["alice", "Alice", "bob", "dependabot[bot]", "a-b"]), st.text(max_size=8))
offsets = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
instants = mostly(
    st.one_of(
        st.dates(date(2015, 1, 1), date(2030, 12, 31)).map(str),
        # hypothesis takes naive bounds and draws the timezone
        st.datetimes(datetime(2015, 1, 1), datetime(2030, 12, 31), timezones=st.none() | offsets).map(  # noqa: DTZ001
            lambda at: at.isoformat()
        ),
    ),
    st.one_of(
        st.sampled_from(["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00", "2025-13-01", "yesterday", ""]),
        st.dates().map(str),
        st.text(max_size=12),
    ),
)
weights = mostly(
    st.sampled_from([1, 0.5, 0.25, 0.3333]),
    st.one_of(st.sampled_from([0, -1, 2, 0.33333, True, "1", None]), st.floats(), st.integers()),
)
members = st.builds(
    lambda login, joined, extra: {"github_username": login, "joined_at": joined, **extra},
    logins,
    mostly(instants, st.one_of(st.none(), st.integers())),
    mostly(
        st.fixed_dictionaries({}, optional={"allocation_weight": weights, "left_at": instants}),
        st.fixed_dictionaries({}, optional={"allocation_wieght": weights, "left_at": st.none() | st.integers()}),
    ),
)
teams = st.fixed_dictionaries(
    {"name": mostly(st.sampled_from(["platform", "data", "pl\u00e4tform", "mobile"]), st.text(max_size=10))},
    optional={
        "description": mostly(st.none() | st.text(max_size=20), st.integers()),
        "members": st.lists(members, max_size=3),
    },
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
# Owners' instants from a few dates, so that intervals touch, nest and overlap often.
OWNER_DATES = ["2024-01-01", "2024-07-01T00:00:00+00:00", "2025-01-01", "2026-01-01"]
shares = st.sampled_from([1, 0.5, 0.25, 0.3333, 0.6667, 0.75])


@st.composite
def owners(draw: st.DrawFn) -> dict[str, Any]:
    """An owner of a repository; its interval is mostly not empty (an empty one is refused before the rest)."""
    owner: dict[str, Any] = {"team": draw(st.sampled_from(["platform", "data", "mobile", "Platform"]))}
    if draw(st.booleans()):
        owner["share"] = draw(shares)
    start = draw(st.integers(-1, len(OWNER_DATES) - 1))  # -1: no "from", since always
    if start >= 0:
        owner["from"] = OWNER_DATES[start]
    end = draw(mostly(st.integers(start + 1, len(OWNER_DATES)), st.integers(0, len(OWNER_DATES))))
    if end < len(OWNER_DATES):
        owner["until"] = OWNER_DATES[end]
    return owner


deploy_rules = st.one_of(
    st.fixed_dictionaries({}, optional={"source": st.just("deployments"), "environment": st.text(max_size=12)}),
    st.fixed_dictionaries(
        {"source": st.just("workflow"), "workflow": st.sampled_from(["deploy.yml", "d.yaml", 7, "12", "a/b.yml"])}
    ),
    st.fixed_dictionaries({"source": st.sampled_from(["releases", "merges", "tags"])}),
)
repositories = st.fixed_dictionaries(
    {"name": mostly(st.sampled_from(["acme/api", "ACME/api", "acme/web"]), st.text(max_size=10))},
    optional={
        "owners": st.lists(owners(), max_size=3),
        "deployments": mostly(deploy_rules, json_values),
        "incidents": st.fixed_dictionaries({}, optional={"label": mostly(st.just("incident"), st.text(max_size=60))}),
    },
)
teams_documents = mostly(
    st.fixed_dictionaries(
        {"teams": st.lists(teams, max_size=3)}, optional={"repositories": st.lists(repositories, max_size=3)}
    ),
    json_values,
)
# What editors save: UTF-8 with or without BOM, UTF-16/32 (Notepad's "Unicode"), or a legacy code page.
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]
LEGACY = ["cp1252", "latin-1"]


@st.composite
def teams_files(draw: st.DrawFn) -> bytes:
    """A teams document as someone's editor saved it: any encoding, either line ending, now and then cut short."""
    text = json.dumps(draw(teams_documents), ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2])))
    text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n"])))
    raw = text.encode(draw(mostly(st.sampled_from(ENCODINGS), st.sampled_from(LEGACY))), errors="replace")
    if draw(now_and_then(9)):  # a copy cut short; an empty file is one of the hostile paths
        raw = raw[: draw(st.integers(1, max(1, len(raw) - 1)))]
    return raw
