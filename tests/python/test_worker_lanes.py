"""Lanes: a worker with many slots runs two claim rounds at once, each on its own connection,
sharing its slots, its buffer and its completions. Racing lanes never run a job twice, never
run more handlers than the slots, never claim past run(batch_size=...), and keep a named
queue's order; a lane whose connection breaks loses nothing. Real PostgreSQL, nothing mocked,
no timing asserted (the waits are guards)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from test_worker_claims import spy_rounds

from pgjobs.runtime.app import App
from pgjobs.runtime.worker_state import LANES_FROM

GUARD = 60.0


def enqueue(dsn: str, query: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(query)


def history(dsn: str) -> list[tuple[int, str, int]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, status, attempts FROM app_jobs.job_history ORDER BY id"
        ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def test_the_default_is_two_lanes_from_64_slots_and_lanes_are_checked(dsn: str) -> None:
    app = App(dsn)
    assert app.worker(concurrency=LANES_FROM - 1).lanes == 1
    assert app.worker(concurrency=LANES_FROM).lanes == 2
    assert app.worker(concurrency=200, lanes=1).lanes == 1
    assert app.worker(concurrency=4, lanes=3).lanes == 3
    for bad in (0, 9, -1):
        with pytest.raises(ValueError, match="lanes must be between 1 and 8"):
            app.worker(lanes=bad)


def test_two_lanes_drain_every_job_once_within_the_slots(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3,000 jobs, 64 slots, two lanes: both lanes claimed, a round was sent while the other
    lane's was in flight, every job ran once and completed once, and never more than 64
    handlers ran at once."""
    enqueue(
        dsn,
        "SELECT app_jobs.add_job(NULL, 'work', json_build_object('i', i))"
        " FROM generate_series(1, 3000) AS i",
    )
    rounds = spy_rounds(monkeypatch)  # each with the rounds in flight as it was sent
    app = App(dsn)
    ran: list[int] = []
    running = 0
    most = 0

    @app.task("work")
    async def work(payload: Any) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0 if payload["i"] % 3 else 0.001)  # some yield, some do not
        ran.append(payload["i"])
        running -= 1

    worker = app.worker(concurrency=64)
    assert worker.lanes == 2
    summary = asyncio.run(asyncio.wait_for(worker.run(once=True), GUARD))
    assert sorted(ran) == list(range(1, 3001))
    assert summary.completed == 3000 and summary.claimed == 3000
    done = history(dsn)
    assert len(done) == 3000
    assert {(status, attempts) for _, status, attempts in done} == {("completed", 1)}
    assert most <= 64
    assert {r.lane for r in rounds} == {0, 1}
    assert max(r.in_flight for r in rounds) == 2  # counted with its own round


def test_lanes_claim_no_more_than_batch_size(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """run(once=True, batch_size=10) with two lanes claims exactly 10 jobs: a lane plans
    around the claims of the other lane's round in flight."""
    enqueue(
        dsn,
        "SELECT app_jobs.add_job(NULL, 'work', json_build_object('i', i))"
        " FROM generate_series(1, 200) AS i",
    )
    rounds = spy_rounds(monkeypatch)
    app = App(dsn)

    @app.task("work")
    async def work(payload: Any) -> None:
        await asyncio.sleep(0.001)

    for _ in range(3):
        summary = asyncio.run(
            asyncio.wait_for(app.worker(concurrency=128).run(once=True, batch_size=10), GUARD)
        )
        assert summary.claimed == 10 and summary.completed == 10
    assert sum(r.now + r.ahead for r in rounds) == 30
    assert len(history(dsn)) == 30


def test_two_lanes_keep_a_named_queues_order(dsn: str) -> None:
    """Jobs of named queues, drained by two racing lanes: each queue ran its jobs one at a
    time, in the order they were queued."""
    enqueue(
        dsn,
        "SELECT app_jobs.add_job(NULL, 'step', json_build_object('q', q, 'n', n),"
        " queue_name := 'q' || q) FROM generate_series(1, 40) AS n, generate_series(1, 5) AS q"
        " ORDER BY n, q",
    )
    app = App(dsn)
    seen: dict[int, list[int]] = {}
    active: set[int] = set()
    overlap: list[int] = []

    @app.task("step")
    async def step(payload: Any) -> None:
        queue = payload["q"]
        if queue in active:
            overlap.append(queue)
        active.add(queue)
        await asyncio.sleep(0)
        seen.setdefault(queue, []).append(payload["n"])
        active.discard(queue)

    summary = asyncio.run(asyncio.wait_for(app.worker(concurrency=64).run(once=True), GUARD))
    assert summary.completed == 200
    assert overlap == []
    assert seen == {q: list(range(1, 41)) for q in range(1, 6)}


def test_a_lane_whose_connection_breaks_loses_nothing(dsn: str) -> None:
    """One lane's connection is terminated while jobs run: its round fails, its outcomes are
    recorded in a later round, and every job completes once."""
    enqueue(
        dsn,
        "SELECT app_jobs.add_job(NULL, 'work', json_build_object('i', i))"
        " FROM generate_series(1, 1500) AS i",
    )
    app = App(dsn)
    ran: list[int] = []
    killed: list[int] = []
    worker = app.worker(concurrency=64, max_backoff=0.2)

    @app.task("work")
    async def work(payload: Any) -> None:
        ran.append(payload["i"])
        if payload["i"] == 700 and not killed:
            core = worker._cores[1] or worker._cores[0]
            assert core is not None
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (core.info.backend_pid,))
            killed.append(core.info.backend_pid)

    summary = asyncio.run(asyncio.wait_for(worker.run(once=True), GUARD))
    assert killed
    assert summary.completed == 1500
    done = history(dsn)
    assert len(done) == 1500 and {status for _, status, _ in done} == {"completed"}
    assert sorted(set(ran)) == list(range(1, 1501))
