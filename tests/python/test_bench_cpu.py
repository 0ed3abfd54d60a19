"""`make bench-cpu` cannot rot: it runs here on a few jobs (its two paths on pgjobs, and
@pgpm/jobs' when $ANCHOR_SQL is set), on a private cluster of the PostgreSQL build on PATH.

Only the report's shape, positive counts and the exactly-once checks are asserted, never a
count's size.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_bench_wal import system_bindir

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.skipif(system_bindir() is None, reason="no PostgreSQL build on PATH")
@pytest.mark.skipif(
    shutil.which("valgrind") is None,
    reason="valgrind is not installed (Debian: apt-get install valgrind; make test does)",
)
def test_bench_cpu_counts_instructions_per_job_of_jobs_each_completed_once(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANCHOR_SQL"}
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_cpu.py"),
            "--few",
            "2",
            "--many",
            "4",
            "--keep",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("PostgreSQL ") and "callgrind" in lines[0]
    pattern = re.compile(r"\s+pgjobs \(this checkout\)\s+(single|batch)\s+([\d,]+)\s+\(verified\)$")
    rows = {m[1]: int(m[2].replace(",", "")) for m in map(pattern.match, lines[1:]) if m}
    assert set(rows) == {"single", "batch"}, run.stdout
    assert all(n > 0 for n in rows.values())
    # --keep leaves each long run's profile for callgrind_annotate.
    for path in ("single", "batch"):
        profile = (tmp_path / f"callgrind.pgjobs.{path}").read_text(errors="replace")
        assert "events: Ir" in profile and "fn=" in profile
