"""`bench/batch_cost.py` cannot rot: it runs here on a few jobs against the test server.

Only the report's shape, its exactly-once checks (the script asserts every job completed
once) and that it leaves no database behind are asserted, never a figure's size.
"""

from __future__ import annotations

import re
import subprocess
import sys

import psycopg
import pytest
from bench_support import BENCH
from psycopg.conninfo import conninfo_to_dict


def test_batch_cost_reports_each_size_and_the_fit_and_drops_its_database(dsn: str) -> None:
    # The test's own database names the server; the script makes and drops one of its own.
    host = str(conninfo_to_dict(dsn).get("host", ""))
    if not (host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")):
        pytest.skip("the script reads the backend's CPU from /proc")
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH / "batch_cost.py"),
            "--sizes",
            "3,7",
            "--jobs",
            "21",
            "--dsn",
            dsn,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("PostgreSQL "), run.stdout
    rows = [re.match(r"\s+(\d+)\s+(\d+)\s", line) for line in lines[2:4]]
    assert [(int(m[1]), int(m[2])) for m in rows if m] == [(3, 7), (7, 3)], run.stdout
    assert re.match(r"\s+fit: [\d,-]+ µs of CPU per round whatever its size, [\d.-]+ µs per job$",
                    lines[4]), run.stdout  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'pgjobs\\_batch\\_cost\\_%'"
        ).fetchall()
    assert left == []


def test_batch_cost_refuses_sizes_it_cannot_fit(dsn: str) -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH / "batch_cost.py"), "--sizes", "10", "--dsn", dsn],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "--sizes needs at least two batch sizes" in run.stderr
