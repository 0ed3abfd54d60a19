"""`pgjobs worker` as a real process: --once batches, a bad app, and SIGTERM."""

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

GUARD = 30.0


def sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def write_app(tmp_path: Path, body: str) -> None:
    (tmp_path / "jobsapp.py").write_text(
        "import time\nfrom pgjobs import App\napp = App()\n" + textwrap.dedent(body)
    )


def pgjobs(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "pgjobs", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_once_processes_what_is_due_and_exits(dsn: str, tmp_path: Path) -> None:
    done = tmp_path / "done"
    done.mkdir()
    write_app(
        tmp_path,
        f"""
        import pathlib

        @app.task("hello")
        def hello(payload):
            (pathlib.Path({str(done)!r}) / payload["name"]).touch()
        """,
    )
    for name in ("ann", "bob", "cy"):
        sql(dsn, "SELECT app_jobs.add_job(NULL, 'hello', %s::json)", f'{{"name": "{name}"}}')
    proc = pgjobs(tmp_path, "worker", "jobsapp:app", "--once", "--batch-size", "2", "--dsn", dsn)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    assert "claimed 2, completed 2, failed 0" in out
    assert sorted(path.name for path in done.iterdir()) == ["ann", "bob"]  # claim order
    assert len(sql(dsn, "SELECT id FROM app_jobs.jobs")) == 1


def test_an_app_that_is_not_an_app_is_a_clear_error(dsn: str, tmp_path: Path) -> None:
    (tmp_path / "notanapp.py").write_text("app = 42\n")
    proc = pgjobs(tmp_path, "worker", "notanapp", "--once", "--dsn", dsn)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 1
    assert "notanapp.app is not a pgjobs App" in err
    proc = pgjobs(tmp_path, "worker", "no_such_module", "--once", "--dsn", dsn)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 1 and "cannot import 'no_such_module'" in err


def test_sigterm_lets_the_running_job_finish_then_exits(dsn: str, tmp_path: Path) -> None:
    flag = tmp_path / "finished"
    write_app(
        tmp_path,
        f"""
        @app.task("slow")
        def slow(payload):
            time.sleep(1.5)
            open({str(flag)!r}, "w").close()
        """,
    )
    [job] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'slow')")
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'slow')")  # must stay queued
    proc = pgjobs(tmp_path, "worker", "jobsapp", "--concurrency", "1", "--dsn", dsn)
    deadline = time.monotonic() + GUARD
    while not sql(dsn, "SELECT 1 FROM app_jobs.jobs WHERE state = 'running'"):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    assert flag.exists()  # the handler was allowed to finish
    assert "claimed 1, completed 1" in out
    [hist] = sql(dsn, "SELECT id, status FROM app_jobs.job_history")
    assert hist == {"id": job["id"], "status": "completed"}
    [left] = sql(dsn, "SELECT state, locked_by FROM app_jobs.jobs")
    assert left == {"state": "ready", "locked_by": None}


def test_orphans_fail_fails_what_the_previous_life_left(dsn: str, tmp_path: Path) -> None:
    write_app(
        tmp_path,
        """
        @app.task("hello")
        def hello(payload):
            pass
        """,
    )
    [held] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'hello', '{}', max_attempts := 9)")
    sql(dsn, "SELECT * FROM app_jobs.get_job('box-1')")  # the earlier life, killed mid-job
    args = ("worker", "jobsapp:app", "--once", "--worker-id", "box-1", "--dsn", dsn)
    proc = pgjobs(tmp_path, *args, "--orphans", "fail")
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    assert "failed 1" in out
    [row] = sql(
        dsn, "SELECT status, last_error FROM app_jobs.job_history WHERE id = %s", held["id"]
    )
    assert row["status"] == "failed" and "orphaned" in row["last_error"]
