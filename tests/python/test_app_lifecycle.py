"""The job lifecycle from Python: results, the attempt log with tracebacks, progress mid-run,
cooperative cancellation of running async and sync handlers, per-task backoff, wait_for
(also racing the completion), and the client wrappers. Waits are guarded only so a broken
feature fails instead of hanging; nothing asserts how fast anything is."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import pytest

from pgjobs.db.client import AsyncClient, Backoff, Client
from pgjobs.db.errors import InvalidArgument, JobFailed, JobNotFinished
from pgjobs.runtime.app import App
from pgjobs.runtime.registry import JobContext

GUARD = 20.0


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, GUARD * 2))


async def until(predicate: Any, what: str) -> None:
    for _ in range(int(GUARD / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def test_results_errors_and_the_attempt_log(dsn: str) -> None:
    app = App(dsn)

    @app.task()
    async def ok(payload: Any) -> Any:
        return {"doubled": payload["n"] * 2}

    @app.task(backoff=Backoff("fixed", base=3600))
    def broken(payload: Any) -> None:
        raise ValueError(f"bad {payload['n']}")

    with Client.connect(dsn) as client:
        good = client.add_job("ok", {"n": 21}, correlation_id="req-1")
        bad = client.add_job("broken", {"n": 1}, max_attempts=2)
    summary = app.process_batch(batch_size=10)
    assert (summary.completed, summary.failed) == (1, 1)
    with Client.connect(dsn) as client:
        done = client.find_job(good.id)
        assert done is not None and (done.status, done.result) == ("completed", {"doubled": 42})
        assert client.find_job(done.uid) == done
        retrying = client.find_job(bad.id, with_attempts=True)
        assert retrying is not None and retrying.status == "retrying"
        # The task's backoff (fixed, an hour) decided the retry time.
        assert timedelta(minutes=59) < retrying.run_at - retrying.created_at < timedelta(hours=2)
        [attempt] = retrying.attempt_log or []
        details = attempt["error_details"]
        assert attempt["outcome"] == "failed" and "ValueError: bad 1" in attempt["error_message"]
        assert details["type"] == "builtins.ValueError" and details["message"] == "bad 1"
        assert "Traceback" in details["traceback"]
        assert any(frame["function"] == "broken" for frame in details["frames"])
        assert [j.id for j in client.list_jobs(correlation_id="req-1")] == [good.id]
        assert [j.id for j in client.list_jobs("retrying")] == [bad.id]
        assert [j.id for j in client.recent_jobs(1)] == [bad.id]
        stats = {s.task_identifier: s for s in client.queue_stats()}
        assert stats["ok"].completed_last_hour == 1 and stats["broken"].retrying == 1


def test_progress_is_visible_while_the_handler_runs(dsn: str) -> None:
    app = App(dsn)
    release = asyncio.Event()

    @app.task()
    async def slow(payload: Any, ctx: JobContext) -> None:
        assert await ctx.set_progress(30, "a third")
        await release.wait()

    async def main() -> None:
        async with await AsyncClient.connect(dsn) as client:
            job = await client.add_job("slow")
            worker = app.worker(poll_interval=0.1)
            running = asyncio.create_task(worker.run(once=True))

            async def reported() -> bool:
                info = await client.find_job(job.id)
                return info is not None and info.progress == 30

            await until(reported, "progress reported")  # fmt: skip
            info = await client.find_job(job.id)
            assert info is not None and (info.status, info.progress_message) == (
                "running",
                "a third",
            )
            release.set()
            await running

    run(main())


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_cancelling_a_running_job_stops_its_handler(dsn: str, kind: str) -> None:
    app = App(dsn)
    started = threading.Event()
    stopped = threading.Event()

    if kind == "async":

        @app.task("long")
        async def long_async(payload: Any) -> None:
            started.set()
            try:
                await asyncio.sleep(GUARD * 3)
            except asyncio.CancelledError:
                stopped.set()
                raise

    else:

        @app.task("long")
        def long_sync(payload: Any, ctx: JobContext) -> None:
            started.set()
            if ctx.cancelled.wait(GUARD * 3):
                stopped.set()

    async def main() -> None:
        async with await AsyncClient.connect(dsn) as client:
            job = await client.add_job("long")
            worker = app.worker(poll_interval=0.1, lease=timedelta(seconds=60))
            running = asyncio.create_task(worker.run(once=True))
            await until(lambda: asyncio.sleep(0, started.is_set()), "handler started")
            requested = await client.cancel_job(job.id)
            assert requested is not None and requested.cancel_requested_at is not None
            # The heartbeat comes every 20 s with this lease: the NOTIFY is what stops it.
            summary = await asyncio.wait_for(running, GUARD / 2)
            assert summary.cancelled == 1
            info = await client.find_job(job.id, with_attempts=True)
            assert info is not None and info.status == "cancelled"
            assert [a["outcome"] for a in info.attempt_log or []] == ["cancelled"]

    run(main())
    assert stopped.wait(GUARD)


def test_wait_for_returns_results_and_raises_failures(dsn: str) -> None:
    app = App(dsn)

    @app.task()
    async def answer(payload: Any) -> int:
        return 42

    @app.task()
    async def explode(payload: Any) -> None:
        raise RuntimeError("nope")

    async def main() -> None:
        async with await AsyncClient.connect(dsn) as client:
            good = await client.add_job("answer")
            bad = await client.add_job("explode", max_attempts=1)
            waiting = await client.add_job("answer", delay=3600)
            waits = [
                asyncio.create_task(app.wait_for(good.id, timeout=GUARD)),
                asyncio.create_task(app.wait_for(bad.id, timeout=GUARD)),
            ]
            await asyncio.sleep(0.2)  # the waiters subscribe before the jobs run
            await app.worker(poll_interval=0.1).run(once=True)
            assert await waits[0] == 42
            with pytest.raises(JobFailed) as failed:
                await waits[1]
            assert failed.value.job.status == "failed" and "nope" in failed.value.job.last_error
            # Already finished: answered at once. Never finishing: TimeoutError.
            assert await app.wait_for(good.id, timeout=1) == 42
            with pytest.raises(TimeoutError):
                await app.wait_for(waiting.id, timeout=0.3)
            with pytest.raises(LookupError):
                await app.wait_for(-1, timeout=1)

    run(main())


def test_wait_for_never_misses_a_completion_racing_its_subscription(dsn: str) -> None:
    """Many waiters subscribe while workers complete the same jobs concurrently: each waiter
    gets its result, whichever side wins each race."""
    app = App(dsn)

    @app.task()
    async def echo(payload: Any) -> Any:
        return payload["i"]

    async def main() -> None:
        async with await AsyncClient.connect(dsn) as client:
            ids = [(await client.add_job("echo", {"i": i})).id for i in range(30)]
        worker = asyncio.create_task(app.worker(concurrency=4, poll_interval=0.05).run(once=True))
        results = await asyncio.gather(*(app.wait_for(job_id, timeout=GUARD) for job_id in ids))
        await worker
        assert results == list(range(30))

    run(main())


def test_client_rerun_cancel_reclaim_cleanup(dsn: str) -> None:
    with Client.connect(dsn) as client:
        job = client.add_job("t", {"x": 1}, backoff={"strategy": "none"})
        with pytest.raises(JobNotFinished):
            client.rerun_job(job.id)
        cancelled = client.cancel_job(job.id)
        assert cancelled is not None and cancelled.status == "cancelled"
        rerun = client.rerun_job(job.id)
        assert (rerun.status, rerun.rerun_of, rerun.payload) == ("pending", job.id, {"x": 1})
        client.add_job("t", queue="q")
        with pytest.raises(InvalidArgument) as unscoped:  # no tenant scope: refused (PJ122)
            client.cancel_jobs(task="t", queue="q")
        assert unscoped.value.sqlstate == "PJ122"
        assert client.cancel_jobs(task="t", queue="q", all_tenants=True) == 1
        claimed = client.get_job("gone")
        assert claimed is not None and claimed.id == rerun.id
        assert client.set_progress("gone", rerun.id, 10) is True
        assert client.set_progress("someone-else", rerun.id, 10) is False
        assert client.reclaim_stuck_jobs(timedelta(hours=1)) == 0
        result = client.cleanup_jobs(timedelta(days=1))
        assert (result.dropped_partitions, result.deleted_jobs) == (0, 0)
        # Deploy makes no day partition (maintenance does): today and 7 days ahead, then none.
        assert client.create_history_partitions(7) == 8
        assert client.create_history_partitions(7) == 0
        with pytest.raises(TimeoutError):
            client.wait_for(rerun.id, timeout=0.2)
        assert client.complete_job("gone", rerun.id, {"ok": True}) is not None
        assert client.wait_for(rerun.id, timeout=1) == {"ok": True}
