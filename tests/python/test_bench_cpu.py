"""`make bench-cpu` cannot rot: it runs here on a few jobs (its four paths on pgjobs, and
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

import psycopg
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
            "--paths",
            "single,batch,round,enqueue",
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
    pattern = re.compile(r"\s+pgjobs \(this checkout\)\s+([a-z]+)\s+([\d,]+)\s+\(verified\)$")
    rows = {m[1]: int(m[2].replace(",", "")) for m in map(pattern.match, lines[1:]) if m}
    assert set(rows) == {"single", "batch", "round", "enqueue"}, run.stdout
    assert all(n > 0 for n in rows.values())
    # --keep leaves each long run's profile for callgrind_annotate.
    for path in ("single", "batch", "round", "enqueue"):
        profile = (tmp_path / f"callgrind.pgjobs.{path}").read_text(errors="replace")
        assert "events: Ir" in profile and "fn=" in profile


@pytest.mark.skipif(system_bindir() is None, reason="no PostgreSQL build on PATH")
@pytest.mark.skipif(
    shutil.which("valgrind") is None,
    reason="valgrind is not installed (Debian: apt-get install valgrind; make test does)",
)
def test_bench_cpu_measures_a_variant_beside_pgjobs(tmp_path: Path) -> None:
    # A variant that takes the history's CHECK away: its database must have lost it (the run
    # fails otherwise: the probe below raises), and it is reported as a contender of its own.
    probe = tmp_path / "probe.sql"
    probe.write_text(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_constraint"
        " WHERE conname = 'job_history_status_check'"
        " AND conrelid = 'app_jobs.job_history'::regclass) THEN RAISE 'check still there'; END IF;"
        " END $$"
    )
    env = {k: v for k, v in os.environ.items() if k != "ANCHOR_SQL"}
    variant = f"no_check={BENCH / 'variants' / 'no_history_check.sql'},{probe}"
    run = subprocess.run(
        [sys.executable, str(BENCH / "bench_cpu.py"), "--paths", "single", "--few", "2",
         "--many", "4", "--variant", variant],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    pattern = re.compile(
        r"\s+(pgjobs \(this checkout\)|pgjobs \+ no_check)\s+single\s+([\d,]+)\s+\(verified\)$"
    )
    rows = {
        m[1]: int(m[2].replace(",", "")) for m in map(pattern.match, run.stdout.splitlines()) if m
    }
    assert set(rows) == {"pgjobs (this checkout)", "pgjobs + no_check"}, run.stdout
    assert all(n > 0 for n in rows.values())


def test_bench_cpu_refuses_a_malformed_variant(tmp_path: Path) -> None:
    for spec in ("no-file", "Bad Name=x.sql", f"x={tmp_path / 'missing.sql'}"):
        run = subprocess.run(
            [sys.executable, str(BENCH / "bench_cpu.py"), "--variant", spec],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 2 and "--variant" in run.stderr, (spec, run.stderr)


def test_every_variant_applies_to_a_fresh_deploy(dsn: str) -> None:
    # bench/variants/ cannot rot: each file runs on a freshly deployed pgjobs, as bench_cpu.py
    # runs it (in a transaction here, rolled back, so each starts from the same schema).
    files = sorted((BENCH / "variants").glob("*.sql"))
    assert files
    with psycopg.connect(dsn) as conn:
        for file in files:
            conn.execute(file.read_text().encode())
            conn.rollback()


@pytest.mark.skipif(system_bindir() is None, reason="no PostgreSQL build on PATH")
@pytest.mark.skipif(
    shutil.which("valgrind") is None,
    reason="valgrind is not installed (Debian: apt-get install valgrind; make test does)",
)
def test_bench_cpu_fails_when_a_path_raises(tmp_path: Path) -> None:
    # A path that errors inside the single-user backend (which reports on stderr) must fail
    # the run, never print a count of work that was not done.
    broken = tmp_path / "broken.sql"
    broken.write_text("DROP TABLE app_jobs.job_history CASCADE")
    env = {k: v for k, v in os.environ.items() if k != "ANCHOR_SQL"}
    run = subprocess.run(
        [sys.executable, str(BENCH / "bench_cpu.py"), "--paths", "single", "--few", "2",
         "--many", "4", "--variant", f"broken={broken}"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert run.returncode != 0
    assert "callgrind on bench_cpu_pgjobs_broken_single" in run.stderr, run.stderr[-2000:]
    assert "verified" not in run.stdout
