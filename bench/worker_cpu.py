"""The worker's own CPU per job in ../shared/bench's Cb drain (20,000 queued no-op jobs, run
as each checkout's bench/contender.py runs Cb: since 6 December 2026 (b9ca60e) 1,000 slots
and a buffer of 100, before that 100 and 100, so compare checkouts on the same side of that
change), this checkout against
another one (e.g. an export of main: ``git archive main python bench sql | tar -x -C
/tmp/base``), alternated, each run a fresh process and a fresh database. Reports the Python
process's user and system CPU from the worker's start until the database shows every job
completed, per job, and PostgreSQL's CPU per job (its processes' CPU over the same span, from
/proc: a shared server counts every backend, so only alternated runs compare). The machine is
shared: the medians of alternated runs are the numbers.

    python bench/worker_cpu.py BASE_CHECKOUT [ROUNDS] [JOBS]

The server is $PGJOBS_DSN (else the local test server); the databases (wrk_cpu_base,
wrk_cpu_this) are dropped after each run.
"""

from __future__ import annotations

import asyncio
import glob
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

HERE = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("PGJOBS_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")


def admin(statement: sql.Composed) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(statement)


def postgres_ticks() -> int:
    """CPU ticks (user + system) of every process named postgres on this machine."""
    ticks = 0
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks


async def drain(checkout: Path, dsn: str, jobs: int) -> dict[str, float]:
    """One Cb drain through the checkout's contender.py (this process imports its pgjobs)."""
    spec = importlib.util.spec_from_file_location("contender", checkout / "bench/contender.py")
    assert spec is not None and spec.loader is not None
    contender: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(contender)
    await contender.setup(dsn)
    for start in range(0, jobs, 10000):
        await contender.enqueue_bulk(min(10000, jobs - start), start=start)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute("ANALYZE")
        seen: set[int] = set()
        before, pg_before, wall = os.times(), postgres_ticks(), time.perf_counter()
        await contender.start_worker(10, 100, seen.add)
        while len(seen) < jobs:
            await asyncio.sleep(0.005)
        while True:
            row = await (await conn.execute(contender.DONE_SQL)).fetchone()
            if row is not None and row[0] >= jobs:
                break
            await asyncio.sleep(0.005)
        after, pg_after, wall = os.times(), postgres_ticks(), time.perf_counter() - wall
    await contender.stop_worker()
    await contender.close()
    tick = os.sysconf("SC_CLK_TCK")
    return {
        "user_us": (after.user - before.user) / jobs * 1e6,
        "system_us": (after.system - before.system) / jobs * 1e6,
        "postgres_us": (pg_after - pg_before) / tick / jobs * 1e6,
        "jobs_per_s": jobs / wall,
    }


def run_one(checkout: Path, db: str, jobs: int) -> dict[str, float]:
    name = sql.Identifier(db)
    admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    admin(sql.SQL("CREATE DATABASE {}").format(name))
    args = [sys.executable, __file__, "--child", str(checkout), make_conninfo(SERVER, dbname=db)]
    env = {**os.environ, "PYTHONPATH": str(checkout / "python"), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(
            [*args, str(jobs)], capture_output=True, text=True, env=env, timeout=600
        )
    finally:
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"{checkout}: {done.stderr[-2000:]}")
    record: dict[str, float] = json.loads(lines[-1])
    return record


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(asyncio.run(drain(Path(argv[1]), argv[2], int(argv[3])))))
        return 0
    if not argv:
        print(__doc__)
        return 2
    sides = {"base": Path(argv[0]).resolve(), "this": HERE}
    rounds = int(argv[1]) if len(argv) > 1 else 5
    jobs = int(argv[2]) if len(argv) > 2 else 20000
    seen: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for r in range(rounds):
        for side in list(sides) if r % 2 == 0 else list(reversed(sides)):
            rec = run_one(sides[side], f"wrk_cpu_{side}", jobs)
            print(f"round {r} {side}: " + ", ".join(f"{k} {v:,.1f}" for k, v in rec.items()))
            seen[side].append(rec)
    for key in ("user_us", "system_us", "postgres_us", "jobs_per_s"):
        base, this = (statistics.median(rec[key] for rec in seen[side]) for side in sides)
        ratio = f" ({this / base:.2f}x)" if base else ""
        print(f"{key}: base {base:,.1f}, this {this:,.1f}{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
