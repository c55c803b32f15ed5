"""Properties of the input readers over generated inputs (hypothesis): settings, database URLs, teams files.

The CLI's own properties, through ``main`` and a real process, are in tests/e2e/test_cli_inputs.py.
"""

import json
import re
import warnings
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL, make_url

from collector.config import Settings, load_settings, normalize_database_url
from collector.errors import ConfigError, TeamsFileError
from collector.membership import decode_teams_file, parse_instant, parse_organisation, parse_teams
from collector.models import Organisation, OwnerSpec
from tests.strategies import closed_database_urls, environments, json_values, owners, teams_documents


def outcome(read, *args):
    """What a reader made of its input: its value, or the one-line message it refused it with."""
    try:
        return read(*args)
    except (ConfigError, TeamsFileError) as exc:
        assert "\n" not in str(exc)
        return type(exc).__name__, str(exc)


@given(environments(closed_database_urls()), st.booleans())
@settings(max_examples=200)
def test_any_environment_gives_settings_or_one_line_that_shows_no_secret(drawn, need_github):
    environ, secrets = drawn
    result = outcome(lambda: load_settings(environ, need_github=need_github))
    if isinstance(result, Settings):
        return
    message = result[1]
    assert message.isprintable()  # a value quoted back is escaped: no line break, no terminal escape
    for secret in secrets:
        assert secret not in message


hosts = st.sampled_from(["db.example.com", "127.0.0.1", "2001:db8::1", "ep-cool-1.eu-central-1.aws.neon.tech"])
names = st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=12)


@given(
    scheme=st.sampled_from(["postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"]),
    user=st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),  # SQLAlchemy renders no password without one
    password=st.text(st.characters(codec="utf-8"), max_size=16),
    host=hosts,
    port=st.integers(1, 65535),
    database=names,
    sslmode=st.sampled_from([None, "require", "verify-full"]),
)
@example(scheme="postgres", user="u", password="p@ss:w/rd#?%", host="db.example.com", port=5432, database="d",
         sslmode="require")  # fmt: skip
def test_a_url_rendered_from_any_credentials_reads_back_the_same(scheme, user, password, host, port, database, sslmode):
    """What a provider's console renders (percent-encoded), normalizing reads back exactly: special characters in
    a password included. Control characters are refused, since psycopg's connection string cannot carry NUL."""
    query = {"sslmode": sslmode} if sslmode else {}
    rendered = URL.create(scheme, user or None, password or None, host, port, database or None, query)
    result = outcome(normalize_database_url, rendered.render_as_string(hide_password=False))
    printable = all(part.isprintable() for part in (user, password, database))
    if not printable:
        assert result[0] == "ConfigError" and "control character" in result[1]
        return
    url = make_url(result)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database, dict(url.query)) == (
        user, password or None, host, port, database or None, query,
    )  # fmt: skip


SUPPORTED = ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]


@given(teams_documents, st.sampled_from(SUPPORTED), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_a_teams_document_reads_the_same_whatever_unicode_encoding_and_line_ending_it_was_saved_with(
    document, encoding, newline, indent
):
    text = json.dumps(document, ensure_ascii=False, indent=2 if indent else None)
    saved = text.replace("\n", newline).encode(encoding)
    assert outcome(lambda: parse_teams(decode_teams_file(saved))) == outcome(parse_teams, text)


@given(st.binary(max_size=200))
@example(b"\xff\xfe{\x00")  # a UTF-16 BOM and half a character
@example(b"\xef\xbb\xbf")
def test_any_bytes_are_teams_or_one_line(raw):
    outcome(lambda: parse_teams(decode_teams_file(raw)))  # anything but a TeamsFileError fails the test


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
@given(document=teams_documents)
def test_a_legacy_code_page_reads_the_same_or_is_refused_in_one_line(encoding, document):
    text = json.dumps(document, ensure_ascii=False)
    saved = text.encode(encoding, errors="replace")
    result = outcome(lambda: parse_teams(decode_teams_file(saved)))
    if text.isascii():
        assert result == outcome(parse_teams, text)
    elif isinstance(result, tuple) and result[0] == "TeamsFileError" and "not UTF-8" in result[1]:
        assert result[1].endswith("save it as UTF-8")


# ---------------------------------------------------------------- the teams file's repositories

OWNER_TEAMS = [{"name": name, "members": []} for name in ("platform", "data", "mobile")]


def _active_sum(owners, instant):
    return sum(o.share for o in owners if o.owned_from <= instant and not (o.owned_until and o.owned_until <= instant))


@given(st.lists(owners(), max_size=5))
@settings(max_examples=300)
def test_owners_are_accepted_exactly_when_no_team_overlaps_itself_and_shares_never_pass_one(drawn):
    """The sweep against the plain definition: the sum at every instant an owner starts (sums only rise
    there), and each team's intervals pairwise."""
    text = json.dumps({"teams": OWNER_TEAMS, "repositories": [{"name": "acme/api", "owners": drawn}]})
    result = outcome(parse_organisation, text)
    if isinstance(result, tuple) and "must be after from" in result[1]:
        return  # an empty interval, refused before the rules across owners apply
    owners_read = [
        OwnerSpec(o["team"].lower(), Decimal(str(o.get("share", 1))), parse_instant(o.get("from", "1970-01-01")),
                  parse_instant(o["until"]) if "until" in o else None)
        for o in drawn
    ]  # fmt: skip
    overlap = any(
        a.team == b.team
        and a.owned_from < (b.owned_until or datetime.max.replace(tzinfo=UTC))
        and b.owned_from < (a.owned_until or datetime.max.replace(tzinfo=UTC))
        for i, a in enumerate(owners_read)
        for b in owners_read[i + 1 :]
    )
    past_one = any(_active_sum(owners_read, o.owned_from) > 1 for o in owners_read)
    if overlap or past_one:
        assert isinstance(result, tuple), f"accepted {drawn}"
        assert ("twice for overlapping times" in result[1]) == overlap
        assert ("shares sum to" in result[1]) == past_one
    else:
        assert isinstance(result, Organisation), result
        assert sorted(result.repositories[0].owners, key=repr) == sorted(owners_read, key=repr)


@given(st.text(max_size=210) | st.from_regex(r"\^?\(?[a-z|()\[\]*+?{}\\,0-9-]{0,20}\$?", fullmatch=True))
@example("[[a]")  # Python's re warns of a nested set it will read differently one day
@example("(" * 100 + ")" * 100)
def test_any_environment_is_a_pattern_python_compiles_or_one_line(environment):
    document = {"teams": [], "repositories": [{"name": "acme/api", "deployments": {"environment": environment}}]}
    result = outcome(parse_organisation, json.dumps(document))
    if isinstance(result, Organisation):
        pattern = result.repositories[0].environment_pattern
        assert pattern == environment and len(pattern) <= 200
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            re.compile(pattern, re.IGNORECASE)
    else:
        assert "environment" in result[1]


@given(st.one_of(st.text(max_size=30), st.integers(), st.text("0123456789", min_size=15, max_size=25), json_values))
def test_any_workflow_is_a_file_name_or_an_id_or_one_line(workflow):
    deployments = {"source": "workflow", "workflow": workflow}
    result = outcome(
        parse_organisation, json.dumps({"teams": [], "repositories": [{"name": "a/b", "deployments": deployments}]})
    )
    if isinstance(result, Organisation):
        stored = result.repositories[0].workflow
        assert stored is not None
        assert (stored.endswith((".yml", ".yaml")) and "/" not in stored) or 0 < int(stored) < 2**63
