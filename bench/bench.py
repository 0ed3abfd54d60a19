"""`make bench`: pgjobs throughput (jobs/s) and latency (p50/p95/p99) on a throwaway database.

    .venv/bin/python bench/bench.py [--dsn DSN] [--measures enqueue,drain,latency]
                                    [--jobs N] [--producers P] [--concurrency C] [--json]

The server is the one of --dsn, else $PGJOBS_DSN, else $PGJOBS_TEST_DSN, else the local test
server. The bench never touches the database named there: it creates pgjobs_bench_<id>_tpl,
deploys pgjobs into it (`pgjobs deploy`), clones one database per measure from it, and drops
them all at the end. Everything goes through the pgjobs Python API, as a user's code would:

  enqueue  single enqueue: AsyncClient.add_job, one job per transaction (autocommit), from
           --producers connections at once. Latency: one add_job call.
  drain    --drain-jobs jobs queued beforehand (AsyncClient.add_jobs, then ANALYZE; untimed),
           then the pgjobs Worker (App.worker, --concurrency, a no-op async handler) drains
           them. jobs/s runs from the first handler start until app_jobs.jobs is empty.
           Latency: claim to completion of each job (job_history.finished_at - locked_at).
  enqueue-queues  as enqueue, each job into one of --queues named (serial) queues.
  serial   as drain, the jobs spread over --queues named queues, which run one job at a time
           each (that they do is proven by tests/sql, not timed here).
  latency  an idle Worker waiting on LISTEN/NOTIFY; jobs enqueued one at a time, each in its
           own transaction, the next one --gap-ms after the previous handler started.
           Latency: from sending the enqueuing COMMIT to the handler's start.

The machine is usually shared: compare runs made back to back, and the peers' ratios in
`make bench-peers` (../shared/bench), rather than absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import pgjobs
from pgjobs.config import describe
from pgjobs.db.client import AsyncClient, JobSpec
from pgjobs.install.deploy import deploy
from pgjobs.runtime.app import App

TASK = "bench_noop"
DEFAULT_SERVER = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
MEASURES = ("enqueue", "enqueue-queues", "drain", "serial", "latency")
now = time.perf_counter


@dataclasses.dataclass
class Result:
    """One measure: what ran, how fast, and whether the database agrees it all happened."""

    measure: str
    title: str
    jobs: int
    seconds: float
    rate: float | None  # jobs/s; None where the pace is set by the bench (latency)
    p50: float
    p95: float
    p99: float
    max: float
    latency_of: str
    verified: bool
    detail: str


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile, as ../shared/bench/harness/pyrun.py computes it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def result(measure: str, title: str, latencies_ms: Sequence[float], **kw: Any) -> Result:
    if not latencies_ms:
        latencies_ms = [float("nan")]
    return Result(
        measure=measure,
        title=title,
        p50=percentile(latencies_ms, 50),
        p95=percentile(latencies_ms, 95),
        p99=percentile(latencies_ms, 99),
        max=max(latencies_ms),
        **kw,
    )


class Tracker:
    """The no-op handler's record: first start time per job index, and every call."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.calls = 0
        self.seen = asyncio.Event()

    def hit(self, i: int) -> None:
        self.calls += 1
        self.started.setdefault(i, now())
        self.seen.set()

    def app(self, dsn: str) -> App:
        app = App(dsn)

        @app.task(TASK)
        async def noop(payload: dict[str, int]) -> None:
            self.hit(payload["i"])

        return app


async def scalar(dsn: str, query: str) -> Any:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(query.encode())
        row = await cur.fetchone() if cur.description else None
        return row[0] if row else None


# -- the measures ------------------------------------------------------------------------------


def queue_of(i: int, queues: int) -> str | None:
    return f"q{i % queues}" if queues else None


async def bench_enqueue(dsn: str, n: int, producers: int, queues: int = 0) -> Result:
    clients = [await AsyncClient.connect(dsn) for _ in range(producers)]
    latencies: list[float] = []

    async def produce(client: AsyncClient, indexes: range) -> None:
        for i in indexes:
            t0 = now()
            await client.add_job(TASK, {"i": i}, queue=queue_of(i, queues))
            latencies.append((now() - t0) * 1000)

    try:
        t0 = now()
        await asyncio.gather(*(produce(c, range(k, n, producers)) for k, c in enumerate(clients)))
        seconds = now() - t0
    finally:
        for client in clients:
            await client.close()
    queued = await scalar(dsn, "SELECT count(*) FROM app_jobs.jobs")
    into = f", into {queues} named queues" if queues else ""
    return result(
        "enqueue-queues" if queues else "enqueue",
        f"enqueue, single ({producers} producers{into})",
        latencies,
        jobs=n,
        seconds=seconds,
        rate=n / seconds,
        latency_of="one add_job call (its own transaction)",
        verified=queued == n,
        detail=f"{queued} queued",
    )


