"""How the worker claims and starts jobs: what it can run when idle, a buffer when busy, one
claim per idle wake-up, async handlers on the loop, completions in batches.

The spy counts Worker._round calls (each one pipelined round trip on the worker's connection)
around the real database calls; nothing is mocked. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

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


@dataclasses.dataclass(frozen=True)
class Round:
    """One call of Worker._round, as the spy saw it."""

    worker: Worker
    lane: int
    finishes: list[Any]
    to_start: list[Any]
    now: int
    ahead: int
    in_flight: int  # rounds in flight as it was sent, its own included


def spy_rounds(
    monkeypatch: pytest.MonkeyPatch,
    around: Callable[[Round, Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None,
) -> list[Round]:
    """Wraps Worker._round: each round is listed (in the order the rounds were sent) and, with
    ``around``, runs as ``around(round, real)``, where ``real()`` sends it."""
    rounds: list[Round] = []
    real_round = Worker._round

    async def spied(self: Worker, lane: int, tasks: list[str], *args: Any) -> Any:
        finishes, to_start, now, ahead = args
        seen = Round(self, lane, list(finishes), list(to_start), now, ahead, self._in_flight)
        rounds.append(seen)

        def real() -> Awaitable[Any]:
            return real_round(self, lane, tasks, *args)

        return await (real() if around is None else around(seen, real))

    monkeypatch.setattr(Worker, "_round", spied)
    return rounds


def shapes(rounds: list[Round]) -> list[tuple[int, int, int, int]]:
    """(finishes, starts, claim now, claim ahead) of each round."""
    return [(len(r.finishes), len(r.to_start), r.now, r.ahead) for r in rounds]


def test_a_busy_worker_buffers_jobs_unstarted_and_an_idle_wake_up_costs_one_claim(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle worker claims what it can run (started); a busy one fills its buffer with up to
    `buffer` more jobs (claimed, not started: the database knows which); each round is one
    pipelined call; a wake-up with nothing to claim costs one round with one claim."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT app_jobs.add_job(NULL, 'hold', json_build_object('i', i)) "
            "FROM generate_series(1, 20) AS i"
        )
    spied = spy_rounds(monkeypatch)
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
        await until(lambda: len(running) == 8 and len(worker._buffer) == 8, "8 run, 8 buffered")
        assert shapes(spied[:2]) == [(0, 0, 8, 0), (0, 0, 0, 8)]
        with psycopg.connect(dsn, autocommit=True) as conn:
            held = conn.execute(
                "SELECT count(*) AS held, count(*) FILTER (WHERE started_attempt = attempts)"
                " AS started FROM app_jobs.jobs WHERE locked_by = %s",
                (worker.worker_id,),
            ).fetchone()
        assert held == (16, 8)  # buffered is not started
        gate.set()
        await until(lambda: len(done) == 20 and not worker._running, "all 20 jobs done")
        with psycopg.connect(dsn, autocommit=True) as conn:
            await until(
                lambda: conn.execute("SELECT count(*) FROM app_jobs.jobs").fetchone() == (0,),
                "the queue empty",
            )
            wake = worker._wake
            assert wake is not None
            await until(lambda: not wake.is_set() and not worker._buffer, "the worker idle")
            await asyncio.sleep(0.1)
            before = len(spied)
            conn.execute('NOTIFY "jobs:insert"')  # a wake-up with nothing to claim
        await until(lambda: len(spied) > before, "a claim after the NOTIFY")
        await asyncio.sleep(0.3)  # room for more claims, which must not come
        assert shapes(spied[before:]) == [(0, 0, 8, 0)]
        worker.stop()
        summary = await run
        assert summary.completed == 20 and summary.claimed == 20

    asyncio.run(asyncio.wait_for(scenario(), GUARD * 3))
    assert sorted(done) == list(range(1, 21))


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
    """Completions of jobs that end together go to the database in one finish_jobs call (the
    pump's next round, with no wait: a serial queue's job, whose completion frees the queue,
    too)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT app_jobs.add_job(NULL, 'quick', json_build_object('i', i)) "
            "FROM generate_series(1, 40) AS i"
        )
        conn.execute("SELECT app_jobs.add_job(NULL, 'quick', '{\"i\": 0}', queue_name := 'q')")
    spied = spy_rounds(monkeypatch)
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
    batches = [[p.job.id for p in r.finishes] for r in spied if r.finishes]
    batched = [job_id for batch in batches for job_id in batch]
    assert sorted(batched) == sorted(row[0] for row in rows)  # the serial queue's job too
    assert len(batches) < 40  # several completions per call


