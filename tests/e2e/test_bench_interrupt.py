"""An interrupted benchmark leaves nothing behind: no folder, no database, no traceback."""

import os
import signal
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy import make_url

from collector.config import normalize_database_url


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_an_interrupted_bench_exits_130_and_removes_its_folders_and_databases(pg_server, tmp_path, signum):
    admin = make_url(normalize_database_url(pg_server)).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False)) as conn:
        before = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    env = {**os.environ, "BENCH_DATABASE_URL": pg_server, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "bench", "--small", "--json", str(tmp_path / "out.json")],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:  # the bench says when it starts collecting into its database
        if "backfill" in line:
            break
    else:
        pytest.fail(f"the bench ended first: {process.communicate()}")
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("dora-")] == []
    with psycopg.connect(admin.render_as_string(hide_password=False)) as conn:
        after = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    assert {d for d in after - before if d.startswith("dora_bench")} == set()