async def bench_drain(dsn: str, n: int, concurrency: int, cap_s: float, queues: int = 0) -> Result:
    async with await AsyncClient.connect(dsn) as client:
        for k in range(0, n, 5000):
            await client.add_jobs(
                [
                    JobSpec(TASK, {"i": i}, queue=queue_of(i, queues))
                    for i in range(k, min(n, k + 5000))
                ]
            )
    await scalar(dsn, "ANALYZE")
    tracker = Tracker()
    worker = tracker.app(dsn).worker(concurrency=concurrency)
    run = asyncio.create_task(worker.run())
    t0 = now()
    while len(tracker.started) < n and now() - t0 < cap_s and not run.done():
        await asyncio.sleep(0.01)
    while now() - t0 < cap_s and not run.done():  # until the database shows them all done
        if await scalar(dsn, "SELECT count(*) FROM app_jobs.jobs") == 0:
            break
        await asyncio.sleep(0.02)
    t_done = now()
    worker.stop()
    summary = await run
    first = min(tracker.started.values(), default=t_done)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(
            b"SELECT extract(epoch FROM finished_at - locked_at) * 1000 "
            b"FROM app_jobs.job_history WHERE status = 'completed'"
        )
        held_ms = [float(r[0]) for r in await cur.fetchall()]
    left = await scalar(dsn, "SELECT count(*) FROM app_jobs.jobs")
    done, handled = len(held_ms), len(tracker.started)
    into = f" in {queues} named queues" if queues else ""
    return result(
        "serial" if queues else "drain",
        f"drain {n:,} queued{into}, concurrency {concurrency}",
        held_ms,
        jobs=n,
        seconds=t_done - first,
        rate=done / (t_done - first) if done and t_done > first else 0.0,
        latency_of="claim -> complete (job_history.finished_at - locked_at)",
        verified=handled == n and tracker.calls == n and done == n and left == 0,
        detail=(
            f"handled {handled}, duplicate calls {tracker.calls - handled}, completed {done}, "
            f"left {left}, worker {summary}"
        ),
    )


async def listening(dsn: str, timeout: float) -> bool:
    """Wait until a session of this database is LISTENing (the worker's wake-up channel)."""
    end = now() + timeout
    while now() < end:
        if await scalar(
            dsn,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'LISTEN %' AND state = 'idle'",
        ):
            return True
        await asyncio.sleep(0.05)
    return False


async def bench_latency(dsn: str, n: int, concurrency: int, gap_ms: float) -> Result:
    tracker = Tracker()
    worker = tracker.app(dsn).worker(concurrency=concurrency)
    run = asyncio.create_task(worker.run())
    listens = await listening(dsn, 30)
    await asyncio.sleep(0.5)  # past the claim the worker makes when its LISTEN starts
    sent: dict[int, float] = {}
    missed = 0
    async with await AsyncClient.connect(dsn) as client:
        for i in range(n):
            tracker.seen.clear()
            async with client.conn.transaction():
                await client.add_job(TASK, {"i": i})
                sent[i] = now()  # the COMMIT goes out as the block ends
            try:
                await asyncio.wait_for(tracker.seen.wait(), timeout=10)
            except TimeoutError:
                missed += 1
            await asyncio.sleep(gap_ms / 1000)  # its completion lands; the worker idles again
    worker.stop()
    await run
    latencies = [(tracker.started[i] - sent[i]) * 1000 for i in sent if i in tracker.started]
    return result(
        "latency",
        f"enqueue -> start, idle worker (concurrency {concurrency})",
        latencies,
        jobs=n,
        seconds=sum(latencies) / 1000,
        rate=None,
        latency_of="COMMIT sent -> handler start (LISTEN/NOTIFY wake-up)",
        verified=listens and missed == 0 and len(latencies) == n,
        detail=f"received {len(latencies)}/{n}, gap {gap_ms:g} ms, listening {listens}",
    )


# -- databases ---------------------------------------------------------------------------------


