"""Which database errors a write retries, and how they read: COPY runs on psycopg's own cursor, so its
errors arrive unwrapped by SQLAlchemy and must be classified all the same."""

import psycopg
import pytest

from collector.errors import DatabaseError
from collector.store import database_errors, is_transient


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"), True),
        (psycopg.errors.SerializationFailure("could not serialize access"), True),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True),
        (psycopg.errors.CheckViolation('violates check constraint "ck"'), False),
        (psycopg.errors.ForeignKeyViolation("references no membership"), False),
        (ValueError("not a database error"), False),
    ],
)
def test_unwrapped_psycopg_errors_are_classified(error, transient):
    assert is_transient(error) is transient


def test_an_unwrapped_psycopg_error_becomes_one_line():
    with pytest.raises(DatabaseError, match=r"^database: first line$"), database_errors("database"):
        raise psycopg.errors.CheckViolation("first line\nDETAIL: the rest")
