"""Pause and resume from Python and the command line (issue 17 item 4): Client.pause_jobs,
resume_jobs, list_pauses (the sync client generated from the async one, and the async one),
a worker that leaves paused jobs waiting, and `pgjobs pause`, `pgjobs pauses`, `pgjobs resume`."""

from __future__ import annotations

from typing import Any

from cli_support import clean_env, run_pgjobs
from test_worker import run, sql

from pgjobs.db.async_client import AsyncClient
from pgjobs.db.client import Client
from pgjobs.runtime.app import App

TENANT = "5b720132-17d5-424d-9bcb-ee7b17c13d43"


def states(dsn: str) -> dict[str, str]:
    rows = sql(dsn, "SELECT task_identifier, status FROM app_jobs.list_jobs()")
    return {r["task_identifier"]: r["status"] for r in rows}


def test_client_pauses_lists_and_resumes(dsn: str) -> None:
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'mail')")
    with Client.connect(dsn) as jobs:
        pause = jobs.pause_jobs(task="mail", reason="smtp down")
        assert (pause.task_identifier, pause.queue_name, pause.database_id) == ("mail", None, None)
        assert pause.reason == "smtp down"
        assert [p.task_identifier for p in jobs.list_pauses()] == ["mail"]
        assert jobs.get_job("w") is None
        assert states(dsn) == {"mail": "paused"}
        assert jobs.resume_jobs(task="mail") == 1
        assert jobs.resume_jobs(task="mail") is None
        assert jobs.list_pauses() == []
        job = jobs.get_job("w")
        assert job is not None and job.task_identifier == "mail"


def test_async_client_pauses_a_tenant(dsn: str) -> None:
    async def go() -> tuple[Any, Any, Any]:
        async with await AsyncClient.connect(dsn) as jobs:
            pause = await jobs.pause_jobs(database_id=TENANT)
            listed = await jobs.list_pauses(TENANT)
            resumed = await jobs.resume_jobs(database_id=TENANT)
            return pause, listed, resumed

    pause, listed, resumed = run(go())
    assert str(pause.database_id) == TENANT and listed == [pause] and resumed == 0


def test_a_worker_leaves_paused_jobs_waiting(dsn: str) -> None:
    app = App(dsn)
    ran: list[str] = []

    @app.task("mail")
    def mail(payload: Any) -> None:
        ran.append("mail")

    @app.task("report")
    def report(payload: Any) -> None:
        ran.append("report")

    sql(dsn, "SELECT app_jobs.add_job(NULL, 'mail'), app_jobs.add_job(NULL, 'report')")
    sql(dsn, "SELECT app_jobs.pause_jobs(task := 'mail')")
    run(app.worker(worker_id="w1").run(once=True))
    assert ran == ["report"]
    assert states(dsn) == {"mail": "paused", "report": "completed"}
    sql(dsn, "SELECT app_jobs.resume_jobs(task := 'mail')")
    run(app.worker(worker_id="w2").run(once=True))
    assert ran == ["report", "mail"]


def test_pgjobs_pause_pauses_resume_and_refusals(dsn: str) -> None:
    def pgjobs(*args: str) -> Any:
        return run_pgjobs(*args, "--dsn", dsn, env=clean_env())

    done = pgjobs("pause", "--queue", "billing", "--reason", "ledger migration")
    assert done.returncode == 0, done.stderr
    assert "paused: queue billing of every tenant" in done.stdout
    listing = pgjobs("pauses")
    assert listing.returncode == 0 and "billing" in listing.stdout
    assert "ledger migration" in listing.stdout
    refused = pgjobs("pause")
    assert refused.returncode != 0 and "--task, --queue and/or --tenant" in refused.stderr
    resumed = pgjobs("resume", "--queue", "billing")
    assert resumed.returncode == 0 and "resumed: queue billing" in resumed.stdout
    again = pgjobs("resume", "--queue", "billing")
    assert again.returncode == 1 and "nothing to resume" in again.stdout
    assert "no pause in force" in pgjobs("pauses").stdout
    bad = pgjobs("pause", "--task", "")
    assert bad.returncode != 0 and "at most 255 characters" in bad.stderr, bad.stderr
