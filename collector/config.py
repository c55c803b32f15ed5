"""The only reader of the environment: validates once into a frozen Settings object.

Nothing else in the package reads ``os.environ``; tests and the Lambda handler pass a mapping.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from collector.errors import ConfigError

# SQLAlchemy is imported where a URL is read, not at the top: `dora-collector --help` shows SETTINGS_HELP
# and must answer without loading the database stack.
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy.engine import URL

DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_LOOKBACK_DAYS = 90
DEFAULT_MAX_WORKERS = 8
DEFAULT_MAX_REQUESTS_PER_MINUTE = 850
DEFAULT_RATE_LIMIT_RESERVE_PERCENT = 10
# GitHub's secondary limit allows at most 100 concurrent requests per token; stay far below it.
MAX_MAX_WORKERS = 32
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_REPO_URL_RE = re.compile(r"^(?:https?://|git@)?[^/:]*github[^/:]*[/:]([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
# A GitHub App is named by its numeric ID or its client ID (Iv1.…, Iv23…); either is the JWT's issuer.
_APP_ID_RE = re.compile(r"^(?:[1-9][0-9]{0,18}|Iv[0-9A-Za-z.]{2,40})$")
_APP_SETTINGS = ("GITHUB_APP_ID", "GITHUB_APP_INSTALLATION_ID", "GITHUB_APP_PRIVATE_KEY")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# collector.logs.LOG_FORMATS (a test keeps them equal): importing logs here would load its JSON library on --help.
LOG_FORMATS = ("auto", "json", "text")
_INTEGER_RE = re.compile(r"^[+-]?[0-9]{1,12}$")
# A value that looks like a credential is never quoted back, whichever setting it was pasted into.
_CREDENTIAL_LIKE = re.compile(r"gh[pousr]_|github_pat_|-----BEGIN|://|@", re.IGNORECASE)
_T = TypeVar("_T")

# Every setting the CLI reads, as its --help describes it (a test keeps this in step with load_settings).
SETTINGS_HELP = {
    "DATABASE_URL": "postgresql://user:password@host:5432/database, or postgres://...?sslmode=require as "
    "hosting providers give it; an @ in the password is written %40",
    "GITHUB_TOKEN": "a token that can read the repositories' pull requests (or the three GITHUB_APP_ settings)",
    "GITHUB_APP_ID": "instead of a token, a GitHub App: its numeric ID or client ID (Iv...)",
    "GITHUB_APP_INSTALLATION_ID": "the App's installation number in the organisation",
    "GITHUB_APP_PRIVATE_KEY": "the App's .pem private key (one line with \\n escapes is fine)",
    "REPOSITORIES": "comma-separated owner/name list, e.g. acme/api,acme/web",
    "GITHUB_API_URL": f"default {DEFAULT_GITHUB_API_URL}; GitHub Enterprise Server: https://HOST/api/v3",
    "TEAMS_FILE": "optional: a teams file synced before each run (see teams sync --help)",
    "MAX_WORKERS": f"repositories read at once, 1-{MAX_MAX_WORKERS} (default {DEFAULT_MAX_WORKERS})",
    "LOOKBACK_DAYS": f"a repository's first run reads this many days back, 1-3650 (default {DEFAULT_LOOKBACK_DAYS})",
    "GITHUB_MAX_REQUESTS_PER_MINUTE": f"pacing, 0-100000, 0 turns it off (default {DEFAULT_MAX_REQUESTS_PER_MINUTE})",
    "GITHUB_CONCURRENT_RUNS": "collectors that share the token and split the pace, 1-100 (default 1)",
    "GITHUB_RATE_LIMIT_RESERVE_PERCENT": "share of the hourly budget left for other tools, 0-90 "
    f"(default {DEFAULT_RATE_LIMIT_RESERVE_PERCENT})",
    "LOG_LEVEL": f"{', '.join(_LOG_LEVELS)} (default INFO)",
    "LOG_FORMAT": "auto (default): readable lines when stderr is a terminal, JSON lines otherwise; json or text "
    "force either",
}
# What migrate, teams sync and report read (load_settings with need_github=False).
DATABASE_SETTINGS = ("DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT")
# What receiving GitHub's webhooks reads (load_webhook_settings), as a command's help would describe it.
MIN_WEBHOOK_SECRET_LENGTH = 16
WEBHOOK_SETTINGS_HELP = {
    "WEBHOOK_SECRET": f"the organisation webhook's secret, at least {MIN_WEBHOOK_SECRET_LENGTH} characters: GitHub "
    "signs every delivery with it (generate one: python3 -c 'import secrets; print(secrets.token_hex(32))')",
    "REPOSITORIES": SETTINGS_HELP["REPOSITORIES"] + "; a delivery for any other repository schedules nothing",
    "WEBHOOK_QUEUE_URL": "on AWS only: the SQS queue that hands a delivery's repository to the collector",
    "LOG_LEVEL": SETTINGS_HELP["LOG_LEVEL"],
}


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Secrets are kept out of ``repr`` so they never reach a log."""

    database_url: str = field(repr=False)
    # GitHub credentials: a token, or a GitHub App installation (load_settings takes exactly one).
    github_token: str | None = field(default=None, repr=False)
    github_app_id: str | None = None
    github_app_installation_id: int | None = None
    github_app_private_key: str | None = field(default=None, repr=False)  # PEM, checked to load as an RSA key
    github_api_url: str = DEFAULT_GITHUB_API_URL
    repositories: tuple[str, ...] = ()
    teams_file: Path | None = None
    max_workers: int = DEFAULT_MAX_WORKERS
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    log_level: str = "INFO"
    log_format: str = "auto"  # the CLI's; the Lambda function always logs JSON
    # GitHub's REST secondary limit is 900 points a minute; 0 turns the pacing off.
    github_max_requests_per_minute: int = DEFAULT_MAX_REQUESTS_PER_MINUTE
    # Collector processes that run at once with the same token (the scale-out shards): GitHub's limit
    # is per token, so each one paces itself to its share.
    github_concurrent_runs: int = 1
    # The share of the token's hourly budget left for other tools: a run that reaches it ends `partial`.
    github_rate_limit_reserve: float = DEFAULT_RATE_LIMIT_RESERVE_PERCENT / 100

    @property
    def requests_per_minute_share(self) -> int:
        if self.github_max_requests_per_minute <= 0:
            return 0  # pacing off
        return max(1, self.github_max_requests_per_minute // self.github_concurrent_runs)

    @property
    def database_url_redacted(self) -> str:
        return redact_database_url(self.database_url)


def load_settings(environ: Mapping[str, str], *, need_github: bool = True) -> Settings:
    """Validate the environment. ``need_github=False`` serves ``migrate``, ``teams sync`` and ``report``.

    Every setting is checked even when an earlier one is wrong: one ConfigError lists all the problems,
    so a user fixes them in one go rather than one per attempt.
    """
    problems = _Problems()
    database_url = problems.take(lambda: normalize_database_url(_required(environ, "DATABASE_URL")), "")
    github = _github_settings(environ, problems) if need_github else {}
    teams_file = problems.take(lambda: _teams_file(environ), None)
    log_level = problems.take(lambda: _log_level(environ), "INFO")
    log_format = problems.take(lambda: _log_format(environ), "auto")
    problems.raise_if_any()
    return Settings(
        database_url=database_url, teams_file=teams_file, log_level=log_level, log_format=log_format, **github
    )


@dataclass(frozen=True)
class WebhookSettings:
    """What receiving GitHub's webhooks needs: the secret deliveries are signed with, the repositories a
    delivery may name, and (on AWS) the queue that hands them on. No database, no GitHub credentials."""

    secret: str = field(repr=False)
    repositories: tuple[str, ...]
    queue_url: str | None = None
    log_level: str = "INFO"


def load_webhook_settings(environ: Mapping[str, str], *, need_queue: bool = False) -> WebhookSettings:
    """Validate WEBHOOK_SECRET, REPOSITORIES, LOG_LEVEL and (``need_queue``: the Lambda function's case)
    WEBHOOK_QUEUE_URL; every problem is reported at once, as ``load_settings`` does."""
    problems = _Problems()
    secret = problems.take(lambda: _webhook_secret(environ), "")
    no_repositories: tuple[str, ...] = ()
    repositories = problems.take(lambda: parse_repositories(_required(environ, "REPOSITORIES")), no_repositories)
    queue_url = problems.take(lambda: _queue_url(environ, need_queue), None)
    log_level = problems.take(lambda: _log_level(environ), "INFO")
    problems.raise_if_any()
    return WebhookSettings(secret=secret, repositories=repositories, queue_url=queue_url, log_level=log_level)


def _webhook_secret(environ: Mapping[str, str]) -> str:
    secret = _required(environ, "WEBHOOK_SECRET")
    # Never quoted back, whatever was pasted: it is a credential.
    if len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
        raise ConfigError(
            f"WEBHOOK_SECRET is {len(secret)} characters; use at least {MIN_WEBHOOK_SECRET_LENGTH} random ones "
            "(python3 -c 'import secrets; print(secrets.token_hex(32))') in GitHub and here"
        )
    if not secret.isprintable():
        raise ConfigError("WEBHOOK_SECRET contains a line break or another control character; paste the secret alone")
    return secret


def webhook_queue_url(environ: Mapping[str, str]) -> str | None:
    """WEBHOOK_QUEUE_URL, checked, for the queue's consumer (which sends busy repositories' requests back)."""
    return _queue_url(environ, needed=False)


def _queue_url(environ: Mapping[str, str], needed: bool) -> str | None:
    raw = _optional(environ, "WEBHOOK_QUEUE_URL")
    if raw is None:
        if needed:
            raise ConfigError("WEBHOOK_QUEUE_URL is not set")
        return None
    parts = urlsplit(raw) if raw.isascii() and raw.isprintable() and " " not in raw else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.query:
        raise ConfigError(f"WEBHOOK_QUEUE_URL must be an SQS queue's URL (got {shown(raw)})")
    return raw


def _github_settings(environ: Mapping[str, str], problems: _Problems) -> dict[str, Any]:
    """What ``run`` needs beyond the database: credentials, repositories, pacing."""
    no_repositories: tuple[str, ...] = ()

    def integer(name: str, default: int, low: int, high: int) -> int:
        return problems.take(lambda: _int(environ, name, default, low, high), default)

    return {
        **problems.take(lambda: _github_credentials(environ), {}),
        "github_api_url": problems.take(lambda: _api_url(environ), DEFAULT_GITHUB_API_URL),
        "repositories": problems.take(lambda: parse_repositories(_required(environ, "REPOSITORIES")), no_repositories),
        "max_workers": integer("MAX_WORKERS", DEFAULT_MAX_WORKERS, 1, MAX_MAX_WORKERS),
        "lookback_days": integer("LOOKBACK_DAYS", DEFAULT_LOOKBACK_DAYS, 1, 3650),
        "github_max_requests_per_minute": integer(
            "GITHUB_MAX_REQUESTS_PER_MINUTE", DEFAULT_MAX_REQUESTS_PER_MINUTE, 0, 100_000
        ),
        "github_concurrent_runs": integer("GITHUB_CONCURRENT_RUNS", 1, 1, 100),
        "github_rate_limit_reserve": integer(
            "GITHUB_RATE_LIMIT_RESERVE_PERCENT", DEFAULT_RATE_LIMIT_RESERVE_PERCENT, 0, 90
        )
        / 100,
    }


class _Problems:
    """The problems found so far; ``take`` keeps checking after one, with a stand-in value."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def take(self, read: Callable[[], _T], stand_in: _T) -> _T:
        try:
            return read()
        except ConfigError as exc:
            self.found.append(str(exc))
            return stand_in

    def raise_if_any(self) -> None:
        if len(self.found) == 1:
            raise ConfigError(self.found[0])
        if self.found:
            listed = "; ".join(f"({n}) {problem}" for n, problem in enumerate(self.found, start=1))
            raise ConfigError(f"{len(self.found)} settings need fixing: {listed}")


def _github_credentials(environ: Mapping[str, str]) -> dict[str, Any]:
    """GITHUB_TOKEN, or the three settings of a GitHub App installation: exactly one of the two."""
    token = _optional(environ, "GITHUB_TOKEN")
    app = {name: _optional(environ, name) for name in _APP_SETTINGS}
    if token and any(app.values()):
        given = ", ".join(name for name, value in app.items() if value)
        raise ConfigError(f"both GITHUB_TOKEN and a GitHub App ({given}) are set; keep one of them")
    if token:
        # GitHub's tokens are ASCII letters, digits and underscores; anything else would reach an HTTP header.
        if not (token.isascii() and token.isprintable()) or " " in token:
            raise ConfigError("GITHUB_TOKEN contains whitespace or control characters; paste the token alone")
        return {"github_token": token}
    if not any(app.values()):
        raise ConfigError(f"GITHUB_TOKEN is not set, nor a GitHub App ({', '.join(_APP_SETTINGS)})")
    missing = [name for name, value in app.items() if not value]
    if missing:
        raise ConfigError(f"the GitHub App's settings are incomplete: {', '.join(missing)} not set")
    app_id, installation = str(app["GITHUB_APP_ID"]), str(app["GITHUB_APP_INSTALLATION_ID"])
    # Neither value is echoed: a key pasted into the wrong variable must not reach a log.
    if not _APP_ID_RE.match(app_id):
        raise ConfigError("GITHUB_APP_ID must be the App's numeric ID or its client ID (Iv…)")
    if not (installation.isascii() and installation.isdigit() and len(installation) < 19 and int(installation) > 0):
        raise ConfigError("GITHUB_APP_INSTALLATION_ID must be a positive integer (the installation's number)")
    from_secret = _optional(environ, "GITHUB_APP_PRIVATE_KEY_SECRET_ARN")
    source = "the secret GITHUB_APP_PRIVATE_KEY_SECRET_ARN names" if from_secret else "GITHUB_APP_PRIVATE_KEY"
    return {
        "github_app_id": app_id,
        "github_app_installation_id": int(installation),
        "github_app_private_key": app_private_key(str(app["GITHUB_APP_PRIVATE_KEY"]), source),
    }


def app_private_key(value: str, source: str = "GITHUB_APP_PRIVATE_KEY") -> str:
    """The App's private key as PEM, checked to load as an RSA key (GitHub signs App JWTs with RS256).

    A PEM pasted into one line of an environment file, with ``\\n`` for its line breaks, is accepted. No
    message ever shows any of the value.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = value.strip()
    if "\n" not in pem and "\\n" in pem:
        pem = pem.replace("\\n", "\n")
    if not pem.startswith("-----BEGIN "):
        raise ConfigError(f"{source} is not a PEM private key (expected the .pem file GitHub generated for the App)")
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise ConfigError(f"{source} is encrypted; use the unencrypted .pem file GitHub generated") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{source} does not load as a PEM private key; check it was copied whole") from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError(f"{source} is not an RSA key; GitHub App keys are RSA")
    return pem + "\n"


_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_EXPECTED_URL = "expected postgresql://user:password@host:5432/database"


def normalize_database_url(raw: str) -> str:
    """Accept the URLs PostgreSQL hosts hand out and always drive psycopg 3.

    ``postgresql://``, ``postgres://`` (Heroku, Render, Supabase), ``postgresql+psycopg://`` and
    ``postgresql+psycopg2://`` (Django and SQLAlchemy guides) all name the same database; a query such as
    ``?sslmode=require`` is kept. No message shows any part of the value but its scheme: a password may be
    anywhere in it, even where a host or port belongs.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not raw.isprintable():
        raise ConfigError("DATABASE_URL contains a line break or another control character; copy it again")
    scheme = _SCHEME_RE.match(raw)
    if scheme is None:
        raise ConfigError(f"DATABASE_URL is not a URL ({_EXPECTED_URL})")
    backend, _, driver = scheme.group(1).lower().partition("+")
    if backend not in ("postgresql", "postgres"):
        shown = f" (got {scheme.group(1)}://)" if len(scheme.group(1)) <= 20 else ""
        raise ConfigError(f"DATABASE_URL must use postgresql://{shown}")
    if driver not in ("", "psycopg", "psycopg2"):
        raise ConfigError(f"DATABASE_URL driver {driver[:20]!r} is not supported; use postgresql://")
    # The scheme is replaced before SQLAlchemy reads it: it has no dialect named "postgres".
    try:
        url = make_url("postgresql+psycopg" + raw[scheme.end(1) :])
    except (ArgumentError, ValueError):  # SQLAlchemy raises ValueError for a port that is not a number
        raise ConfigError(_bad_port(raw)) from None
    _check_database_url(url, raw)
    return url.render_as_string(hide_password=False)


def _check_database_url(url: URL, raw: str) -> None:
    if url.host is not None and "@" in url.host:
        raise ConfigError(
            "DATABASE_URL has more than one @ before its host: percent-encode an @ in the user name or password as %40"
        )
    if url.port is not None and not 1 <= url.port <= 65535:
        raise ConfigError(_bad_port(raw))
    parts = [url.username, url.password, url.host, url.database]
    parts += [item for value in url.query.values() for item in ((value,) if isinstance(value, str) else value)]
    # psycopg would cut its connection string at an encoded NUL and connect with what is left.
    if not all(part is None or part.isprintable() for part in parts):
        raise ConfigError("DATABASE_URL contains an encoded control character (such as %00)")


def _bad_port(raw: str) -> str:
    hint = ""
    if raw.count("@") > 1:
        hint = "; percent-encode an @ in the password as %40"
    elif "," in raw:
        hint = "; several hosts go in the query: ?host=one:5432&host=two:5432"
    return f"DATABASE_URL's port is not a number from 1 to 65535 ({_EXPECTED_URL}){hint}"


def redact_database_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        # libpq also takes a password in the query string (?password=…, ?sslpassword=…).
        hidden = {k: "***" for k in parsed.query if k.lower() in ("password", "sslpassword")}
        return parsed.update_query_dict(hidden).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable DATABASE_URL>"


def parse_repositories(raw: str) -> tuple[str, ...]:
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if not names:
        raise ConfigError("REPOSITORIES is empty; expected a comma-separated list of owner/name")
    for name in names:
        if not _REPO_RE.match(name):
            raise ConfigError(_not_a_repository(name))
    # Keep the order the user gave, drop repeats (case-insensitive, as GitHub treats names).
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return tuple(seen.values())


def is_repository_name(name: str) -> bool:
    """Whether ``name`` is owner/name as GitHub spells a repository (as REPOSITORIES requires)."""
    return _REPO_RE.fullmatch(name) is not None


def _not_a_repository(entry: str) -> str:
    url = _REPO_URL_RE.match(entry)  # a repository's URL, pasted whole
    if url is not None:
        return f"REPOSITORIES entry is a URL: write {shown(url.group(1))} (owner/name) instead"
    return f"REPOSITORIES entry {shown(entry)} is not owner/name (e.g. acme/api)"


def _api_url(environ: Mapping[str, str]) -> str:
    raw = _optional(environ, "GITHUB_API_URL")
    if raw is None:
        return DEFAULT_GITHUB_API_URL
    expected = f"GITHUB_API_URL must be an http(s) URL such as {DEFAULT_GITHUB_API_URL}"
    if not (raw.isascii() and raw.isprintable()) or " " in raw:
        raise ConfigError(expected)
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:  # an unclosed [IPv6 address, a port that is not a number or out of range
        raise ConfigError(expected) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(expected)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("GITHUB_API_URL must not carry credentials, a query or a fragment")
    return raw.rstrip("/")


def _teams_file(environ: Mapping[str, str]) -> Path | None:
    raw = _optional(environ, "TEAMS_FILE")
    if raw is not None and "\x00" in raw:
        raise ConfigError("TEAMS_FILE contains a NUL character")
    return Path(raw) if raw else None


def shown(value: str, limit: int = 39) -> str:
    """A value quoted for a message, one line; only its length when it is long or looks like a credential.

    A token or key pasted into the wrong setting must not reach a terminal or a log. GitHub's tokens are
    40 characters or more, so the limit keeps even a bare classic token out.
    """
    if len(value) <= limit and not _CREDENTIAL_LIKE.search(value):
        return repr(value)
    return f"a {len(value)}-character value"


def shown_words(text: str) -> str:
    """``text`` with every word or quoted value that ``shown`` would not quote replaced by what it shows: for
    messages, such as argparse's, that repeat what someone typed."""

    def one(match: re.Match[str]) -> str:
        value = match.group(1) if match.group(1) is not None else match.group(0)
        return match.group(0) if shown(value) == repr(value) else shown(value)

    return re.sub(r"'([^']*)'|[^\s,()']+", one, text)


def _required(environ: Mapping[str, str], name: str) -> str:
    value = (environ.get(name) or "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    value = (environ.get(name) or "").strip()
    return value or None


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _optional(environ, name)
    if raw is None:
        return default
    # ASCII digits only: int() would also take "1_000", "٣" and thousands of digits.
    value = int(raw) if _INTEGER_RE.match(raw) else None
    if value is None or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer between {low} and {high} (got {shown(raw)})")
    return value


def early_log_level(environ: Mapping[str, str]) -> str:
    """LOG_LEVEL for what is logged before the settings are loaded; a bad value falls back to INFO here and
    fails in ``load_settings``."""
    try:
        return _log_level(environ)
    except ConfigError:
        return "INFO"


def early_log_format(environ: Mapping[str, str]) -> str:
    """LOG_FORMAT for logging set up before the settings are loaded; a bad value is "auto" here and fails in
    ``load_settings``."""
    try:
        return _log_format(environ)
    except ConfigError:
        return "auto"


def _log_format(environ: Mapping[str, str]) -> str:
    raw = _optional(environ, "LOG_FORMAT") or "auto"
    if raw.lower() not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)} (got {shown(raw)})")
    return raw.lower()


