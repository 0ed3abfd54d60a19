"""make bench-upgrade: how long `pgjobs deploy` takes from an earlier release on a large queue,
and how long it stops the queue.

A throwaway database is deployed at an earlier release (default v0.3.0: its SQL tree is read
from the git tag), filled with --queued waiting jobs and --history rows of history, vacuumed,
then upgraded by `pgjobs deploy` (this checkout's SQL tree) while a probe connection enqueues
and claims one job at a time in a loop, with lock_timeout off. Reported: the deploy's
duration, the longest the probe waited for one enqueue+claim (how long the upgrade stopped the
queue), and which relations the upgrade held ACCESS EXCLUSIVE locks on (sampled from pg_locks
every 10 ms). deploy runs every pending change in one transaction, so a lock taken by a change
is held until the whole upgrade commits.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgjobs.sqltree.plan import load_plan, write_tree

REPO = Path(__file__).resolve().parent.parent

JOBS_FILL = """
INSERT INTO app_jobs.jobs (task_identifier, payload, queue_name, run_at)
SELECT 'task_' || (g %% 20), jsonb_build_object('i', g),
       CASE WHEN g %% 50 = 0 THEN 'q' || (g %% 7) END,
       now() + CASE WHEN g %% 10 = 0 THEN interval '1 day' ELSE interval '0' END
  FROM generate_series(1, %s) AS g
"""

HISTORY_FILL = """
INSERT INTO app_jobs.job_history (id, database_id, task_identifier, payload, priority, run_at,
  attempts, max_attempts, queue_name, status, worker_id, created_at, locked_at, finished_at)
SELECT -g, '00000000-0000-0000-0000-000000000000'::uuid, 'task_' || (g %% 20), '{}'::jsonb, 0,
       now() - interval '1 day', 1, 25, CASE WHEN g %% 5 = 0 THEN 'q' || (g %% 3) END,
       CASE WHEN g %% 100 = 0 THEN 'failed' ELSE 'completed' END, 'w', now() - interval '1 day',
       now() - interval '1 day', now() - (g %% 86400) * interval '1 second'
  FROM generate_series(%s, %s) AS g
"""

LOCKS = """
SELECT c.relname FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation
 WHERE l.pid = %s AND l.mode = 'AccessExclusiveLock' AND l.granted
   AND c.relnamespace = 'app_jobs'::regnamespace AND c.relkind IN ('r', 'p', 'v')
