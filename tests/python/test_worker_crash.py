"""Crash safety: a worker killed with SIGKILL mid-job loses nothing.

A real worker process runs a job that never ends and is killed with SIGKILL. Its lease
(1 s here) lapses, and the next get_job of another worker takes the job back as a new
attempt and runs it to completion: the job is completed exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pgjobs.runtime.app import App

GUARD = 30.0


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


def test_sigkill_mid_job_then_another_worker_completes_it(dsn: str, tmp_path: Path) -> None:
    (tmp_path / "crashapp.py").write_text(
        textwrap.dedent(
            f"""
            import time
            from datetime import timedelta
            from pgjobs.runtime.app import App

            app = App({dsn!r})

            @app.task("long")
            def long(payload):
                time.sleep(3600)

            if __name__ == "__main__":
                app.run_worker(worker_id="doomed", lease=timedelta(seconds=1), poll_interval=0.1)
            """
        )
    )
    [job] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'long')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "crashapp.py")], env=env)
    try:
        wait_for(
            lambda: sql(dsn, "SELECT 1 FROM app_jobs.jobs WHERE locked_by = 'doomed'"),
            "the doomed worker to claim the job",
        )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Still locked by the dead worker: nothing was lost or released by the crash itself.
    [row] = sql(dsn, "SELECT locked_by, attempts FROM app_jobs.jobs WHERE id = %s", job["id"])
    assert row == {"locked_by": "doomed", "attempts": 1}

    app = App(dsn)
    ran: list[int] = []
    app.task("long")(lambda payload, ctx: ran.append(ctx.attempt))

    def rescued() -> bool:
        app.process_batch(batch_size=1, poll_interval=0.1)
        return bool(ran)

    wait_for(rescued, "the lease of the killed worker to lapse and the job to be run again")
    assert ran == [2]  # the second attempt
    [hist] = sql(dsn, "SELECT status, attempts FROM app_jobs.job_history WHERE id = %s", job["id"])
    assert hist == {"status": "completed", "attempts": 2}
    assert sql(dsn, "SELECT count(*) AS n FROM app_jobs.jobs") == [{"n": 0}]


def test_a_worker_killed_inside_a_listener_leaves_the_event_to_fire_again(
    dsn: str, tmp_path: Path
) -> None:
    """Listeners run inside the transaction that records the outcome: a worker killed while
    its on_success listener runs never committed the completion, so the job runs again and the
    event fires again (at least once), and the job is completed exactly once."""
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "listenapp.py").write_text(
        textwrap.dedent(
            f"""
            import pathlib, time
            from datetime import timedelta
            from pgjobs.runtime.app import App

            app = App({dsn!r})

            def hang(event):
                (pathlib.Path({str(marks)!r}) / f"first-{{event.attempt}}").touch()
                time.sleep(3600)

            @app.task("pay", on_success=hang)
            def pay(payload):
                pass

            if __name__ == "__main__":
                app.run_worker(worker_id="doomed", lease=timedelta(seconds=1), poll_interval=0.1)
            """
        )
    )
    [job] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'pay')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "listenapp.py")], env=env)
    try:
        wait_for(lambda: (marks / "first-1").exists(), "the listener to start")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
    # The completion was never committed: the job is still held by the dead worker.
    [row] = sql(dsn, "SELECT locked_by FROM app_jobs.jobs WHERE id = %s", job["id"])
    assert row == {"locked_by": "doomed"}

    app = App(dsn)
    fired: list[int] = []

    @app.task("pay")
    def pay(payload: Any) -> None:
        pass

    app.on_success("pay")(lambda event: fired.append(event.attempt))

    def rescued() -> bool:
        app.process_batch(batch_size=1, poll_interval=0.1)
        return bool(fired)

    wait_for(rescued, "the job to run again after the lease lapsed")
    assert fired == [2]
    [hist] = sql(dsn, "SELECT status, attempts FROM app_jobs.job_history WHERE id = %s", job["id"])
    assert hist == {"status": "completed", "attempts": 2}
