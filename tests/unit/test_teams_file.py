"""The teams file: every rejection rule, and what a valid file means."""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from collector import membership
from collector.errors import TeamsFileError
from collector.membership import decode_teams_file, load_teams_file, parse_teams


def doc(*members, name="platform", extra_teams=()):
    return json.dumps({"teams": [{"name": name, "members": list(members)}, *extra_teams]})


def m(login="alice", weight=1.0, joined="2025-01-01", left=None):
    return {"github_username": login, "allocation_weight": weight, "joined_at": joined, "left_at": left}


def reject(text, match):
    with pytest.raises(TeamsFileError, match=match) as info:
        parse_teams(text)
    assert "\n" not in str(info.value)


def test_valid_file_parses_dates_as_midnight_utc():
    (team,) = parse_teams(doc(m(left="2025-06-01")))
    (member,) = team.members
    assert member.joined_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert member.left_at == datetime(2025, 6, 1, tzinfo=UTC)
    assert member.allocation_weight == Decimal("1.0")


def test_datetimes_with_offsets_are_converted_to_utc():
    (team,) = parse_teams(doc(m(joined="2025-01-01T09:30:00+02:00")))
    assert team.members[0].joined_at == datetime(2025, 1, 1, 7, 30, tzinfo=UTC)


def test_left_at_may_be_absent():
    member = {"github_username": "alice", "allocation_weight": 1, "joined_at": "2025-01-01"}
    (team,) = parse_teams(json.dumps({"teams": [{"name": "t", "members": [member]}]}))
    assert team.members[0].left_at is None


def test_invalid_json_is_rejected():
    reject('{"teams": [', "invalid JSON at line 1")


def test_team_without_name_is_rejected():
    reject(json.dumps({"teams": [{"members": []}]}), "a team needs a non-empty name")
    reject(json.dumps({"teams": [{"name": "  ", "members": []}]}), "a team needs a non-empty name")


@pytest.mark.parametrize("weight", [0, -0.5, 1.01, 2])
def test_weight_outside_zero_one_is_rejected(weight):
    reject(doc(m(weight=weight)), r"allocation_weight must be in \(0, 1\]")


def test_weight_of_exactly_one_is_accepted():
    assert parse_teams(doc(m(weight=1)))[0].members[0].allocation_weight == 1


def test_left_at_not_after_joined_at_is_rejected():
    reject(doc(m(joined="2025-03-01", left="2025-03-01")), "must be after joined_at")
    reject(doc(m(joined="2025-03-01", left="2025-02-01")), "must be after joined_at")


@pytest.mark.parametrize("bad", ["2025-13-01", "yesterday", "01/02/2025"])
def test_unparseable_date_is_rejected(bad):
    reject(doc(m(joined=bad)), "is not an ISO-8601 date")


def test_overlapping_memberships_of_one_user_in_a_team_are_rejected_case_insensitively():
    reject(
        doc(m("alice", joined="2025-01-01", left="2025-06-01"), m("ALICE", joined="2025-05-01")),
        "overlapping memberships in team 'platform'",
    )


def test_back_to_back_memberships_in_a_team_are_fine():
    (team,) = parse_teams(doc(m("alice", 1, "2025-01-01", "2025-06-01"), m("alice", 0.5, "2025-06-01")))
    assert len(team.members) == 2


def test_weights_summing_past_one_at_some_instant_are_rejected():
    other = {"name": "payments", "members": [m("Alice", 0.5, "2025-03-01", "2025-04-01")]}
    reject(doc(m("alice", 0.6), extra_teams=[other]), r"weights sum to 1.1 > 1 from 2025-03-01")


def test_leaving_one_team_as_joining_another_is_not_an_overlap():
    other = {"name": "payments", "members": [m("alice", 1, "2025-06-01")]}
    teams = parse_teams(doc(m("alice", 1, "2025-01-01", "2025-06-01"), extra_teams=[other]))
    assert len(teams) == 2


def test_split_time_summing_to_one_is_accepted():
    other = {"name": "payments", "members": [m("alice", 0.5)]}
    assert len(parse_teams(doc(m("alice", 0.5), extra_teams=[other]))) == 2


def test_unknown_keys_are_rejected_rather_than_defaulted():
    bad = {"github_username": "alice", "allocation_wieght": 0.5, "joined_at": "2025-01-01"}
    reject(json.dumps({"teams": [{"name": "t", "members": [bad]}]}), "unknown key 'allocation_wieght'")


def test_duplicate_team_names_are_rejected():
    reject(doc(extra_teams=[{"name": "Platform", "members": []}]), "appears twice")


def test_more_than_four_decimals_in_a_weight_is_rejected():
    reject(doc(m(weight=0.33333)), "more than 4 decimals")


# ---------------------------------------------------------------- the file as editors save it (issue "The first hour")

VALID = doc(m("alice", 0.5, "2025-01-01", "2025-06-01"), m("björn", 1, "2025-02-01T09:30:00+02:00"), name="plätform")


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: text.encode("utf-8-sig"),  # Notepad's "UTF-8 with BOM", VS Code's "UTF-8 with BOM"
        lambda text: text.encode("utf-16"),  # Notepad's "Unicode": UTF-16 LE with a BOM
        lambda text: b"\xfe\xff" + text.encode("utf-16-be"),  # "Unicode big endian"
        lambda text: text.encode("utf-16-le"),  # no BOM: JSON's ASCII first character tells
        lambda text: text.encode("utf-32"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-32"],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_teams_file_saved_by_a_common_editor_reads_the_same(encode, newline):
    """Regression: a file with a BOM was 'invalid JSON', a UTF-16 one ended in UnicodeDecodeError."""
    text = json.dumps(json.loads(VALID), indent=2, ensure_ascii=False).replace("\n", newline)
    assert parse_teams(decode_teams_file(encode(text))) == parse_teams(VALID)


def test_a_file_in_a_legacy_code_page_is_refused_with_where_and_what_to_do():
    text = json.dumps(json.loads(VALID), ensure_ascii=False).encode("cp1252")  # Notepad's "ANSI"
    with pytest.raises(
        TeamsFileError, match=r"^teams file: not UTF-8 text \(byte 0xe4 at offset \d+\); save it as UTF-8$"
    ):
        decode_teams_file(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "JSON nested too deeply"),
        ('{"teams": [' + "9" * 5000 + "]}", "a number too long to read"),
    ],
)
def test_json_python_cannot_hold_is_one_line(text, message):
    """Regression: json raised RecursionError and ValueError (int digit limit), not JSONDecodeError."""
    reject(text, message)


