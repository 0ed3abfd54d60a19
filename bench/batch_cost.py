"""PostgreSQL's CPU per job of a worker's round (``get_jobs`` of N jobs, commit, ``finish_jobs``
of them, commit) by batch size N, and the line through those points: what each round costs
whatever its size (the fixed part) and what each job adds (the slope).

A worker's batch size is what its slots free between two rounds, so the fixed part is what a
smaller batch pays more per job: with two lanes (``Worker(lanes=2)``, the default from a
concurrency of 64) each round carries half the jobs of one lane's.

For each size, a fresh queue of JOBS jobs in a throwaway database is drained by one
connection, round after round; the backend's user and system CPU come from /proc (the server
must run on this machine), so time the backend waits (the WAL flush, the client) is left out.
Every job is checked completed exactly once.

    python bench/batch_cost.py [--sizes 10,25,50,100,200,400] [--jobs 30000] [--dsn DSN]

The server is --dsn, else $PGJOBS_DSN, else the local test server; the database
(pgjobs_batch_cost_<pid>) is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

import psycopg
from bench_sql import PREFILL, RESET, install_pgjobs
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DATABASE = f"pgjobs_batch_cost_{os.getpid()}"
SERVER = os.environ.get("PGJOBS_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a backend (its /proc entry)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def fill(conn: psycopg.Connection, jobs: int) -> None:
    """An empty queue and history, then JOBS jobs queued (as make bench-sql fills it)."""
    conn.execute(RESET["pgjobs"])
    conn.execute(PREFILL["pgjobs"] % jobs)
    conn.execute("VACUUM ANALYZE app_jobs.jobs")


def drain(conn: psycopg.Connection, size: int, jobs: int) -> dict[str, float]:
    """Rounds of `size` until the queue is empty; CPU per job and per round."""
    fill(conn, jobs)
    pid = conn.info.backend_pid
    user0, system0 = backend_cpu(pid)
    began = time.perf_counter()
    done = 0
    rounds = 0
    while True:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM app_jobs.get_jobs('batch-cost', NULL, interval '4 hours', %s)",
                (size,),
            )
        ]
        if not ids:
            break
        row = conn.execute(
            "SELECT pg_catalog.count(*) FILTER (WHERE status = 'completed')"
            "  FROM app_jobs.finish_jobs('batch-cost', %s)",
            (ids,),
        ).fetchone()
        assert row is not None and row[0] == len(ids), f"finish_jobs applied {row} of {len(ids)}"
        done += len(ids)
        rounds += 1
    wall = time.perf_counter() - began
    user1, system1 = backend_cpu(pid)
    row = conn.execute(
        "SELECT pg_catalog.count(*), pg_catalog.count(DISTINCT id) FROM app_jobs.job_history"
        " WHERE status = 'completed' AND worker_id = 'batch-cost'"
    ).fetchone()
    assert row is not None and row[0] == row[1] == done == jobs, (row, done, jobs)
    user, system = user1 - user0, system1 - system0
    return {
        "size": size,
        "rounds": rounds,
        "user_us_per_job": user * 1e6 / jobs,
        "system_us_per_job": system * 1e6 / jobs,
        "cpu_us_per_round": (user + system) * 1e6 / rounds,
        "wall_us_per_job": wall * 1e6 / jobs,
    }


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares line through (jobs per round, CPU per round): (fixed, per job)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    return mean_y - slope * mean_x, slope


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,25,50,100,200,400")
    ap.add_argument("--jobs", type=int, default=30000)
    ap.add_argument("--dsn", default=SERVER)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if len(sizes) < 2 or min(sizes) < 1 or max(sizes) > 10000:
        ap.error("--sizes needs at least two batch sizes between 1 and 10000")
    if args.jobs < max(sizes):
        ap.error("--jobs must be at least the largest size")
    host = conninfo_to_dict(args.dsn).get("host", "")
    if host not in ("", "localhost", "127.0.0.1", "::1") and not str(host).startswith("/"):
        ap.error("the server must run on this machine (its backend's CPU is read from /proc)")
    target = make_conninfo(args.dsn, dbname=DATABASE)
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    try:
        install_pgjobs(target)
        with psycopg.connect(target, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            print(f"PostgreSQL {version[0] if version else '?'}, {args.jobs:,} jobs per size, one"
                  " connection, get_jobs then finish_jobs, a commit each:")  # fmt: skip
            print("  batch   rounds   user µs/job   system µs/job   CPU µs/round   wall µs/job")
            points = []
            for size in sizes:
                r = drain(conn, size, args.jobs)
                points.append((float(size), r["cpu_us_per_round"]))
                print(f"  {size:5d}  {r['rounds']:7,.0f}  {r['user_us_per_job']:12.1f}"
                      f"  {r['system_us_per_job']:14.1f}  {r['cpu_us_per_round']:13,.0f}"
                      f"  {r['wall_us_per_job']:12.1f}")  # fmt: skip
        fixed, per_job = fit(points)
        print(
            f"  fit: {fixed:,.0f} µs of CPU per round whatever its size, {per_job:.1f} µs per job"
        )
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
            )


if __name__ == "__main__":
    main()
