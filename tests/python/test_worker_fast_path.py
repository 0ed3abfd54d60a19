"""The worker's per-job shortcuts keep their meaning: ``ctx.cancelled`` is a real
threading.Event (made cheaply, its condition only when a thread waits), and claimed rows
become Jobs straight from tuples whatever columns the schema adds or lacks."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg
import pytest

from pgjobs.db.client import AsyncClient, JobSpec
from pgjobs.db.rows import _JOB_FIELDS, Job
from pgjobs.runtime.app import App
from pgjobs.runtime.registry import JobContext, _CancelFlag
from pgjobs.runtime.worker_rounds import _job_maker
from pgjobs.runtime.worker_state import Outcome, Undecodable, _Pending, _resolve

GUARD = 10.0  # seconds: only ever reached when the behaviour is broken


def test_cancel_flag_is_a_threading_event() -> None:
    flag = _CancelFlag()
    assert isinstance(flag, threading.Event) and not flag.is_set()
    assert flag.wait(0.01) is False  # times out, unset
    flag.set()
    assert flag.is_set() and flag.wait(0) is True and flag.wait() is True
    flag.clear()
    assert not flag.is_set()


def test_cancel_flag_wakes_a_thread_that_waits() -> None:
    """Set from the event loop's thread while a sync handler's thread waits on it: the waiter
    wakes (before the guard runs out), and a flag set before anyone waited is seen at once."""
    flag = _CancelFlag()
    waiting = threading.Event()
    woke: list[bool] = []

    def handler() -> None:
        waiting.set()
        woke.append(flag.wait(GUARD))

    thread = threading.Thread(target=handler)
    thread.start()
    assert waiting.wait(GUARD)
    flag.set()
    thread.join(GUARD)
    assert woke == [True]
    ctx = JobContext(job_id=1, task="t", attempt=1, max_attempts=1, payload=None,
                     worker_id="w", logger=None)  # type: ignore[arg-type]  # fmt: skip
    assert isinstance(ctx.cancelled, _CancelFlag) and not ctx.cancelled.is_set()


def _values(columns: list[str], job_id: int, payload: str) -> tuple[object, ...]:
    now = datetime.now(UTC)
    known = {
        "id": job_id, "database_id": UUID(int=0), "task_identifier": "t", "payload": payload,
        "priority": 0, "run_at": now, "attempts": 1, "max_attempts": 3, "locked_by": "w",
        "locked_at": now, "created_at": now, "updated_at": now, "state": "running",
        "superseded": False, "timeout": timedelta(seconds=5), "added_later": "x",
    }  # fmt: skip
    return tuple(known.get(column) for column in columns)


def test_claimed_rows_become_jobs_whatever_the_columns() -> None:
    every = [column for _, column in _JOB_FIELDS]
    # Every column, a column a newer schema adds (ignored), and another order.
    wider = ["added_later", *reversed(every)]
    job = _job_maker(wider)(_values(wider, 7, '{"i": 1}'))
    assert isinstance(job, Job) and job.id == 7 and job.payload == {"i": 1}
    assert job.timeout == timedelta(seconds=5) and job.max_attempts == 3
    # An older schema without some columns: their fields keep their defaults.
    older = [c for c in every if c not in ("timeout", "rerun_of", "correlation_id")]
    job = _job_maker(older)(_values(older, 8, json.dumps([1, 2])))
    assert job.id == 8 and job.payload == [1, 2] and job.timeout is None
    assert job.correlation_id is None and job.rerun_of is None
    # A payload Python cannot decode fails its own job only (Undecodable), not the batch.
    deep = "[" * 100_000 + "]" * 100_000
    job = _job_maker(every)(_values(every, 9, deep))
    assert isinstance(job.payload, Undecodable)


def test_a_claimed_row_makes_the_same_job_as_its_constructor() -> None:
    """Rows become Jobs through Job's slots (not its frozen __init__): field for field the
    Job its constructor makes, equal, hashable alike and as immutable."""
    every = [column for _, column in _JOB_FIELDS]
    values = _values(every, 11, '{"i": 2, "nested": {"a": [1, 2.5, null, true]}}')
    job = _job_maker(every)(values)
    by_field = dict(zip(every, values, strict=True))
    expected = Job(*[by_field[column] for _, column in _JOB_FIELDS])
    object.__setattr__(expected, "payload", {"i": 2, "nested": {"a": [1, 2.5, None, True]}})
    assert job == expected and repr(job) == repr(expected)
    for name, _ in _JOB_FIELDS:
        assert getattr(job, name) == getattr(expected, name), name
    try:
        job.id = 12  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("a claimed Job must stay frozen")


def test_claimed_payloads_decode_as_json_loads_does() -> None:
    """The payload scan is json.loads' own: surrounding whitespace (a json column keeps the
    text as sent), numbers, escapes and NaN decode alike; what json.loads refuses (trailing
    garbage, a bad escape) becomes Undecodable, for that job only."""
    every = [column for _, column in _JOB_FIELDS]
    make = _job_maker(every)
    for text in (' {"i": 1} ', "\n[1, 2]\t", '"caf\\u00e9"', "NaN", "-0.5e3", "{}", "null"):
        payload = make(_values(every, 1, text)).payload
        expected = json.loads(text)
        assert payload == expected or (payload != payload and expected != expected), text
    for text in ('{"i": 1} x', '{"i": "\\q"}', "", "[1,"):
        payload = make(_values(every, 1, text)).payload
        assert isinstance(payload, Undecodable), text
        assert isinstance(payload.error, ValueError)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("Etc/UTC", "UTC"), ("Universal", "UTC"), ("Europe/Paris", "Europe/Paris")],
)
def test_the_claim_connection_names_a_utc_zone_utc_and_keeps_any_other(
    dsn: str, zone: str, expected: str
) -> None:
    """A server whose zone has UTC's rules under another name (Etc/UTC is a common default)
    gets TimeZone = 'UTC' on the worker's claim connection, so the jobs' timestamps come in
    datetime.timezone.utc and psycopg converts none of them to a zoneinfo zone; the instants
    are the same. Any other zone is left alone: interval arithmetic in SQL follows the
    session's zone (a day across a daylight saving change)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET TimeZone = '{zone}'")
        enqueued = conn.execute(
            "SELECT run_at FROM app_jobs.add_job(NULL, 'tz', run_at := '2026-07-01 12:00:00Z')"
        ).fetchone()
        assert enqueued is not None
        conn.execute("UPDATE app_jobs.jobs SET run_at = now() - interval '1 second'")
        conn.execute("SELECT pg_catalog.setval('app_jobs.sweep_clock', 0)")  # probe next claim
    app = App(dsn)

    @app.task("tz")
    def tz(payload: Any) -> None:
        return None

    async def drain() -> tuple[str | None, Any, int]:
        worker = app.worker()
        core = await worker._core_connection()
        try:
            zone_name = core.info.parameter_status("TimeZone")
            [job] = await (await core.execute("SELECT created_at FROM app_jobs.jobs")).fetchall()
        finally:
            await worker._close_core()
        summary = await worker.run(once=True)
        return zone_name, job[0], summary.completed

    zone_name, created_at, completed = asyncio.run(drain())
    assert zone_name == expected
    if expected == "UTC":
        assert created_at.tzinfo is UTC
    else:
        assert created_at.tzinfo == ZoneInfo(expected)
    assert completed == 1


