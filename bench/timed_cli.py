"""The collector's CLI, exactly as ``python -m collector`` runs it, with its write transactions timed.

The benchmark runs this file (by path, so that ``PYTHONPATH`` chooses which collector is imported) where
it measures the database's share of a run. Each call of the store's batch write (``save_batch``;
``save_page`` before the resumable sweeps) is timed from its start to its commit, in the worker that
made it. That includes building the COPY rows and any wait for the GIL, so it bounds the database's
time from above. The calls are written as JSON, ``[repository, start, end]`` in seconds, to the file
that ``BENCH_WRITE_TIMES`` names when the command ends. Nothing else changes.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from collector import store
from collector.cli import main

WRITE_FUNCTIONS = ("save_batch", "save_page")


def timed(write: Any, calls: list[tuple[str, float, float]]) -> Any:
    @functools.wraps(write)
    def wrapper(engine: Any, repository: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return write(engine, repository, *args, **kwargs)
        finally:
            calls.append((repository, started, time.perf_counter()))

    return wrapper


def run(argv: list[str]) -> int:
    calls: list[tuple[str, float, float]] = []
    name = next(n for n in WRITE_FUNCTIONS if hasattr(store, n))
    setattr(store, name, timed(getattr(store, name), calls))  # the pipeline calls it as store.<name>
    code = main(argv)
    if out := os.environ.get("BENCH_WRITE_TIMES"):
        Path(out).write_text(json.dumps(calls))
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
