"""The worker's buffer and its faults, with real PostgreSQL and real worker processes.

Buffered is not started: a worker killed while it holds buffered jobs loses none of them (each
goes back with its attempt refunded), while a started job has used its attempt (logged lost),
so a job that kills its worker runs out of attempts even under a stable --worker-id. One job
the worker cannot decode fails alone; an outcome that cannot be recorded never leaves its job
held; a job held in the worker's name that it does not know (a claim whose reply was lost)
is given back. No timing is asserted: the waits are guards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from pgjobs.runtime.app import App

GUARD = 60.0


def sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def wait_for(check: Any, what: str) -> None:
    deadline = time.monotonic() + GUARD
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def script(tmp_path: Path, dsn: str, body: str) -> list[str]:
    (tmp_path / "bufapp.py").write_text(
        textwrap.dedent(
            f"""
            import asyncio, os, signal, sys, time
            from datetime import timedelta
            from pgjobs.runtime.app import App

            app = App({dsn!r})
            """
        )
        + textwrap.dedent(body)
    )
    return [sys.executable, str(tmp_path / "bufapp.py")]


def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}


@pytest.mark.parametrize(("concurrency", "lanes"), [(1, 1), (4, 2)], ids=["one lane", "two lanes"])
def test_sigkill_with_100_buffered_jobs_loses_none(
    dsn: str, tmp_path: Path, concurrency: int, lanes: int
) -> None:
    """Two lanes (issue 20) share one buffer: a kill loses none of what either claimed."""
    blockers = sql(
        dsn,
        "SELECT (app_jobs.add_job(NULL, 'block', max_attempts := 1, priority := -1)).id"
        " FROM generate_series(1, %s)",
        concurrency,
    )
    sql(
        dsn,
        "SELECT app_jobs.add_job(NULL, 'one', json_build_object('i', i), max_attempts := 1)"
        " FROM generate_series(1, 100) AS i",
    )
    cmd = script(
        tmp_path,
        dsn,
        f"""
        @app.task("block")
        def block(payload):
            time.sleep(3600)

        @app.task("one")
        def one(payload):
            pass

        worker = app.worker(worker_id="doomed", concurrency={concurrency}, buffer=100,
                            lanes={lanes}, lease=timedelta(seconds=1), poll_interval=0.1)
        print("lanes", worker.lanes, file=sys.stderr, flush=True)
        asyncio.run(worker.run())
        """,
    )
    proc = subprocess.Popen(cmd, env=env(tmp_path), stderr=subprocess.PIPE, text=True)
    blocker_ids = sorted(b["id"] for b in blockers)

    def settled() -> bool:
        """Every slot runs a blocker and every other job is held (buffered): no job is free and
        none but the blockers started. (Two lanes race as two workers do: one may take a job
        of the second task, run and finish it while the other holds a blocker's row.)"""
        [row] = sql(
            dsn,
            "SELECT count(*) FILTER (WHERE locked_by IS DISTINCT FROM 'doomed') AS free,"
            " coalesce(array_agg(id ORDER BY id) FILTER (WHERE started_attempt = attempts),"
            " '{}') AS started FROM app_jobs.jobs",
        )
        return bool(row["free"] == 0 and row["started"] == blocker_ids)

    try:
        wait_for(settled, "the worker to run its blockers and buffer the rest")
        os.kill(proc.pid, signal.SIGKILL)
        _, banner = proc.communicate(timeout=GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert f"lanes {lanes}" in banner, banner
    held = sql(dsn, "SELECT payload->>'i' AS i FROM app_jobs.jobs WHERE task_identifier = 'one'")
    buffered = sorted(int(r["i"]) for r in held)
    assert buffered  # the buffer held jobs when the worker died
    started = sql(
        dsn,
        "SELECT id FROM app_jobs.jobs WHERE locked_by = 'doomed' AND started_attempt = attempts"
        " ORDER BY id",
    )
    assert [r["id"] for r in started] == blocker_ids  # buffered is not started
    wait_for(
        lambda: sql(dsn, "SELECT 1 FROM app_jobs.workers WHERE lease_expires_at < now()"),
        "the dead worker's lease to lapse",
    )
    app = App(dsn)
    ran: list[int] = []
    app.task("one")(lambda payload: ran.append(payload["i"]))
    summary = app.process_batch(batch_size=200, concurrency=10)
    assert sorted(ran) == buffered  # every buffered job ran, on its only attempt
    assert summary.completed == len(buffered)
    [done] = sql(
        dsn,
        "SELECT count(DISTINCT id) AS jobs, count(*) AS rows, max(attempts) AS attempts"
        " FROM app_jobs.job_history WHERE task_identifier = 'one' AND status = 'completed'",
    )
    assert done == {"jobs": 100, "rows": 100, "attempts": 1}  # each once, none lost
    lost = sql(dsn, "SELECT status FROM app_jobs.job_history WHERE id = ANY(%s)", blocker_ids)
    assert [r["status"] for r in lost] == ["failed"] * concurrency  # each used its one attempt
    outcomes = sql(dsn, "SELECT job_id AS id, outcome FROM app_jobs.job_attempts ORDER BY job_id")
    assert outcomes == [{"id": i, "outcome": "lost"} for i in blocker_ids]


def test_a_job_that_kills_its_worker_fails_under_a_stable_worker_id(
    dsn: str, tmp_path: Path
) -> None:
    [job] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'die', max_attempts := 2)")
    cmd = script(
        tmp_path,
        dsn,
        """
        @app.task("die")
        def die(payload):
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(app.worker(worker_id="box-7", poll_interval=0.1).run(once=True))
        """,
    )
    for _ in range(3):  # two lives killed by the job, a third settles the second's attempt
        proc = subprocess.run(cmd, env=env(tmp_path), timeout=GUARD, check=False)
        assert proc.returncode in (0, -signal.SIGKILL)
    [row] = sql(dsn, "SELECT status FROM app_jobs.job_history WHERE id = %s", job["id"])
    assert row["status"] == "failed"
    attempts = sql(
        dsn, "SELECT outcome FROM app_jobs.job_attempts WHERE job_id = %s ORDER BY attempt",
        job["id"],
    )  # fmt: skip
    assert [a["outcome"] for a in attempts] == ["lost", "lost"]


def test_an_undecodable_job_in_a_claimed_batch_fails_alone(dsn: str) -> None:
    ids = [
        row["id"]
        for row in sql(
            dsn,
            "SELECT (app_jobs.add_job(NULL, 't', json_build_object('i', i))).id"
            " FROM generate_series(1, 5) AS i",
        )
    ]
    # Nested deeper than Python decodes (add_job refuses it now; a row from before could hold it).
    sql(
        dsn,
        "UPDATE app_jobs.jobs SET payload = (repeat('[', 5000) || repeat(']', 5000))::jsonb"
        " WHERE id = %s",
        ids[2],
    )
    app = App(dsn)
    ran: list[int] = []
    app.task("t")(lambda payload: ran.append(payload["i"]))
    summary = app.process_batch(batch_size=10, concurrency=5)
    assert sorted(ran) == [1, 2, 4, 5]
    assert (summary.completed, summary.failed) == (4, 1)
    [row] = sql(dsn, "SELECT status, last_error FROM app_jobs.job_history WHERE id = %s", ids[2])
    assert row["status"] == "failed" and "cannot be decoded" in row["last_error"]


def test_an_outcome_that_cannot_be_recorded_never_holds_its_job(dsn: str) -> None:
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'nul_result', max_attempts := 1)")
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'nul_error', max_attempts := 1)")
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'nul_result_q', queue_name := 'q', max_attempts := 1)")
    app = App(dsn)
    app.task("nul_result")(lambda payload: {"text": "a\u0000b"})
    app.task("nul_result_q")(lambda payload: "a\u0000b")

    @app.task("nul_error")
    def nul_error(payload: Any) -> None:
        raise ValueError("bad\x00byte")

    summary = app.process_batch(batch_size=10, concurrency=3)
    assert summary.failed == 3
    assert sql(dsn, "SELECT count(*) AS n FROM app_jobs.jobs") == [{"n": 0}]
    rows = sql(dsn, "SELECT task_identifier, status, last_error FROM app_jobs.job_history")
    by_task = {row["task_identifier"]: row for row in rows}
    assert {row["status"] for row in rows} == {"failed"}
    assert "bad\\x00byte" in by_task["nul_error"]["last_error"]
    assert "could not be recorded" in by_task["nul_result_q"]["last_error"]
    assert "could not be recorded" in by_task["nul_result"]["last_error"]


