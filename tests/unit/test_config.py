import pytest

from collector.config import load_settings, normalize_database_url
from collector.errors import ConfigError

BASE = {
    "DATABASE_URL": "postgresql://u:s3cret@db:5432/dora",
    "GITHUB_TOKEN": "ghp_secret",
    "REPOSITORIES": "acme/api, acme/web",
}


def test_plain_and_psycopg_urls_both_drive_psycopg3():
    assert normalize_database_url("postgresql://u:p@h/d").startswith("postgresql+psycopg://")
    assert normalize_database_url("postgresql+psycopg://u:p@h/d") == "postgresql+psycopg://u:p@h/d"


def test_other_database_schemes_are_rejected():
    with pytest.raises(ConfigError, match="postgresql"):
        normalize_database_url("mysql://u:p@h/d")


def test_defaults_and_parsing():
    settings = load_settings(BASE)
    assert settings.repositories == ("acme/api", "acme/web")
    assert settings.github_api_url == "https://api.github.com"
    assert (settings.lookback_days, settings.max_workers, settings.teams_file) == (90, 8, None)
    assert settings.github_max_requests_per_minute == 850  # under GitHub's 900 points a minute


def test_runs_that_share_a_token_share_its_pace():
    assert load_settings(BASE).requests_per_minute_share == 850
    assert load_settings({**BASE, "GITHUB_CONCURRENT_RUNS": "4"}).requests_per_minute_share == 212
    assert load_settings({**BASE, "GITHUB_CONCURRENT_RUNS": "100"}).requests_per_minute_share == 8
    off = {**BASE, "GITHUB_MAX_REQUESTS_PER_MINUTE": "0", "GITHUB_CONCURRENT_RUNS": "4"}
    assert load_settings(off).requests_per_minute_share == 0  # pacing stays off


def test_secrets_are_not_in_repr_or_redacted_url():
    settings = load_settings(BASE)
    assert "ghp_secret" not in repr(settings) and "s3cret" not in repr(settings)
    assert "s3cret" not in settings.database_url_redacted


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL is not set"),
        ({"GITHUB_TOKEN": ""}, "GITHUB_TOKEN is not set"),
        ({"REPOSITORIES": "acme"}, "'acme' is not owner/name"),
        ({"REPOSITORIES": " , "}, "REPOSITORIES is empty"),
        ({"MAX_WORKERS": "0"}, "MAX_WORKERS must be an integer between 1 and 32"),
        ({"MAX_WORKERS": "many"}, "MAX_WORKERS must be an integer"),
        ({"LOOKBACK_DAYS": "-3"}, "LOOKBACK_DAYS"),
        ({"GITHUB_API_URL": "ftp://example"}, "GITHUB_API_URL must be an http"),
        ({"GITHUB_API_URL": "https://user:pw@example"}, "must not carry credentials"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
        ({"GITHUB_MAX_REQUESTS_PER_MINUTE": "-1"}, "GITHUB_MAX_REQUESTS_PER_MINUTE"),
        ({"GITHUB_CONCURRENT_RUNS": "0"}, "GITHUB_CONCURRENT_RUNS must be an integer between 1 and 100"),
    ],
)
def test_bad_settings_get_one_clear_line(override, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_settings({**BASE, **override})
    assert "\n" not in str(info.value)
    assert "ghp_secret" not in str(info.value) and "s3cret" not in str(info.value)


def test_migrate_and_teams_sync_need_only_the_database():
    settings = load_settings({"DATABASE_URL": "postgresql://h/d"}, need_github=False)
    assert settings.github_token is None


def test_repeated_repositories_are_collected_once():
    assert load_settings({**BASE, "REPOSITORIES": "acme/api,ACME/api,acme/web"}).repositories == (
        "acme/api",
        "acme/web",
    )
