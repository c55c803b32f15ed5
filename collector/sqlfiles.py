"""Read the versioned view definitions shipped in ``collector.sql`` (the repository's ``sql/``)."""

from __future__ import annotations

from importlib import resources


def read_sql(filename: str) -> str:
    """The exact text of one file under sql/. Migrations name the file; it is never edited once applied."""
    return resources.files("collector.sql").joinpath(filename).read_text(encoding="utf-8")
