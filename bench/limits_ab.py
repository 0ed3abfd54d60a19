"""What limits and tenant fairness cost the claim: a paired comparison on the same server at
the same time, in the manner of bench/pause_ab.py. Sides, each its own throwaway database:

    base       another checkout (BASE, e.g. main before limits), no limit
    off        this checkout, no limit, fairness off
    unmatched  this checkout, a limit of a task no job has
    matched    this checkout, a limit (max_running 1,000,000 and a rate of 1,000,000 per
               second: never full) on the task of every job, so every claim locks it and counts
    fair       this checkout, tenant fairness on, the jobs spread over TENANTS tenants

($LIMITS_AB_SIDES picks and orders the sides, e.g. "base off fair".)

Each side gets QUEUED jobs, then ROUNDS rounds, the order of the sides rotating per round:
CALLS claims of BATCH jobs (get_jobs) each followed by finish_jobs of what it took, each
claim timed on the client; the queue is topped up between rounds. Sessions run with
synchronous_commit off (the commit's flush would drown the functions' cost). Prints the
per-claim median and p95 of each side and its ratio to base. The databases are dropped.

    python bench/limits_ab.py BASE_CHECKOUT [ROUNDS] [CALLS] [BATCH] [TENANTS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

HERE = Path(__file__).resolve().parents[1]
QUEUED = 20_000
SIDES = tuple(os.environ.get("LIMITS_AB_SIDES", "base off unmatched matched fair").split())


def deploy(checkout: Path, dsn: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout / "python"),
        "PGJOBS_SQL_DIR": str(checkout / "sql"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    subprocess.run([sys.executable, "-m", "pgjobs", "deploy", "--dsn", dsn], env=env, check=True,
                   capture_output=True)  # fmt: skip


def enqueue(conn: psycopg.Connection[tuple[object, ...]], n: int, tenants: int) -> None:
    conn.execute(
        "SELECT count(app_jobs.add_job(md5((g %% %s)::text)::uuid, 'noop', '{}'::json))"
        " FROM generate_series(1, %s) AS g",
        (tenants, n),
    )


def prepare(conn: psycopg.Connection[tuple[object, ...]], side: str) -> None:
    """The side's limits or fairness."""
    if side == "unmatched":
        conn.execute("SELECT app_jobs.set_job_limit(task := 'other', max_running := 5)")
    if side == "matched":
        conn.execute(
            "SELECT app_jobs.set_job_limit(task := 'noop', max_running := 1000000,"
            " max_starts := 1000000, per_period := interval '1 second')"
        )
    if side == "fair":
        conn.execute("SELECT app_jobs.set_tenant_fairness(true)")


def main() -> int:
    base = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    tenants = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    server = os.environ.get("PGJOBS_DSN") or os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    names = {side: f"pgjobs_lab_{side}_{uuid.uuid4().hex[:6]}" for side in SIDES}
    with psycopg.connect(server, autocommit=True) as admin:
        for name in names.values():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        conns = {}
        for side in SIDES:
            dsn = make_conninfo(server, dbname=names[side])
            deploy(base if side == "base" else HERE, dsn)
            conn = psycopg.connect(dsn, autocommit=True)
            conn.execute("SET synchronous_commit = off")
            prepare(conn, side)
            enqueue(conn, QUEUED, tenants)
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            conns[side] = conn
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        for round_ in range(rounds):
            order = SIDES[round_ % len(SIDES) :] + SIDES[: round_ % len(SIDES)]
            for side in order:
                conn = conns[side]
                for _ in range(calls):
                    start = time.perf_counter()
                    ids = [
                        r[0]
                        for r in conn.execute(
                            "SELECT id FROM app_jobs.get_jobs('ab', batch_size := %s)", (batch,)
                        )
                    ]
                    times[side].append(time.perf_counter() - start)
                    conn.execute("SELECT count(*) FROM app_jobs.finish_jobs('ab', %s)", (ids,))
                enqueue(conn, calls * batch, tenants)
        base_median = statistics.median(times["base"])
        print(f"get_jobs(batch_size := {batch}) per call, {QUEUED} queued, {tenants} tenants")
        for side in SIDES:
            values = sorted(times[side])
            median = statistics.median(values)
            p95 = values[int(len(values) * 0.95)]
            print(f"  {side:10s} median {median * 1e6:8.1f} us  p95 {p95 * 1e6:8.1f} us"
                  f"  ratio to base {median / base_median:.3f}  ({len(values)} calls)")  # fmt: skip
        for conn in conns.values():
            conn.close()
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            for name in names.values():
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