def _log_level(environ: Mapping[str, str]) -> str:
    raw = _optional(environ, "LOG_LEVEL") or "INFO"
    level = raw.upper()
    if level not in _LOG_LEVELS or not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)} (got {shown(raw)})")
    return level


# ---------------------------------------------------------------- AWS Secrets Manager


class SecretsManagerCache:
    """Secret values by ARN, fetched once per Lambda container and kept for ``ttl_seconds``.

    boto3 uses its normal endpoint settings, so ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` can point it at a
    local Secrets Manager. A rotated secret is picked up when the TTL lapses.

    Why not Powertools' parameters utility (``SecretsProvider(...).get(arn, max_age=ttl)``): its cache expires
    on the naive wall clock (``datetime.now()``) with no clock to pass in, so expiry after a TTL cannot be
    tested without sleeping; and it re-raises botocore's errors as ``GetParameterError(str(exc))``, so the
    one-line error needs the code fished back out of ``__context__`` or the message. The wrapper it needs
    (lazy client, error translation, empty-value check) is as long as this class.
    """

    def __init__(self, ttl_seconds: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._values: dict[str, tuple[float, str]] = {}
        self._client: Any = None

    def get(self, arn: str) -> str:
        cached = self._values.get(arn)
        if cached is not None and self._clock() - cached[0] < self.ttl_seconds:
            return cached[1]
        value = self.fetch(arn)
        self._values[arn] = (self._clock(), value)
        return value

    def fetch(self, arn: str) -> str:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if self._client is None:
                self._client = boto3.client("secretsmanager")
            secret = self._client.get_secret_value(SecretId=arn)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise ConfigError(f"cannot read secret {arn}: {code}") from None
        except BotoCoreError as exc:
            raise ConfigError(f"cannot reach Secrets Manager for {arn}: {type(exc).__name__}") from None
        value = secret.get("SecretString")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"secret {arn} has no SecretString")
        return value.strip()


