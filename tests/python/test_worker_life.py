"""The worker's life with real processes and signals: cancellation read from the database,
one process per worker id, stops that wait for handlers to really stop, and a second signal
that stops at once even with the database unreachable (issue 13 items 2, 8, 9, 10, 12).

Every worker here is a real `pgjobs worker` process. Handlers coordinate with the test through
files (they never sleep a fixed time the test relies on); waits have a generous deadline and
assert outcomes, never durations.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from test_worker_crash import GUARD, sql, wait_for

APP = """
import os, pathlib, time
from pgjobs.runtime.app import App

app = App()
here = pathlib.Path(__file__).parent

@app.task("gate")
def gate(payload, ctx):
    # Runs until the file payload["open"] exists (then completes) or until ctx.cancelled is
    # set (then marks it and returns after payload.get("linger", 0) seconds of cleaning up).
    (here / f"started-{ctx.job_id}").touch()
    while not (here / payload["open"]).exists():
        if ctx.cancelled.is_set() and not payload.get("stubborn"):
            time.sleep(payload.get("linger", 0))
            (here / f"stopped-{ctx.job_id}").touch()
            return "stopped"
        time.sleep(0.02)
    return "opened"

@app.task("hang")
async def hang(payload, ctx):
    import asyncio
    (here / f"started-{ctx.job_id}").touch()
    await asyncio.sleep(3600)
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "lifeapp.py").write_text(textwrap.dedent(APP))
    return tmp_path


class Proc:
    """A `pgjobs worker lifeapp` process whose stderr goes to a file."""

    def __init__(self, dsn: str, workdir: Path, *args: str) -> None:
        self.log = workdir / f"worker-{uuid.uuid4().hex[:6]}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(workdir), *sys.path]),
            "PGJOBS_DSN": dsn,
        }
        cmd = [sys.executable, "-m", "pgjobs", "worker", "lifeapp", "--poll-interval", "0.2"]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([*cmd, *args], env=env, cwd=workdir, stderr=out)

    def text(self) -> str:
        return self.log.read_text()

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait(self) -> int:
        return self.proc.wait(GUARD)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(GUARD)


def add(dsn: str, task: str, payload: str) -> int:
    [row] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, %s, %s::json)", task, payload)
    return int(row["id"])


def running(dsn: str, job: int) -> bool:
    return bool(sql(dsn, "SELECT 1 FROM app_jobs.jobs WHERE id = %s AND state = 'running'", job))


def finished(dsn: str, job: int) -> dict[str, Any] | None:
    rows = sql(dsn, "SELECT status, attempts FROM app_jobs.job_history WHERE id = %s", job)
    return rows[0] if rows else None


def attempts(dsn: str, job: int) -> list[str]:
    rows = sql(
        dsn, "SELECT outcome FROM app_jobs.job_attempts WHERE job_id = %s ORDER BY attempt", job
    )
    return [r["outcome"] for r in rows]


# -- item 2: a notification only wakes the worker ----------------------------------------------


def test_a_notify_from_a_role_without_grants_cancels_nothing(dsn: str, workdir: Path) -> None:
    role = f"nobody_{uuid.uuid4().hex[:8]}"
    sql(dsn, f"CREATE ROLE {role} LOGIN PASSWORD 'nobody'")
    worker = Proc(dsn, workdir, "--concurrency", "2")
    try:
        victim = add(dsn, "gate", '{"open": "victim-open"}')
        target = add(dsn, "gate", '{"open": "never"}')
        wait_for(lambda: running(dsn, victim) and running(dsn, target), "both jobs to run")
        wait_for(lambda: (workdir / f"started-{victim}").exists(), "the victim's handler")
        # A role with no grants at all may NOTIFY any channel: it names the victim.
        params = conninfo_to_dict(dsn)
        hostile = make_conninfo(dsn, user=role, password="nobody", dbname=params["dbname"])
        with psycopg.connect(hostile, autocommit=True) as conn:
            conn.execute(f"""NOTIFY "jobs:cancel", '{victim}'""")
            conn.execute("""NOTIFY "jobs:cancel", 'garbage'""")
        # A real cancellation, requested after the forged one: when the worker has acted on
        # it, it has seen the forged one too (notifications arrive in commit order).
        sql(dsn, "SELECT * FROM app_jobs.cancel_job(%s)", target)
        wait_for(lambda: finished(dsn, target) is not None, "the cancelled job to end")
        assert finished(dsn, target) == {"status": "cancelled", "attempts": 1}
        assert attempts(dsn, target) == ["cancelled"]
        assert (workdir / f"stopped-{target}").exists()  # the sync handler saw ctx.cancelled
        # The victim still runs; let it finish: completed on its first attempt, no failure.
        assert running(dsn, victim)
        (workdir / "victim-open").touch()
        wait_for(lambda: finished(dsn, victim) is not None, "the victim to complete")
        assert finished(dsn, victim) == {"status": "completed", "attempts": 1}
        assert "failed" not in attempts(dsn, victim)
        assert "cancelled" not in attempts(dsn, victim)
    finally:
        worker.stop()
        sql(dsn, f"DROP ROLE {role}")


