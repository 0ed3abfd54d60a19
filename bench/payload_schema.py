"""Enqueue throughput with and without a payload schema (issue 19), alternated runs.

    .venv/bin/python bench/payload_schema.py --dsn postgresql://... [--base-python DIR]

Creates two throwaway databases on the server of --dsn: one with this checkout's schema, and,
with --base-python (the python/ folder of another checkout, e.g. main's), one with that
schema, to measure the cost of the check when no task has a schema. Per round, in turn: single
enqueue (--single add_job calls from the client, one statement and transaction each) and bulk
enqueue (one add_jobs call of --bulk jobs, generated in the server), each for the tasks
``plain`` (task settings, no schema) and ``typed`` (a pydantic-like schema: nested objects,
$ref, anyOf, enum, format, bounds), and ``base`` (the other checkout, no schema). The jobs
table is emptied before every run. Prints jobs/s per run and the median per measure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

SCHEMA: dict[str, Any] = {
    "title": "Order",
    "type": "object",
    "properties": {
        "order_id": {"type": "integer", "minimum": 1},
        "email": {"type": "string", "format": "email", "maxLength": 200},
        "plan": {"enum": ["free", "pro"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
    },
    "required": ["order_id", "email", "items"],
    "$defs": {
        "Item": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "minLength": 1},
                "qty": {"type": "integer", "minimum": 1},
            },
            "required": ["sku"],
        }
    },
}
PAYLOAD = (
    "json_build_object('order_id', {n}, 'email', 'ann@example.com', 'plan', 'pro',"
    " 'items', json_build_array(json_build_object('sku', 'A-1', 'qty', 2),"
    " json_build_object('sku', 'B-2', 'qty', 1)))"
)
PAYLOAD_JSON = {
    "order_id": 1,
    "email": "ann@example.com",
    "plan": "pro",
    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
}


def deploy(dsn: str, python_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(python_dir)}
    subprocess.run(
        [sys.executable, "-m", "pgjobs", "deploy", "--dsn", dsn],
        check=True, env=env, capture_output=True,
    )  # fmt: skip


def single(conn: psycopg.Connection[Any], task: str, n: int) -> float:
    conn.execute("TRUNCATE app_jobs.jobs CASCADE")
    payload = json.dumps(PAYLOAD_JSON)
    start = time.perf_counter()
    for _ in range(n):
        conn.execute("SELECT app_jobs.add_job(NULL, %s, %s::json)", (task, payload))
    return n / (time.perf_counter() - start)


def bulk(conn: psycopg.Connection[Any], task: str, n: int) -> float:
    conn.execute("TRUNCATE app_jobs.jobs CASCADE")
    specs = (
        f"ARRAY(SELECT ROW(NULL, %s, {PAYLOAD.format(n='g')}, NULL, NULL, NULL, NULL, NULL)"
        "::app_jobs.job_spec FROM generate_series(1, %s) AS g)"
    )
    start = time.perf_counter()
    conn.execute(f"SELECT count(*) FROM app_jobs.add_jobs({specs})", (task, n))
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("PGJOBS_TEST_DSN", ""))
    parser.add_argument("--base-python", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single", type=int, default=3000)
    parser.add_argument("--bulk", type=int, default=50000)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    names = {"branch": f"pgjobs_bench_schema_{tag}", "base": f"pgjobs_bench_base_{tag}"}
    if args.base_python is None:
        del names["base"]
    dsns = {k: make_conninfo(args.dsn, dbname=v) for k, v in names.items()}
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        deploy(dsns["branch"], Path(__file__).resolve().parents[1] / "python")
        if "base" in dsns:
            deploy(dsns["base"], args.base_python)
        conns = {k: psycopg.connect(v, autocommit=True) for k, v in dsns.items()}
        branch = conns["branch"]
        branch.execute("SELECT app_jobs.set_task_settings('plain', priority := 0)")
        branch.execute(
            "SELECT app_jobs.set_task_settings('typed', priority := 0, payload_schema := %s)",
            (json.dumps(SCHEMA),),
        )
        if "base" in conns:
            conns["base"].execute("SELECT app_jobs.set_task_settings('plain', priority := 0)")
        runs: dict[str, list[float]] = {}
        cases = [("branch", "plain"), ("branch", "typed")]
        if "base" in conns:
            cases.insert(0, ("base", "plain"))
        for r in range(args.rounds):
            for kind, fn, n in (("single", single, args.single), ("bulk", bulk, args.bulk)):
                for db, task in cases:
                    rate = fn(conns[db], task, n)
                    key = f"{kind} {db}/{task}"
                    runs.setdefault(key, []).append(rate)
                    print(f"round {r + 1} {key}: {rate:,.0f} jobs/s", flush=True)
        print()
        for key, rates in runs.items():
            each = ", ".join(f"{x:,.0f}" for x in rates)
            print(f"{key:24} median {statistics.median(rates):>9,.0f} jobs/s  (runs: {each})")
        for conn in conns.values():
            conn.close()
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
