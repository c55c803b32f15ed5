"""GitHub's own answers, decoded by the collector's edge: the official list example and a recorded real PR."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.fetch import decode_page
from collector.github_api import GitHubRequestError

DATA = Path(__file__).parents[1] / "data"


def decoded(body, repository):
    prs, refused, _ = decode_page(body, repository)
    assert refused == ()
    return prs


def test_githubs_list_example_decodes_to_the_list_fields():
    (pr,) = decoded((DATA / "list-pulls.example-200.json").read_text(), "octocat/Hello-World")
    assert (pr.number, pr.state, pr.author, pr.is_bot) == (1347, "open", "octocat", False)
    assert (pr.base_ref, pr.default_branch) == ("master", "master")
    assert pr.created_at == datetime(2011, 1, 26, 19, 1, 12, tzinfo=UTC)
    assert pr.merged_at == datetime(2011, 1, 26, 19, 1, 12, tzinfo=UTC)


def test_a_recorded_pr_by_dependabot_is_a_bot():
    item = json.loads((DATA / "recorded-full-pr-by-bot.json").read_text())
    (pr,) = decoded(json.dumps([item]), "PyGithub/PyGithub")
    assert pr.is_bot and pr.author == "dependabot[bot]"
    assert pr.merged_at == datetime(2025, 11, 19, 17, 43, 18, tzinfo=UTC)
    assert pr.base_ref == pr.default_branch == "main"


def test_a_null_user_is_a_deleted_author_and_ghost_too():
    item = json.loads((DATA / "list-pulls.example-200.json").read_text())[0]
    ghost = {**item, "user": {**item["user"], "login": "ghost"}}
    prs = decoded(json.dumps([{**item, "user": None}, ghost]), "o/r")
    assert [p.author for p in prs] == [None, None]


def test_an_answer_that_is_not_a_pull_list_is_a_clear_error():
    with pytest.raises(GitHubRequestError, match="not a list of pull requests"):
        decode_page('{"message": "Moved Permanently"}', "o/r")
