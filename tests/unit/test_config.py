import pytest

from collector.config import load_settings, normalize_database_url, parse_repositories
from collector.errors import ConfigError
from tests.app_keys import app_key, ec_key_pem, encrypted_rsa_pem

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
        ({"GITHUB_TOKEN": ""}, "GITHUB_TOKEN is not set, nor a GitHub App"),
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


# ---------------------------------------------------------------- GitHub App credentials (issue 9)

APP = {
    "DATABASE_URL": "postgresql://u:s3cret@db:5432/dora",
    "REPOSITORIES": "acme/api",
    "GITHUB_APP_ID": "4242",
    "GITHUB_APP_INSTALLATION_ID": "7001",
}


def with_key(pem=None, **changes):
    return {**APP, "GITHUB_APP_PRIVATE_KEY": pem if pem is not None else app_key().private_pem, **changes}


def corrupted(pem):
    """One character of the key's body changed: the modulus no longer matches its primes."""
    lines = pem.splitlines()
    lines[5] = lines[5][:30] + ("A" if lines[5][30] != "A" else "B") + lines[5][31:]
    return "\n".join(lines)


def assert_nothing_of_the_key_in(text):
    assert not any(line in text for line in app_key().body_lines)


def test_an_app_installation_is_configured_instead_of_a_token():
    settings = load_settings(with_key())
    assert settings.github_token is None
    assert (settings.github_app_id, settings.github_app_installation_id) == ("4242", 7001)
    assert settings.github_app_private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert_nothing_of_the_key_in(repr(settings))


def test_an_apps_client_id_names_it_too():
    assert load_settings(with_key(GITHUB_APP_ID="Iv23liAbCdEf0123")).github_app_id == "Iv23liAbCdEf0123"


def test_a_key_pasted_on_one_line_with_escaped_newlines_is_accepted():
    one_line = app_key().private_pem.strip().replace("\n", "\\n")
    assert load_settings(with_key(one_line)).github_app_private_key == app_key().private_pem.strip() + "\n"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({**BASE, "GITHUB_APP_ID": "4242"}, r"^both GITHUB_TOKEN and a GitHub App \(GITHUB_APP_ID\) are set; keep one"),
        ({**APP, "GITHUB_TOKEN": ""}, r"^the GitHub App's settings are incomplete: GITHUB_APP_PRIVATE_KEY not set$"),
        ({**APP, "GITHUB_APP_ID": ""}, r"incomplete: GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY not set$"),
        ({"DATABASE_URL": "postgresql://h/d", "REPOSITORIES": "a/b"},
         r"^GITHUB_TOKEN is not set, nor a GitHub App \(GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID, "
         r"GITHUB_APP_PRIVATE_KEY\)$"),
    ],
    ids=["token-and-app", "app-without-key", "app-without-id-and-key", "neither"],
)  # fmt: skip
def test_exactly_one_of_a_token_or_an_app_is_configured(environ, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(environ)
    assert "\n" not in str(info.value) and "ghp_secret" not in str(info.value)


@pytest.mark.parametrize(
    ("make_pem", "message"),
    [
        (lambda: "ghp_notakeyatall", "GITHUB_APP_PRIVATE_KEY is not a PEM private key"),
        (lambda: app_key().private_pem[:400], "GITHUB_APP_PRIVATE_KEY does not load as a PEM private key"),
        (lambda: corrupted(app_key().private_pem), "does not load as a PEM private key"),
        (lambda: app_key().public_pem.decode(), "does not load as a PEM private key"),
        (ec_key_pem, "GITHUB_APP_PRIVATE_KEY is not an RSA key"),
        (encrypted_rsa_pem, "GITHUB_APP_PRIVATE_KEY is encrypted"),
    ],
    ids=["not-pem", "truncated", "corrupted", "public-key", "ec-key", "encrypted"],
)
def test_a_key_that_does_not_load_is_one_line_that_never_shows_it(make_pem, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(with_key(make_pem()))
    assert "\n" not in str(info.value)
    assert_nothing_of_the_key_in(str(info.value))
    assert "ghp_notakeyatall" not in str(info.value)


def test_a_key_from_secrets_manager_is_named_as_such():
    with pytest.raises(ConfigError, match=r"^the secret GITHUB_APP_PRIVATE_KEY_SECRET_ARN names is not a PEM"):
        load_settings(with_key("garbage", GITHUB_APP_PRIVATE_KEY_SECRET_ARN="arn:aws:secretsmanager:k"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"GITHUB_APP_ID": "app-4242"}, "GITHUB_APP_ID must be the App's numeric ID or its client ID"),
        ({"GITHUB_APP_ID": "0"}, "GITHUB_APP_ID must be"),
        ({"GITHUB_APP_INSTALLATION_ID": "-7"}, "GITHUB_APP_INSTALLATION_ID must be a positive integer"),
        ({"GITHUB_APP_INSTALLATION_ID": "9" * 5000}, "GITHUB_APP_INSTALLATION_ID must be a positive integer"),
        ({"GITHUB_APP_INSTALLATION_ID": "\u0667\u0660\u0660\u0661"}, "GITHUB_APP_INSTALLATION_ID must be"),
    ],
)
def test_bad_app_ids_get_one_clear_line(override, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(with_key(**override))


def test_a_key_pasted_into_the_wrong_setting_is_not_echoed():
    pem = app_key().private_pem
    with pytest.raises(ConfigError) as info:
        load_settings(with_key(GITHUB_APP_ID=pem))
    assert_nothing_of_the_key_in(str(info.value))
    assert "BEGIN" not in str(info.value)


def test_a_tenth_of_the_hourly_budget_is_left_for_other_tools_unless_set_otherwise():
    assert load_settings(BASE).github_rate_limit_reserve == 0.10
    assert load_settings({**BASE, "GITHUB_RATE_LIMIT_RESERVE_PERCENT": "0"}).github_rate_limit_reserve == 0.0
    with pytest.raises(ConfigError, match="GITHUB_RATE_LIMIT_RESERVE_PERCENT must be an integer between 0 and 90"):
        load_settings({**BASE, "GITHUB_RATE_LIMIT_RESERVE_PERCENT": "95"})


# ---------------------------------------------------------------- the first hour: DATABASE_URL as it is handed over


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # Heroku, Render and Supabase hand out postgres://; the query asks for TLS.
        ("postgres://u:s3cret@db.example.com:5432/dora?sslmode=require",
         "postgresql+psycopg://u:s3cret@db.example.com:5432/dora?sslmode=require"),
        ("POSTGRES://u:s3cret@db/dora", "postgresql+psycopg://u:s3cret@db/dora"),
        # Django and SQLAlchemy guides name psycopg2; psycopg 3 reads the same URL.
        ("postgresql+psycopg2://u:s3cret@db/dora", "postgresql+psycopg://u:s3cret@db/dora"),
        # Neon's connection string.
        ("postgresql://u:s3cret@ep-cool-1.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require",
         "postgresql+psycopg://u:s3cret@ep-cool-1.eu-central-1.aws.neon.tech/neondb?channel_binding=require&sslmode=require"),
        ("postgresql://u:s3cret@[2001:db8::1]:6543/dora", "postgresql+psycopg://u:s3cret@[2001:db8::1]:6543/dora"),
        ("postgresql:///dora?host=/var/run/postgresql", "postgresql+psycopg:///dora?host=%2Fvar%2Frun%2Fpostgresql"),
    ],
)  # fmt: skip
def test_database_urls_as_hosting_providers_give_them_are_accepted(given, expected):
    """Regression: postgres:// ended in NoSuchModuleError (SQLAlchemy has no dialect of that name)."""
    assert normalize_database_url(given) == expected