def secrets_cache(environ: Mapping[str, str]) -> SecretsManagerCache:
    """The per-container secret cache; ``SECRETS_TTL_SECONDS`` (default 900) sets how long a value is kept."""
    return SecretsManagerCache(ttl_seconds=float(_int(environ, "SECRETS_TTL_SECONDS", 900, 0, 86_400)))


class SecretSource(Protocol):
    def get(self, arn: str) -> str: ...


def resolve_secrets(environ: Mapping[str, str], secrets: SecretSource) -> dict[str, str]:
    """The environment with ``GITHUB_TOKEN``, ``GITHUB_APP_PRIVATE_KEY`` and ``DATABASE_URL`` filled in from
    Secrets Manager ARNs.

    Plain ``GITHUB_TOKEN``, ``GITHUB_APP_PRIVATE_KEY`` and ``DATABASE_URL`` still work (local runs); an ARN,
    when set, wins.
    """
    env = dict(environ)
    token_arn = _optional(env, "GITHUB_TOKEN_SECRET_ARN")
    if token_arn:
        env["GITHUB_TOKEN"] = _token_from_secret(secrets.get(token_arn), token_arn)
    key_arn = _optional(env, "GITHUB_APP_PRIVATE_KEY_SECRET_ARN")
    if key_arn:
        env["GITHUB_APP_PRIVATE_KEY"] = _private_key_from_secret(secrets.get(key_arn), key_arn)
    database_arn = _optional(env, "DATABASE_URL_SECRET_ARN")
    if database_arn:
        env["DATABASE_URL"] = _database_url_from_secret(secrets.get(database_arn), database_arn, env)
    return env


