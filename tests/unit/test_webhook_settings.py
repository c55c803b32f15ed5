"""The webhook's settings: validated like the others, every problem at once, the secret never shown."""

import pytest

from collector.config import WEBHOOK_SETTINGS_HELP, load_webhook_settings, resolve_webhook_secret
from collector.errors import ConfigError

SECRET = "0123456789abcdef0123456789abcdef"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/dora-webhooks"


def test_a_complete_environment():
    settings = load_webhook_settings(
        {"WEBHOOK_SECRET": SECRET, "REPOSITORIES": "acme/api, Acme/Web", "WEBHOOK_QUEUE_URL": QUEUE}, need_queue=True
    )
    assert (settings.secret, settings.repositories, settings.queue_url) == (SECRET, ("acme/api", "Acme/Web"), QUEUE)
    assert SECRET not in repr(settings)


def test_locally_no_queue_is_needed():
    assert load_webhook_settings({"WEBHOOK_SECRET": SECRET, "REPOSITORIES": "acme/api"}).queue_url is None


def test_every_problem_is_reported_at_once_and_no_secret_is_quoted():
    short = "hunter2-secret"
    with pytest.raises(ConfigError) as raised:
        load_webhook_settings(
            {"WEBHOOK_SECRET": short, "WEBHOOK_QUEUE_URL": "ftp://x", "LOG_LEVEL": "LOUD"}, need_queue=True
        )
    message = str(raised.value)
    assert message.startswith("4 settings need fixing: (1) WEBHOOK_SECRET is 14 characters; use at least 16")
    assert "REPOSITORIES is not set" in message and "WEBHOOK_QUEUE_URL must be an SQS queue's URL" in message
    assert short not in message


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, "WEBHOOK_SECRET is not set"), ({"WEBHOOK_SECRET": "a" * 16 + "\x07"}, "control character"),
     ({"WEBHOOK_SECRET": SECRET, "WEBHOOK_QUEUE_URL": f"https://u:{SECRET}@x/q"}, r"\(got a 46-character value\)")],
)  # fmt: skip
def test_a_bad_setting_is_one_line(environ, expected):
    with pytest.raises(ConfigError, match=expected):
        load_webhook_settings({"REPOSITORIES": "acme/api", **environ})


def test_the_function_needs_its_queue():
    with pytest.raises(ConfigError, match=r"^WEBHOOK_QUEUE_URL is not set$"):
        load_webhook_settings({"WEBHOOK_SECRET": SECRET, "REPOSITORIES": "acme/api"}, need_queue=True)


def test_help_describes_every_setting_the_loader_reads():
    class Recording(dict):
        read: set

        def get(self, key, default=None):
            self.read.add(key)
            return super().get(key, default)

    environ = Recording()
    environ.read = set()
    with pytest.raises(ConfigError):
        load_webhook_settings(environ, need_queue=True)
    assert environ.read == set(WEBHOOK_SETTINGS_HELP)


class Secrets:
    def __init__(self, values):
        self.values = values
        self.asked = []

    def get(self, arn):
        self.asked.append(arn)
        return self.values[arn]


@pytest.mark.parametrize("stored", [SECRET, '{"secret": "' + SECRET + '"}'], ids=["plain", "json"])
def test_the_secret_comes_from_secrets_manager_as_a_string_or_json(stored):
    secrets = Secrets({"arn:w": stored})
    # The function's environment also names the collector's secrets (the template's globals): never read.
    environ = {"WEBHOOK_SECRET_ARN": "arn:w", "GITHUB_TOKEN_SECRET_ARN": "arn:t", "DATABASE_URL_SECRET_ARN": "arn:d"}
    assert resolve_webhook_secret(environ, secrets)["WEBHOOK_SECRET"] == SECRET
    assert secrets.asked == ["arn:w"]


def test_json_without_the_key_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"^secret arn:w is JSON without a 'secret' key$"):
        resolve_webhook_secret({"WEBHOOK_SECRET_ARN": "arn:w"}, Secrets({"arn:w": '{"token": "x"}'}))


def test_a_plain_secret_still_works_without_an_arn():
    assert resolve_webhook_secret({"WEBHOOK_SECRET": SECRET}, Secrets({}))["WEBHOOK_SECRET"] == SECRET