@pytest.mark.parametrize("password", ["p:ss", "p/ss", "p#ss", "p?ss", "p%ss", "pa ss", "pässwörd"])
def test_special_characters_in_a_password_survive_normalizing(password):
    from sqlalchemy.engine import make_url

    assert make_url(normalize_database_url(f"postgresql://u:{password}@db/dora")).password == password


def test_a_percent_encoded_at_in_a_password_is_read_as_an_at():
    from sqlalchemy.engine import make_url

    assert make_url(normalize_database_url("postgres://u:p%40ss@db/dora")).password == "p@ss"


@pytest.mark.parametrize("port", ["54x2", "99999", "", "0", "-1", "65536", "5432,db2:5432"])
def test_a_malformed_port_is_one_line_that_shows_no_part_of_the_url(port):
    """Regression: a port that is not a number ended in ValueError from SQLAlchemy; 0 silently meant 5432."""
    with pytest.raises(ConfigError, match=r"^DATABASE_URL's port is not a number from 1 to 65535") as info:
        load_settings({**BASE, "DATABASE_URL": f"postgresql://u:s3cret@db:{port}/dora"})
    assert "s3cret" not in str(info.value) and "\n" not in str(info.value)


def test_an_unencoded_at_in_the_password_is_named_without_showing_the_password():
    # SQLAlchemy (like libpq) splits at the first @: "ss@db" would be tried as a host and shown in its error.
    with pytest.raises(ConfigError) as info:
        normalize_database_url("postgresql://u:s3cr@t@db:5432/dora")
    assert str(info.value) == (
        "DATABASE_URL has more than one @ before its host: percent-encode an @ in the user name or password as %40"
    )
    with pytest.raises(ConfigError, match=r"port is not a number .*; percent-encode an @ in the password as %40$"):
        normalize_database_url("postgresql://u:s3cr@t:x@db:5432/dora")  # "t:x@db" reads as host t, port "x@db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u:s3cret@db/dora%00x", "encoded control character"),  # psycopg cut the rest off
        ("postgresql://u:s3cret%00@db/dora", "encoded control character"),
        ("postgresql://u:s3cret@db/dora\nMAX_WORKERS=4", "line break or another control character"),
        ("postgresql://u:s3cret@db/dora\x00", "line break or another control character"),
        ("db.example.com:5432/dora", "DATABASE_URL is not a URL"),
        ("mysql://u:s3cret@db/dora", r"must use postgresql:// \(got mysql://\)"),
        ("postgresql+asyncpg://u:s3cret@db/dora", "driver 'asyncpg' is not supported"),
    ],
)
def test_a_database_url_that_cannot_work_is_one_line_without_the_password(url, message):
    with pytest.raises(ConfigError, match=message) as info:
        normalize_database_url(url)
    assert "s3cret" not in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- every problem at once