def test_a_cancelled_async_job_ends_cancelled(dsn: str, workdir: Path) -> None:
    worker = Proc(dsn, workdir)
    try:
        job = add(dsn, "hang", "{}")
        wait_for(lambda: (workdir / f"started-{job}").exists(), "the handler to start")
        sql(dsn, "SELECT * FROM app_jobs.cancel_job(%s)", job)
        wait_for(lambda: finished(dsn, job) is not None, "the job to end")
        assert finished(dsn, job) == {"status": "cancelled", "attempts": 1}
        assert attempts(dsn, job) == ["cancelled"]
    finally:
        worker.stop()


# -- item 8: one live process per worker id -----------------------------------------------------


def holder(dsn: str, worker_id: str) -> Any:
    rows = sql(dsn, "SELECT instance FROM app_jobs.workers WHERE worker_id = %s", worker_id)
    return rows[0]["instance"] if rows else None


def test_a_second_live_process_with_the_same_worker_id_exits(dsn: str, workdir: Path) -> None:
    first = Proc(dsn, workdir, "--worker-id", "twin")
    try:
        wait_for(lambda: holder(dsn, "twin") is not None, "the first process to take the lease")
        taken = holder(dsn, "twin")
        second = Proc(dsn, workdir, "--worker-id", "twin")
        assert second.wait() != 0
        errors = [line for line in second.text().splitlines() if "error:" in line]
        assert len(errors) == 1, second.text()
        assert "in use by another live process" in errors[0]
        assert "--worker-id" in errors[0]
        # The first one was never disturbed: it holds the lease and runs jobs.
        assert first.proc.poll() is None
        assert holder(dsn, "twin") == taken
        job = add(dsn, "gate", '{"open": "lifeapp.py"}')
        wait_for(lambda: finished(dsn, job) is not None, "the first process to run a job")
        assert finished(dsn, job) == {"status": "completed", "attempts": 1}
    finally:
        first.stop()


def test_a_restart_after_a_crash_waits_for_the_lease_then_takes_it(dsn: str, workdir: Path) -> None:
    crashed = Proc(dsn, workdir, "--worker-id", "phoenix")
    try:
        wait_for(lambda: holder(dsn, "phoenix") is not None, "the lease to be taken")
        dead = holder(dsn, "phoenix")
        crashed.signal(signal.SIGKILL)
        crashed.wait()
        restarted = Proc(dsn, workdir, "--worker-id", "phoenix")
        wait_for(
            lambda: holder(dsn, "phoenix") not in (None, dead), "the restart to take the lease"
        )
        # The lease row changes before the process logs that it holds it.
        wait_for(lambda: "holds it now" in restarted.text(), "the restart to say it holds it")
        assert "waiting for its lease to lapse" in restarted.text()
        job = add(dsn, "gate", '{"open": "lifeapp.py"}')
        wait_for(lambda: finished(dsn, job) is not None, "the restarted process to run a job")
        # A clean stop ends the lease: the next start under the id does not wait.
        restarted.signal()
        assert restarted.wait() == 0
        assert holder(dsn, "phoenix") is None
        again = Proc(dsn, workdir, "--worker-id", "phoenix")
        wait_for(lambda: holder(dsn, "phoenix") is not None, "the next start to take the lease")
        again.signal()
        assert again.wait() == 0
        assert "waiting for its lease" not in again.text()
    finally:
        crashed.stop()


# -- item 9: a job goes back only once its handler has stopped -----------------------------------