def resolve_webhook_secret(environ: Mapping[str, str], secrets: SecretSource) -> dict[str, str]:
    """The environment with ``WEBHOOK_SECRET`` filled in from the secret ``WEBHOOK_SECRET_ARN`` names (a plain
    string, or JSON with a ``secret`` key); a plain ``WEBHOOK_SECRET`` still works (local serving).

    Only that secret: the webhook function may read no other (its role forbids it), whatever ARNs the
    environment carries."""
    env = dict(environ)
    arn = _optional(env, "WEBHOOK_SECRET_ARN")
    if arn:
        value = secrets.get(arn)
        if value.startswith("{"):
            document = _secret_json(value, arn)
            value = next((str(document[k]) for k in ("secret", "WEBHOOK_SECRET") if isinstance(document.get(k), str)),
                         "")  # fmt: skip
            if not value:
                raise ConfigError(f"secret {arn} is JSON without a 'secret' key")
        env["WEBHOOK_SECRET"] = value
    return env


def _token_from_secret(value: str, arn: str) -> str:
    if not value.startswith("{"):
        return value
    document = _secret_json(value, arn)
    for key in ("token", "GITHUB_TOKEN", "github_token"):
        if isinstance(document.get(key), str):
            return str(document[key])
    raise ConfigError(f"secret {arn} is JSON without a 'token' key")


