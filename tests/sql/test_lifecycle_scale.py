"""list_jobs and queue_stats on 1M history rows use indexes (EXPLAIN of the real calls, through
auto_explain). Heavy: generating the rows takes a minute, so it runs only with
PGJOBS_HEAVY_TESTS=1 (`make test-heavy`)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import Conn

pytestmark = pytest.mark.heavy

ROWS = 1_000_000

GENERATE = """
INSERT INTO app_jobs.job_history (id, database_id, task_identifier, payload, priority, run_at,
  attempts, max_attempts, queue_name, status, last_error, worker_id, created_at, locked_at,
  finished_at, correlation_id)
SELECT g,
       CASE WHEN g %% 10 = 0 THEN '5b720132-17d5-424d-9bcb-ee7b17c13d43'::uuid
            ELSE '00000000-0000-0000-0000-000000000000'::uuid END,
       'task_' || (g %% 20), '{}'::jsonb, 0, f - interval '2 seconds', 1, 25,
       CASE WHEN g %% 5 = 0 THEN 'q' || (g %% 3) END,
       CASE WHEN g %% 100 = 0 THEN 'failed' WHEN g %% 250 = 1 THEN 'cancelled' ELSE 'completed' END,
       CASE WHEN g %% 100 = 0 THEN 'boom' END, 'w', f - interval '2 seconds',
       f - interval '1 second', f,
       CASE WHEN g %% 1000 = 0 THEN 'c' || (g / 1000) END
  FROM generate_series(1, %(rows)s) AS g,
       LATERAL (SELECT now() - (%(rows)s - g) * interval '0.5 second' AS f) AS t
"""

PAST_PARTITIONS = """
DO $$
DECLARE d date;
BEGIN
  FOR d IN SELECT g::date FROM generate_series((now() AT TIME ZONE 'UTC')::date - 7,
                                               (now() AT TIME ZONE 'UTC')::date - 1,
                                               interval '1 day') AS g
  LOOP
    -- As create_history_partitions makes a day: job_history_default's indexes copied (the
    -- parent has none), then attached.
    EXECUTE format('CREATE TABLE app_jobs.%I (LIKE app_jobs.job_history_default INCLUDING'
                   ' DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)',
                   'job_history_p' || to_char(d, 'YYYYMMDD'));
    EXECUTE format('ALTER TABLE app_jobs.job_history ATTACH PARTITION app_jobs.%I'
                   ' FOR VALUES FROM (%L) TO (%L)', 'job_history_p' || to_char(d, 'YYYYMMDD'),
                   d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END $$
"""

CALLS = {
    "list_jobs": "SELECT * FROM app_jobs.list_jobs()",
    "list_jobs page 20": "SELECT * FROM app_jobs.list_jobs(row_offset := 1000)",
    "list_jobs failed": "SELECT * FROM app_jobs.list_jobs(status := '{failed,cancelled}')",
    "list_jobs task": "SELECT * FROM app_jobs.list_jobs(task := 'task_3')",
    "list_jobs queue": "SELECT * FROM app_jobs.list_jobs(queue := 'q1')",
    "list_jobs tenant": (
        "SELECT * FROM app_jobs.list_jobs(db_id := '5b720132-17d5-424d-9bcb-ee7b17c13d43')"
    ),
    "list_jobs correlation": "SELECT * FROM app_jobs.list_jobs(correlation_id := 'c500')",
    "list_jobs task+status": (
        "SELECT * FROM app_jobs.list_jobs(status := '{completed}', task := 'task_7')"
    ),
    "queue_stats": "SELECT * FROM app_jobs.queue_stats()",
    "find_job": "SELECT * FROM app_jobs.find_job(123456, with_attempts := true)",
}


def plans_of(db: Conn, statement: str) -> list[str]:
    """The plans of the statements the call ran inside its functions (auto_explain)."""
    messages: list[str] = []

    def keep(diag: Any) -> None:
        messages.append(diag.message_primary or "")

    db.add_notice_handler(keep)
    try:
        db.execute(statement).fetchall()
    finally:
        db.remove_notice_handler(keep)
    return [m for m in messages if "job_history" in m and "Query Text" in m]


def wasteful_seq_scans(plan: str) -> list[str]:
    """Seq Scan nodes that read rows they then threw away (a scan of a partition whose rows
    all qualify, such as a day that began less than an hour ago, is fine)."""
    lines = plan.splitlines()
    found = []
    for number, line in enumerate(lines):
        if "Seq Scan on" not in line:
            continue
        depth = len(line) - len(line.lstrip())
        for detail in lines[number + 1 :]:
            if len(detail) - len(detail.lstrip()) <= depth:
                break
            removed = re.search(r"Rows Removed by Filter: (\d+)", detail)
            if removed and int(removed.group(1)) > 0:
                found.append(line.strip())
    return found


def test_list_jobs_and_queue_stats_use_indexes_on_a_million_history_rows(db: Conn) -> None:
    db.execute(PAST_PARTITIONS)
    db.execute(GENERATE, {"rows": ROWS})
    db.execute("ANALYZE app_jobs.job_history")
    filled = {
        r["p"]
        for r in db.execute(
            "SELECT DISTINCT tableoid::regclass::text AS p FROM app_jobs.job_history"
        )
    }
    assert len(filled) >= 6
    db.execute("LOAD 'auto_explain'")
    db.execute("SET auto_explain.log_min_duration = 0")
    db.execute("SET auto_explain.log_nested_statements = on")
    db.execute("SET auto_explain.log_analyze = on")
    db.execute("SET auto_explain.log_timing = off")
    db.execute("SET client_min_messages = log")
    for name, statement in CALLS.items():
        plans = plans_of(db, statement)
        assert plans, f"{name}: no plan reached the client"
        text = "\n".join(plans)
        wasteful = [
            line
            for line in wasteful_seq_scans(text)
            if any(f"on {p.removeprefix('app_jobs.')} " in line for p in filled)
        ]
        assert wasteful == [], f"{name}:\n{text}"
        assert "Index" in text, f"{name}:\n{text}"
        # No node of the plan touched more than a few thousand rows of the million.
        touched = [int(n) for n in re.findall(r"actual rows=(\d+)", text)]
        removed = [int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", text)]
        assert max(touched) + max(removed, default=0) < 50_000, f"{name}:\n{text}"