def test_a_stop_gives_a_job_back_only_after_its_sync_handler_stopped(
    dsn: str, workdir: Path
) -> None:
    worker = Proc(dsn, workdir, "--shutdown-timeout", "0.2", "--worker-id", "stopper")
    try:
        # The handler takes a while to clean up once told to stop (linger).
        job = add(dsn, "gate", '{"open": "never", "linger": 1}')
        wait_for(lambda: (workdir / f"started-{job}").exists(), "the handler to start")
        worker.signal()
        given_back = "SELECT 1 FROM app_jobs.jobs WHERE id = %s AND locked_by IS NOT NULL"
        wait_for(lambda: not sql(dsn, given_back, job), "the job to be given back")
        # Given back only after the handler saw ctx.cancelled and returned.
        assert (workdir / f"stopped-{job}").exists()
        assert worker.wait() == 0
        [row] = sql(dsn, "SELECT state, attempts FROM app_jobs.jobs WHERE id = %s", job)
        assert row == {"state": "ready", "attempts": 0}  # given back, the attempt refunded
    finally:
        worker.stop()


def test_a_handler_that_ignores_its_flag_keeps_its_job_until_a_second_signal(
    dsn: str, workdir: Path
) -> None:
    worker = Proc(dsn, workdir, "--shutdown-timeout", "0.2", "--worker-id", "mule")
    try:
        job = add(dsn, "gate", '{"open": "never", "stubborn": true}')
        wait_for(lambda: (workdir / f"started-{job}").exists(), "the handler to start")
        worker.signal()
        wait_for(lambda: "ignores its cancel flag" in worker.text(), "the report")
        # Reported, still running, its job still held by this worker.
        assert worker.proc.poll() is None
        [row] = sql(dsn, "SELECT locked_by FROM app_jobs.jobs WHERE id = %s", job)
        assert row == {"locked_by": "mule"}
        worker.signal()  # the second signal: exit now, the handler still running
        assert worker.wait() != -signal.SIGKILL
        # Not given back while it ran: it comes back when the lease lapses.
        [row] = sql(dsn, "SELECT locked_by FROM app_jobs.jobs WHERE id = %s", job)
        assert row == {"locked_by": "mule"}
        assert "were not given back" in worker.text()
    finally:
        worker.stop()


# -- item 12: a second signal stops at once, even with the database unreachable ---------------


class Blackhole:
    """A TCP proxy to the test server that can turn into a black hole: existing connections
    are cut and new ones accepted but never answered (an unreachable server, not a refusal)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.dark = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.sockets.append(client)
            if self.dark.is_set():
                continue  # accepted, never answered
            upstream = socket.create_connection(self.target)
            self.sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def go_dark(self) -> None:
        self.dark.set()
        for s in list(self.sockets):
            # Cut without a word: the worker's side sees its connections hang or break.
            with_shutdown(s)

    def close(self) -> None:
        self.server.close()
        for s in list(self.sockets):
            with_shutdown(s)


def with_shutdown(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
        s.close()
    except OSError:
        pass


@pytest.fixture
def blackhole(dsn: str) -> Iterator[Blackhole]:
    params = conninfo_to_dict(dsn)
    hole = Blackhole(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    yield hole
    hole.close()


def test_a_second_signal_stops_at_once_with_the_database_unreachable(
    dsn: str, workdir: Path, blackhole: Blackhole
) -> None:
    through = make_conninfo(dsn, host="127.0.0.1", port=str(blackhole.port))
    worker = Proc(through, workdir, "--shutdown-timeout", "60", "--worker-id", "cutoff")
    try:
        job = add(dsn, "hang", "{}")
        wait_for(lambda: (workdir / f"started-{job}").exists(), "the handler to start")
        blackhole.go_dark()
        worker.signal()
        wait_for(lambda: "another signal stops at once" in worker.text(), "the first stop")
        worker.signal()
        # GUARD (30 s) is shorter than the two 30 s pool timeouts the give-back used to wait.
        assert worker.wait() == 0
        assert "stopping now" in worker.text()
    finally:
        worker.stop()


# -- item 10: the per-job timeout -----------------------------------------------------------------


def add_timed(dsn: str, task: str, payload: str, timeout: str) -> int:
    [row] = sql(
        dsn,
        "SELECT id FROM app_jobs.add_job(NULL, %s, %s::json, max_attempts := 2,"
        " timeout := %s::interval)",
        task, payload, timeout,
    )  # fmt: skip
    return int(row["id"])


def last_attempt(dsn: str, job: int) -> dict[str, Any]:
    [row] = sql(
        dsn,
        "SELECT outcome, error_message FROM app_jobs.job_attempts WHERE job_id = %s"
        " ORDER BY attempt DESC LIMIT 1",
        job,
    )
    return row


def test_a_job_past_its_timeout_fails_with_a_timeout_error_and_is_retried(
    dsn: str, workdir: Path
) -> None:
    worker = Proc(dsn, workdir)
    try:
        stuck = add_timed(dsn, "hang", "{}", "0.5 seconds")  # async: cancelled at its timeout
        slow = add_timed(dsn, "gate", '{"open": "never"}', "0.5 seconds")  # sync: told to stop
        for job in (stuck, slow):
            wait_for(lambda job=job: bool(attempts(dsn, job)), f"job {job}'s attempt to end")
            attempt = last_attempt(dsn, job)
            assert attempt["outcome"] == "failed"
            assert attempt["error_message"].startswith("JobTimeout: ")
            assert "timeout of 0.5s" in attempt["error_message"]
        assert (workdir / f"stopped-{slow}").exists()  # the sync handler saw ctx.cancelled
        # Retried as usual: its second attempt waits out the backoff.
        rows = sql(dsn, "SELECT id, state FROM app_jobs.jobs ORDER BY id")
        assert rows == [{"id": stuck, "state": "scheduled"}, {"id": slow, "state": "scheduled"}]
    finally:
        worker.stop()


def test_a_sync_handler_that_ignores_its_timeout_is_reported_and_keeps_its_job(
    dsn: str, workdir: Path
) -> None:
    worker = Proc(dsn, workdir, "--worker-id", "deaf")
    try:
        job = add_timed(dsn, "gate", '{"open": "deaf-open", "stubborn": true}', "0.2 seconds")
        wait_for(lambda: "ignores its cancel flag" in worker.text(), "the report")
        # Still held by this worker (its lease renewed), never given back meanwhile.
        [row] = sql(dsn, "SELECT state, locked_by FROM app_jobs.jobs WHERE id = %s", job)
        assert row == {"state": "running", "locked_by": "deaf"}
        assert attempts(dsn, job) == []
        (workdir / "deaf-open").touch()  # it returns at last: the attempt fails on timeout
        wait_for(lambda: bool(attempts(dsn, job)), "the attempt to be recorded")
        assert last_attempt(dsn, job)["error_message"].startswith("JobTimeout: ")
    finally:
        worker.stop()


# -- recovery at the defaults: no false reclaim under load ----------------------------------------

#: How long the no-false-reclaim run keeps enqueuing blocking jobs: bounded in CI, 10 minutes in
#: `make soak` (PGJOBS_RECLAIM_SECONDS=600).
RECLAIM_SECONDS = float(os.environ.get("PGJOBS_RECLAIM_SECONDS", "20"))

BLOCKING_APP = """
import time
from pgjobs.runtime.app import App

