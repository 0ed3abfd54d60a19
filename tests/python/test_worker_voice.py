"""`pgjobs worker` says what it does: the start banner, a line per finished job, a failure's
traceback, the stop line, one-line start-up errors, JSON lines, and Prometheus metrics scraped
from a real worker process."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from test_worker_cli import GUARD, pgjobs, sql, write_app
from typing_extensions import TypedDict

from pgjobs.runtime.app import App

APP = """
@app.task("ok")
def ok(payload):
    return {"n": payload["n"]}

@app.task("boom")
def boom(payload):
    raise ValueError("boom went the handler\\nsecond line")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(proc: subprocess.Popen[str], check: Callable[[], object]) -> None:
    deadline = time.monotonic() + GUARD
    while not check():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)


def test_banner_job_lines_traceback_and_stop_line(dsn: str, tmp_path: Path) -> None:
    write_app(tmp_path, APP)
    [done] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'ok', '{\"n\": 1}')")
    [bad] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'boom', max_attempts := 2)")
    proc = pgjobs(
        tmp_path, "worker", "jobsapp", "--dsn", dsn, "--worker-id", "w-voice", "--concurrency", "3",
        "--lanes", "2",
    )  # fmt: skip
    wait_until(
        proc,
        lambda: (
            sql(dsn, "SELECT 1 FROM app_jobs.job_history WHERE id = %s", done["id"])
            and sql(dsn, "SELECT 1 FROM app_jobs.jobs WHERE id = %s AND attempts = 1", bad["id"])
        ),
    )
    time.sleep(0.3)  # the log lines follow the recording
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    lines = err.splitlines()
    [banner] = [line for line in lines if "pgjobs worker w-voice starting" in line]
    assert "schema app_jobs 0." in banner and "tasks boom, ok" in banner
    assert "concurrency 3 in 2 lanes" in banner and "database " in banner
    [ok_line] = [line for line in lines if f"job {done['id']} ok " in line]
    assert " INFO " in ok_line and "attempt 1/" in ok_line and "completed in " in ok_line
    [bad_line] = [line for line in lines if f"job {bad['id']} boom " in line]
    assert "attempt 1/2 retrying in " in bad_line
    assert bad_line.endswith("ValueError: boom went the handler")  # the first line only
    after = "\n".join(lines[lines.index(bad_line) :])
    assert "Traceback (most recent call last):" in after and 'jobsapp.py", line' in after
    assert any("SIGTERM: stopping" in line for line in lines)


def test_json_lines(dsn: str, tmp_path: Path) -> None:
    write_app(tmp_path, APP)
    [bad] = sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'boom', max_attempts := 1)")
    proc = pgjobs(tmp_path, "worker", "jobsapp", "--once", "--log-format", "json", "--dsn", dsn)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert "starting" in records[0]["message"]
    [failed] = [r for r in records if r.get("job_id") == bad["id"]]
    assert failed["outcome"] == "failed" and failed["task"] == "boom"
    assert failed["level"] == "warning" and failed["attempt"] == 1
    assert "ValueError: boom went the handler" in failed["traceback"]


def test_log_level_warning_keeps_only_problems(dsn: str, tmp_path: Path) -> None:
    write_app(tmp_path, APP)
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'ok', '{\"n\": 1}')")
    proc = pgjobs(tmp_path, "worker", "jobsapp", "--once", "--log-level", "warning", "--dsn", dsn)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    assert "completed 1" in out
    assert "starting" not in err and "completed in" not in err


def test_not_deployed_is_one_line_and_exit_1(dsn: str, tmp_path: Path) -> None:
    write_app(tmp_path, APP)
    sql(dsn, "DROP SCHEMA app_jobs CASCADE")
    proc = pgjobs(tmp_path, "worker", "jobsapp", "--dsn", dsn)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 1
    [line] = err.strip().splitlines()
    assert "app_jobs is not deployed" in line and "run `pgjobs deploy`" in line


def test_unreachable_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    write_app(tmp_path, APP)
    port = free_port()  # nothing listens there
    proc = pgjobs(
        tmp_path, "worker", "jobsapp", "--dsn", f"postgresql://u@127.0.0.1:{port}/x",
        "--startup-timeout", "0",
    )  # fmt: skip
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 1
    [line] = err.strip().splitlines()
    assert f"127.0.0.1:{port}" in line or f"port={port}" in line
    assert "unreachable" in line and "--dsn" in line


def test_a_worker_started_before_its_database_keeps_trying_then_says_why(
    tmp_path: Path,
) -> None:
    """A server that is not up yet (or restarting) is tried again, each try a WARNING, until
    --startup-timeout; then the same one clear error line and exit 1."""
    write_app(tmp_path, APP)
    port = free_port()
    proc = pgjobs(
        tmp_path, "worker", "jobsapp", "--dsn", f"postgresql://u@127.0.0.1:{port}/x",
        "--startup-timeout", "2",
    )  # fmt: skip
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    retries = [line for line in lines if "WARNING" in line and "trying again" in line]
    assert retries and all(f"{port}" in line for line in retries), lines
    assert "the worker did not start" in lines[-1] and "unreachable" in lines[-1]


def scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


def test_metrics_of_a_real_worker(dsn: str, tmp_path: Path) -> None:
    write_app(tmp_path, APP)
    for n in range(3):
        sql(dsn, "SELECT app_jobs.add_job(NULL, 'ok', %s::json)", json.dumps({"n": n}))
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'boom', max_attempts := 1)")
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'boom', max_attempts := 5)")  # retried
    port = free_port()
    proc = pgjobs(tmp_path, "worker", "jobsapp", "--dsn", dsn, "--metrics-port", str(port))
    try:
        wait_until(
            proc,
            lambda: (
                len(sql(dsn, "SELECT 1 FROM app_jobs.job_history")) == 4
                and sql(dsn, "SELECT 1 FROM app_jobs.jobs WHERE attempts = 1")
            ),
        )
        wait_until(
            proc, lambda: scrape(port).get("pgjobs_jobs_retried_total", {}).get((("task", "boom"),))
        )
        m = scrape(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=GUARD)
    assert m["pgjobs_jobs_started_total"] == {(("task", "ok"),): 3, (("task", "boom"),): 2}
    assert m["pgjobs_jobs_completed_total"] == {(("task", "ok"),): 3}
    assert m["pgjobs_jobs_failed_total"] == {(("task", "boom"),): 1}
    assert m["pgjobs_jobs_retried_total"] == {(("task", "boom"),): 1}
    counts = m["pgjobs_job_duration_seconds_count"]
    assert counts[(("outcome", "completed"), ("task", "ok"))] == 3
    assert counts[(("outcome", "failed"), ("task", "boom"))] == 1
    assert counts[(("outcome", "retried"), ("task", "boom"))] == 1
    assert m["pgjobs_worker_running_jobs"] == {(): 0}
    assert m["pgjobs_worker_last_heartbeat_timestamp_seconds"][()] > 0
    assert m["pgjobs_database_up"] == {(): 1}


class Recorder:
    """WorkerHooks that remember every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str | None]] = []

    def job_started(self, task: str, queue: str | None = None) -> None:
        self.calls.append(("started", task, queue))

    def job_completed(self, task: str, queue: str | None, duration: float) -> None:
        self.calls.append(("completed", task, queue))

    def job_retried(self, task: str, queue: str | None, duration: float) -> None:
        self.calls.append(("retried", task, queue))

    def job_failed(self, task: str, queue: str | None, duration: float) -> None:
        self.calls.append(("failed", task, queue))

    def job_cancelled(self, task: str, queue: str | None, duration: float) -> None:
        self.calls.append(("cancelled", task, queue))

    def job_lost(self, task: str, queue: str | None, duration: float) -> None:
        self.calls.append(("lost", task, queue))

    def heartbeat(self) -> None:
        self.calls.append(("heartbeat", None, None))


class Mail(TypedDict):
    to: str


def test_hooks_hear_every_claimed_job_once(dsn: str) -> None:
    app = App(dsn)

    @app.task("ok")
    def ok(payload: Any) -> None:
        pass

    @app.task("boom")
    def boom(payload: Any) -> None:
        raise ValueError("no")

    @app.task("mail")
    def mail(payload: Mail) -> None:
        pass

    sql(dsn, "SELECT app_jobs.add_job(NULL, 'ok')")  # batched completion (finish_jobs)
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'ok', queue_name := 'serial')")  # complete_job
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'boom', max_attempts := 1)")
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'boom', max_attempts := 3)")
    sql(dsn, """SELECT app_jobs.add_job(NULL, 'mail', '{"to": 42}')""")  # invalid payload
    hooks = Recorder()
    summary = app.process_batch(batch_size=10, concurrency=5, hooks=hooks)
    assert summary.claimed == 5
    assert hooks.calls.count(("heartbeat", None, None)) >= 1
    jobs = [c for c in hooks.calls if c[0] != "heartbeat"]
    assert Counter(c for c in jobs if c[0] == "started") == Counter(
        [
            ("started", "boom", None),
            ("started", "boom", None),
            ("started", "mail", None),
            ("started", "ok", None),
            ("started", "ok", "serial"),
        ]
    )
    assert Counter(c for c in jobs if c[0] != "started") == Counter(
        [
            ("completed", "ok", None),
            ("completed", "ok", "serial"),
            ("failed", "boom", None),
            ("failed", "mail", None),
            ("retried", "boom", None),
        ]
    )


def test_metrics_without_the_dashboard_extra_is_one_line(dsn: str, tmp_path: Path) -> None:
    write_app(tmp_path, APP)
    shadow = tmp_path / "prometheus_client"  # an install without prometheus-client
    shadow.mkdir()
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'prometheus_client'\", "
        "name='prometheus_client')\n"
    )
    proc = pgjobs(tmp_path, "worker", "jobsapp", "--dsn", dsn, "--metrics-port", "1")
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 1
    [line] = err.strip().splitlines()
    assert "--metrics-port needs prometheus-client" in line
    assert "pip install 'pgjobs-queue[dashboard]'" in line
