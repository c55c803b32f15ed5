"""Secret values to settings, without AWS: the resolution rules."""

import json

import pytest
from sqlalchemy import make_url

from collector.config import SecretsManagerCache, resolve_secrets
from collector.errors import ConfigError


class Secrets:
    def __init__(self, values):
        self.values = values

    def get(self, arn):
        return self.values[arn]


def test_plain_environment_values_still_work():
    env = resolve_secrets({"GITHUB_TOKEN": "t", "DATABASE_URL": "postgresql://h/d"}, Secrets({}))
    assert (env["GITHUB_TOKEN"], env["DATABASE_URL"]) == ("t", "postgresql://h/d")


def test_token_secret_may_be_plain_or_json():
    for value in ("ghp_abc", '{"token": "ghp_abc"}'):
        env = resolve_secrets({"GITHUB_TOKEN_SECRET_ARN": "arn:t"}, Secrets({"arn:t": value}))
        assert env["GITHUB_TOKEN"] == "ghp_abc"


def test_rds_style_secret_becomes_a_url_with_the_password_escaped():
    secret = '{"username": "dora", "password": "p@ss/word", "host": "db.internal", "port": 5433, "dbname": "metrics"}'
    env = resolve_secrets({"DATABASE_URL_SECRET_ARN": "arn:d"}, Secrets({"arn:d": secret}))
    url = make_url(env["DATABASE_URL"])
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "dora",
        "p@ss/word",
        "db.internal",
        5433,
        "metrics",
    )


def test_rds_managed_master_secret_takes_the_endpoint_from_the_environment():
    env = resolve_secrets(
        {"DATABASE_URL_SECRET_ARN": "arn:d", "DATABASE_HOST": "aurora.internal", "DATABASE_NAME": "dora",
         "DATABASE_SSLMODE": "require"},
        Secrets({"arn:d": '{"username": "admin", "password": "x"}'}),
    )  # fmt: skip
    url = make_url(env["DATABASE_URL"])
    assert (url.host, url.port, url.database, url.query["sslmode"]) == ("aurora.internal", 5432, "dora", "require")


def test_rds_secret_without_host_is_a_clear_error():
    with pytest.raises(ConfigError, match="no host: set DATABASE_HOST"):
        resolve_secrets({"DATABASE_URL_SECRET_ARN": "arn:d"}, Secrets({"arn:d": '{"username": "a", "password": "b"}'}))


def test_the_ttl_comes_from_the_environment_and_is_validated():
    from collector.config import secrets_cache

    assert secrets_cache({"SECRETS_TTL_SECONDS": "60"}).ttl_seconds == 60
    with pytest.raises(ConfigError, match="SECRETS_TTL_SECONDS must be an integer"):
        secrets_cache({"SECRETS_TTL_SECONDS": "soon"})


def test_cache_keeps_a_value_for_its_ttl():
    now = [0.0]
    cache = SecretsManagerCache(ttl_seconds=60, clock=lambda: now[0])
    fetched = []
    cache.fetch = lambda arn: fetched.append(arn) or f"value-{len(fetched)}"
    assert cache.get("arn") == "value-1"
    now[0] = 59
    assert cache.get("arn") == "value-1"
    now[0] = 61
    assert cache.get("arn") == "value-2"


def test_an_app_key_secret_may_be_the_pem_or_json():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"
    for value in (pem, json.dumps({"private_key": pem})):
        env = resolve_secrets({"GITHUB_APP_PRIVATE_KEY_SECRET_ARN": "arn:k"}, Secrets({"arn:k": value}))
        assert env["GITHUB_APP_PRIVATE_KEY"] == pem


def test_an_app_key_secret_wins_over_the_plain_variable():
    env = resolve_secrets(
        {"GITHUB_APP_PRIVATE_KEY": "local", "GITHUB_APP_PRIVATE_KEY_SECRET_ARN": "arn:k"}, Secrets({"arn:k": "remote"})
    )
    assert env["GITHUB_APP_PRIVATE_KEY"] == "remote"


def test_an_app_key_secret_in_json_without_the_key_is_a_clear_error_that_shows_none_of_it():
    with pytest.raises(ConfigError, match="is JSON without a 'private_key' key") as info:
        resolve_secrets({"GITHUB_APP_PRIVATE_KEY_SECRET_ARN": "arn:k"}, Secrets({"arn:k": '{"pem": "MIIsecret"}'}))
    assert "MIIsecret" not in str(info.value)
