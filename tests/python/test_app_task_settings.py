"""Task settings from Python and the shell (0.4.0): an App declares its tasks' settings in the
database (at worker start, before its first enqueue) instead of sending them with every job,
so an operator's setting (``pgjobs tasks set``, app_jobs.set_task_settings) wins for jobs
enqueued from Python too, and survives workers restarting; ``pgjobs add`` / ``pgjobs tasks``;
the enqueue parameters everywhere; JobContext's tenant and correlation id.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cli_support import clean_env, run_pgjobs
from test_worker import run, sql

from pgjobs.db.client import Backoff, JobSpec
from pgjobs.runtime.app import App
from pgjobs.runtime.registry import JobContext

TENANT = "5b720132-17d5-424d-9bcb-ee7b17c13d43"


def pgjobs(dsn: str, *args: str) -> str:
    done = run_pgjobs(*args, "--dsn", dsn, env=clean_env())
    assert done.returncode == 0, done.stderr
    return done.stdout


def settings(dsn: str) -> dict[tuple[str, str], tuple[Any, str]]:
    rows = sql(dsn, "SELECT * FROM app_jobs.list_task_settings()")
    return {(r["task_identifier"], r["setting"]): (r["value"], r["source"]) for r in rows}


def charge_app(dsn: str, max_attempts: int = 5, version: int = 0) -> App:
    app = App(dsn, settings_version=version)

    @app.task("charge", max_attempts=max_attempts, priority=2, timeout=30)
    def charge(payload: Any) -> None:
        return None

    return app


def test_the_first_enqueue_declares_the_settings_once(dsn: str) -> None:
    app = charge_app(dsn)
    job = app.sync.later("charge", {})
    assert (job.max_attempts, job.priority, job.timeout) == (5, 2, timedelta(seconds=30))
    assert settings(dsn)[("charge", "max_attempts")] == ("5", "code")
    # Declared: the same settings now apply to a job enqueued from SQL.
    [row] = sql(dsn, "SELECT * FROM app_jobs.add_job(NULL, 'charge')")
    assert (row["max_attempts"], row["priority"]) == (5, 2)
    before = sql(dsn, "SELECT xmin::text AS x FROM app_jobs.task_settings")
    app.sync.later("charge", {})
    assert sql(dsn, "SELECT xmin::text AS x FROM app_jobs.task_settings") == before


def test_an_operators_setting_wins_for_python_jobs_and_survives_worker_restarts(dsn: str) -> None:
    app = charge_app(dsn)
    pgjobs(dsn, "tasks", "set", "charge", "--max-attempts", "2")
    for _ in range(2):  # a worker starting (and restarting) re-declares the code settings
        run(app.worker(concurrency=1).run(once=True))
    assert settings(dsn)[("charge", "max_attempts")] == ("2", "operator")
    assert app.sync.later("charge", {}).max_attempts == 2
    # A fresh process of the application (another App) declares again: still the operator's.
    assert charge_app(dsn, max_attempts=9).sync.later("charge", {}).max_attempts == 2
    assert settings(dsn)[("charge", "priority")] == ("2", "code")
    pgjobs(dsn, "tasks", "unset", "charge", "--setting", "max_attempts")
    assert charge_app(dsn, max_attempts=9).sync.later("charge", {}).max_attempts == 9


def test_a_lower_settings_version_does_not_bring_its_settings_back(dsn: str) -> None:
    new = charge_app(dsn, max_attempts=3, version=2)
    old = charge_app(dsn, max_attempts=7, version=1)
    assert new.sync.declare_settings() == 1
    assert old.sync.declare_settings() == 0
    assert old.sync.later("charge", {}).max_attempts == 3


def test_pgjobs_tasks_shows_sets_and_unsets(dsn: str) -> None:
    out = pgjobs(dsn, "tasks")
    assert "no task has settings" in out
    pgjobs(dsn, "tasks", "set", "charge", "--max-attempts", "2", "--timeout", "30s",
           "--backoff", '{"strategy": "fixed", "base": 5}')  # fmt: skip
    pgjobs(dsn, "tasks", "set", "charge", "--priority", "-4", "--tenant", TENANT)
    listing = pgjobs(dsn, "tasks").splitlines()
    assert listing[0].split() == ["task", "setting", "value", "from"]
    assert ["charge", "max_attempts", "2", "operator"] in [line.split() for line in listing]
    tenant = [
        line.split() for line in pgjobs(dsn, "tasks", "list", "--tenant", TENANT).splitlines()
    ]
    assert ["charge", "priority", "-4", "operator", "(tenant)"] in tenant
    added = pgjobs(dsn, "add", "charge", "{}")
    assert "priority 0" in added
    [job] = sql(dsn, "SELECT max_attempts, timeout, backoff FROM app_jobs.jobs")
    assert job == {"max_attempts": 2, "timeout": timedelta(seconds=30),
                   "backoff": {"strategy": "fixed", "base": 5}}  # fmt: skip
    refused = run_pgjobs("tasks", "set", "charge", "--max-attempts", "0", "--dsn", dsn,
                         env=clean_env())  # fmt: skip
    assert refused.returncode == 1 and "max_attempts must be at least 1" in refused.stderr
    assert "removed" in pgjobs(dsn, "tasks", "unset", "charge")
    assert ("charge", "max_attempts") not in settings(dsn) or settings(dsn)[
        ("charge", "max_attempts")
    ][1] != "operator"


def test_pgjobs_add_takes_every_add_job_parameter(dsn: str) -> None:
    pgjobs(dsn, "add", "t", "{}", "--key", "k", "--correlation-id", "req-1", "--timeout", "5m",
           "--backoff", '{"strategy": "none"}', "--delay", "3600")  # fmt: skip
    pgjobs(dsn, "add", "t", '{"v": 2}', "--key", "k", "--key-mode", "preserve_run_at")
    [job] = sql(dsn, "SELECT payload, correlation_id, timeout, backoff, state FROM app_jobs.jobs")
    assert job["payload"] == {"v": 2} and job["state"] == "scheduled"  # the run time stood
    pgjobs(dsn, "add", "t", '{"v": 3}', "--key", "k", "--key-mode", "unsafe_dedupe")
    assert sql(dsn, "SELECT payload FROM app_jobs.jobs") == [{"payload": {"v": 2}}]


def test_the_python_api_takes_the_same_parameters_and_handlers_see_tenant_and_correlation(
    dsn: str,
) -> None:
    app = App(dsn)
    seen: list[tuple[Any, Any]] = []

    @app.task("echo")
    def echo(payload: Any, ctx: JobContext) -> None:
        seen.append((str(ctx.database_id), ctx.correlation_id))

    backoff = Backoff("fixed", 2.0)
    one = app.sync.later("echo", {}, database_id=TENANT, correlation_id="req-1", backoff=backoff,
                         job_key="k", run_at=None)  # fmt: skip
    same = app.sync.later("echo", {"v": 2}, job_key="k", database_id=TENANT,
                          job_key_mode="unsafe_dedupe")  # fmt: skip
    assert same.id == one.id and same.payload == {}
    many = app.sync.later_many("echo", [{}, {}], correlation_id="batch", backoff={"base": 3})
    stored = sql(dsn, "SELECT correlation_id, backoff FROM app_jobs.jobs WHERE id = ANY(%s)",
                 [j.id for j in many])  # fmt: skip
    assert {(r["correlation_id"], r["backoff"]["base"]) for r in stored} == {("batch", 3)}
    mixed = run(app.add_jobs([JobSpec("echo", {}, correlation_id="x"), JobSpec("echo", {})]))
    assert [j.correlation_id for j in mixed] == ["x", None]
    assert app.sync.run_now("echo", {}, correlation_id="now", database_id=TENANT) is None
    assert app.sync.run_now("echo", {}, persist=False, correlation_id="dry") is None
    run(app.worker(concurrency=1).run(once=True))
    assert (TENANT, "now") in seen and ("None", "dry") in seen
    assert (TENANT, "req-1") in seen and ("00000000-0000-0000-0000-000000000000", "x") in seen


def test_a_python_schedule_takes_the_job_parameters_and_the_settings(dsn: str) -> None:
    app = charge_app(dsn)
    app.schedule("charge", "* * * * *", correlation_id="nightly", backoff={"base": 9})
    sql(dsn, "SELECT app_jobs.set_task_settings('charge', max_attempts := 4)")
    run(app.worker(concurrency=1, scheduler=False).run(once=True))
    [row] = sql(dsn, "SELECT * FROM app_jobs.scheduled_jobs")
    assert (row["max_attempts"], row["correlation_id"]) == (None, "nightly")
    [job] = sql(dsn, "SELECT * FROM app_jobs.run_scheduled_job(%s)", row["id"])
    assert (job["max_attempts"], job["priority"], job["correlation_id"]) == (4, 2, "nightly")
    assert job["backoff"] == {"base": 9} and job["timeout"] == timedelta(seconds=30)


def test_on_a_schema_without_task_settings_the_app_sends_its_defaults(dsn: str) -> None:
    # A rolling upgrade: the new package runs on the old schema until it is deployed.
    sql(dsn, "DROP FUNCTION app_jobs.declare_task_settings(jsonb, integer)")
    app = charge_app(dsn)
    job = app.sync.later("charge", {})
    assert (job.max_attempts, job.priority, job.timeout) == (5, 2, timedelta(seconds=30))
    assert run(app.later_many("charge", [{}]))[0].max_attempts == 5
    assert run(app.worker(concurrency=1).run(once=True)).completed == 2
