"""Items GitHub should never send, decoded one by one: each costs only itself (collector/fetch.py)."""

import json
from pathlib import Path

import pytest

from collector.fetch import MAX_TITLE, decode_page
from collector.github_api import GitHubRequestError

DATA = Path(__file__).parents[1] / "data"
GOOD = json.loads((DATA / "list-pulls.example-200.json").read_text())[0]


def item(**changes):
    return {**GOOD, "number": 7, **changes}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"number": "7"}, "Expected `int`, got `str`"),
        ({"number": 2**31}, "number 2147483648 is out of range"),
        ({"number": -3}, "number -3 is out of range"),
        ({"created_at": "yesterday"}, "Invalid RFC3339"),
        ({"updated_at": "2026-06-01T00:00:00"}, "updated_at has no time zone"),
        ({"merged_at": "0001-01-01T00:00:00Z"}, "merged_at 0001-01-01T00:00:00+00:00 is not a plausible time"),
        ({"created_at": "9999-12-31T23:59:59Z"}, "not a plausible time"),
        ({"created_at": "2026-06-02T00:00:00Z", "merged_at": "2026-06-01T00:00:00Z"}, "merged_at is before created_at"),
        ({"state": "merged"}, "state 'merged' is neither open nor closed"),
        ({"state": None}, "Expected `str`, got `null`"),
        ({"user": {"login": 123}}, "Expected `str`, got `int`"),
        ({"user": {"login": ""}}, "the author's login is empty"),
        ({"base": "main"}, "Expected `object | null`, got `str`"),
        ({"title": ["a list"]}, "Expected `str | null`, got `array`"),
    ],
)
def test_an_item_with_a_value_we_refuse_is_refused_alone_with_its_reason(changes, reason):
    prs, refused, _ = decode_page(json.dumps([item(number=1), item(**changes), item(number=3)]), "o/r")
    assert [pr.number for pr in prs] == [1, 3]
    (refusal,) = refused
    assert reason in refusal.reason
    assert len(refusal.excerpt) <= 200 and "\n" not in refusal.excerpt


def test_a_refused_item_is_known_by_its_number_or_else_by_a_hash_of_it():
    _, refused, _ = decode_page(json.dumps([item(state="weird"), item(number="x"), item(number="x")]), "o/r")
    assert refused[0].item == "7" and refused[0].number == 7
    assert refused[1].item.startswith("sha256:") and refused[1].number is None
    assert refused[1].item == refused[2].item  # the same item is the same quarantine row on every run


def test_a_missing_required_field_is_refused():
    broken = {k: v for k, v in item().items() if k != "updated_at"}
    prs, refused, _ = decode_page(json.dumps([broken]), "o/r")
    assert prs == () and "updated_at" in refused[0].reason


@pytest.mark.parametrize(
    ("title", "stored"),
    [
        ("fix\u0000 the parser", "fix the parser"),  # PostgreSQL text cannot hold NUL: dropped
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),  # not UTF-8: the replacement character
        ("x" * 100_000, "x" * MAX_TITLE),  # GitHub allows 256 characters: a huge one is cut
        ("emoji 🚀 and RTL \u202e text", "emoji 🚀 and RTL \u202e text"),  # kept: the report isolates it
    ],
)
def test_faithful_normalisations_of_text(title, stored):
    body = json.dumps([item(title=title)])  # json.dumps writes the surrogate as an escape, as GitHub could
    (pr,), refused, _ = decode_page(body, "o/r")
    assert refused == () and pr.title == stored


def test_a_login_with_nul_is_normalised_like_a_title():
    (pr,), _, _ = decode_page(json.dumps([item(user={"login": "ali\u0000ce", "type": "User"})]), "o/r")
    assert pr.author == "alice"


@pytest.mark.parametrize(
    "body",
    ["<html>Unicorn!</html>", '{"message": "Moved Permanently"}', "", "[1, 2", "null", '"a string"'],
)
def test_an_answer_that_is_not_a_list_costs_its_page_with_one_clear_line(body):
    with pytest.raises(GitHubRequestError, match="not a list of pull requests") as info:
        decode_page(body, "o/r")
    assert "\n" not in str(info.value)


def test_the_oldest_update_is_that_of_the_readable_items():
    older = item(number=8, updated_at="2011-01-20T00:00:00Z")
    _, _, oldest = decode_page(json.dumps([item(), older, item(number=9, updated_at="bad")]), "o/r")
    assert oldest.isoformat() == "2011-01-20T00:00:00+00:00"


@pytest.mark.parametrize(
    ("etag", "kept"),
    [
        ('W/"abc123"', True),
        ('"' + "a" * 5000 + '"', False),  # a megabyte-sized header would be stored and sent back each run
        ('"abc"\r\nX-Injected: 1', False),
        ('"caf\u00e9"', False),
        ("", False),
    ],
)
def test_only_a_sane_etag_is_kept(etag, kept):
    from collector.fetch import etag_worth_keeping

    assert (etag_worth_keeping(etag) == etag) is kept
