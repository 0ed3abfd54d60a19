"""pgjobs as contender 6 of ../shared/bench (the contract of its contenders/pgjobs.py).

Run beside the peers with `make bench-peers`, or by hand:

    PGJOBS_ADAPTER=$PWD/bench/contender.py PGJOBS_PYTHON=$PWD/.venv/bin/python \\
      ../shared/bench/run.sh pgjobs graphile_worker_latest pgqueuer pg_boss_latest procrastinate

Everything goes through the pgjobs Python API as a user's code would: `pgjobs deploy` installs
the schema, AsyncClient.add_job / add_jobs enqueue, and the pgjobs Worker (App.worker) runs a
no-op async handler. No option a user would not have, no SQL of its own except the counts the
harness verifies with.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pgjobs
from pgjobs.db.client import AsyncClient
from pgjobs.install.deploy import deploy
from pgjobs.runtime.app import App
from pgjobs.runtime.worker import Worker, WorkerSummary

NAME = "pgjobs"
ENABLED = True
PEER = False  # the target, not a peer: ratios compare it against the best peer
WAKEUP = 'LISTEN/NOTIFY on "jobs:insert" (+ 2 s poll, Worker poll_interval)'
BATCH = (
    "Worker(concurrency=concurrency*batch, buffer=batch): as many jobs held at once as "
    "pgmq's and pg-boss's `concurrency` loops of `batch` each hold (10 x 100), and `batch` "
    "more claimed in the worker's buffer; get_jobs claims up to a lane's share of the slots, "
    "claims, start_jobs and finish_jobs pipelined on each lane's connection"
)
BULK_NOTE = (
    "AsyncClient.add_many_ids(task, payloads) (app_jobs.add_jobs, one set-based INSERT;"
    " ids returned)"
)
PENDING_SQL = "SELECT count(*) FROM app_jobs.jobs"  # waiting, running and retrying jobs
DONE_SQL = "SELECT count(*) FROM app_jobs.job_history WHERE status = 'completed'"

TASK = "noop"

# PGJOBS_BENCH_FEATURES=used: the same measures with the 0.4.0 features in use, to report
# their cost beside the peers (issue 17): an operator's task settings and a payload schema for
# the measured task (every enqueue applies and checks them) and a pause of another task (every
# claim checks its candidates against it). Unset: the features exist but are unused.
# PGJOBS_BENCH_FEATURES=limits (issue 18): a concurrency and a rate limit on the measured task,
# set loose enough never to hold a job back (every claim locks the limit row, counts its
# running jobs and takes a token), and a full limit on another task; =fair: tenant fairness on
# (claims rotate across tenants; here the jobs are all of one tenant).
FEATURES = os.environ.get("PGJOBS_BENCH_FEATURES", "")
FEATURES_USED = FEATURES == "used"
PAYLOAD_SCHEMA = {
    "type": "object",
    "properties": {"i": {"type": "integer", "minimum": 0}},
    "required": ["i"],
}

_dsn = ""
_client: AsyncClient | None = None
_worker: Worker | None = None
_run: asyncio.Task[WorkerSummary] | None = None


def version() -> str:
    return f"{pgjobs.__version__}{f' (features: {FEATURES})' if FEATURES else ''}"


async def setup(dsn: str) -> None:
    global _dsn, _client
    _dsn = dsn
    await asyncio.to_thread(deploy, dsn, verify=False)
    _client = await AsyncClient.connect(dsn)
    if FEATURES_USED:
        await _client.set_task_settings(
            TASK, max_attempts=5, priority=0, timeout=60.0, payload_schema=PAYLOAD_SCHEMA
        )
        await _client.pause_jobs(task="not-measured", reason="bench: a pause in force")
    if FEATURES == "limits":
        await _client.set_job_limit(
            task=TASK,
            max_running=1_000_000,
            max_starts=1_000_000,
            per_period=timedelta(seconds=1),
        )
        await _client.set_job_limit(task="not-measured", max_running=0)
    if FEATURES == "fair":
        await _client.set_tenant_fairness(True)


def _connected() -> AsyncClient:
    if _client is None:
        raise RuntimeError("setup() first")
    return _client


async def enqueue(i: int) -> None:
    await _connected().add_job(TASK, {"i": i})


async def enqueue_bulk(n: int, start: int = 0) -> None:
    await _connected().add_many_ids(TASK, [{"i": i} for i in range(start, start + n)])


async def start_worker(concurrency: int, batch: int, on_job: Callable[[int], Any]) -> None:
    global _worker, _run
    app = App(_dsn)

    @app.task(TASK)
    async def noop(payload: dict[str, int]) -> None:
        on_job(payload["i"])

    # Batch fetch: the harness's `concurrency` loops of `batch` jobs each, as pgmq and pg-boss
    # run them, so as many jobs held at once (10 x 100), and a buffer of `batch` claimed jobs.
    # The worker's two lanes each claim up to their share of the slots per round: what bounds
    # a drain of no-op jobs is the number of rounds (one commit each, about 1 ms of
    # PostgreSQL's CPU whatever their size: bench/batch_cost.py), so the jobs held at once
    # set the rate. Until 6 December 2026 it ran `batch` slots (PgQueuer's reading of batch
    # 100): about 0.55x pgmq's rate, which held ten times as many jobs. C: concurrency 10 and
    # the default buffer (as many as the slots).
    held = concurrency * batch if batch else concurrency
    _worker = app.worker(concurrency=held, buffer=batch or None)
    _run = asyncio.create_task(_worker.run())


async def stop_worker() -> None:
    """Graceful stop: no new claims, in-flight jobs finish, then Worker.run returns."""
    global _worker, _run
    if _worker is None or _run is None:
        return
    _worker.stop()
    await _run
    _worker = _run = None


async def close() -> None:
    if _client is not None:
        await _client.close()