def _private_key_from_secret(value: str, arn: str) -> str:
    """The PEM itself (the .pem file's text as the secret string), or JSON with a ``private_key`` key."""
    if not value.startswith("{"):
        return value
    document = _secret_json(value, arn)
    for key in ("private_key", "privateKey", "GITHUB_APP_PRIVATE_KEY"):
        if isinstance(document.get(key), str):
            return str(document[key])
    raise ConfigError(f"secret {arn} is JSON without a 'private_key' key")


def _database_url_from_secret(value: str, arn: str, env: Mapping[str, str]) -> str:
    """A URL string, or an RDS-style JSON secret ``{username, password, host, port, dbname}``.

    RDS-managed master secrets hold only username and password: the endpoint then comes from
    ``DATABASE_HOST``, ``DATABASE_PORT`` and ``DATABASE_NAME``.
    """
    if not value.startswith("{"):
        return value
    doc = _secret_json(value, arn)
    if not isinstance(doc.get("username"), str) or not isinstance(doc.get("password"), str):
        raise ConfigError(f"secret {arn} must hold a URL or JSON with username and password")
    host = _optional(env, "DATABASE_HOST") or doc.get("host")
    if not host:
        raise ConfigError(f"secret {arn} has no host: set DATABASE_HOST")
    port = _optional(env, "DATABASE_PORT") or doc.get("port") or 5432
    database = _optional(env, "DATABASE_NAME") or doc.get("dbname") or "postgres"
    query = {"sslmode": env["DATABASE_SSLMODE"]} if _optional(env, "DATABASE_SSLMODE") else {}
    if str(host).startswith("/"):  # a Unix-socket directory travels as libpq's host parameter
        query["host"], host = str(host), None
    from sqlalchemy.engine import URL

    try:
        url = URL.create("postgresql+psycopg", doc["username"], doc["password"], host, int(port), str(database), query)
    except ValueError:
        raise ConfigError(f"secret {arn}: port {port!r} is not a number") from None
    return url.render_as_string(hide_password=False)


def _secret_json(value: str, arn: str) -> dict[str, Any]:
    try:
        document = json.loads(value)
    except ValueError:
        raise ConfigError(f"secret {arn} starts like JSON but is not valid JSON") from None
    if not isinstance(document, dict):
        raise ConfigError(f"secret {arn} must be a JSON object")
    return document
