"""What `dora-collector --help`, each command's help, `--version` and a wrong argument tell a user."""

from importlib.metadata import PackageNotFoundError, version

import pytest

import collector
from collector.cli import main
from collector.config import DATABASE_SETTINGS, SETTINGS_HELP, load_settings
from collector.errors import ConfigError, one_line

COMMANDS = {
    ("migrate",): DATABASE_SETTINGS,
    ("teams", "sync"): DATABASE_SETTINGS,
    ("report",): DATABASE_SETTINGS,
    ("run",): tuple(SETTINGS_HELP),
    ("demo",): (),
    ("serve",): DATABASE_SETTINGS,
    ("api-keys", "create"): DATABASE_SETTINGS,
    ("api-keys", "list"): DATABASE_SETTINGS,
    ("api-keys", "revoke"): DATABASE_SETTINGS,
}


def help_of(capsys, *command):
    assert main([*command, "--help"], environ={}) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_the_overview_says_what_it_is_for_how_to_start_and_what_exit_codes_mean(capsys):
    out = help_of(capsys)
    assert "per-team delivery metrics" in out
    for command in ("migrate", "teams", "run", "report", "demo", "serve", "api-keys"):
        assert f"\n    {command} " in out
    assert "first hour (" in out and "dora-collector teams sync --file teams.json" in out
    assert "exit status:" in out and "\n  2    bad input" in out


@pytest.mark.parametrize("command", list(COMMANDS), ids=" ".join)
def test_each_commands_help_lists_exactly_the_environment_variables_it_reads(capsys, command):
    out = help_of(capsys, *command)
    listed = {name for name in SETTINGS_HELP if f"\n  {name} " in out}
    assert listed == set(COMMANDS[command])
    if COMMANDS[command]:
        assert "(default INFO)" in out  # formats and defaults come with the names


class Recording(dict):
    """An environment that remembers which names were asked for."""

    def __init__(self, values):
        super().__init__(values)
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


@pytest.mark.parametrize(
    "environ",
    [{}, {"GITHUB_APP_ID": "4242", "GITHUB_APP_INSTALLATION_ID": "7001", "GITHUB_APP_PRIVATE_KEY": "x"}],
    ids=["empty", "app"],
)
def test_the_help_lists_every_setting_load_settings_reads(environ):
    # *_SECRET_ARN settings are the Lambda's (resolve_secrets), named in template.yaml. Without GitHub,
    # TEAMS_FILE serves the Lambda's teams-sync step; the CLI's teams sync takes --file instead.
    for need_github, documented in [(True, set(SETTINGS_HELP)), (False, {*DATABASE_SETTINGS, "TEAMS_FILE"})]:
        recording = Recording(environ)
        with pytest.raises(ConfigError):
            load_settings(recording, need_github=need_github)
        read = {name for name in recording.read if not name.endswith("_SECRET_ARN")}
        assert read <= documented, read - documented


def test_run_help_gives_the_since_format(capsys):
    out = help_of(capsys, "run")
    assert "--since DATE: 2025-01-01 (midnight UTC) or 2025-01-01T09:30:00+02:00" in out


def test_teams_sync_help_shows_the_file_format_and_its_encodings(capsys):
    out = help_of(capsys, "teams", "sync")
    assert '"allocation_weight": 0.5' in out and "UTF-16 as Windows Notepad saves it" in out


def test_version_is_the_installed_distributions(capsys):
    assert main(["--version"], environ={}) == 0
    try:
        expected = version("dora-collector")
    except PackageNotFoundError:  # pragma: no cover - a source tree without `pip install -e .`
        expected = f"{collector.__version__} (not installed"
    assert capsys.readouterr().out.startswith(f"dora-collector {expected}")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND (see dora-collector --help)"),
        (["collect"], "argument COMMAND: invalid choice: 'collect'"),
        (["teams", "sync"], "the following arguments are required: --file (see dora-collector teams sync --help)"),
        (["teams", "sync", "--file", ""], "argument --file: '' is not a usable path"),
        (["teams", "sync", "--file", "a\x00b"], r"argument --file: 'a\x00b' is not a usable path"),
        (["run", "--since", "yesterday"], "argument --since: 'yesterday' is not an ISO-8601 date or datetime"),
        (["run", "--since", "9999-12-31T23:00:00-05:00"], "is not an ISO-8601 date or datetime"),
        (["report", "--weeks", "0"], "argument --weeks: must be a whole number from 1 to 520 (got '0')"),
        (["report", "--weeks", "9" * 5000], "argument --weeks: must be a whole number from 1 to 520 (got a 5000-"),
        (["report", "--out", "\x00"], "argument --out:"),
        (["demo", "--serve", "--port", "70000"], "argument --port: must be a port number from 0 to 65535"),
        (["demo", "--env-file", "a\x00b"], "argument --env-file:"),
        (["serve", "--port", "-1"], "argument --port: must be a port number from 0 to 65535"),
        (["serve", "--host", "a b"], "argument --host: 'a b' is not a host name or IP address"),
        (["api-keys"], "the following arguments are required: {create,list,revoke}"),
        (["api-keys", "create"], "the following arguments are required: NAME"),
        (["api-keys", "create", "-x"], "the following arguments are required: NAME"),
        (["api-keys", "create", "two words"], "argument NAME: a key's name is 1 to 64 letters, digits"),
        (["api-keys", "create", "k" * 65], "argument NAME: a key's name is 1 to 64"),
        (["migrate", "extra\nline"], r"unrecognized arguments: extra\nline"),
        (["migrate", "\x1b[2J"], r"unrecognized arguments: \x1b[2J"),
        (["run", "--sinc", "2025-01-01"], "unrecognized arguments: --sinc"),  # no abbreviations
        (["run", "--since", "2999-01-01"], "argument --since: '2999-01-01' is in the future"),
        (["report", "--week", "4"], "unrecognized arguments: --week"),
    ],
)
def test_a_wrong_argument_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv, environ={}) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("dora-collector: error: ")
    assert message in err


def test_arguments_are_checked_before_the_environment(capsys):
    assert main(["run", "--since", "soon"], environ={"GITHUB_TOKEN": "ghp_" + "x" * 36}) == 2
    assert "--since" in capsys.readouterr().err


def test_one_line_escapes_what_a_terminal_or_a_log_would_act_on():
    assert one_line("a\nb\rc\x00d\x1b[31me\u2028f\udcffg") == r"a\nb\rc\x00d\x1b[31me\u2028f\udcffg"
    assert one_line("plätform — ok") == "plätform — ok"


def test_every_setting_at_once_reaches_the_user_as_one_line(capsys):
    environ = {"DATABASE_URL": "postgres://u:s3cret@db:54x2/dora", "GITHUB_TOKEN": "ghp_" + "x" * 36}
    assert main(["run"], environ={**environ, "MAX_WORKERS": "0"}) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("dora-collector: error: 3 settings need fixing: (1) DATABASE_URL's port")
        and "\n" not in err[:-1]
    )
    assert "s3cret" not in err and "x" * 36 not in err


def test_version_falls_back_to_the_source_trees_when_not_installed(capsys, monkeypatch):
    import importlib.metadata

    def not_installed(name):
        raise PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert main(["--version"], environ={}) == 0
    assert (
        capsys.readouterr().out == f"dora-collector {collector.__version__} (not installed: run from a source tree)\n"
    )


def test_the_log_formats_the_settings_accept_are_the_ones_logging_knows():
    from collector import config, logs

    assert config.LOG_FORMATS == logs.LOG_FORMATS
