"""What the tenant policies (row level security, policies/tenant_rows) cost the claim and the
enqueue, and what the tenant guard (app_jobs._tenant) costs add_job (``make bench-rls``).

Row level security is bypassed by superusers: with the schema owned by ``postgres`` (as in
the test suite) the policies cost nothing at all. This measures the case where they apply: a
throwaway database whose schema is deployed by a non-superuser owner, on which the forced
policies apply to the SECURITY DEFINER functions as well. Two modes, alternated ROUNDS times
(so the shared machine's load falls on both alike):

- ``rls``: as deployed (ENABLE + FORCE ROW LEVEL SECURITY, the owner's and tenant policies);
- ``off``: NO FORCE and DISABLE ROW LEVEL SECURITY on every policed table.

Each round: pgbench -M prepared, one client, JOBS transactions of get_job then complete_job
(on QUEUED waiting jobs), then JOBS transactions of one add_job. Medians of the rounds.

    python bench/bench_rls.py [--rounds 5] [--jobs 5000] [--queued 20000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import uuid
from typing import Any

import psycopg
from bench_sql import GET_COMPLETE, PREFILL, RESET, pgbench
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgjobs.install.deploy import deploy

ENQUEUE = "SELECT app_jobs.add_job(NULL, 'noop', '{\"i\": 1}'::json);\n"
POLICED = """
SELECT c.oid::regclass::text FROM pg_class c
 WHERE c.relnamespace = 'app_jobs'::regnamespace AND c.relforcerowsecurity
"""


def set_mode(conn: psycopg.Connection[Any], tables: list[str], mode: str) -> None:
    for table in tables:
        if mode == "off":
            conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            conn.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        else:
            conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            conn.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=5_000)
    ap.add_argument("--queued", type=int, default=20_000)
    args = ap.parse_args()
    admin = os.environ.get("PGJOBS_DSN") or os.environ.get(
        "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    )
    name = f"pgjobs_rls_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(name)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(name)
            )
        )
    dsn = make_conninfo(admin, dbname=name, user=name, password=name)
    results: dict[str, dict[str, list[float]]] = {
        "rls": {"claim": [], "enqueue": []},
        "off": {"claim": [], "enqueue": []},
    }
    try:
        deploy(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(POLICED)]
            superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            assert superuser.fetchone() == (False,), "the owner must not be a superuser"
            for n in range(args.rounds):
                for mode in ("off", "rls") if n % 2 == 0 else ("rls", "off"):
                    set_mode(conn, tables, mode)
                    conn.execute(RESET["pgjobs"])
                    conn.execute(PREFILL["pgjobs"] % args.queued)
                    conn.execute("VACUUM ANALYZE app_jobs.jobs")
                    results[mode]["claim"].append(pgbench(dsn, GET_COMPLETE, 1, args.jobs, ""))
                    results[mode]["enqueue"].append(pgbench(dsn, ENQUEUE, 1, args.jobs, ""))
                    print(
                        f"round {n + 1} {mode}: claim {results[mode]['claim'][-1]:.0f}/s,"
                        f" enqueue {results[mode]['enqueue'][-1]:.0f}/s",
                        flush=True,
                    )
            set_mode(conn, tables, "rls")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
    print(
        f"server {conninfo_to_dict(admin).get('host')}, owner not a superuser, {args.rounds} rounds"
    )
    for what in ("claim", "enqueue"):
        off = statistics.median(results["off"][what])
        rls = statistics.median(results["rls"][what])
        print(
            f"{what}: RLS off {off:.0f}/s ({1e6 / off:.0f} us), forced RLS {rls:.0f}/s"
            f" ({1e6 / rls:.0f} us): {100 * (off - rls) / off:+.1f}% fewer"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
