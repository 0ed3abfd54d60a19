"""How the worker claims and starts jobs: more claims at once while they find jobs, one claim
when idle, async handlers on the loop.

The spy counts Worker._claim calls (each one get_job on its own pooled connection) around
the real database calls; nothing is mocked. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from pgjobs.db.async_client import AsyncClient
from pgjobs.db.client import Job
from pgjobs.runtime.app import App
from pgjobs.runtime.worker import Worker

GUARD = 20.0


async def until(condition: Any, what: str) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), GUARD)
    except TimeoutError:
        pytest.fail(f"never happened: {what}")


def test_claims_grow_while_they_find_jobs_and_an_idle_wake_up_costs_one_claim(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT app_jobs.add_job(NULL, 'hold', json_build_object('i', i)) "
            "FROM generate_series(1, 20) AS i"
        )
    calls = in_flight = peak = 0
    real_claim = Worker._claim

    sizes: list[int] = []

    async def counted_claim(self: Worker, tasks: list[str], count: int) -> list[Job]:
        nonlocal calls, in_flight, peak
        calls += 1
        in_flight += 1
        peak = max(peak, in_flight)
        sizes.append(count)
        try:
            return await real_claim(self, tasks, count)
        finally:
            in_flight -= 1

    monkeypatch.setattr(Worker, "_claim", counted_claim)
    app = App(dsn)
    running: set[int] = set()
    done: list[int] = []

    async def scenario() -> None:
        gate = asyncio.Event()

        @app.task("hold")
        async def hold(payload: dict[str, int]) -> None:
            running.add(payload["i"])
            await gate.wait()
            running.discard(payload["i"])
            done.append(payload["i"])

        worker = app.worker(concurrency=8, poll_interval=600)
        run = asyncio.create_task(worker.run())
        await until(lambda: len(running) == 8, "8 handlers running")
        # Claims of 1, then 2, then 4 jobs (each found them), then 1 for the last free slot:
        # each one get_jobs call.
        assert sizes == [1, 2, 4, 1] and peak == 1 and calls == 4
        gate.set()
        await until(lambda: len(done) == 20 and not worker._running, "all 20 jobs done")
        with psycopg.connect(dsn, autocommit=True) as conn:
            await until(
                lambda: conn.execute("SELECT count(*) FROM app_jobs.jobs").fetchone() == (0,),
                "the queue empty",
            )
            wake = worker._wake
            assert wake is not None
            await until(lambda: in_flight == 0 and not wake.is_set(), "the worker idle")
            before = calls
            conn.execute('NOTIFY "jobs:insert"')  # a wake-up with nothing to claim
        await until(lambda: calls > before, "a claim after the NOTIFY")
        await asyncio.sleep(0.3)  # room for more claims, which must not come
        assert calls == before + 1
        worker.stop()
        summary = await run
        assert summary.completed == 20 and summary.claimed == 20

    asyncio.run(asyncio.wait_for(scenario(), GUARD * 3))
    assert sorted(done) == list(range(1, 21))
    assert peak <= 8  # never more claims than free slots


def test_async_handlers_start_while_sync_handlers_hold_every_thread(dsn: str) -> None:
    """An async handler runs on the event loop; it never queues for the thread pool."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for task in ("blocking", "blocking", "quick"):
            conn.execute("SELECT app_jobs.add_job(NULL, %s, '{}')", (task,))
    app = App(dsn)
    release = threading.Event()
    quick_done = threading.Event()

    @app.task("blocking")
    def blocking(payload: Any) -> None:
        release.wait(GUARD)

    @app.task("quick")
    async def quick(payload: Any) -> None:
        quick_done.set()

    async def scenario() -> None:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=2))
        worker = app.worker(concurrency=3, poll_interval=600)
        run = asyncio.create_task(worker.run())
        try:
            await until(quick_done.is_set, "the async job ran while both threads were busy")
        finally:
            release.set()
            worker.stop()
            summary = await run
        assert summary.completed == 3

    asyncio.run(asyncio.wait_for(scenario(), GUARD * 3))


def test_completions_are_recorded_in_batches(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Completions of jobs that end together go to the database in one finish_jobs call; a
    serial queue's job (its completion frees the queue) is recorded at once on its own."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT app_jobs.add_job(NULL, 'quick', json_build_object('i', i)) "
            "FROM generate_series(1, 40) AS i"
        )
        conn.execute("SELECT app_jobs.add_job(NULL, 'quick', '{\"i\": 0}', queue_name := 'q')")
    batches: list[list[int]] = []
    real = AsyncClient.finish_jobs

    async def counted(self: AsyncClient, worker_id: str, pairs: Any) -> dict[int, str]:
        batches.append([job_id for job_id, _ in pairs])
        return await real(self, worker_id, pairs)

    monkeypatch.setattr(AsyncClient, "finish_jobs", counted)
    app = App(dsn)

    @app.task("quick")
    async def quick(payload: dict[str, int]) -> int:
        return payload["i"]

    summary = asyncio.run(asyncio.wait_for(app.worker(concurrency=10).run(once=True), GUARD * 3))
    assert summary.completed == 41
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, queue_name, result FROM app_jobs.job_history WHERE status = 'completed'"
        ).fetchall()
    assert len(rows) == 41
    serial = [row[0] for row in rows if row[1] == "q"]
    batched = [job_id for batch in batches for job_id in batch]
    assert sorted(batched) == sorted(row[0] for row in rows if row[1] is None)
    assert serial and serial[0] not in batched
    assert len(batches) < 40  # several completions per call