app = App()

@app.task("sleep5")
def sleep5(payload):
    time.sleep(5)  # blocks its thread for 5 s

@app.task("spin5")
def spin5(payload):
    end = time.monotonic() + 5
    while time.monotonic() < end:  # pure Python on the CPU for 5 s (GIL taken and given back)
        pass
"""


def test_no_false_reclaim_with_the_cpus_saturated_and_handlers_blocking(
    dsn: str, tmp_path: Path
) -> None:
    """Two workers at the default lease run sync handlers that block for 5 s while every CPU
    is saturated: no attempt is ever taken back (lost), every job completes on attempt 1."""
    (tmp_path / "blockapp.py").write_text(textwrap.dedent(BLOCKING_APP))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
        "PGJOBS_DSN": dsn,
    }
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "pgjobs", "worker", "blockapp", "--concurrency", "2"],
            env=env,
            cwd=tmp_path,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    enqueued: list[int] = []
    try:
        deadline = time.monotonic() + RECLAIM_SECONDS
        while time.monotonic() < deadline:
            waiting = sql(dsn, "SELECT count(*) AS n FROM app_jobs.jobs WHERE state <> 'running'")
            if waiting[0]["n"] < 2:
                for task in ("sleep5", "spin5"):
                    enqueued.append(add(dsn, task, "{}"))
            time.sleep(0.5)
        wait_for(
            lambda: sql(dsn, "SELECT count(*) AS n FROM app_jobs.jobs") == [{"n": 0}],
            "every job to finish",
        )
    finally:
        for proc in [*burners, *workers]:
            proc.kill()
            proc.wait(GUARD)
    assert len(enqueued) >= 4
    lost = sql(
        dsn, "SELECT job_id, error_message FROM app_jobs.job_attempts WHERE outcome <> 'completed'"
    )
    assert lost == []
    rows = sql(
        dsn, "SELECT status, attempts, count(*) AS n FROM app_jobs.job_history GROUP BY 1, 2"
    )
    assert rows == [{"status": "completed", "attempts": 1, "n": len(enqueued)}]
