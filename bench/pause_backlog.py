"""What a paused backlog costs the claim (pause and resume, issue 17 item 4).

Creates a throwaway database on the server of $PGJOBS_DSN (else $PGJOBS_TEST_DSN), deploys,
enqueues 1,000 claimable jobs and measures one claim (get_jobs, batch 10, in a transaction
rolled back: it takes nothing) as shared buffers (EXPLAIN (ANALYZE, BUFFERS)) and as the
median time of 200 calls. Then it adds BACKLOG (default 1,000,000) jobs of a paused task ahead
of them in claim order and reports: the pause call's time, the claims that park the backlog
(how many, their times), the claim right after parking (dead index entries not yet vacuumed)
and after VACUUM (as autovacuum would run), and the resume call's time. The database is
dropped at the end. `python bench/pause_backlog.py [BACKLOG] [park]`: with `park`, the backlog
is parked by park_paused_jobs() calls (what `pgjobs pause` does) instead of by claims.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgjobs.install.deploy import deploy

CLAIM = "SELECT * FROM app_jobs.get_jobs('probe', batch_size := 10)"


def claim(conn: psycopg.Connection[tuple[Any, ...]]) -> tuple[int, float]:
    """Buffers of one claim (warm), and the median time of 200, each rolled back."""
    for _ in range(3):
        with conn.transaction(force_rollback=True):
            plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {CLAIM}").fetchone()
    assert plan is not None
    node = plan[0][0]["Plan"]
    buffers = int(node["Shared Hit Blocks"]) + int(node["Shared Read Blocks"])
    times = []
    for _ in range(200):
        with conn.transaction(force_rollback=True):
            start = time.perf_counter()
            conn.execute(CLAIM).fetchall()
            times.append(time.perf_counter() - start)
    return buffers, statistics.median(times) * 1000


def main() -> int:
    backlog = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    by_park = len(sys.argv) > 2 and sys.argv[2] == "park"
    server = os.environ.get("PGJOBS_DSN") or os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    name = f"pgjobs_pause_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        dsn = make_conninfo(server, dbname=name)
        deploy(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO app_jobs.jobs (task_identifier, run_at)"
                " SELECT 'report', now() - interval '1 hour' FROM generate_series(1, 1000)"
            )
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            report: dict[str, object] = {"backlog": backlog}
            report["claim_no_backlog"] = claim(conn)
            conn.execute(
                "INSERT INTO app_jobs.jobs (task_identifier, run_at)"
                " SELECT 'mail', now() - interval '2 hours' FROM generate_series(1, %s)",
                (backlog,),
            )
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            report["claim_backlog_unpaused_ready"] = "(n/a: the backlog would be claimed)"
            start = time.perf_counter()
            conn.execute("SELECT app_jobs.pause_jobs(task := 'mail')")
            report["pause_ms"] = round((time.perf_counter() - start) * 1000, 2)
            parking = []
            while True:
                start = time.perf_counter()
                conn.execute(
                    "SELECT id FROM app_jobs.get_jobs('parker', batch_size := 1)"
                ).fetchall()
                parking.append((time.perf_counter() - start) * 1000)
                conn.execute(
                    "UPDATE app_jobs.jobs SET state = 'ready', locked_by = NULL, locked_at = NULL,"
                    " attempts = 0, started_attempt = NULL WHERE locked_by = 'parker'"
                )
                row = conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM app_jobs.jobs WHERE state = 'ready'"
                    " AND task_identifier = 'mail')"
                ).fetchone()
                if not row or not row[0]:
                    break
            report["parked_by"] = "park_paused_jobs()" if by_park else "claims (get_jobs, batch 1)"
            report["parking_claims"] = len(parking)
            report["parking_claim_ms_median"] = round(statistics.median(parking), 1)
            report["parking_claim_ms_max"] = round(max(parking), 1)
            report["parking_total_s"] = round(sum(parking) / 1000, 2)
            report["claim_after_parking_before_vacuum"] = claim(conn)
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            report["claim_after_parking_and_vacuum"] = claim(conn)
            start = time.perf_counter()
            resumed = conn.execute("SELECT app_jobs.resume_jobs(task := 'mail')").fetchone()
            report["resume_s"] = round(time.perf_counter() - start, 2)
            report["resumed"] = resumed[0] if resumed else None
        print(json.dumps(report, indent=1))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