def test_a_held_job_the_worker_does_not_know_is_given_back(dsn: str) -> None:
    app = App(dsn)
    ran: list[int] = []
    app.task("t")(lambda payload, ctx: ran.append(ctx.attempt))

    async def scenario() -> None:
        from datetime import timedelta

        worker = app.worker(worker_id="W", lease=timedelta(seconds=0.6), poll_interval=600)
        running = asyncio.create_task(worker.run())
        await asyncio.to_thread(
            wait_for, lambda: sql(dsn, "SELECT 1 FROM app_jobs.workers WHERE worker_id = 'W'"),
            "the worker's first heartbeat",
        )  # fmt: skip
        # A claim in W's name whose reply W never saw (as if the reply were lost); of a task W
        # does not serve, so that W does not claim it again once given back.
        [job] = await asyncio.to_thread(
            sql,
            dsn,
            "SELECT id FROM app_jobs.add_job(NULL, 'not_served_by_w')",
        )
        await asyncio.to_thread(sql, dsn, "SELECT * FROM app_jobs.claim_job('W', %s)", job["id"])
        await asyncio.to_thread(
            wait_for, lambda: sql(dsn, "SELECT 1 FROM app_jobs.jobs WHERE locked_by IS NULL"),
            "W to give the job back",
        )  # fmt: skip
        [row] = await asyncio.to_thread(
            sql, dsn, "SELECT attempts, locked_by FROM app_jobs.jobs WHERE id = %s", job["id"]
        )
        assert row == {"attempts": 0, "locked_by": None}  # never started: attempt refunded
        worker.stop()
        summary = await running
        assert summary.released == 1

    asyncio.run(asyncio.wait_for(scenario(), GUARD))