def test_a_job_task_cancelled_before_it_begins_leaves_the_running_jobs(dsn: str) -> None:
    """A job's task takes itself out of the running jobs as it ends, with no done callback
    per job; one cancelled before its first step runs none of its code, and leaves all the
    same (its slot is not lost): cancelled by the worker (a cancellation, a stop) while its
    pump runs, or by the caller that holds it (App.run_now)."""
    app = App(dsn)

    @app.task("t")
    async def t(payload: Any) -> None:
        return None

    async def scenario() -> list[tuple[bool, int]]:
        worker = app.worker()
        seen = []
        async with worker.session():
            async with worker.pool.connection() as conn:
                client = AsyncClient(conn)
                await client.add_jobs_ids([JobSpec("t", {"i": i}) for i in range(2)])
                jobs = await client.get_jobs(worker.worker_id, ["t"], worker.job_expiry, 2)
            assert len(jobs) == 2
            worker._completions = []  # as while the pump runs
            try:
                task = worker.start(jobs[0])
                worker.request_cancel(jobs[0].id)  # before the task's first step
                await asyncio.wait([task], timeout=GUARD)
                seen.append((task.cancelled(), worker.running_jobs))
            finally:
                worker._completions = None
            task = worker.start(jobs[1])
            task.cancel()  # by its caller, before its first step
            await asyncio.wait([task], timeout=GUARD)
            seen.append((task.cancelled(), worker.running_jobs))
        return seen

    assert asyncio.run(scenario()) == [(True, 0), (True, 0)]


def test_a_recorded_outcome_is_the_outcome_its_constructor_makes() -> None:
    """_resolve writes each Outcome's fields straight to it (not through the frozen
    dataclass's __init__): equal, same repr and hash, as frozen, status read from
    finish_jobs' answer (a job left out was not held: lost)."""
    loop = asyncio.new_event_loop()
    try:
        every = [column for _, column in _JOB_FIELDS]
        jobs = [_job_maker(every)(_values(every, n, "{}")) for n in (1, 2, 3)]
        boom = RuntimeError("boom")
        finishes = [
            _Pending(jobs[0], {"r": 1}, loop.create_future()),
            _Pending(jobs[1], {"r": 2}, loop.create_future(), boom),
            _Pending(jobs[2], None, loop.create_future()),
        ]
        _resolve(finishes, {1: "completed", 2: "scheduled"})
        expected = [
            Outcome(1, "completed", {"r": 1}, None),
            Outcome(2, "retrying", None, boom),
            Outcome(3, "lost", None, None),
        ]
        for pending, outcome in zip(finishes, expected, strict=True):
            got = pending.future.result()
            assert type(got) is Outcome and got == outcome and repr(got) == repr(outcome)
            assert got.ok is outcome.ok
            with pytest.raises(dataclasses.FrozenInstanceError):
                got.status = "failed"  # type: ignore[misc]
    finally:
        loop.close()


def test_a_completion_without_a_future_is_settled_once() -> None:
    """A completed job's task ends once its outcome is queued (no future per job): the round
    that records it hands the outcome to the worker's settle step, once, even if the same
    outcomes are resolved again (say a round retried after its answer was read)."""
    every = [column for _, column in _JOB_FIELDS]
    job = _job_maker(every)(_values(every, 5, "{}"))
    settled: list[tuple[int, Outcome]] = []

    def settle(pending: _Pending, outcome: Outcome) -> None:
        pending.settled = True
        settled.append((pending.job.id, outcome))

    queued = _Pending(job, None, None)
    _resolve([queued], {5: "completed"}, settle)
    _resolve([queued], {}, settle)  # already settled: nothing more
    assert settled == [(5, Outcome(5, "completed", None, None))]
    lost = _Pending(job, None, None)
    _resolve([lost], {}, settle)  # left out of finish_jobs' answer: not held any more
    assert settled[-1] == (5, Outcome(5, "lost", None, None))
