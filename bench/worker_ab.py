"""The worker before and after a change, alternated: ../shared/bench's own measures (C: drain
20,000 at concurrency 10; Cb: the same with batch fetch 100; D: enqueue -> handler start) run
by its harness (harness/pyrun.py) with bench/contender.py, once with another checkout's worker
(BASE, e.g. an export of main: ``git archive main python bench sql | tar -x -C /tmp/base``)
and once with this one's, the order of the sides rotating per round, each run in a fresh
database. Prints each run, then the median per side and the ratio this/base. The machine is
shared: only ratios of alternated runs mean anything.

    python bench/worker_ab.py BASE_CHECKOUT [MEASURES] [ROUNDS]

MEASURES defaults to Cb,C,D and ROUNDS to 3. The server is $PGJOBS_DSN (else the local test
server); the databases (wrk_ab_base, wrk_ab_this) are dropped after each run. The harness is
$PGJOBS_SHARED_BENCH (as for bench/peers.py; default ../shared/bench).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

HERE = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("PGJOBS_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
SHARED = Path(os.environ.get("PGJOBS_SHARED_BENCH", HERE.parent / "shared" / "bench"))
HARNESS = SHARED / "harness" / "pyrun.py"
PARAMS: dict[str, dict[str, object]] = {
    "C": {"n": 20000, "concurrency": 10, "batch": 0, "cap-s": 60},
    "Cb": {"n": 20000, "concurrency": 10, "batch": 100, "cap-s": 60},
    "D": {"n": 200, "concurrency": 10, "batch": 0, "gap-ms": 20},
}


def admin(statement: sql.Composed) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(statement)


def run_one(checkout: Path, measure: str, db: str) -> dict[str, Any]:
    name = sql.Identifier(db)
    admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    admin(sql.SQL("CREATE DATABASE {}").format(name))
    args = [sys.executable, str(HARNESS), str(checkout / "bench/contender.py"), measure]
    args += ["--dsn", make_conninfo(SERVER, dbname=db)]
    for key, value in PARAMS[measure].items():
        args += [f"--{key}", str(value)]
    env = {**os.environ, "PYTHONPATH": str(checkout / "python"), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    finally:
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"{checkout} {measure}: {done.stderr[-2000:]}")
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    base = Path(argv[0]).resolve()
    measures = (argv[1] if len(argv) > 1 else "Cb,C,D").split(",")
    rounds = int(argv[2]) if len(argv) > 2 else 3
    sides = {"base": base, "this": HERE}
    seen: dict[tuple[str, str], list[Any]] = {}
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for measure in measures:
            for side in order:
                rec = run_one(sides[side], measure, f"wrk_ab_{side}")
                value = (rec["p50"], rec["p99"]) if measure == "D" else rec["rate"]
                print(f"round {r} {measure} {side}: {value} verified={rec.get('verified')}")
                seen.setdefault((measure, side), []).append(value)
    for measure in measures:
        if measure == "D":
            p50 = {s: statistics.median(v[0] for v in seen[(measure, s)]) for s in sides}
            p99 = {s: statistics.median(v[1] for v in seen[(measure, s)]) for s in sides}
            print(
                f"D p50 base {p50['base']:.2f} ms, this {p50['this']:.2f} ms "
                f"({p50['this'] / p50['base']:.2f}x); p99 base {p99['base']:.2f} ms, "
                f"this {p99['this']:.2f} ms ({p99['this'] / p99['base']:.2f}x)"
            )
        else:
            rate = {s: statistics.median(seen[(measure, s)]) for s in sides}
            print(
                f"{measure} base {rate['base']:,.0f} jobs/s, this {rate['this']:,.0f} jobs/s "
                f"({rate['this'] / rate['base']:.2f}x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
