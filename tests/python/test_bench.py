"""`make bench` and the side-by-side adapter cannot rot: both run here in a tiny mode.

Only the shape of the output and the exactly-once counts are checked, never a speed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import psycopg
from bench_support import BENCH, load_bench

SERVER = os.environ.get("PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / "bench.py"), "--dsn", SERVER, *args],
        capture_output=True,
        text=True,
        timeout=240,
    )


def databases(prefix: str) -> list[str]:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    return [r[0] for r in rows]


def test_bench_reports_every_measure_and_drops_its_databases() -> None:
    run = bench("--jobs", "40", "--gap-ms", "5", "--json")
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    measures = ["enqueue", "enqueue-queues", "drain", "serial", "latency"]
    assert [r["measure"] for r in results] == measures
    for r in results:
        assert r["jobs"] == 40
        assert r["verified"] is True, r["detail"]
        assert 0 <= r["p50"] <= r["p95"] <= r["p99"] <= r["max"]
        assert r["latency_of"]
        assert r["database"].startswith("pgjobs_bench_")
    enqueue, enqueue_queues, drain, serial, latency = results
    assert enqueue["rate"] > 0 and drain["rate"] > 0
    assert enqueue_queues["rate"] > 0 and serial["rate"] > 0
    assert latency["rate"] is None  # the bench sets its pace
    assert "duplicate calls 0" in drain["detail"] and "completed 40" in drain["detail"]
    assert "completed 40" in serial["detail"]
    assert databases(results[0]["database"]) == []


def test_bench_prints_a_table_and_runs_chosen_measures_only() -> None:
    run = bench("--jobs", "20", "--measures", "enqueue")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("pgjobs ") and "PostgreSQL" in lines[0]
    assert lines[1].split()[:6] == ["measure", "jobs", "jobs/s", "p50", "ms", "p95"]
    assert len(lines) == 3 and lines[2].startswith("enqueue, single")
    assert bench("--measures", "nope").returncode == 2


def test_contender_follows_the_shared_harness_contract(dsn: str) -> None:
    """The calls ../shared/bench/harness/pyrun.py makes, in its order, on a real database."""
    a = load_bench("contender.py")
    for name in ("NAME", "WAKEUP", "BULK_NOTE", "PENDING_SQL", "DONE_SQL"):
        assert isinstance(getattr(a, name), str), name
    assert a.ENABLED is True and a.PEER is False and isinstance(a.BATCH, str)  # Cb runs it
    seen: list[int] = []

    def count(sql: str) -> Any:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(sql).fetchone()
        return row[0] if row else None

    async def drained(total: int) -> None:
        """Until the handler saw `total` jobs and none is pending (at most 20 s), then stop."""
        for _ in range(2000):
            if len(seen) == total and count(a.PENDING_SQL) == 0:
                break
            await asyncio.sleep(0.01)
        await a.stop_worker()

    async def scenario() -> None:
        await a.setup(dsn)
        try:
            await a.enqueue(0)
            await a.enqueue_bulk(30, start=1)
            assert count(a.PENDING_SQL) == 31
            await a.start_worker(5, 0, seen.append)
            await drained(31)
        finally:
            await a.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert sorted(seen) == list(range(31))
    assert count(a.PENDING_SQL) == 0 and count(a.DONE_SQL) == 31

    # Cb (batch fetch): the harness's 10 loops of 100, as pgmq and pg-boss run them, held by
    # one worker (10 x 100 slots, a buffer of 100); every job still runs once.
    async def batched() -> tuple[int, int]:
        await a.setup(dsn)
        try:
            await a.enqueue_bulk(400, start=31)
            await a.start_worker(10, 100, seen.append)
            held = (a._worker.concurrency, a._worker.buffer)
            await drained(431)
        finally:
            await a.close()
        return held

    assert asyncio.run(asyncio.wait_for(batched(), 60)) == (1000, 100)
    assert sorted(seen) == list(range(431))
    assert count(a.PENDING_SQL) == 0 and count(a.DONE_SQL) == 431
