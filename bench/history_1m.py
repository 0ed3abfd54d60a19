"""Timings of the dashboard calls on a million finished jobs: list_jobs, queue_stats, find_job.

Creates a throwaway database on the server of $PGJOBS_DSN (else $PGJOBS_TEST_DSN), deploys,
fills app_jobs.job_history with 1,000,000 rows over 8 days of partitions (made as
create_history_partitions makes them), ANALYZEs, then prints the median and minimum of 7 calls
of each. The database is dropped at the end. `make bench-history`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgjobs.install.deploy import deploy

FILL = """
DO $$
DECLARE d date;
BEGIN
  FOR d IN SELECT g::date FROM generate_series((now() AT TIME ZONE 'UTC')::date - 7,
                                               (now() AT TIME ZONE 'UTC')::date - 1,
                                               interval '1 day') AS g
  LOOP
    EXECUTE format('CREATE TABLE app_jobs.%I (LIKE app_jobs.job_history_default INCLUDING'
                   ' DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)',
                   'job_history_p' || to_char(d, 'YYYYMMDD'));
    EXECUTE format('ALTER TABLE app_jobs.job_history ATTACH PARTITION app_jobs.%I'
                   ' FOR VALUES FROM (%L) TO (%L)', 'job_history_p' || to_char(d, 'YYYYMMDD'),
                   d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END $$;
SELECT app_jobs.create_history_partitions(7);
INSERT INTO app_jobs.job_history (id, database_id, task_identifier, payload, priority, run_at,
  attempts, max_attempts, queue_name, status, last_error, worker_id, created_at, locked_at,
  finished_at, correlation_id)
SELECT g,
       CASE WHEN g % 10 = 0 THEN '5b720132-17d5-424d-9bcb-ee7b17c13d43'::uuid
            ELSE '00000000-0000-0000-0000-000000000000'::uuid END,
       'task_' || (g % 20), '{}'::jsonb, 0, f - interval '2 seconds', 1, 25,
       CASE WHEN g % 5 = 0 THEN 'q' || (g % 3) END,
       CASE WHEN g % 100 = 0 THEN 'failed' WHEN g % 250 = 1 THEN 'cancelled'
            ELSE 'completed' END,
       CASE WHEN g % 100 = 0 THEN 'boom' END, 'w', f - interval '2 seconds',
       f - interval '1 second', f,
       CASE WHEN g % 1000 = 0 THEN 'c' || (g / 1000) END
  FROM generate_series(1, 1000000) AS g,
       LATERAL (SELECT now() - (1000000 - g) * interval '0.5 second' AS f) AS t;
ANALYZE app_jobs.job_history;
"""

CALLS = {
    "list_jobs()": "SELECT * FROM app_jobs.list_jobs()",
    "list_jobs(row_offset := 1000)": "SELECT * FROM app_jobs.list_jobs(row_offset := 1000)",
    "list_jobs(status := '{failed}')": "SELECT * FROM app_jobs.list_jobs(status := '{failed}')",
    "list_jobs(task := 'task_3')": "SELECT * FROM app_jobs.list_jobs(task := 'task_3')",
    "list_jobs(correlation_id := 'c500')": (
        "SELECT * FROM app_jobs.list_jobs(correlation_id := 'c500')"
    ),
    "queue_stats()": "SELECT * FROM app_jobs.queue_stats()",
    "find_job(123456, with_attempts)": (
        "SELECT * FROM app_jobs.find_job(123456, with_attempts := true)"
    ),
}


def main() -> int:
    server = os.environ.get("PGJOBS_DSN") or os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    name = f"pgjobs_history_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        dsn = make_conninfo(server, dbname=name)
        deploy(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(FILL)
            print(f"filled 1,000,000 history rows in {time.perf_counter() - started:.1f} s")
            for label, query in CALLS.items():
                times = []
                for _ in range(7):
                    began = time.perf_counter()
                    conn.execute(query).fetchall()
                    times.append((time.perf_counter() - began) * 1000)
                print(
                    f"{label:40s} median {statistics.median(times):7.1f} ms"
                    f"  min {min(times):7.1f} ms"
                )
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
