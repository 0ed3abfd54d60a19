"""`bench/bench_sql.py` (`make bench-sql`) cannot rot: it runs here on a few jobs, alternating
rounds, against the test server. Only the report's shape and that it leaves no database behind
are asserted, never a figure's size; the medians are checked on given rates."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import psycopg
import pytest
from bench_support import BENCH, load_bench


def test_medians_are_per_contender_and_the_ratio_is_of_the_medians() -> None:
    rounds = {
        "pgjobs": [{0: 100.0, 10: 300.0}, {0: 120.0, 10: 330.0}, {0: 90.0, 10: 360.0}],
        "pgpm": [{0: 200.0, 10: 400.0}, {0: 210.0, 10: 440.0}, {0: 190.0, 10: 400.0}],
    }
    enqueue, drain = load_bench("bench_sql.py").medians(rounds, [10])
    assert "median of 3: enqueue  1 client : pgjobs 100 jobs/s, pgpm 200 jobs/s" in enqueue
    assert "pgjobs/@pgpm/jobs 0.50x (rounds: 0.50, 0.57, 0.47)" in enqueue
    assert "get+complete 10 clients: pgjobs 330 jobs/s, pgpm 400 jobs/s" in drain
    assert "pgjobs/@pgpm/jobs 0.82x (rounds: 0.75, 0.75, 0.90)" in drain


def test_rounds_alternate_and_end_with_the_medians_and_no_database_left(dsn: str) -> None:
    if shutil.which(os.environ.get("PGBENCH", "pgbench")) is None:
        pytest.skip("pgbench is not installed")
    env = {k: v for k, v in os.environ.items() if k != "ANCHOR_SQL"}
    env["PGJOBS_DSN"] = dsn
    run = subprocess.run(
        [sys.executable, str(BENCH / "bench_sql.py"), "--clients", "2", "--jobs", "40",
         "--queued", "80", "--rounds", "2"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert out.count("pgjobs  get+complete  2 clients:") == 2, out
    assert re.search(r"round 1 of 2\n.*round 2 of 2\n", out, re.S), out
    assert re.search(r"median of 2: get\+complete  2 clients: pgjobs \d+ jobs/s\n", out), out
    with psycopg.connect(dsn, autocommit=True) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_sql\\_%'"
        ).fetchall()
    assert left == []
