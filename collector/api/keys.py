"""API keys: made here, shown once, stored as a hash; checked in constant time.

A key reads ``dora_<key id>_<secret>``. The key id (16 hex digits) finds the key's row and may be seen; the
secret (``secrets.token_urlsafe(32)``, 256 random bits) is stored only as its SHA-256. A fast hash is the right
one for a random secret of that size (GitHub stores its tokens the same way): a slow password hash protects
guessable passwords, and nothing about 256 random bits is guessable.

Managing keys (create, list, revoke) takes the owner's login, which may write ``api_keys``. Checking a key
takes only ``dora_api``'s two functions (``api_key_secret``, ``api_key_used``): the API can neither read
nor write the table.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from collector.config import shown
from collector.errors import CollectorError

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy import Engine

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAME_RULE = "a key's name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_KEY_RE = re.compile(r"^dora_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_BEARER_RE = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +(\S+) *$")
# Compared against when the key id is unknown, so an unknown id costs what a wrong secret costs.
_DUMMY_HASH = hashlib.sha256(b"no such key").digest()
USE_RECORDED_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class StoredKey:
    name: str
    key_id: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise CollectorError(f"{NAME_RULE} (got {shown(name)})")
    return name


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def create_key(engine: Engine, name: str) -> str:
    """A new key named ``name``; the raw key is returned here and never again."""
    check_name(name)
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO api_keys (name, key_id, secret_hash) VALUES (:name, :key_id, :hash)"),
                {"name": name, "key_id": key_id, "hash": _hash(secret)},
            )
    except IntegrityError:
        raise CollectorError(
            f"an API key named {shown(name)} exists already: revoke it first, or choose another name"
        ) from None
    return f"dora_{key_id}_{secret}"


def list_keys(engine: Engine) -> list[StoredKey]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, key_id, created_at, last_used_at, revoked_at FROM api_keys ORDER BY created_at, id")
        )
        return [StoredKey(*row) for row in rows]


def revoke_key(engine: Engine, name: str) -> None:
    """Revoke the live key named ``name``: from now on it gets 401. Its row stays, for the record."""
    with engine.begin() as conn:
        revoked = conn.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE name = :name AND revoked_at IS NULL"), {"name": name}
        ).rowcount
    if not revoked:
        raise CollectorError(f"no live API key is named {shown(name)} (dora-collector api-keys list shows them)")


class KeyChecker:
    """Answers whether an ``Authorization`` header carries a live key, the same way for every wrong one.

    Every well-formed key costs one lookup and one constant-time comparison, whether its id is unknown, its
    secret wrong or it is revoked: the answer's timing does not tell which. A key's use is recorded at most
    once a minute per process (and per key in the database), so polling costs no writes.
    """

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._recorded: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_valid(self, authorization: str | None) -> bool:
        match = _BEARER_RE.match(authorization or "")
        parts = _KEY_RE.match(match.group(1)) if match else None
        if parts is None:
            return False
        key_id, secret_hash = parts.group(1), _hash(parts.group(2))
        with self._engine.connect() as conn:
            row = conn.execute(text("SELECT secret_hash, revoked FROM api_key_secret(:key_id)"), {"key_id": key_id})
            found = row.first()
            stored, revoked = (bytes(found[0]), bool(found[1])) if found else (_DUMMY_HASH, True)
            valid = hmac.compare_digest(stored, secret_hash) and found is not None and not revoked
            if valid and self._due(key_id):
                conn.execute(text("SELECT api_key_used(:key_id, :hash)"), {"key_id": key_id, "hash": secret_hash})
                conn.commit()
        return valid

    def _due(self, key_id: str) -> bool:
        now = self._clock()
        with self._lock:
            if now - self._recorded.get(key_id, -USE_RECORDED_EVERY_SECONDS) < USE_RECORDED_EVERY_SECONDS:
                return False
            self._recorded[key_id] = now
            return True
