"""The worker against real PostgreSQL: handlers, failures, wake-ups, stop, leases, orphans.

Waits use generous guards (asyncio.wait_for) only so a broken feature fails instead of
hanging; nothing asserts how fast anything is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from pgjobs.runtime.app import App
from pgjobs.runtime.registry import JobContext
from pgjobs.runtime.worker import Worker

GUARD = 20.0  # seconds before a wait counts as "never happened"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, GUARD * 2))


def sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def enqueue(dsn: str, task: str, payload: str = "{}", **kw: Any) -> int:
    args = "".join(f", {k} := %s" for k in kw)
    [row] = sql(
        dsn, f"SELECT id FROM app_jobs.add_job(NULL, %s, %s{args})", task, payload, *kw.values()
    )
    return int(row["id"])


def history(dsn: str) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in sql(dsn, "SELECT * FROM app_jobs.job_history")}


def test_a_batch_runs_async_and_sync_handlers_and_records_failures(dsn: str) -> None:
    app = App(dsn)
    seen: list[tuple[str, Any, int]] = []

    @app.task("async_ok")
    async def async_ok(payload: Any, ctx: JobContext) -> None:
        seen.append(("async_ok", payload, ctx.attempt))

    @app.task()
    def sync_ok(payload: Any) -> None:
        assert threading.current_thread() is not threading.main_thread()
        seen.append(("sync_ok", payload, 0))

    @app.task("boom")
    def boom(payload: Any) -> None:
        raise RuntimeError(f"bad payload {payload}")

    a = enqueue(dsn, "async_ok", '{"n": 1}')
    b = enqueue(dsn, "sync_ok", '{"n": 2}')
    c = enqueue(dsn, "boom", '{"n": 3}', max_attempts=1)
    other = enqueue(dsn, "nobody_handles_this")

    summary = app.process_batch(batch_size=10, concurrency=2)

    assert (summary.claimed, summary.completed, summary.failed) == (3, 2, 1)
    assert sorted(seen) == [("async_ok", {"n": 1}, 1), ("sync_ok", {"n": 2}, 0)]
    hist = history(dsn)
    assert hist[a]["status"] == hist[b]["status"] == "completed"
    assert hist[c]["status"] == "failed"
    assert "RuntimeError: bad payload {'n': 3}" in hist[c]["last_error"]
    assert "Traceback" in hist[c]["last_error"] and "in boom" in hist[c]["last_error"]
    # A task without a handler here is never claimed.
    assert [r["id"] for r in sql(dsn, "SELECT id FROM app_jobs.jobs")] == [other]


def test_batch_size_limits_a_batch(dsn: str) -> None:
    app = App(dsn)
    app.task("t")(lambda payload: None)
    for _ in range(5):
        enqueue(dsn, "t")
    assert app.process_batch(batch_size=3, concurrency=3).completed == 3
    assert len(sql(dsn, "SELECT id FROM app_jobs.jobs")) == 2


def background(worker: Worker) -> asyncio.Task[Any]:
    return asyncio.create_task(worker.run())


def test_notify_wakes_the_worker_long_before_the_poll_interval(dsn: str) -> None:
    app = App(dsn)
    done = asyncio.Event()

    @app.task("t")
    async def t(payload: Any) -> None:
        done.set()

    async def scenario() -> None:
        worker = app.worker(poll_interval=3600)  # only a NOTIFY can wake it in time
        running = background(worker)
        await asyncio.sleep(0.5)  # let it start listening
        await asyncio.to_thread(enqueue, dsn, "t")
        await asyncio.wait_for(done.wait(), GUARD)
        worker.stop()
        summary = await running
        assert summary.completed == 1

    run(scenario())


def test_an_error_from_the_claim_is_reported_and_the_worker_claims_again(dsn: str) -> None:
    """A claim that fails with an SQL error (here: get_jobs and get_job are missing for a
    moment, as when a claim runs into a schema upgrade) does not end the claim loop."""
    app = App(dsn)
    done = asyncio.Event()
    errors: list[tuple[str, str]] = []

    @app.task("t")
    async def t(payload: Any) -> None:
        done.set()

    @app.on_error
    def seen(error: BaseException, where: str) -> None:
        errors.append((type(error).__name__, where))

    # Both claims missing: get_jobs, then the fallback to get_job (a schema before 0.4.0).
    get_job = "app_jobs.get_job(text, text[], interval)"
    sql(dsn, f"ALTER FUNCTION {get_job} RENAME TO get_job_away")
    sql(
        dsn,
        "ALTER FUNCTION app_jobs.get_jobs(text, text[], interval, integer, boolean) RENAME TO gone",
    )

    async def scenario() -> None:
        worker = app.worker(poll_interval=0.1)
        running = background(worker)
        try:
            while not errors:
                await asyncio.sleep(0.05)
        finally:
            await asyncio.to_thread(
                sql,
                dsn,
                "ALTER FUNCTION app_jobs.get_job_away(text, text[], interval) RENAME TO get_job",
            )
            await asyncio.to_thread(
                sql,
                dsn,
                "ALTER FUNCTION app_jobs.gone(text, text[], interval, integer, boolean)"
                " RENAME TO get_jobs",
            )
        await asyncio.to_thread(enqueue, dsn, "t")
        await asyncio.wait_for(done.wait(), GUARD)
        worker.stop()
        summary = await running
        assert summary.completed == 1

    run(scenario())
    assert ("UndefinedFunction", "claiming, starting and recording jobs") in errors


def test_graceful_stop_lets_the_running_job_finish(dsn: str) -> None:
    app = App(dsn)
    started, release = asyncio.Event(), asyncio.Event()

    @app.task("slow")
    async def slow(payload: Any) -> None:
        started.set()
        await release.wait()

    job = enqueue(dsn, "slow")
    enqueue(dsn, "slow")  # waits: claiming stops with the stop

    async def scenario() -> None:
        worker = app.worker(concurrency=1, poll_interval=0.1)
        running = background(worker)
        await asyncio.wait_for(started.wait(), GUARD)
        worker.stop()
        await asyncio.sleep(0.3)
        assert not running.done()  # still waiting for the job
        release.set()
        summary = await running
        assert (summary.completed, summary.claimed) == (1, 1)

    run(scenario())
    assert history(dsn)[job]["status"] == "completed"
    assert len(sql(dsn, "SELECT id FROM app_jobs.jobs WHERE state = 'ready'")) == 1


@pytest.mark.parametrize("how", ["timeout", "second stop"])
def test_a_stop_that_cannot_wait_gives_the_job_back(dsn: str, how: str) -> None:
    app = App(dsn)
    started = asyncio.Event()

    @app.task("forever")
    async def forever(payload: Any) -> None:
        started.set()
        await asyncio.sleep(3600)

    job = enqueue(dsn, "forever")

    async def scenario() -> None:
        timeout = 0.2 if how == "timeout" else 3600
        worker = app.worker(poll_interval=0.1, shutdown_timeout=timeout)
        running = background(worker)
        await asyncio.wait_for(started.wait(), GUARD)
        worker.stop()
        if how == "second stop":
            worker.stop()
        summary = await running
        assert (summary.completed, summary.released) == (0, 1)

    run(scenario())
    [row] = sql(dsn, "SELECT state, locked_by, attempts FROM app_jobs.jobs WHERE id = %s", job)
    assert row == {"state": "ready", "locked_by": None, "attempts": 0}
    assert sql(dsn, "SELECT worker_id FROM app_jobs.workers") == []


def take_over_after_lapse(dsn: str) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn, conn.transaction():
        conn.execute("UPDATE app_jobs.workers SET lease_expires_at = now() - interval '1 s'")
        # The claim runs the sweep's probe at most once per 10 ms (app_jobs.sweep_clock), and
        # the worker's own claims may have just run it: set the clock back, as time would.
        conn.execute("SELECT pg_catalog.setval('app_jobs.sweep_clock', 0)")
        return conn.execute("SELECT * FROM app_jobs.get_job('other')").fetchall()


def test_a_job_taken_back_after_a_lapsed_lease_is_cancelled_here(dsn: str) -> None:
    app = App(dsn)
    started, cancelled = asyncio.Event(), asyncio.Event()

    @app.task("slow")
    async def slow(payload: Any) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job = enqueue(dsn, "slow")

    async def scenario() -> None:
        worker = app.worker(poll_interval=0.1, lease=timedelta(seconds=0.6))
        running = background(worker)
        await asyncio.wait_for(started.wait(), GUARD)
        # The worker seems paused: its lease lapses and another worker takes the job. One
        # transaction, so the worker's own next heartbeat cannot renew the lease in between
        # (it waits for the lease row and then finds its job gone).
        [taken] = await asyncio.to_thread(take_over_after_lapse, dsn)
        assert taken["id"] == job
        await asyncio.wait_for(cancelled.wait(), GUARD)
        worker.stop()
        summary = await running
        assert (summary.lost, summary.completed) == (1, 0)

    run(scenario())
    [row] = sql(dsn, "SELECT locked_by, attempts FROM app_jobs.jobs WHERE id = %s", job)
    assert row == {"locked_by": "other", "attempts": 2}  # untouched by the first worker


def test_orphans_of_an_earlier_life_are_released_and_run(dsn: str) -> None:
    job = enqueue(dsn, "t")
    sql(dsn, "SELECT * FROM app_jobs.get_job('host-1:worker')")  # a life that crashed
    app = App(dsn)
    ran: list[int] = []
    app.task("t")(lambda payload, ctx: ran.append(ctx.job_id))
    summary = app.process_batch(worker_id="host-1:worker")
    assert (summary.released, summary.completed) == (1, 1)
    assert ran == [job]


def test_a_worker_needs_handlers(dsn: str) -> None:
    with pytest.raises(ValueError, match="no tasks"):
        App(dsn).process_batch()
