"""Limits and tenant fairness from Python and the command line (issue 18): the client's
methods, the CLI commands, and a real `pgjobs worker` killed with SIGKILL while it holds the
only slot of a limit: the slot comes back once its lease lapses and the job is reclaimed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_support import clean_env, run_pgjobs
from psycopg.rows import dict_row

from pgjobs import Client, InvalidArgument

TENANT = "5b720132-17d5-424d-9bcb-ee7b17c13d43"
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


def test_client_sets_lists_and_removes_limits(dsn: str) -> None:
    with Client.connect(dsn) as jobs:
        made = jobs.set_job_limit(task="mail", max_running=2)
        assert (made.task_identifier, made.database_id, made.max_running) == ("mail", None, 2)
        rated = jobs.set_job_limit(
            task="api", database_id=TENANT, max_starts=5, per_period=timedelta(seconds=30)
        )
        assert rated.per_period == timedelta(seconds=30) and str(rated.database_id) == TENANT
        ids = [jobs.add_job("mail", {}).id for _ in range(3)]
        assert [j.id for j in jobs.get_jobs("w", batch_size=10)] == ids[:2]
        listed = {lim.task_identifier: lim for lim in jobs.list_job_limits()}
        assert listed["mail"].running == 2 and listed["api"].starts_left == 5
        assert [lim.task_identifier for lim in jobs.list_job_limits(TENANT)] == ["api", "mail"]
        with pytest.raises(InvalidArgument) as err:
            jobs.set_job_limit(task="mail")
        assert err.value.sqlstate == "PJ221"
        with pytest.raises(InvalidArgument):
            jobs.set_job_limit(task="mail", max_starts=3)  # PJ224: no period
        assert jobs.remove_job_limit(task="mail") is True
        assert jobs.remove_job_limit(task="mail") is False
        assert [j.id for j in jobs.get_jobs("w", batch_size=10)] == ids[2:]
        assert jobs.set_tenant_fairness(True) is True
        assert jobs.set_tenant_fairness(False) is False


def test_cli_limit_limits_unlimit_and_fairness(dsn: str) -> None:
    env = clean_env(PGJOBS_DSN=dsn)
    done = run_pgjobs("limit", "--task", "mail", "--max-running", "3", "--rate", "100/1m", env=env)
    assert done.returncode == 0, done.stderr
    assert "at most 3 running, at most 100 starts per 1m" in done.stdout
    done = run_pgjobs("limit", "--tenant", TENANT, "--max-running", "7", env=env)
    assert done.returncode == 0, done.stderr
    listed = run_pgjobs("limits", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "mail" in listed.stdout and "0/3" in listed.stdout and "100/1m" in listed.stdout
    assert TENANT in listed.stdout and "0/7" in listed.stdout
    bad = run_pgjobs("limit", "--task", "mail", "--rate", "many", env=env)
    assert bad.returncode != 0 and "N/PERIOD" in bad.stderr
    none = run_pgjobs("limit", "--max-running", "3", env=env)
    assert none.returncode != 0 and "--task and/or --tenant" in none.stderr
    assert run_pgjobs("unlimit", "--task", "mail", env=env).returncode == 0
    again = run_pgjobs("unlimit", "--task", "mail", env=env)
    assert again.returncode == 1 and "nothing to lift" in again.stdout
    on = run_pgjobs("fairness", "on", env=env)
    assert on.returncode == 0 and "fairness on" in on.stdout, on.stderr
    assert sql(dsn, "SELECT count(*) AS n FROM app_jobs.job_fairness") == [{"n": 1}]
    assert run_pgjobs("fairness", "off", env=env).returncode == 0
    assert sql(dsn, "SELECT count(*) AS n FROM app_jobs.job_fairness") == [{"n": 0}]


def test_sigkill_of_a_worker_holding_the_only_slot_gives_the_slot_back(
    dsn: str, tmp_path: Path
) -> None:
    (tmp_path / "limitedapp.py").write_text(
        textwrap.dedent(
            """
            import time
            from pgjobs import App

            app = App()

            @app.task("slow")
            def slow(payload):
                time.sleep(3600)
            """
        )
    )
    sql(dsn, "SELECT app_jobs.set_job_limit(task := 'slow', max_running := 1)")
    first, second = (
        sql(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'slow')")[0]["id"] for _ in range(2)
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgjobs", "worker", "limitedapp:app", "--dsn", dsn,
         "--worker-id", "doomed", "--lease", "1", "--poll-interval", "0.1",
         "--concurrency", "4"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(
            lambda: sql(dsn, "SELECT 1 FROM app_jobs.jobs WHERE locked_by = 'doomed'"),
            "the worker to claim a job",
        )
        # Four free handler slots, but the limit lets one job run: the second waits.
        time.sleep(0.5)  # (not a timed assertion: more polls of the worker, same answer)
        running = sql(dsn, "SELECT id FROM app_jobs.jobs WHERE state = 'running'")
        assert running == [{"id": first}]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
    # The dead worker still holds the slot until its lease lapses: no one else may start.
    with Client.connect(dsn) as jobs:
        wait_for(
            lambda: sql(dsn, "SELECT 1 FROM app_jobs.workers WHERE lease_expires_at < now()"),
            "the dead worker's lease to lapse",
        )
        taken = jobs.get_jobs("survivor", batch_size=10)
        # The reclaim freed the slot; the first job (claim order) takes it again, alone.
        assert [j.id for j in taken] == [first]
        assert jobs.get_jobs("survivor", batch_size=10) == []
        jobs.complete_job("survivor", first)
        assert [j.id for j in jobs.get_jobs("survivor", batch_size=10)] == [second]
