"""The only reader of the environment: validates once into a frozen Settings object.

Nothing else in the package reads ``os.environ``; tests and the Lambda handler pass a mapping.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from collector.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_LOOKBACK_DAYS = 90
DEFAULT_MAX_WORKERS = 8
# GitHub's secondary limit allows at most 100 concurrent requests per token; stay far below it.
MAX_MAX_WORKERS = 32
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Secrets are kept out of ``repr`` so they never reach a log."""

    database_url: str = field(repr=False)
    github_token: str | None = field(default=None, repr=False)
    github_api_url: str = DEFAULT_GITHUB_API_URL
    repositories: tuple[str, ...] = ()
    teams_file: Path | None = None
    max_workers: int = DEFAULT_MAX_WORKERS
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    log_level: str = "INFO"

    @property
    def database_url_redacted(self) -> str:
        return redact_database_url(self.database_url)


def load_settings(environ: Mapping[str, str], *, need_github: bool = True) -> Settings:
    """Validate the environment. ``need_github=False`` serves ``migrate`` and ``teams sync``."""
    database_url = normalize_database_url(_required(environ, "DATABASE_URL"))
    if not need_github:
        return Settings(database_url=database_url, log_level=_log_level(environ))
    token = _required(environ, "GITHUB_TOKEN")
    if any(ch.isspace() for ch in token):
        raise ConfigError("GITHUB_TOKEN contains whitespace; paste the token alone")
    teams_file = _optional(environ, "TEAMS_FILE")
    return Settings(
        database_url=database_url,
        github_token=token,
        github_api_url=_api_url(environ.get("GITHUB_API_URL") or DEFAULT_GITHUB_API_URL),
        repositories=parse_repositories(_required(environ, "REPOSITORIES")),
        teams_file=Path(teams_file) if teams_file else None,
        max_workers=_int(environ, "MAX_WORKERS", DEFAULT_MAX_WORKERS, 1, MAX_MAX_WORKERS),
        lookback_days=_int(environ, "LOOKBACK_DAYS", DEFAULT_LOOKBACK_DAYS, 1, 3650),
        log_level=_log_level(environ),
    )


def normalize_database_url(raw: str) -> str:
    """Accept ``postgresql://`` and ``postgresql+psycopg://``; always drive psycopg 3."""
    try:
        url: URL = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a URL (expected postgresql://user:pass@host:port/db)") from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(f"DATABASE_URL must use postgresql:// (got {url.drivername}://)")
    if url.get_driver_name() not in ("psycopg", "psycopg2", "") and "+" in url.drivername:
        raise ConfigError(f"DATABASE_URL driver {url.drivername} is not supported; use postgresql+psycopg://")
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def redact_database_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable DATABASE_URL>"


def parse_repositories(raw: str) -> tuple[str, ...]:
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if not names:
        raise ConfigError("REPOSITORIES is empty; expected a comma-separated list of owner/name")
    for name in names:
        if not _REPO_RE.match(name):
            raise ConfigError(f"REPOSITORIES entry {name!r} is not owner/name")
    # Keep the order the user gave, drop repeats (case-insensitive, as GitHub treats names).
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return tuple(seen.values())


def _api_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"GITHUB_API_URL must be an http(s) URL such as {DEFAULT_GITHUB_API_URL}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("GITHUB_API_URL must not carry credentials, a query or a fragment")
    return raw.strip().rstrip("/")


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
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer between {low} and {high} (got {raw!r})") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be an integer between {low} and {high} (got {value})")
    return value


def _log_level(environ: Mapping[str, str]) -> str:
    level = (_optional(environ, "LOG_LEVEL") or "INFO").upper()
    if level not in _LOG_LEVELS or not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)} (got {level!r})")
    return level
