"""Paired A/B of enqueue: this checkout against another one (BASE, e.g. main), on one server.

Deploys each checkout into a throwaway database (``python -m pgjobs deploy`` with that
checkout's python/ and sql/), then for ROUNDS rounds, alternating the two sides inside each
round (the jobs table emptied before each run), measures with each checkout's own client:

- A: CALLS single ``AsyncClient.add_job`` calls on one connection (the peer bench's measure A);
- B: one ``AsyncClient.add_jobs_ids`` of BULK jobs, the JobSpec list built inside the timing
  (the peer bench's measure B, as bench/contender.py does it);
- SQL: pgbench ``-M prepared`` running ``SELECT app_jobs.add_job(NULL, 'noop', '{"i": 1}')``
  CALLS times on one connection (enqueue in SQL alone);
- with ``perf`` on PATH, the server's own CPU time (``perf stat -e task-clock`` on the
  backend), which other agents' load on the machine disturbs far less than wall time: SQLcpu,
  CALLS prepared single add_job calls; Bcpu, one add_jobs of BULK specs built in SQL. Both
  reported as jobs per backend CPU second.

Commits are durable (synchronous_commit as the server has it), as in the peer bench. Prints
each side's median jobs/s and the ratio this / base; the databases are dropped.

    python bench/enqueue_ab.py BASE_CHECKOUT [ROUNDS] [CALLS] [BULK]
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

HERE = Path(__file__).resolve().parents[1]
MEASURES = ("A", "B", "SQL") + (("SQLcpu", "Bcpu") if shutil.which("perf") else ())

# Run by each side's own interpreter path (its python/ first): prints jobs/s of A and of B.
CLIENT = """
import asyncio, sys, time
from pgjobs.db.client import AsyncClient, JobSpec

async def main(dsn, measure, n):
    client = await AsyncClient.connect(dsn)
    try:
        if measure == "A":
            start = time.perf_counter()
            for i in range(n):
                await client.add_job("noop", {"i": i})
        else:
            start = time.perf_counter()
            await client.add_jobs_ids([JobSpec("noop", {"i": i}) for i in range(n)])
        print(n / (time.perf_counter() - start))
    finally:
        await client.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""
SQL_SCRIPT = "SELECT app_jobs.add_job(NULL, 'noop', '{\"i\": 1}'::json);\n"
ADD_JOB = "SELECT app_jobs.add_job(NULL, 'noop', '{\"i\": 1}'::json)"
ADD_JOBS = (
    "SELECT count(*) FROM app_jobs.add_jobs(ARRAY(SELECT ROW(NULL, 'noop', json_build_object("
    "'i', g), NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec FROM generate_series(1, %s) g))"
)


def side_env(checkout: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(checkout / "python"),
        "PGJOBS_SQL_DIR": str(checkout / "sql"),
    }


def deploy(checkout: Path, dsn: str) -> None:
    subprocess.run([sys.executable, "-m", "pgjobs", "deploy", "--dsn", dsn],
                   env=side_env(checkout), check=True, capture_output=True)  # fmt: skip


def client_rate(checkout: Path, dsn: str, measure: str, n: int) -> float:
    cmd = [sys.executable, "-c", CLIENT, dsn, measure, str(n)]
    env = side_env(checkout)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def pgbench_rate(dsn: str, script: Path, n: int) -> float:
    parts = conninfo_to_dict(dsn)
    env = {**os.environ, "PGPASSWORD": str(parts.get("password") or "")}
    cmd = ["pgbench", "-n", "-M", "prepared", "-t", str(n), "-f", str(script),
           "-h", str(parts.get("host", "127.0.0.1")), "-p", str(parts.get("port", 5432)),
           "-U", str(parts.get("user", "postgres")), str(parts["dbname"])]  # fmt: skip
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("tps") and "without" in x)
    return float(line.split("=")[1].split()[0])


def cpu_rate(dsn: str, measure: str, n: int) -> float:
    """Jobs per second of the backend's CPU time (perf stat on its pid)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(20):
            conn.execute(ADD_JOB, prepare=True)
        conn.execute("TRUNCATE app_jobs.jobs")
        perf = subprocess.Popen(
            ["perf", "stat", "-e", "task-clock", "-x", ",", "-p", str(conn.info.backend_pid)],
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.2)  # perf attached
        if measure == "SQLcpu":
            for _ in range(n):
                conn.execute(ADD_JOB, prepare=True)
        else:
            conn.execute(ADD_JOBS % int(n))
        perf.send_signal(signal.SIGINT)
        msec = float(perf.communicate()[1].strip().splitlines()[-1].split(",")[0])
    return n / (msec / 1000)


def main() -> int:
    base = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    bulk = int(sys.argv[4]) if len(sys.argv) > 4 else 50_000
    server = os.environ.get("PGJOBS_DSN") or os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    sides = {"base": base, "this": HERE}
    names = {side: f"pgjobs_enq_ab_{side}_{uuid.uuid4().hex[:6]}" for side in sides}
    dsns = {side: make_conninfo(server, dbname=name) for side, name in names.items()}
    tmp = Path(tempfile.mkdtemp(prefix="enqueue_ab_"))
    script = tmp / "add_job.sql"
    script.write_text(SQL_SCRIPT)
    rates: dict[tuple[str, str], list[float]] = {}
    with psycopg.connect(server, autocommit=True) as admin:
        try:
            for side, name in names.items():
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                deploy(sides[side], dsns[side])
            for r in range(rounds):
                for measure in MEASURES:
                    order = list(sides) if r % 2 == 0 else list(reversed(sides))
                    for side in order:
                        with psycopg.connect(dsns[side], autocommit=True) as conn:
                            conn.execute("TRUNCATE app_jobs.jobs")
                            conn.execute("CHECKPOINT")
                        if measure == "SQL":
                            rate = pgbench_rate(dsns[side], script, calls)
                        elif measure.endswith("cpu"):
                            n = calls if measure == "SQLcpu" else bulk
                            rate = cpu_rate(dsns[side], measure, n)
                        else:
                            n = calls if measure == "A" else bulk
                            rate = client_rate(sides[side], dsns[side], measure, n)
                        rates.setdefault((measure, side), []).append(rate)
                        print(f"round {r + 1} {measure:6s} {side:4s} {rate:10.0f} jobs/s")
        finally:
            for name in names.values():
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nmedians of {rounds} rounds (base = {base}):")
    for measure in MEASURES:
        b = statistics.median(rates[(measure, "base")])
        t = statistics.median(rates[(measure, "this")])
        print(f"{measure:6s} base {b:10.0f}  this {t:10.0f} jobs/s  this/base {t / b:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