def test_quick_jobs_are_claimed_to_run_not_buffered_then_started(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handlers that end at once free their slots before the next round is planned: a backlog
    of quick jobs is drained by rounds that record what ended and claim what runs now
    (get_jobs, started), never by filling the buffer and then starting its jobs (start_jobs:
    one more write per job). Every job is recorded completed once."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT app_jobs.add_job(NULL, 'quick', json_build_object('i', i)) "
            "FROM generate_series(1, 60) AS i"
        )
    spied = spy_rounds(monkeypatch)
    app = App(dsn)
    seen: list[int] = []

    @app.task("quick")
    async def quick(payload: dict[str, int]) -> None:
        seen.append(payload["i"])

    summary = asyncio.run(asyncio.wait_for(app.worker(concurrency=10).run(once=True), GUARD * 3))
    assert summary.completed == 60 and sorted(seen) == list(range(1, 61))
    rounds = shapes(spied)
    assert rounds[0] == (0, 0, 10, 0)
    assert all(starts == 0 and ahead == 0 for _, starts, _, ahead in rounds), rounds
    assert sum(finishes for finishes, *_ in rounds) == 60
    with psycopg.connect(dsn, autocommit=True) as conn:
        done = conn.execute(
            "SELECT count(DISTINCT id) FROM app_jobs.job_history WHERE status = 'completed'"
        ).fetchone()
    assert done == (60,)


def test_a_job_queued_while_a_claim_finds_nothing_is_claimed_without_the_poll(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that finds fewer jobs than it asked for ends the claims until a wake-up. A
    NOTIFY heard while that claim was running may announce a job committed after its snapshot
    was taken: the worker claims again at once instead of leaving the job to the poll (here 600
    s, so the job would never run before the guard)."""
    raced: list[int] = []

    async def racing(seen: Round, real: Callable[[], Awaitable[Any]]) -> Any:
        self = seen.worker
        listening = self._wakes >= 1  # the LISTEN connection is up (it wakes the worker)
        wakes = self._wakes
        result = await real()
        if listening and seen.now and not result[1] and not raced:
            # The claim found nothing; a job is queued (its NOTIFY heard) before the worker
            # reads that answer, as when the commit lands while the claim runs.
            def enqueue() -> None:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    row = conn.execute("SELECT (app_jobs.add_job(NULL, 'late', '{}')).id")
                    raced.append(row.fetchone()[0])  # type: ignore[index]

            await asyncio.to_thread(enqueue)
            await until(lambda: self._wakes > wakes, "the worker heard the NOTIFY")
        return result

    spy_rounds(monkeypatch, racing)
    app = App(dsn)
    ran = asyncio.Event()

    @app.task("late")
    async def late(payload: Any) -> None:
        ran.set()

    async def scenario() -> None:
        worker = app.worker(concurrency=2, poll_interval=600)
        run = asyncio.create_task(worker.run())
        try:
            await until(lambda: bool(raced), "a job queued during an empty claim")
            await until(ran.is_set, "the job queued during the empty claim ran")
        finally:
            worker.stop()
            summary = await run
        assert summary.completed == 1

    asyncio.run(asyncio.wait_for(scenario(), GUARD * 3))


def test_rounds_write_ids_results_errors_and_task_names_exactly(dsn: str) -> None:
    """The worker writes its rounds' arrays itself (ids, results, errors, task names): job ids
    past 2^31, task names and results with quotes, backslashes, commas, braces, newlines and
    non-ASCII text, NULL results beside others, and failures in the same batch all reach
    finish_jobs, get_jobs and start_jobs as they are."""
    odd_task = 'we,ird {"task"} \\ é'
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT setval('app_jobs.jobs_id_seq', 3000000000)")
        for i in range(12):
            task = odd_task if i % 3 == 0 else "plain"
            conn.execute(
                "SELECT app_jobs.add_job(NULL, %s, json_build_object('i', %s), max_attempts := %s)",
                (task, i, 1 if i == 3 else 5),
            )
    app = App(dsn)
    texts = ['a "quoted", {braced} \\ back\\\\slash\nnew line', "é ☃ \t", "NULL", ""]

    @app.task(odd_task)
    async def weird(payload: dict[str, int]) -> Any:
        if payload["i"] == 3:
            raise ValueError('a "bad" \\ value,\n{really}')
        return None if payload["i"] == 6 else {"s": texts[payload["i"] % 4], "i": payload["i"]}

    @app.task("plain")
    async def plain(payload: dict[str, int]) -> Any:
        return texts[payload["i"] % 4] if payload["i"] % 2 else None

    summary = asyncio.run(
        asyncio.wait_for(app.worker(concurrency=4, buffer=4).run(once=True), GUARD * 3)
    )
    assert (summary.completed, summary.failed) == (11, 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, task_identifier, status, result, payload, last_error"
            " FROM app_jobs.job_history ORDER BY id"
        ).fetchall()
    assert len(rows) == 12 and all(row[0] > 3_000_000_000 for row in rows)
    for job_id, task, status, result, payload, last_error in rows:
        i = payload["i"]
        assert task == (odd_task if i % 3 == 0 else "plain")
        if i == 3:  # failed for good (max_attempts 1), its error text intact
            assert status == "failed"
            assert 'a "bad" \\ value,\n{really}' in last_error
            continue
        assert status == "completed", (job_id, status, last_error)
        if task == odd_task:
            assert result == (None if i == 6 else {"s": texts[i % 4], "i": i})
        else:
            assert result == (texts[i % 4] if i % 2 else None)
