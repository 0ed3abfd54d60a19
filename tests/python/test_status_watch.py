"""`pgjobs status` with real workers: the tasks no live worker serves (workers declare their
tasks at start; a stopped worker stops counting), a rolling deploy of two app versions,
--json, --watch as plain repeated output and, in a terminal, redrawn by rich until Ctrl-C,
a watched database that stops answering; and the worker's rich output in a terminal."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_worker_cli import GUARD, pgjobs, sql
from test_worker_voice import APP, wait_until

from pgjobs.runtime.app import App
from pgjobs.runtime.coverage import declare_tasks, declared

#: Version 1 serves ok and boom; version 2 dropped boom and added fresh.
APP_V2 = """
@app.task("ok")
def ok(payload):
    return {"n": payload["n"]}

@app.task("fresh")
def fresh(payload):
    return None
"""


def app_module(tmp_path: Path, name: str, body: str) -> None:
    (tmp_path / f"{name}.py").write_text(
        "import time\nfrom pgjobs import App\napp = App()\n" + body
    )


def status_json(dsn: str, tmp_path: Path) -> dict[str, Any]:
    proc = pgjobs(tmp_path, "status", "--json", "--dsn", dsn)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    return dict(json.loads(out))


def live_workers(dsn: str, tmp_path: Path) -> dict[str, int]:
    return {t["task_identifier"]: t["live_workers"] for t in status_json(dsn, tmp_path)["tasks"]}


def start_worker(dsn: str, tmp_path: Path, module: str, worker_id: str) -> subprocess.Popen[str]:
    proc = pgjobs(tmp_path, "worker", module, "--dsn", dsn, "--worker-id", worker_id)
    # Declared (at start) and a live lease (its first heartbeat).
    wait_until(
        proc,
        lambda: sql(
            dsn,
            "SELECT 1 FROM app_jobs.worker_tasks AS t JOIN app_jobs.workers AS w USING (worker_id)"
            " WHERE t.worker_id = %s AND w.lease_expires_at > now()",
            worker_id,
        ),
    )
    return proc


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    return err


def test_status_shows_the_tasks_no_live_worker_serves(dsn: str, tmp_path: Path) -> None:
    app_module(tmp_path, "jobsapp", APP)
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'nobody_runs_this')")
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'ok', '{\"n\": 1}')")
    worker = start_worker(dsn, tmp_path, "jobsapp", "w-status")
    try:
        wait_until(
            worker, lambda: not sql(dsn, "SELECT 1 FROM app_jobs.jobs WHERE task_identifier = 'ok'")
        )
        proc = pgjobs(tmp_path, "status", "--dsn", dsn)
        out, err = proc.communicate(timeout=GUARD)
        assert proc.returncode == 0, err
        assert re.search(r"^workers: 1 live, running 0 jobs, serving boom, ok$", out, re.M), out
        rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ")}
        assert rows["task"][8] == "workers"
        assert rows["ok"][8] == "1" and rows["ok"][6] == "1"  # done in the last hour, 1 worker
        assert rows["nobody_runs_this"][8] == "none" and rows["nobody_runs_this"][2] == "1"
        [line] = [line for line in out.splitlines() if line.startswith("no live worker serves")]
        assert "1 task with jobs waiting: nobody_runs_this (1 queued, oldest waiting " in line
        tasks = {t["task_identifier"]: t for t in status_json(dsn, tmp_path)["tasks"]}
        assert tasks["nobody_runs_this"]["unserved"] is True
        assert tasks["ok"]["live_workers"] == 1 and tasks["ok"]["unserved"] is False
        assert tasks["boom"]["live_workers"] == 1  # served, nothing queued
    finally:
        stop(worker)
    # A stopped worker gives back its lease: it serves nothing any more.
    assert live_workers(dsn, tmp_path) == {"nobody_runs_this": 0}


def test_a_rolling_deploy_of_two_app_versions(dsn: str, tmp_path: Path) -> None:
    app_module(tmp_path, "v1", APP)
    app_module(tmp_path, "v2", APP_V2)
    old = start_worker(dsn, tmp_path, "v1", "w-v1")
    new = start_worker(dsn, tmp_path, "v2", "w-v2")
    try:
        assert live_workers(dsn, tmp_path) == {"boom": 1, "fresh": 1, "ok": 2}
        stop(old)
        # boom's jobs now wait for nobody.
        sql(dsn, "SELECT app_jobs.add_job(NULL, 'boom')")
        assert live_workers(dsn, tmp_path) == {"boom": 0, "fresh": 1, "ok": 1}
        out = pgjobs(tmp_path, "status", "--dsn", dsn).communicate(timeout=GUARD)[0]
        assert "no live worker serves 1 task with jobs waiting: boom (1 queued" in out
    finally:
        if old.poll() is None:
            stop(old)
        stop(new)


def read_until(proc: subprocess.Popen[str], pattern: str, count: int) -> str:
    """stdout of a running process until ``pattern`` was seen ``count`` times."""
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + GUARD
    while len(re.findall(pattern, seen)) < count:
        assert time.monotonic() < deadline and proc.poll() is None, seen
        seen += proc.stdout.readline()
    return seen


def interrupt(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    return out, err


def watcher(dsn: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    # SIGINT must reach Python as KeyboardInterrupt: not inherited as ignored.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "pgjobs", "status", "--watch", "--dsn", dsn, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )


def test_watch_prints_again_each_interval_and_stops_on_ctrl_c(dsn: str, tmp_path: Path) -> None:
    proc = watcher(dsn, tmp_path, "--interval", "0.2")
    first = read_until(proc, r"-- at \d\d:\d\d:\d\d, every 0.2s; Ctrl-C stops --", 1)
    assert "queues: empty" in first and "\x1b[" not in first  # not a terminal: plain text
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'late_arrival')")
    later = read_until(proc, r"no live worker serves 1 task with jobs waiting: late_arrival", 1)
    assert re.search(r"^  late_arrival +- +1 .* none ", later, re.M), later
    _, err = interrupt(proc)
    assert err.strip().splitlines()[-1] == "pgjobs status: stopped watching (Ctrl-C)"
    assert "Traceback" not in err


def test_watch_json_is_one_object_a_refresh(dsn: str, tmp_path: Path) -> None:
    proc = watcher(dsn, tmp_path, "--interval", "0.1", "--json")
    assert proc.stdout is not None
    records = [json.loads(proc.stdout.readline()) for _ in range(3)]
    interrupt(proc)
    assert [r["schema"]["deployed"] for r in records] == [True, True, True]
    assert len({r["time"] for r in records}) == 3


def test_watch_carries_on_when_the_database_stops_answering(dsn: str, tmp_path: Path) -> None:
    proc = watcher(dsn, tmp_path, "--interval", "0.2")
    read_until(proc, r"Ctrl-C stops", 1)
    # Kill the watcher's own session (its backend, named by its application_name).
    wait_until(
        proc,
        lambda: sql(
            dsn,
            "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'pgjobs status'",
        ),
    )
    seen = read_until(proc, r"error: the database does not answer: .*trying again every 0.2s", 1)
    seen += read_until(proc, r"schema app_jobs: deployed", 1)  # connected again
    out, _ = interrupt(proc)
    assert "Traceback" not in seen + out


def test_watch_in_a_terminal_is_redrawn_by_rich(dsn: str, tmp_path: Path) -> None:
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'nobody_runs_this')")
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgjobs", "status", "--watch", "--interval", "0.2", "--dsn", dsn],
        cwd=tmp_path,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + GUARD
    while screen.count(b"Ctrl-C stops") < 3:  # drawn, then redrawn twice
        assert time.monotonic() < deadline and proc.poll() is None, screen
        if select.select([leader], [], [], 0.5)[0]:
            screen += os.read(leader, 65536)
    proc.send_signal(signal.SIGINT)
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    assert proc.wait(timeout=GUARD) == 0
    os.close(leader)
    text = screen.decode(errors="replace")
    assert "\x1b[" in text  # colours and cursor moves
    assert "nobody_runs_this" in text and "no live worker serves" in text
    assert "stopped watching (Ctrl-C)" in text and "Traceback" not in text


def test_the_worker_in_a_terminal_colours_its_lines_and_renders_tracebacks(
    dsn: str, tmp_path: Path
) -> None:
    app_module(tmp_path, "jobsapp", APP)
    [bad] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'boom', max_attempts := 1)")
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'ok', '{\"n\": 2}')")
    proc = pgjobs(tmp_path, "worker", "jobsapp", "--once", "--log-format", "rich", "--dsn", dsn)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    [failed] = [line for line in err.splitlines() if f"job {bad['id']} boom " in line]
    assert "\x1b[1;31mfailed\x1b[0m" in failed and "ValueError: boom went the handler" in failed
    assert "\x1b[33mWARNING\x1b[0m" in failed
    assert re.search(r"\x1b\[32mcompleted\x1b\[0m in \d", err)
    # rich's traceback: a framed box naming the handler's file and line.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", err)
    assert "Traceback (most recent call last)" in plain and "╭" in plain
    assert re.search(r"py:\d+ in boom", plain), plain  # (a long path may wrap)
    assert 'raise ValueError("boom went the handler' in plain


def test_a_declaration_that_fails_never_stops_the_worker(
    dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    many = App(dsn)
    for i in range(1001):  # over declare_worker_tasks' 1000 (PJ160)
        many.task(f"t{i}")(lambda payload: None)
    assert asyncio.run(declare_tasks(many.worker(worker_id="w-many"))) is False
    assert "could not declare this worker's tasks" in caplog.text and "1000" in caplog.text
    few = App(dsn)
    few.task("a")(lambda payload: None)
    assert asyncio.run(declare_tasks(few.worker(worker_id="w-few"))) is True
    assert sql(dsn, "SELECT task_identifier FROM app_jobs.worker_tasks") == [
        {"task_identifier": "a"}
    ]
    # A schema before 0.4.0 has no declare_worker_tasks: skipped, without a warning.
    sql(dsn, "DROP FUNCTION app_jobs.declare_worker_tasks(text, text[])")
    caplog.clear()
    assert asyncio.run(declare_tasks(few.worker(worker_id="w-old"))) is False
    assert "could not declare" not in caplog.text


def test_a_running_worker_declares_again_what_was_forgotten(dsn: str) -> None:
    app = App(dsn)
    app.task("a")(lambda payload: None)
    worker = app.worker(worker_id="w-again")

    async def forget_then_wait() -> None:
        async with declared(worker, every=0.05):
            assert sql(dsn, "SELECT task_identifier FROM app_jobs.worker_tasks") == [
                {"task_identifier": "a"}
            ]
            sql(dsn, "DELETE FROM app_jobs.worker_tasks")  # say a sweep forgot it
            deadline = time.monotonic() + GUARD
            while not sql(dsn, "SELECT 1 FROM app_jobs.worker_tasks WHERE worker_id = 'w-again'"):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)

    asyncio.run(forget_then_wait())


def test_a_killed_worker_stops_counting_when_its_lease_lapses(dsn: str, tmp_path: Path) -> None:
    app_module(tmp_path, "jobsapp", APP)
    proc = pgjobs(
        tmp_path, "worker", "jobsapp", "--dsn", dsn, "--worker-id", "w-kill", "--lease", "1"
    )
    wait_until(proc, lambda: live_workers(dsn, tmp_path) == {"boom": 1, "ok": 1})
    proc.kill()  # SIGKILL: no stop, no release_jobs; its rows stay
    proc.wait(timeout=GUARD)
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'ok', '{\"n\": 3}')")
    deadline = time.monotonic() + GUARD
    while live_workers(dsn, tmp_path) != {"ok": 0}:  # once its 1 s lease has lapsed
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert sql(dsn, "SELECT count(*) AS n FROM app_jobs.worker_tasks") == [{"n": 2}]
