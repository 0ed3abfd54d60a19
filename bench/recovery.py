"""How long after a worker is SIGKILLed mid-job does another worker pick the job up again?

Creates a scratch database on $PGJOBS_TEST_DSN's server, deploys, starts two real
`pgjobs worker` processes (default settings unless --lease is given), kills the one running
the job with SIGKILL and times until the other one holds it; prints each run and the median
(issue 13's target: under 10 s at the defaults, median of 10 kills). Drops the database.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgjobs.install.deploy import deploy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--lease", type=float, default=None, help="worker lease seconds (default: the worker's)"
    )
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    server = os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    name = f"pgjobs_recovery_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(server, dbname=name)
    tmp = Path(tempfile.mkdtemp())
    (tmp / "recapp.py").write_text(
        textwrap.dedent(
            """
            import time
            from pgjobs.runtime.app import App
            app = App()

            @app.task()
            def long(payload):
                if payload.get("hang"):
                    time.sleep(3600)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp), *sys.path]), "PGJOBS_DSN": dsn}
    try:
        deploy(dsn)
        took_all: list[float] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            for run in range(args.runs):
                cmd = [sys.executable, "-m", "pgjobs", "worker", "recapp"]
                if args.lease is not None:
                    cmd += ["--lease", str(args.lease)]
                a = subprocess.Popen([*cmd, "--worker-id", f"a{run}"], env=env, cwd=tmp)
                row = conn.execute(
                    "SELECT id FROM app_jobs.add_job(NULL, 'long', '{\"hang\": true}')"
                ).fetchone()
                assert row is not None
                job = row[0]
                while (
                    conn.execute(
                        "SELECT 1 FROM app_jobs.jobs WHERE id = %s AND locked_by = %s",
                        (job, f"a{run}"),
                    ).fetchone()
                    is None
                ):
                    time.sleep(0.02)
                b = subprocess.Popen([*cmd, "--worker-id", f"b{run}"], env=env, cwd=tmp)
                time.sleep(3)  # b is up and idle
                os.kill(a.pid, signal.SIGKILL)
                killed = time.monotonic()
                a.wait()
                while (
                    conn.execute(
                        "SELECT 1 FROM app_jobs.jobs WHERE id = %s AND locked_by = %s",
                        (job, f"b{run}"),
                    ).fetchone()
                    is None
                ):
                    time.sleep(0.02)
                took = time.monotonic() - killed
                took_all.append(took)
                lease = "default" if args.lease is None else f"{args.lease:g} s"
                print(f"run {run + 1}: lease {lease} -> picked up again {took:.2f} s after SIGKILL")
                os.kill(b.pid, signal.SIGKILL)
                b.wait()
                conn.execute("SELECT app_jobs.release_jobs(%s)", (f"b{run}",))
                conn.execute("SELECT app_jobs.complete_jobs(ARRAY[%s]::bigint[])", (job,))
        print(
            f"median {statistics.median(took_all):.2f} s, min {min(took_all):.2f} s, "
            f"max {max(took_all):.2f} s over {len(took_all)} kills"
        )
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
