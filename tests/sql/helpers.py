"""Small helpers shared by the SQL API tests (raw psycopg only: never `import pgjobs` here)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import psycopg
from psycopg import sql

Conn = psycopg.Connection[Any]
Row = dict[str, Any]

DEFAULT_TENANT = "00000000-0000-0000-0000-000000000000"
TENANT = "5b720132-17d5-424d-9bcb-ee7b17c13d43"
OTHER_TENANT = "9d4b0e6a-3f1c-4c4e-8a57-2f6d1c0b7e21"

#: Every table whose content a failed call must leave untouched.
STATE_TABLES = (
    "jobs",
    "job_history",
    "job_attempts",
    "job_queues",
    "job_queue_locks",
    "job_queue_wakes",
    "scheduled_jobs",
    "workers",
    "task_settings",
    "worker_tasks",
    "job_pauses",
    "job_limits",
    "job_fairness",
    "job_dependencies",
)


def add_job(conn: Conn, identifier: str = "task", db_id: str | None = TENANT, **kw: Any) -> Row:
    """app_jobs.add_job with named arguments; returns the new job row."""
    names = ["db_id", "identifier", *kw]
    args = sql.SQL(", ").join(
        sql.SQL("{} := {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in names
    )
    query = sql.SQL("SELECT * FROM app_jobs.add_job({})").format(args)
    row = conn.execute(query, {"db_id": db_id, "identifier": identifier, **kw}).fetchone()
    assert row is not None
    return dict(row)


def get_job(conn: Conn, worker_id: str, task_identifiers: list[str] | None = None) -> Row | None:
    """app_jobs.get_job; the claimed job row, or None when nothing is due."""
    row = conn.execute(
        "SELECT * FROM app_jobs.get_job(worker_id := %s, task_identifiers := %s)",
        (worker_id, task_identifiers),
    ).fetchone()
    return None if row is None else dict(row)


def complete_job(conn: Conn, worker_id: str, job_id: int) -> Row | None:
    """app_jobs.complete_job; the completed job row, or None when worker_id did not hold it."""
    row = conn.execute(
        "SELECT * FROM app_jobs.complete_job(worker_id := %s, job_id := %s)", (worker_id, job_id)
    ).fetchone()
    return None if row is None else dict(row)


def nested_plans(conn: Conn, statement: str, params: Any = None) -> tuple[list[Row], list[str]]:
    """Runs a statement and returns its rows and the plans (auto_explain, "Query Text" first)
    of the statements it ran inside functions that read or write app_jobs.jobs, in order."""
    messages: list[str] = []

    def keep(diag: Any) -> None:
        messages.append(diag.message_primary or "")

    conn.execute("LOAD 'auto_explain'")
    conn.execute("SET auto_explain.log_min_duration = 0")
    conn.execute("SET auto_explain.log_nested_statements = on")
    conn.execute("SET client_min_messages = log")
    conn.add_notice_handler(keep)
    try:
        rows = conn.execute(statement, params).fetchall()
    finally:
        conn.remove_notice_handler(keep)
        conn.execute("SET client_min_messages = notice")
    return rows, [m for m in messages if "app_jobs.jobs" in m and "Query Text" in m]


def sweep_due(conn: Conn) -> None:
    """Make the next claim run the sweep's probe. get_jobs runs it at most once per 10 ms per
    database (the clock app_jobs.sweep_clock): a test that moves time by rewriting rows (a run_at,
    a lock's age, a lease) and claims again at once sets the clock back first, as
    unregister_worker does."""
    conn.execute("SELECT pg_catalog.setval('app_jobs.sweep_clock', 0)")


def claim_buffers(conn: Conn, batch: int = 10) -> int:
    """Shared buffers (hit + read) one get_jobs call touches, inside and out, measured with
    EXPLAIN (ANALYZE, BUFFERS) in a transaction rolled back (the claim takes nothing); the
    first calls of a session read the catalog (planning): the third is measured. Each call
    runs the sweep's probe (else whether it does depends on the 10 ms clock)."""
    plan: Any = None
    for _ in range(3):
        sweep_due(conn)
        with conn.transaction(force_rollback=True):
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
                " SELECT * FROM app_jobs.get_jobs('probe', batch_size := %s)",
                [batch],
            ).fetchone()
    node = plan["QUERY PLAN"][0]["Plan"]
    return int(node["Shared Hit Blocks"]) + int(node["Shared Read Blocks"])


def settle_wake_requests(conn: Conn) -> None:
    """Let get_job's pre-claim sweep settle the wake requests of serial queues recorded while
    a queue was busy (it claims nothing: no task matches an empty list)."""
    sweep_due(conn)
    conn.execute("SELECT * FROM app_jobs.get_job('settle-wakes', ARRAY[]::text[])").fetchall()


def snapshot(conn: Conn) -> dict[str, Any]:
    """Everything a failed call could have written: each state table's rows (as text, in a
    stable order) and the position of the jobs id sequence (sequences ignore rollbacks, so it
    also shows whether an INSERT was attempted before the error)."""
    state: dict[str, Any] = {}
    for table in STATE_TABLES:
        query = sql.SQL("SELECT t::text AS r FROM app_jobs.{} AS t ORDER BY 1").format(
            sql.Identifier(table)
        )
        state[table] = [row["r"] for row in conn.execute(query)]
    seq = conn.execute(
        "SELECT pg_sequence_last_value(pg_get_serial_sequence('app_jobs.jobs', 'id')) AS v"
    ).fetchone()
    assert seq is not None
    state["jobs_id_seq"] = seq["v"]
    return state


def unique_name(prefix: str) -> str:
    """A name unique across xdist workers and runs (roles are cluster-wide)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:10]}"
