"""What job dependencies cost the claim and the finish when no job uses them (issue 19).

Interleaved A/B runs of the same pgbench scripts on two checkouts' SQL (say main before the
feature and this branch), each round on a fresh throwaway database per checkout, alternating
which goes first, so a noisy shared machine hurts both alike:

- single: get_job then complete_job, one job per pgbench transaction pair;
- batch: get_jobs(batch_size := 50) then finish_jobs of the ids it got (the worker's path).

Jobs/s per run, then the median per checkout and the ratio. No job has a dependency: this
measures what every job pays for the feature's presence (the has_dependants test at the
finish, the wider row). Since jobs/s on a shared machine swings by 2x between runs, it also
counts the work itself, which does not depend on the machine's load: shared buffers touched
(pg_stat_database.blks_hit + blks_read of the throwaway database) per job for the same
claim+finish loop run in one session.

    python bench/dependencies_ab.py --trees /tmp/main,. [--rounds 3] [--clients 1,4]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import uuid

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

SCRIPTS = {
    "single": (
        "SELECT id AS job_id FROM app_jobs.get_job('pgbench-' || :client_id::text, NULL) \\gset\n"
        "SELECT app_jobs.complete_job('pgbench-' || :client_id::text, :job_id);\n",
        1,
    ),
    "batch": (
        "SELECT coalesce(array_agg(id), '{}') AS ids"
        " FROM app_jobs.get_jobs('pgbench-' || :client_id::text, NULL, batch_size := 50) \\gset\n"
        "SELECT count(*) FROM app_jobs.finish_jobs('pgbench-' || :client_id::text,"
        " :ids::bigint[]);\n",
        50,
    ),
}


def deploy(tree: pathlib.Path, dsn: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree / "python"))
    subprocess.run(
        [sys.executable, "-m", "pgjobs", "deploy", "--dsn", dsn],
        check=True, capture_output=True, env=env, cwd=tree,
    )  # fmt: skip


def pgbench(dsn: str, script: str, clients: int, transactions: int) -> float:
    params = conninfo_to_dict(dsn)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    cmd = [
        "pgbench", "-h", str(params.get("host") or "127.0.0.1"),
        "-p", str(params.get("port") or 5432), "-U", str(params.get("user") or "postgres"),
        "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
        "-t", str(transactions), "-f", f.name, str(params["dbname"]),
    ]  # fmt: skip
    env = dict(os.environ, PGPASSWORD=str(params.get("password") or ""))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    finally:
        os.unlink(f.name)
    m = re.search(r"tps = ([\d.]+) \(without initial", p.stdout)
    if p.returncode or not m:
        raise RuntimeError(f"pgbench failed: {p.stderr[-600:] or p.stdout[-600:]}")
    return float(m.group(1))


def one_run(tree: pathlib.Path, base: str, kind: str, clients: int, jobs: int) -> float:
    name = f"deps_ab_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = make_conninfo(base, dbname=name)
    try:
        deploy(tree, dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT count(*) FROM app_jobs.add_jobs(ARRAY(SELECT ROW(NULL, 'noop',"
                " json_build_object('i', g), NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec"
                " FROM generate_series(1, %s) g))",
                (jobs + 1000,),
            )
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            conn.execute("CHECKPOINT")
        script, per = SCRIPTS[kind]
        tps = pgbench(dsn, script, clients, max(1, jobs // per // clients))
        return tps * per
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BUFFER_LOOPS = {
    "single": (
        "SELECT app_jobs.complete_job('w', (SELECT id FROM app_jobs.get_job('w', NULL)))",
        1,
    ),
    "batch": (
        "SELECT count(*) FROM app_jobs.finish_jobs('w', ARRAY(SELECT id FROM"
        " app_jobs.get_jobs('w', NULL, batch_size := 50)))",
        50,
    ),
}


def buffers_per_job(tree: pathlib.Path, base: str, kind: str, jobs: int) -> float:
    name = f"deps_ab_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = make_conninfo(base, dbname=name)
    try:
        deploy(tree, dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT count(*) FROM app_jobs.add_jobs(ARRAY(SELECT ROW(NULL, 'noop',"
                " json_build_object('i', g), NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec"
                " FROM generate_series(1, %s) g))",
                (jobs + 1000,),
            )
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            query, per = BUFFER_LOOPS[kind]
            for _ in range(20):  # warm the plans and the cache
                conn.execute(query)

            def touched() -> int:
                conn.execute("SELECT pg_stat_force_next_flush()")
                conn.execute("SELECT 1")  # the flush happens when this transaction ends
                conn.execute("SELECT pg_stat_clear_snapshot()")
                row = conn.execute(
                    "SELECT blks_hit + blks_read FROM pg_stat_database"
                    " WHERE datname = current_database()"
                ).fetchone()
                assert row is not None
                return int(row[0])

            before = touched()
            loops = jobs // per
            for _ in range(loops):
                conn.execute(query)
            return (touched() - before) / (loops * per)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", required=True, help="two checkouts, comma-separated (A,B)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", default="1,4", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--buffers", action="store_true", help="count buffers per job instead")
    args = ap.parse_args()
    trees = [pathlib.Path(t).resolve() for t in args.trees.split(",")]
    base = os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    if args.buffers:
        for kind in BUFFER_LOOPS:
            counts = [buffers_per_job(t, base, kind, args.jobs) for t in trees]
            print(
                f"{kind:6} buffers per job: "
                + " vs ".join(f"{t.name} {c:.1f}" for t, c in zip(trees, counts, strict=True)),
                flush=True,
            )
        return
    for kind in SCRIPTS:
        for clients in args.clients:
            runs: dict[pathlib.Path, list[float]] = {t: [] for t in trees}
            for r in range(args.rounds):
                order = trees if r % 2 == 0 else trees[::-1]
                for tree in order:
                    runs[tree].append(one_run(tree, base, kind, clients, args.jobs))
            a, b = (statistics.median(runs[t]) for t in trees)
            detail = "  ".join(
                f"{t.name}: " + ", ".join(f"{x:.0f}" for x in runs[t]) for t in trees
            )
            print(
                f"{kind:6} {clients} client(s): median {a:.0f} vs {b:.0f} jobs/s"
                f" (B/A {b / a:.3f})   [{detail}]",
                flush=True,
            )


if __name__ == "__main__":
    main()