class Databases:
    """Throwaway databases pgjobs_bench_<id>_* on the server; all dropped by close()."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.prefix = f"pgjobs_bench_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def dsn(self, name: str) -> str:
        return make_conninfo(self.server, dbname=name)

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(statement)

    def template(self) -> str:
        name = f"{self.prefix}_tpl"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        deploy(self.dsn(name), verify=False)
        return name

    def clone(self, template: str, measure: str) -> str:
        name = f"{self.prefix}_{measure}"
        self._admin(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
        self.created.append(name)
        return self.dsn(name)

    def close(self) -> None:
        for name in reversed(self.created):
            self._admin(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        self.created.clear()


# -- output ------------------------------------------------------------------------------------


def header(server: str, prefix: str) -> str:
    with psycopg.connect(server) as conn:
        version = conn.execute(b"SHOW server_version").fetchone()
    host = conninfo_to_dict(server)
    where = f"{host.get('host', 'local socket')}:{host.get('port', 5432)}"
    return (
        f"pgjobs {pgjobs.__version__} bench: PostgreSQL {version[0] if version else '?'} at "
        f"{where}, databases {prefix}_* (dropped after), {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def table(results: Sequence[Result]) -> str:
    cols = ("measure", "jobs", "jobs/s", "p50 ms", "p95 ms", "p99 ms", "ok", "latency of")
    rows = [
        (
            r.title,
            f"{r.jobs:,}",
            "-" if r.rate is None else f"{r.rate:,.0f}",
            f"{r.p50:.1f}",
            f"{r.p95:.1f}",
            f"{r.p99:.1f}",
            "yes" if r.verified else "NO",
            r.latency_of,
        )
        for r in results
    ]
    widths = [max(len(c), *(len(row[k]) for row in rows)) for k, c in enumerate(cols)]

    def line(cells: Sequence[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cells[1:-2], widths[1:-2], strict=True)]
        out += [cells[-2].ljust(widths[-2]), cells[-1]]
        return "  ".join(out)

    return "\n".join([line(cols), *(line(row) for row in rows)])


# -- main --------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dsn", help="server to create the throwaway databases on")
    ap.add_argument("--measures", default=",".join(MEASURES), help="default: %(default)s")
    ap.add_argument("--jobs", type=int, help="N for every measure (a quick run: --jobs 50)")
    ap.add_argument("--enqueue-jobs", type=int, default=5000)
    ap.add_argument("--producers", type=int, default=4)
    ap.add_argument("--drain-jobs", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument(
        "--queues", type=int, default=20, help="named queues of the *-queues/serial measures"
    )
    ap.add_argument("--serial-jobs", type=int, default=5000)
    ap.add_argument("--drain-cap-s", type=float, default=120.0)
    ap.add_argument("--latency-jobs", type=int, default=200)
    ap.add_argument("--gap-ms", type=float, default=20.0)
    ap.add_argument("--json", action="store_true", help="one JSON object per measure")
    ap.add_argument(
        "--worker-log",
        choices=("none", "info", "warning", "json", "rich"),
        default="none",
        help="log the workers as `pgjobs worker` does (to stderr) at this level or format; "
        "none (default): no handler, as an embedding app without logging set up",
    )
    o = ap.parse_args(argv)
    unknown = set(o.measures.split(",")) - set(MEASURES)
    if unknown:
        ap.error(f"unknown measure(s) {sorted(unknown)}; choose from {', '.join(MEASURES)}")
    if o.queues < 1:
        ap.error("--queues must be at least 1")
    if o.jobs is not None:
        o.enqueue_jobs = o.drain_jobs = o.latency_jobs = o.serial_jobs = o.jobs
    return o


async def run(o: argparse.Namespace, dbs: Databases, emit: Callable[[Result], None]) -> None:
    template = dbs.template()
    steps = {
        "enqueue": lambda dsn: bench_enqueue(dsn, o.enqueue_jobs, o.producers),
        "enqueue-queues": lambda dsn: bench_enqueue(dsn, o.enqueue_jobs, o.producers, o.queues),
        "drain": lambda dsn: bench_drain(dsn, o.drain_jobs, o.concurrency, o.drain_cap_s),
        "serial": lambda dsn: bench_drain(
            dsn, o.serial_jobs, o.concurrency, o.drain_cap_s, o.queues
        ),
        "latency": lambda dsn: bench_latency(dsn, o.latency_jobs, o.concurrency, o.gap_ms),
    }
    for measure in o.measures.split(","):
        dsn = dbs.clone(template, measure)
        with contextlib.suppress(psycopg.Error):  # a fair start; needs pg_checkpoint rights
            await scalar(dsn, "CHECKPOINT")
        emit(await steps[measure](dsn))


def main(argv: Sequence[str] | None = None) -> int:
    o = parse(argv)
    if o.worker_log != "none":
        from pgjobs.cli.worker import setup_logging

        level = "warning" if o.worker_log == "warning" else "info"
        setup_logging(level, o.worker_log if o.worker_log in ("json", "rich") else "text")
    server = (
        o.dsn or os.environ.get("PGJOBS_DSN") or os.environ.get("PGJOBS_TEST_DSN") or DEFAULT_SERVER
    )
    dbs = Databases(server)
    results: list[Result] = []

    def emit(r: Result) -> None:
        results.append(r)
        if o.json:
            print(json.dumps({**dataclasses.asdict(r), "database": dbs.prefix}), flush=True)
        else:
            print(f"  {r.title}: {r.detail}", file=sys.stderr, flush=True)

    if not o.json:
        print(header(server, dbs.prefix), flush=True)
        print(f"server: {describe(server)}", file=sys.stderr)
    try:
        asyncio.run(run(o, dbs, emit))
    finally:
        dbs.close()
    if not o.json:
        print(table(results))
    return 0 if all(r.verified for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