@pytest.mark.parametrize("instant", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"])
def test_an_instant_outside_the_calendar_in_utc_is_one_line(instant):
    """Regression: converting these to UTC raised OverflowError."""
    reject(doc(m(joined=instant)), "is not an ISO-8601 date or datetime")


@pytest.mark.parametrize(
    ("team", "message"),
    [
        ({"name": "plat\x00form"}, r"the name 'plat\\x00form' contains a NUL or a lone surrogate"),
        ({"name": "platform", "description": "a\x00b"}, "description contains a NUL or a lone surrogate"),
        ({"name": "platform", "members": [m("al\x00ice")]}, "github_username must be a non-empty login"),
        ({"name": "platform", "members": [m("al\u200bice")]}, "github_username must be a non-empty login"),
    ],
)
def test_text_postgresql_cannot_store_and_logins_github_cannot_have_are_refused(team, message):
    """A zero-width space pasted into a login would never match GitHub's; a NUL PostgreSQL refuses. Other
    characters in names are allowed: the report isolates and cleans them (tests/e2e/test_report.py)."""
    reject(json.dumps({"teams": [team]}), message)


def test_a_file_that_cannot_be_opened_is_one_line(tmp_path):
    for path, message in [
        (tmp_path / "missing.json", "cannot read (No such file or directory)"),
        (tmp_path, "cannot read (Is a directory)"),
        (tmp_path / "a\x00b.json", "not a usable path"),
    ]:
        with pytest.raises(TeamsFileError, match=re.escape(message)):
            load_teams_file(path)


def test_a_file_far_larger_than_any_teams_file_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(membership, "MAX_TEAMS_FILE_BYTES", 2**20)
    big = tmp_path / "dump.json"
    big.write_bytes(b" " * (2**20 + 1))
    with pytest.raises(TeamsFileError, match=r"larger than 1 MiB; is it the right file\?$"):
        load_teams_file(big)


def test_every_mistake_in_the_file_is_reported_at_once():
    doc = {"teams": [
        {"name": "a", "members": [
            {"github_username": "x", "allocation_wieght": 1, "joined_at": "2024-01-01"},
            {"github_username": "y", "joined_at": "someday"},
        ]},
        {"name": ""},
    ]}  # fmt: skip
    with pytest.raises(TeamsFileError) as info:
        parse_teams(json.dumps(doc))
    message = str(info.value)
    assert message.startswith("teams file: 3 problems: (1) teams[0] (a).members[0]: unknown key 'allocation_wieght'")
    assert "(2) teams[0] (a).members[1] (y): joined_at" in message
    assert "(3) teams[1]: a team needs a non-empty name" in message
    assert "\n" not in message


def test_many_mistakes_are_counted_and_the_first_ten_shown():
    doc = {"teams": [{"name": ""} for _ in range(12)]}
    with pytest.raises(TeamsFileError, match=r"^teams file: 12 problems: \(1\) .*\(10\) teams\[9\].*; and 2 more$"):
        parse_teams(json.dumps(doc))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"Teams": []}, "no \"teams\" key (found 'Teams': keys are case-sensitive)"),
        ({"people": []}, 'no "teams" key; expected {"teams": [...]}'),
        ({"teams": {}}, '"teams" must be a list of teams'),
    ],
)
def test_a_wrong_top_level_says_what_is_wrong_with_it(doc, message):
    with pytest.raises(TeamsFileError) as info:
        parse_teams(json.dumps(doc))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ("1e99999999999999999999", "a number too long to read"),
        ("1e-999999999999999", "has more than 4 decimals"),
        ("0.50000", None),
        ("0.12345", "has more than 4 decimals"),
    ],
)
def test_weights_at_the_edges_of_decimal(weight, message):
    doc = '{"teams": [{"name": "a", "members": [{"github_username": "x", "joined_at": "2024-01-01", ' \
          f'"allocation_weight": {weight}}}]}}]}}'  # fmt: skip
    if message is None:
        assert parse_teams(doc)[0].members[0].allocation_weight == Decimal("0.5")
    else:
        with pytest.raises(TeamsFileError, match=re.escape(message)):
            parse_teams(doc)


@pytest.mark.parametrize("field", ["name", "description"])
def test_a_cut_emoji_in_a_name_or_description_is_refused_in_one_line(field):
    team = {"name": "mobile", field: "mobile \ud83d"}
    with pytest.raises(TeamsFileError, match="lone surrogate"):
        parse_teams(json.dumps({"teams": [team]}))


def test_a_key_given_twice_is_refused_rather_than_silently_dropping_the_first():
    alice = '{"github_username": "alice", "joined_at": "2024-01-01"}'
    doc = '{"teams": [{"name": "a", "members": [' + alice + '], "members": []}]}'
    with pytest.raises(TeamsFileError, match="the key 'members' appears twice in one object"):
        parse_teams(doc)
