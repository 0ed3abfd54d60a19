"""The App API against real PostgreSQL: typed payloads and results, task defaults, listeners,
on_error, run_now / run_batch / run_job, drain, orphans failed at start, the sync facade."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from pydantic import BaseModel, Field
from test_worker import enqueue, history, run, sql
from typing_extensions import TypedDict

from pgjobs.runtime.app import App
from pgjobs.runtime.registry import JobContext, JobEvent
from pgjobs.runtime.typed import InvalidPayload


class Email(BaseModel):
    to: str = Field(pattern=r"^[^@]+@[^@]+$")
    subject: str = "hello"


class Receipt(BaseModel):
    message_id: str


@dataclasses.dataclass
class Resize:
    width: int
    height: int


class Point(TypedDict):
    x: int
    y: int


def jobs(dsn: str) -> list[dict[str, Any]]:
    return sql(dsn, "SELECT * FROM app_jobs.jobs ORDER BY id")


# -- typed payloads and results -----------------------------------------------------------------


def test_typed_payload_is_validated_at_enqueue_and_nothing_is_written(dsn: str) -> None:
    app = App(dsn)

    @app.task("send_email")
    async def send_email(payload: Email) -> Receipt:
        return Receipt(message_id=payload.to)

    with pytest.raises(InvalidPayload, match="send_email"):
        app.sync.later("send_email", {"to": "not-an-address"})
    with pytest.raises(InvalidPayload):
        app.sync.later(send_email, {"subject": "no recipient"})
    assert jobs(dsn) == []
    # A model instance or a valid dict is stored as checked JSON, defaults filled in.
    a = app.sync.later(send_email, Email(to="ann@example.com"))
    b = app.sync.later("send_email", {"to": "bob@example.com", "subject": "hi"})
    assert a.payload == {"to": "ann@example.com", "subject": "hello"}
    assert b.payload == {"to": "bob@example.com", "subject": "hi"}


def test_dataclass_and_typeddict_payloads(dsn: str) -> None:
    app = App(dsn)
    seen: list[Any] = []

    @app.task()
    def resize(payload: Resize) -> None:
        seen.append(payload)

    @app.task()
    def plot(payload: Point) -> int:
        seen.append(payload)
        return payload["x"] + payload["y"]

    with pytest.raises(InvalidPayload):
        app.sync.later(resize, {"width": "wide", "height": 2})
    with pytest.raises(InvalidPayload):
        app.sync.later(plot, {"x": 1})
    app.sync.later(resize, Resize(3, 4))
    app.sync.later(plot, {"x": 1, "y": 2})
    summary = app.sync.drain()
    assert summary.completed == 2
    assert Resize(3, 4) in seen and {"x": 1, "y": 2} in seen


def test_a_payload_invalid_at_run_time_fails_for_good_at_once(dsn: str) -> None:
    app = App(dsn)
    ran: list[Email] = []

    @app.task("send_email", max_attempts=5)
    async def send_email(payload: Email) -> None:
        ran.append(payload)

    # Written by another language, bypassing the Python check.
    bad = enqueue(dsn, "send_email", '{"to": 42}', max_attempts=5)
    summary = app.sync.drain()
    assert ran == [] and summary.failed == 1
    [h] = history(dsn).values()
    assert h["id"] == bad and h["status"] == "failed" and h["attempts"] == 1
    assert "InvalidPayload" in h["last_error"] and "can never succeed" in h["last_error"]
    assert jobs(dsn) == []


def test_a_result_that_fails_its_type_fails_the_attempt(dsn: str) -> None:
    app = App(dsn)

    @app.task()
    async def make_receipt(payload: Any) -> Receipt:
        return payload  # type: ignore[no-any-return]

    job = enqueue(dsn, "make_receipt", '{"wrong": true}', max_attempts=3)
    app.sync.drain()
    [row] = jobs(dsn)
    assert row["id"] == job and row["state"] == "scheduled" and row["attempts"] == 1
    assert "InvalidResult" in row["last_error"] and "Receipt" in row["last_error"]


def test_task_defaults_apply_at_enqueue_and_options_override_them(dsn: str) -> None:
    app = App(dsn)

    @app.task("report", max_attempts=7, queue="reports", priority=-3)
    def report(payload: Any) -> None:
        pass

    a = app.sync.later("report", {})
    b = app.sync.later("report", {}, max_attempts=2, priority=5, queue="other")
    assert (a.max_attempts, a.queue_name, a.priority) == (7, "reports", -3)
    assert (b.max_attempts, b.queue_name, b.priority) == (2, "other", 5)
    many = app.sync.later_many(report, [{"n": i} for i in range(3)])
    assert {(j.max_attempts, j.queue_name) for j in many} == {(7, "reports")}


def test_a_tasks_timeout_is_stored_with_the_jobs_it_enqueues(dsn: str) -> None:
    app = App(dsn)
    seen: list[Any] = []

    @app.task("slow", timeout=timedelta(minutes=2))
    def slow(payload: Any, ctx: JobContext) -> None:
        with psycopg.connect(dsn) as conn:  # the running job's own row
            seen.append(
                conn.execute(
                    "SELECT timeout FROM app_jobs.jobs WHERE id = %s", (ctx.job_id,)
                ).fetchone()
            )

    with pytest.raises(ValueError, match="timeout must be more than 0"):
        app.task("never", timeout=0)(slow)
    a = app.sync.later(slow, {})
    b = app.sync.later("slow", {}, timeout=5)
    assert (a.timeout, b.timeout) == (timedelta(minutes=2), timedelta(seconds=5))
    many = app.sync.later_many(slow, [{"n": i} for i in range(2)])
    assert [j.timeout for j in many] == [timedelta(minutes=2)] * 2
    app.sync.run_now(slow, {})
    assert seen == [(timedelta(minutes=2),)]


def test_later_inside_the_callers_transaction(dsn: str) -> None:
    app = App(dsn)

    @app.task()
    def noop(payload: Any) -> None:
        pass

    with psycopg.connect(dsn) as conn:
        app.sync.later(noop, {"n": 1}, conn=conn)
        conn.rollback()
        app.sync.later(noop, {"n": 2}, conn=conn)
        conn.commit()
    assert [j["payload"] for j in jobs(dsn)] == [{"n": 2}]


# -- listeners --------------------------------------------------------------------------------


def test_listeners_fire_once_per_event(dsn: str) -> None:
    app = App(dsn)
    events: list[tuple[str, int, str, int]] = []

    def record(event: JobEvent) -> None:
        events.append((event.event, event.job.id, event.outcome, event.attempt))

    @app.task("flaky", on_attempt=record, on_success=record, on_failure=record)
    async def flaky(payload: Any, ctx: JobContext) -> str:
        if ctx.attempt < 2:
            raise RuntimeError("first try fails")
        return "ok"

    @app.task("doomed", on_attempt=record, on_failure=record, on_success=record)
    def doomed(payload: Any) -> None:
        raise RuntimeError("always")

    a = enqueue(dsn, "flaky", max_attempts=3)
    b = enqueue(dsn, "doomed", max_attempts=2)
    for _ in range(2):
        app.sync.drain()
        sql(dsn, "UPDATE app_jobs.jobs SET run_at = now()")  # skip the retry backoff
        # ...and let the next claim run the sweep's probe (at most once per 10 ms otherwise).
        sql(dsn, "SELECT pg_catalog.setval('app_jobs.sweep_clock', 0)")
    app.sync.drain()

    assert sorted(e for e in events if e[1] == a) == [
        ("attempt", a, "completed", 2),
        ("attempt", a, "retrying", 1),
        ("success", a, "completed", 2),
    ]
    assert sorted(e for e in events if e[1] == b) == [
        ("attempt", b, "failed", 2),
        ("attempt", b, "retrying", 1),
        ("failure", b, "failed", 2),
    ]


def test_a_listener_writes_in_the_outcome_transaction_and_its_failure_is_reported(
    dsn: str,
) -> None:
    sql(dsn, "CREATE TABLE audit (job_id bigint, what text)")
    app = App(dsn)
    errors: list[tuple[str, str]] = []

    @app.task("work")
    async def work(payload: Any) -> dict[str, int]:
        return {"n": payload["n"]}

    @app.on_success("work")
    async def audit(event: JobEvent) -> None:
        assert event.conn is not None and event.result == {"n": event.job.payload["n"]}
        await event.conn.execute(
            "INSERT INTO audit VALUES (%s, %s)", (event.job.id, f"done {event.result['n']}")
        )
        if event.job.payload["n"] == 2:
            raise RuntimeError("listener broke")  # its own insert is undone, nothing else

    @app.on_error
    def on_error(error: BaseException, where: str) -> None:
        errors.append((str(error), where))

    ids = [enqueue(dsn, "work", f'{{"n": {n}}}') for n in (1, 2, 3)]
    summary = app.sync.drain()
    assert summary.completed == 3
    assert sorted((r["job_id"], r["what"]) for r in sql(dsn, "SELECT * FROM audit")) == [
        (ids[0], "done 1"),
        (ids[2], "done 3"),
    ]
    assert {h["status"] for h in history(dsn).values()} == {"completed"}
    assert errors == [("listener broke", "the success listener of task 'work'")]


# -- run now, in batches, by id -----------------------------------------------------------------


def test_run_now_records_the_job_and_returns_its_result(dsn: str) -> None:
    app = App(dsn)
    attempts: list[JobEvent] = []

    @app.task("send_email", on_attempt=attempts.append)
    async def send_email(payload: Email, ctx: JobContext) -> Receipt:
        assert ctx.job_id is not None
        return Receipt(message_id=f"m-{ctx.job_id}")

    receipt = app.sync.run_now(send_email, {"to": "ann@example.com"})
    [h] = history(dsn).values()
    assert receipt == {"message_id": f"m-{h['id']}"}
    assert h["status"] == "completed" and h["task_identifier"] == "send_email"
    assert h["worker_id"].endswith(":run")
    assert [e.outcome for e in attempts] == ["completed"]


def test_run_now_without_persist_touches_no_table(dsn: str) -> None:
    app = App(dsn)

    @app.task()
    def double(payload: Point, ctx: JobContext) -> int:
        assert ctx.job_id is None
        return payload["x"] * 2

    assert app.sync.run_now(double, {"x": 21, "y": 0}, persist=False) == 42
    with pytest.raises(InvalidPayload):
        app.sync.run_now(double, {"x": "no"}, persist=False)
    assert jobs(dsn) == [] and history(dsn) == {}


def test_run_now_raises_the_handlers_error_after_recording_it(dsn: str) -> None:
    app = App(dsn)

    @app.task(max_attempts=2)
    def boom(payload: Any) -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError, match="nope"):
        app.sync.run_now(boom, {})
    # One attempt used; the retry is the workers' business.
    [row] = jobs(dsn)
    assert row["state"] == "scheduled" and row["attempts"] == 1 and "KeyError" in row["last_error"]


def test_run_batch_respects_concurrency_and_returns_outcomes_in_order(dsn: str) -> None:
    app = App(dsn)
    running = 0
    peak = 0
    lock = threading.Lock()

    @app.task()
    async def square(payload: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        await asyncio.sleep(0.05)
        with lock:
            running -= 1
        if payload == 5:
            raise ValueError("five")
        return payload * payload

    outcomes = app.sync.run_batch(square, list(range(10)), concurrency=3)
    assert peak == 3
    assert [o.status for o in outcomes] == ["completed"] * 5 + ["retrying"] + ["completed"] * 4
    assert [o.result for o in outcomes if o.ok] == [n * n for n in range(10) if n != 5]
    with pytest.raises(ValueError, match="five"):
        outcomes[5].value()
    assert len(history(dsn)) == 9


def test_run_batch_stop_on_error_leaves_the_rest_queued(dsn: str) -> None:
    app = App(dsn)

    @app.task(max_attempts=1)
    def check(payload: int) -> int:
        if payload == 0:
            raise ValueError("zero")
        return payload

    outcomes = app.sync.run_batch(check, [0, 1, 2, 3], concurrency=1, stop_on_error=True)
    assert [o.status for o in outcomes] == ["failed", "lost", "lost", "lost"]
    # Never started: still queued for the workers, untouched.
    assert sorted(j["payload"] for j in jobs(dsn)) == [1, 2, 3]
    assert {j["attempts"] for j in jobs(dsn)} == {0}


def test_run_job_claims_a_queued_job_by_id(dsn: str) -> None:
    app = App(dsn)

    @app.task()
    def echo(payload: Any) -> Any:
        return payload

    first = enqueue(dsn, "echo", '{"n": 1}')
    second = enqueue(dsn, "echo", '{"n": 2}', priority=-10)  # would be claimed first otherwise
    assert app.sync.run_job(first) == {"n": 1}
    assert set(history(dsn)) == {first}
    assert [j["id"] for j in jobs(dsn)] == [second]
    with pytest.raises(LookupError, match=f"job {first}"):
        app.sync.run_job(first)  # already done
    stranger = enqueue(dsn, "not_here")
    with pytest.raises(LookupError):
        app.sync.run_job(stranger)
    [row] = [j for j in jobs(dsn) if j["id"] == stranger]
    assert row["state"] == "ready" and row["locked_by"] is None and row["attempts"] == 0


def test_drain_runs_jobs_that_jobs_enqueue(dsn: str) -> None:
    app = App(dsn)
    seen: list[int] = []

    @app.task()
    async def countdown(payload: int) -> None:
        seen.append(payload)
        if payload > 0:
            await app.later(countdown, payload - 1)

    app.sync.later(countdown, 3)
    summary = app.sync.drain()
    assert seen == [3, 2, 1, 0] and summary.completed == 4


# -- orphans ------------------------------------------------------------------------------------


def test_orphans_fail_mode_fails_what_an_earlier_life_held(dsn: str) -> None:
    app = App(dsn)

    @app.task()
    def noop(payload: Any) -> None:
        pass

    held = enqueue(dsn, "noop", max_attempts=5)
    sql(dsn, "SELECT * FROM app_jobs.get_job('host:1:old')")
    fresh = enqueue(dsn, "noop")
    summary = run(app.worker(worker_id="host:1:old", orphans="fail").run(once=True))
    hist = history(dsn)
    assert hist[held]["status"] == "failed" and "orphaned" in hist[held]["last_error"]
    assert hist[fresh]["status"] == "completed"
    assert summary.completed == 1 and summary.failed == 1