"""


def sql_tree_of(tag: str, into: Path) -> Path:
    """The sql/ directory as of a release tag of the plan (no git checkout needed)."""
    write_tree(load_plan(REPO / "sql"), into / "sql", until=f"@{tag}")
    return into / "sql"


def deploy(dsn: str, tree: Path) -> float:
    env = dict(os.environ, PGJOBS_SQL_DIR=str(tree))
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "pgjobs", "deploy", "--dsn", dsn], env=env, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started


class Probe(threading.Thread):
    """Enqueues and claims one job at a time; records each round trip's duration."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.stop = threading.Event()
        self.rounds: list[tuple[float, float]] = []  # (start, seconds)
        self.errors: list[str] = []

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True, application_name="probe") as conn:
            conn.execute("SET lock_timeout = 0")
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    conn.execute("SELECT app_jobs.add_job(NULL, 'probe', '{}'::json)")
                    # Any due job (a task filter would walk the backlog of other tasks).
                    conn.execute(
                        "SELECT app_jobs.complete_job('probe', id) FROM app_jobs.get_job('probe')"
                    )
                except psycopg.Error as error:  # an object replaced under a prepared plan
                    self.errors.append(f"{type(error).__name__}: {error}".splitlines()[0])
                self.rounds.append((started, time.monotonic() - started))
                time.sleep(0.005)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from-tag", default="v0.3.0")
    ap.add_argument("--queued", type=int, default=1_000_000)
    ap.add_argument("--history", type=int, default=10_000_000)
    args = ap.parse_args()
    admin = os.environ.get("PGJOBS_DSN") or os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    name = f"bench_upgrade_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(admin, dbname=name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            old = sql_tree_of(args.from_tag, Path(tmp))
            deploy(dsn, old)
            with psycopg.connect(dsn, autocommit=True) as conn:
                fill = time.monotonic()
                conn.execute(JOBS_FILL % args.queued)
                step = 1_000_000
                for first in range(1, args.history + 1, step):
                    conn.execute(HISTORY_FILL % (first, min(first + step - 1, args.history)))
                conn.execute("VACUUM (ANALYZE) app_jobs.jobs")
                conn.execute("VACUUM (ANALYZE) app_jobs.job_history")
                conn.execute("CHECKPOINT")
                sizes = conn.execute(
                    "SELECT pg_size_pretty(pg_total_relation_size('app_jobs.jobs')),"
                    " pg_size_pretty(sum(pg_total_relation_size(c.oid)))"
                    " FROM pg_class AS c WHERE c.relname LIKE 'job_history%%' AND c.relkind = 'r'"
                ).fetchone()
                assert sizes is not None
                print(
                    f"{args.from_tag}: {args.queued:,} jobs queued ({sizes[0]}), {args.history:,}"
                    f" history rows ({sizes[1]}); filled in {time.monotonic() - fill:.0f} s",
                    flush=True,
                )
            probe = Probe(dsn)
            probe.start()
            time.sleep(1.0)
            held: dict[str, float] = {}
            with psycopg.connect(dsn, autocommit=True) as watcher:
                env = dict(os.environ, PGJOBS_SQL_DIR=str(REPO / "sql"))
                started = time.monotonic()
                upgrade = subprocess.Popen(
                    [sys.executable, "-m", "pgjobs", "deploy", "-v", "--dsn", dsn], env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
                steps: list[tuple[float, str]] = []

                def read_steps() -> None:
                    assert upgrade.stderr is not None
                    for line in upgrade.stderr:
                        steps.append((time.monotonic(), line.strip()))

                reader = threading.Thread(target=read_steps, daemon=True)
                reader.start()
                while upgrade.poll() is None:
                    pids = watcher.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND application_name <> 'probe' AND pid <> pg_backend_pid()"
                        " AND backend_type = 'client backend'"
                    ).fetchall()
                    now = time.monotonic()
                    for (pid,) in pids:
                        for (relname,) in watcher.execute(LOCKS, [pid]).fetchall():
                            held.setdefault(relname, now)
                    time.sleep(0.01)
                took = time.monotonic() - started
                reader.join()
                assert upgrade.returncode == 0, "pgjobs deploy failed: " + str(steps[-3:])
            time.sleep(1.0)
            probe.stop.set()
            probe.join()
            during = [s for t, s in probe.rounds if started - 1 <= t <= started + took]
            median = sorted(s for _, s in probe.rounds)[len(probe.rounds) // 2]
            version = psycopg.connect(dsn).execute("SELECT app_jobs.schema_version()").fetchone()
            print(
                f"pgjobs deploy {args.from_tag} -> {version[0] if version else '?'}: {took:.1f} s"
            )
            print(
                f"probe (enqueue + claim + complete, one at a time): {len(probe.rounds)} rounds,"
                f" longest during the upgrade {max(during, default=0):.2f} s,"
                f" median {median * 1000:.1f} ms;"
                f" errors: {len(probe.errors)} {sorted(set(probe.errors))[:3]}"
            )
            applied = [
                (at, line.rsplit("applying ", 1)[1]) for at, line in steps if "applying " in line
            ]
            ends = [at for at, _ in applied[1:]] + [started + took]
            slowest = sorted(
                ((end - at, change) for (at, change), end in zip(applied, ends, strict=True)),
                reverse=True,
            )[:5]
            print(
                f"{len(applied)} changes applied; the slowest (until the next one started):"
                + "".join(f"\n  {s:.2f} s {change}" for s, change in slowest)
            )
            for relname, since in sorted(held.items(), key=lambda kv: kv[1]):
                print(
                    f"  ACCESS EXCLUSIVE on app_jobs.{relname} from {since - started:.2f} s"
                    f" until deploy ended ({took - (since - started):.2f} s held)"
                )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
