"""Paired A/B of the claim and enqueue cost with pauses unused: this checkout against another
one (BASE, e.g. main before pause and resume), on the same server at the same time.

Deploys each checkout into a throwaway database (``python -m pgjobs deploy`` with that
checkout's python/ first on PYTHONPATH), enqueues QUEUED jobs in each, then for ROUNDS rounds,
alternating the two databases inside each round: CALLS add_job calls, then CALLS get_job +
complete_job pairs, each call timed on the client. Load from other sessions hits both alike;
the per-call medians of each side and their ratio are printed. Sessions run with
synchronous_commit off: the commit's disk flush would drown the functions' own cost. The
databases are dropped.

    python bench/pause_ab.py BASE_CHECKOUT [ROUNDS] [CALLS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

HERE = Path(__file__).resolve().parents[1]


def deploy(checkout: Path, dsn: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout / "python"),
        "PGJOBS_SQL_DIR": str(checkout / "sql"),
    }
    subprocess.run([sys.executable, "-m", "pgjobs", "deploy", "--dsn", dsn], env=env, check=True,
                   capture_output=True)  # fmt: skip


def main() -> int:
    base = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    server = os.environ.get("PGJOBS_DSN") or os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    names = {side: f"pgjobs_ab_{side}_{uuid.uuid4().hex[:6]}" for side in ("base", "this")}
    with psycopg.connect(server, autocommit=True) as admin:
        for name in names.values():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        conns = {}
        for side, checkout in (("base", base), ("this", HERE)):
            dsn = make_conninfo(server, dbname=names[side])
            deploy(checkout, dsn)
            conn = psycopg.connect(dsn, autocommit=True)
            # The commit's flush (milliseconds on a shared disk) would drown the functions' cost.
            conn.execute("SET synchronous_commit = off")
            conn.execute("SELECT count(app_jobs.add_job(NULL, 'noop', json_build_object('i', g)))"
                         " FROM generate_series(1, 20000) AS g")  # fmt: skip
            conn.execute("VACUUM ANALYZE app_jobs.jobs")
            conns[side] = conn
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            for side in ("base", "this") if _ % 2 == 0 else ("this", "base"):
                conn = conns[side]
                for _i in range(calls):
                    start = time.perf_counter()
                    conn.execute("SELECT app_jobs.add_job(NULL, 'noop', '{\"i\": 1}'::json)")
                    times.setdefault((side, "add_job"), []).append(time.perf_counter() - start)
                for _i in range(calls):
                    start = time.perf_counter()
                    row = conn.execute("SELECT id FROM app_jobs.get_job('ab', NULL)").fetchone()
                    conn.execute("SELECT app_jobs.complete_job('ab', %s)", (row[0],))  # type: ignore[index]
                    times.setdefault((side, "get_job+complete_job"), []).append(
                        time.perf_counter() - start
                    )
        for what in ("add_job", "get_job+complete_job"):
            b = statistics.median(times[("base", what)]) * 1e6
            t = statistics.median(times[("this", what)]) * 1e6
            n = len(times[("base", what)])
            print(f"{what:22s} median per call: base {b:8.1f} us  this {t:8.1f} us"
                  f"  ratio {t / b:.3f}  ({n} calls each)")  # fmt: skip
        for conn in conns.values():
            conn.close()
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            for name in names.values():
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
