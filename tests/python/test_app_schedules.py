"""Schedules from Python: app.schedule declarations upserted by key at worker start, the
worker's scheduler loop (on by default, off with scheduler=False), ctx.fire_time, and
`pgjobs schedules tick | list | enable | disable | run-now`.

Due fire times are made by moving next_run_at back in the database, never by sleeping; waits
are guarded only so a broken feature fails instead of hanging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from cli_support import run_pgjobs
from psycopg.rows import dict_row

from pgjobs.db.errors import InvalidArgument
from pgjobs.db.schedules import Schedule, Schedules
from pgjobs.runtime.app import App
from pgjobs.runtime.registry import JobContext

GUARD = 20.0


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, GUARD * 2))


def sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def make_due(dsn: str, key: str) -> datetime:
    """Move the schedule's next fire time into the past (2 seconds ago)."""
    [row] = sql(
        dsn,
        "UPDATE app_jobs.scheduled_jobs SET next_run_at = date_trunc('second', now())"
        " - interval '2 seconds' WHERE key = %s RETURNING next_run_at",
        key,
    )
    return row["next_run_at"]  # type: ignore[no-any-return]


def test_schedule_declarations_are_checked_in_python_and_in_sql(dsn: str) -> None:
    app = App(dsn)
    with pytest.raises(ValueError, match="exactly one"):
        app.schedule("report")
    with pytest.raises(ValueError, match="missed_runs"):
        app.schedule("report", "@daily", missed_runs="sometimes")
    app.schedule("report", "@daily")
    with pytest.raises(ValueError, match="already declared"):
        app.schedule("report", "@hourly")
    app.schedule("report", "@hourly", key="report-hourly")
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(InvalidArgument) as err:
            Schedules(conn).declare(Schedule("report", "0 8 * * FUNDAY"))
        assert err.value.sqlstate == "PJ111"
        with pytest.raises(InvalidArgument) as tz:
            Schedules(conn).declare(Schedule("report", "@daily", tz="Mars/Olympus"))
        assert tz.value.sqlstate == "PJ112"


def test_a_worker_declares_its_schedules_and_runs_what_is_due(dsn: str) -> None:
    app = App(dsn)
    seen: list[tuple[Any, datetime | None]] = []

    @app.task("generate_report")
    def generate_report(payload: Any, ctx: JobContext) -> None:
        seen.append((payload, ctx.fire_time))

    app.schedule("generate_report", cron="0 8 * * 1", tz="Europe/Paris", payload={"kind": "weekly"})
    app.schedule("generate_report", schedule_info={"hour": [2], "minute": [0]}, key="nightly")
    summary = app.process_batch()
    assert summary.claimed == 0  # nothing due yet
    rows = sql(dsn, "SELECT * FROM app_jobs.scheduled_jobs ORDER BY key")
    assert [(r["key"], r["schedule_info"]) for r in rows] == [
        ("generate_report", {"cron": "0 8 * * 1", "tz": "Europe/Paris"}),
        ("nightly", {"hour": [2], "minute": [0]}),
    ]
    # The Monday 08:00 comes (moved into the past); a restart re-declares the unchanged schedule,
    # which keeps that fire time, and the start tick of a --once run enqueues it.
    fire_time = make_due(dsn, "generate_report")
    summary = app.process_batch()
    assert (summary.claimed, summary.completed) == (1, 1)
    assert seen == [({"kind": "weekly"}, fire_time)]
    [row] = sql(dsn, "SELECT * FROM app_jobs.scheduled_jobs WHERE key = 'generate_report'")
    assert row["last_run_at"] == fire_time and row["next_run_at"] > fire_time
    [done] = sql(dsn, "SELECT fire_time, status FROM app_jobs.job_history")
    assert done == {"fire_time": fire_time, "status": "completed"}


def test_the_scheduler_loop_enqueues_while_the_worker_runs(dsn: str) -> None:
    app = App(dsn)
    ran = asyncio.Event()
    fire_times: list[datetime | None] = []

    @app.task("tick")
    async def tick(payload: Any, ctx: JobContext) -> None:
        fire_times.append(ctx.fire_time)
        ran.set()

    app.schedule("tick", "@hourly")

    async def scenario() -> None:
        worker = app.worker(schedule_interval=0.05, poll_interval=3600)
        running = asyncio.create_task(worker.run())
        while not await asyncio.to_thread(sql, dsn, "SELECT 1 FROM app_jobs.scheduled_jobs"):
            await asyncio.sleep(0.05)  # wait for the declaration at start
        fire_time = await asyncio.to_thread(make_due, dsn, "tick")
        await asyncio.wait_for(ran.wait(), GUARD)
        worker.stop()
        await running
        assert fire_times == [fire_time]

    run(scenario())


def test_the_scheduler_can_be_turned_off(dsn: str) -> None:
    app = App(dsn)

    @app.task("tick")
    def tick(payload: Any) -> None:
        raise AssertionError("no scheduler, no job")

    app.schedule("tick", "@hourly")
    app.process_batch()  # declares
    make_due(dsn, "tick")
    summary = app.process_batch(scheduler=False)
    assert summary.claimed == 0
    assert sql(dsn, "SELECT id FROM app_jobs.jobs") == []


def test_the_schedules_command(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        first = Schedules(conn).declare(
            Schedule("report", "0 8 * * 1", tz="Europe/Paris", backfill_window=timedelta(days=1))
        )
        Schedules(conn).declare(Schedule("cleanup", schedule_info={"hour": [2], "minute": [0]}))
    listed = run_pgjobs("schedules", "list", "--dsn", dsn)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "key", "task", "schedule"]
    assert "0 8 * * 1 (Europe/Paris)" in lines[1] and "backfill window 1 day" in lines[1]
    assert '{"hour":[2],"minute":[0]}' in lines[2]

    disabled = run_pgjobs("schedules", "disable", "report", "--dsn", dsn)
    assert disabled.returncode == 0, disabled.stderr
    assert "disabled" in disabled.stdout
    make_due(dsn, "report")
    make_due(dsn, "cleanup")
    ticked = run_pgjobs("schedules", "tick", "--dsn", dsn)
    assert ticked.returncode == 0, ticked.stderr
    assert "task cleanup" in ticked.stdout and "1 job(s) enqueued" in ticked.stdout
    enabled = run_pgjobs("schedules", "enable", str(first.id), "--dsn", dsn)
    assert enabled.returncode == 0 and "enabled, next run" in enabled.stdout

    now = run_pgjobs("schedules", "run-now", "report", "--dsn", dsn)
    assert now.returncode == 0, now.stderr
    assert now.stdout.startswith("job ") and "task report" in now.stdout
    again = run_pgjobs("schedules", "run-now", "report", "--dsn", dsn)
    assert again.returncode == 1 and "PJ302" not in again.stdout
    assert "pending" in again.stderr
    missing = run_pgjobs("schedules", "enable", "no-such-key", "--dsn", dsn)
    assert missing.returncode == 1 and "no schedule has the key" in missing.stderr
