"""`make run`: the main job end to end, on the embedded PostgreSQL unless a database is set.

1. runs examples/demo.sql: a table whose INSERT trigger enqueues jobs, rows inserted, jobs
   enqueued with `SELECT app_jobs.add_job(...)`;
2. runs a worker with the handlers of examples/app.py until every one of those jobs finished
   (the flaky card payment fails once and is retried after its backoff);
3. prints what happened from app_jobs.job_history, and exits 1 if it is not what should be.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from examples.app import app
from psycopg.rows import dict_row

from pgjobs import connect

GUARD = 120.0  # seconds; the retry backoff is under 3 s


async def main() -> int:
    dsn = connect.conninfo(app.dsn)
    sql = (Path(__file__).parent / "demo.sql").read_text()
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        start = conn.execute("SELECT clock_timestamp() AS t").fetchall()[0]["t"]
        conn.execute(sql)
        print("enqueued from SQL: 2 jobs by the signups trigger, 4 by app_jobs.add_job")

        def waiting() -> int:
            row = conn.execute(
                "SELECT count(*) AS n FROM app_jobs.jobs WHERE created_at >= %s", (start,)
            ).fetchall()[0]
            return int(row["n"])

        worker = app.worker(concurrency=4, poll_interval=0.5)
        run = asyncio.create_task(worker.run())
        deadline = time.monotonic() + GUARD
        while waiting() and time.monotonic() < deadline and not run.done():
            await asyncio.sleep(0.2)
        worker.stop()
        summary = await run
        rows = conn.execute(
            "SELECT id, task_identifier, status, attempts, last_error FROM app_jobs.job_history"
            " WHERE created_at >= %s ORDER BY finished_at, id",
            (start,),
        ).fetchall()
    print(
        f"\nworker: claimed {summary.claimed}, completed {summary.completed}, "
        f"failed attempts {summary.failed}\n"
    )
    print(f"{'job':>5}  {'task':<12} {'status':<10} {'attempts':>8}  last error")
    for r in rows:
        error = (r["last_error"] or "").split("\n", 1)[0]
        print(
            f"{r['id']:>5}  {r['task_identifier']:<12} {r['status']:<10} "
            f"{r['attempts']:>8}  {error}"
        )
    return 0 if as_expected(rows) else 1


def as_expected(rows: list[dict[str, Any]]) -> bool:
    outcome = sorted((r["task_identifier"], r["status"], r["attempts"]) for r in rows)
    expected = sorted(
        [("send_email", "completed", 1)] * 3
        + [("checksum", "completed", 1), ("charge_card", "completed", 2)]
        + [("charge_card", "failed", 1)]
    )
    if outcome != expected:
        print(f"\nunexpected outcome: {outcome}\nexpected: {expected}", file=sys.stderr)
        return False
    print("\nall as expected: the flaky payment succeeded on its retry, the expired card failed")
    return True


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
