"""A token or password typed in the wrong place is never printed back: not by argparse, not in a path."""

from pathlib import Path

import pytest

from collector.cli import main
from collector.config import redact_database_url
from collector.errors import TeamsFileError
from collector.membership import load_teams_file

TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.mark.parametrize(
    "argv",
    [["run", "--token", TOKEN], ["postgresql://u:hunter2@h/db"], ["report", "--team", "x", TOKEN]],
)
def test_argparse_does_not_repeat_a_pasted_secret(capsys, argv):
    assert main(argv, environ={}) == 2
    _, err = capsys.readouterr()
    assert TOKEN not in err and "hunter2" not in err
    assert "-character value" in err


def test_a_teams_file_path_that_is_a_token_is_not_printed(tmp_path):
    with pytest.raises(TeamsFileError) as info:
        load_teams_file(tmp_path / TOKEN)
    assert TOKEN not in str(info.value) and "cannot read" in str(info.value)


def test_an_ordinary_teams_file_path_is_printed_as_it_is(tmp_path):
    with pytest.raises(TeamsFileError, match=f"^teams file {tmp_path / 'nope.json'}: cannot read"):
        load_teams_file(Path(tmp_path / "nope.json"))


def test_a_password_in_the_urls_query_string_is_redacted_too():
    shown = redact_database_url("postgresql://app@db:5432/dora?password=S3CRET&sslpassword=K3Y&sslmode=require")
    assert "S3CRET" not in shown and "K3Y" not in shown
    assert "sslmode=require" in shown and "app@db:5432/dora" in shown