def test_every_missing_or_invalid_setting_is_reported_at_once_in_one_line():
    environ = {"DATABASE_URL": "postgres://u:s3cret@db/dora", "MAX_WORKERS": "many", "REPOSITORIES": "acme"}
    with pytest.raises(ConfigError) as info:
        load_settings(environ)
    assert str(info.value) == (
        "3 settings need fixing: "
        "(1) GITHUB_TOKEN is not set, nor a GitHub App (GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID, "
        "GITHUB_APP_PRIVATE_KEY); "
        "(2) REPOSITORIES entry 'acme' is not owner/name (e.g. acme/api); "
        "(3) MAX_WORKERS must be an integer between 1 and 32 (got 'many')"
    )


def test_the_database_commands_report_their_settings_at_once_too():
    with pytest.raises(ConfigError, match=r"^2 settings need fixing: \(1\) DATABASE_URL is not set; \(2\) LOG_LEVEL"):
        load_settings({"LOG_LEVEL": "loud"}, need_github=False)


def test_log_format_is_checked_with_the_other_settings():
    assert load_settings({**BASE, "LOG_FORMAT": " JSON "}).log_format == "json"
    with pytest.raises(
        ConfigError, match=r"^2 settings need fixing: .*\(2\) LOG_FORMAT must be one of auto, json, text"
    ):
        load_settings({**BASE, "LOG_FORMAT": "yaml", "LOG_LEVEL": "loud"}, need_github=False)


def test_a_single_problem_keeps_its_own_message():
    with pytest.raises(ConfigError, match=r"^REPOSITORIES is not set$"):
        load_settings({k: v for k, v in BASE.items() if k != "REPOSITORIES"})


# ---------------------------------------------------------------- hostile values


@pytest.mark.parametrize("value", ["1_0", "\u0663", "\uff18", "9" * 5000, "8 workers", "0x8", "8.0"])
def test_integers_are_plain_ascii_digits_and_the_message_stays_short(value):
    with pytest.raises(ConfigError, match="MAX_WORKERS must be an integer between 1 and 32") as info:
        load_settings({**BASE, "MAX_WORKERS": value})
    assert len(str(info.value)) < 120


@pytest.mark.parametrize("setting", ["MAX_WORKERS", "LOOKBACK_DAYS", "LOG_LEVEL", "LOG_FORMAT", "REPOSITORIES"])
@pytest.mark.parametrize(
    "credential",
    [
        "ghp_" + "a1B2" * 9,
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "0123456789abcdef0123456789abcdef01234567",  # a classic token: 40 hex digits, no prefix
        "postgresql://u:s3cret@db/dora",
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_a_credential_pasted_into_the_wrong_setting_is_not_quoted_back(setting, credential):
    with pytest.raises(ConfigError, match=setting) as info:
        load_settings({**BASE, setting: credential})
    assert credential not in str(info.value) and "s3cret" not in str(info.value)
    assert f"a {len(credential)}-character value" in str(info.value)


@pytest.mark.parametrize("token", ["ghp_abc\x00def", "ghp_abc\u200bdef", "ghp_abc\x1b[2Jdef", "ghp_\u00e9t\u00e9"])
def test_a_token_with_control_or_non_ascii_characters_is_refused_without_showing_it(token):
    with pytest.raises(ConfigError, match="GITHUB_TOKEN contains whitespace or control characters") as info:
        load_settings({**BASE, "GITHUB_TOKEN": token})
    assert "abc" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "https://api.example.com:99999",
        "https://api.example.com:x",
        "https://ex ample.com",
        "https://\u00e9x.com",
        "https://api.example.com/\x00",
    ],
)
def test_a_github_api_url_that_cannot_work_is_one_line(url):
    with pytest.raises(ConfigError, match="GITHUB_API_URL must be an http"):
        load_settings({**BASE, "GITHUB_API_URL": url})


def test_a_teams_file_path_with_a_nul_is_refused_before_it_is_opened():
    with pytest.raises(ConfigError, match="TEAMS_FILE contains a NUL character"):
        load_settings({**BASE, "TEAMS_FILE": "teams\x00.json"})


@pytest.mark.parametrize(
    "pasted", ["https://github.com/acme/api", "https://github.com/acme/api/", "git@github.com:acme/api.git"]
)
def test_a_repository_url_pasted_into_repositories_says_what_to_write_instead(pasted):
    with pytest.raises(ConfigError, match=r"^REPOSITORIES entry is a URL: write 'acme/api' \(owner/name\) instead$"):
        parse_repositories(pasted)
