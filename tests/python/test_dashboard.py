"""The dashboard over plain HTTP, against a real `pgjobs dashboard` process and database:
CSRF, authentication and the loopback bind, read-only, the serverless API behind its bearer
secret, and the Prometheus endpoints (the dashboard's /metrics and a worker's exporter) scraped
and parsed."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from cli_support import run_pgjobs
from dashboard_support import (
    API_SECRET,
    Dashboard,
    dashboard,
    free_port,
    start_dashboard,
    stop_dashboard,
)
from prometheus_client.parser import text_string_to_metric_families

from pgjobs.dashboard.metrics import DatabaseCollector, WorkerMetrics
from pgjobs.runtime.hooks import NoWorkerHooks, WorkerHooks

__all__ = ["dashboard"]  # fixture

Conn = Any


def add_job(db: Conn, task: str = "greet", payload: str = '{"name": "Ann"}', **kw: Any) -> int:
    args = "".join(f", {name} := %({name})s" for name in kw)
    row = db.execute(
        f"SELECT id FROM app_jobs.add_job(NULL, %(task)s, %(payload)s::json{args})",
        {"task": task, "payload": payload, **kw},
    ).fetchone()
    return int(row["id"])


def status(db: Conn, job_id: int) -> str:
    row = db.execute("SELECT status FROM app_jobs.find_job(%s)", (job_id,)).fetchone()
    return str(row["status"])


def csrf_cookie(dashboard: Dashboard) -> str:
    """The CSRF cookie a first page view sets."""
    _, _, headers = dashboard.request("/jobs")
    cookie = headers.get("set-cookie", "")
    assert (
        cookie.startswith("pgjobs_csrf=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    )
    return str(cookie.split(";")[0].split("=", 1)[1])


def post(dashboard: Dashboard, path: str, form: dict[str, str], cookie: str | None = None) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = f"pgjobs_csrf={cookie}"
    data = urllib.parse.urlencode(form).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(dashboard.url + path, data=data, headers=headers, method="POST")
    try:
        with opener.open(req, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_a_post_without_the_csrf_token_is_refused(
    dashboard: Dashboard, connect: Callable[..., Conn]
) -> None:
    db = connect()
    job_id = add_job(db)
    cookie = csrf_cookie(dashboard)
    assert post(dashboard, f"/jobs/{job_id}/cancel", {}) == 403  # no cookie, no field
    assert post(dashboard, f"/jobs/{job_id}/cancel", {}, cookie) == 403  # cookie only
    assert post(dashboard, f"/jobs/{job_id}/cancel", {"csrf_token": "x" * 43}, cookie) == 403
    assert post(dashboard, f"/jobs/{job_id}/cancel", {"csrf_token": cookie}) == 403  # field only
    assert status(db, job_id) == "pending"
    assert post(dashboard, f"/jobs/{job_id}/cancel", {"csrf_token": cookie}, cookie) == 303
    assert status(db, job_id) == "cancelled"


def test_a_non_loopback_bind_without_auth_is_refused(dsn: str) -> None:
    refused = run_pgjobs("dashboard", "--dsn", dsn, "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode == 1
    assert "refusing to listen on 0.0.0.0" in refused.stderr
    assert "--token" in refused.stderr


def test_with_a_token_the_pages_need_it(dsn: str, tmp_path: Path) -> None:
    token = "dashboard-token-123456"
    running = start_dashboard(dsn, tmp_path, "--host", "0.0.0.0", "--token", token)
    try:
        assert running.request("/")[0] == 401
        assert running.request("/metrics")[0] == 401
        assert running.request("/", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert running.request("/", headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert running.request("/", headers={"Cookie": f"pgjobs_token={token}"})[0] == 200
        assert running.request("/healthz")[0] == 200
    finally:
        stop_dashboard(running)


def test_basic_auth(dsn: str, tmp_path: Path) -> None:
    running = start_dashboard(dsn, tmp_path, "--basic-auth", "ops:s3cret")
    try:
        status_code, _, headers = running.request("/")
        assert status_code == 401 and headers["WWW-Authenticate"] == 'Basic realm="pgjobs"'
        good = "Basic " + __import__("base64").b64encode(b"ops:s3cret").decode()
        bad = "Basic " + __import__("base64").b64encode(b"ops:nope").decode()
        assert running.request("/", headers={"Authorization": good})[0] == 200
        assert running.request("/", headers={"Authorization": bad})[0] == 401
    finally:
        stop_dashboard(running)


def test_read_only_shows_no_actions_and_refuses_them(
    dsn: str, tmp_path: Path, connect: Callable[..., Conn]
) -> None:
    db = connect()
    job_id = add_job(db)
    running = start_dashboard(dsn, tmp_path, "--read-only")
    try:
        _, body, _ = running.request(f"/jobs/{job_id}")
        assert "read-only" in body and 'id="cancel"' not in body
        cookie = csrf_cookie(running)
        assert post(running, f"/jobs/{job_id}/cancel", {"csrf_token": cookie}, cookie) == 403
        assert status(db, job_id) == "pending"
    finally:
        stop_dashboard(running)


def api(dashboard: Dashboard, path: str, secret: str | None = API_SECRET) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    code, body, _ = dashboard.request(path, method="POST", headers=headers)
    return code, json.loads(body)


def test_an_api_call_without_the_secret_is_refused_and_one_with_it_processes_a_batch(
    dashboard: Dashboard, connect: Callable[..., Conn]
) -> None:
    db = connect()
    jobs = [add_job(db, payload=json.dumps({"name": f"n{i}"})) for i in range(3)]
    assert api(dashboard, "/api/process-batch", secret=None)[0] == 401
    assert api(dashboard, "/api/process-batch", secret="wrong")[0] == 401
    assert [status(db, j) for j in jobs] == ["pending"] * 3
    code, summary = api(dashboard, "/api/process-batch?batch_size=2")
    assert code == 200
    assert (summary["claimed"], summary["completed"]) == (2, 2)
    assert sorted(status(db, j) for j in jobs) == ["completed", "completed", "pending"]
    result = db.execute("SELECT result FROM app_jobs.find_job(%s)", (jobs[0],)).fetchone()
    assert result["result"] == {"greeting": "hello n0"}
    _, page, _ = dashboard.request(f"/jobs/{jobs[0]}")
    assert '<pre id="result">' in page and "hello n0" in page


def test_the_api_reclaims_cleans_up_and_runs_due_schedules(
    dashboard: Dashboard, connect: Callable[..., Conn]
) -> None:
    db = connect()
    # A job held for two hours by a worker with no lease.
    stuck = add_job(db)
    db.execute("SELECT * FROM app_jobs.get_job('ghost')")
    db.execute(
        "UPDATE app_jobs.jobs SET locked_at = now() - interval '2 hours' WHERE id = %s", (stuck,)
    )
    assert api(dashboard, "/api/reclaim-stuck?older_than=3600") == (200, {"reclaimed": 1})
    assert status(db, stuck) in ("pending", "retrying")
    # A job finished a month ago.
    old = add_job(db)
    db.execute("SELECT app_jobs.cancel_job(%s)", (old,))
    db.execute(
        "UPDATE app_jobs.job_history SET finished_at = now() - interval '30 days' WHERE id = %s",
        (old,),
    )
    code, cleaned = api(dashboard, "/api/cleanup?older_than_days=14")
    assert code == 200 and cleaned["deleted_jobs"] == 1
    assert db.execute("SELECT * FROM app_jobs.find_job(%s)", (old,)).fetchone() is None
    # A schedule whose fire time has come.
    db.execute("SELECT app_jobs.add_scheduled_job(NULL, 'greet', cron := '* * * * *')")
    db.execute("UPDATE app_jobs.scheduled_jobs SET next_run_at = now() - interval '1 second'")
    assert api(dashboard, "/api/run-schedules") == (200, {"enqueued": 1})
    assert api(dashboard, "/api/run-schedules") == (200, {"enqueued": 0})
    assert api(dashboard, "/api/reclaim-stuck?older_than=-5")[0] == 400


def test_without_a_configured_secret_the_api_is_off(dsn: str, tmp_path: Path) -> None:
    running = start_dashboard(dsn, tmp_path)
    try:
        assert api(running, "/api/run-schedules", secret="anything")[0] == 403
    finally:
        stop_dashboard(running)


def metrics_of(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_dashboards_metrics_endpoint(
    dashboard: Dashboard, connect: Callable[..., Conn]
) -> None:
    db = connect()
    for _ in range(3):
        add_job(db, "resize")
    add_job(db, "resize", queue_name="images")
    add_job(db, "greet", run_at="2999-01-01T00:00:00Z")  # not ready
    db.execute("SELECT app_jobs.heartbeat('w-1')")
    code, body, headers = dashboard.request("/metrics")
    assert code == 200 and headers["Content-Type"].startswith("text/plain")
    samples = metrics_of(body)
    assert samples[("pgjobs_database_up", ())] == 1
    assert samples[("pgjobs_queue_ready_jobs", (("task", "resize"),))] == 4
    assert ("pgjobs_queue_ready_jobs", (("task", "greet"),)) not in samples
    assert samples[("pgjobs_queue_oldest_ready_age_seconds", (("task", "resize"),))] >= 0
    assert samples[("pgjobs_queue_gauges_exact", ())] == 1
    assert samples[("pgjobs_workers", (("state", "alive"),))] == 1


def test_a_workers_metrics_from_its_hooks(dsn: str, connect: Callable[..., Conn]) -> None:
    db = connect()
    add_job(db, "resize", queue_name="images")
    metrics = WorkerMetrics(per_queue=True)
    metrics.job_started("resize", "images")
    metrics.job_started("resize", "images")
    metrics.job_started("mail", None)
    metrics.job_started("mail", None)
    metrics.job_completed("resize", "images", 0.2)
    metrics.job_retried("resize", "images", 1.5)
    metrics.job_failed("mail", None, 0.01)
    metrics.job_started("mail", None)
    metrics.job_cancelled("mail", None, 3.0)
    metrics.job_started("mail", None)
    metrics.job_lost("mail", None, 40.0)
    metrics.heartbeat()
    port = free_port()
    server, thread = metrics.serve(port, dsn=dsn)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            samples = metrics_of(response.read().decode())
    finally:
        server.shutdown()
        thread.join()
    resize = (("queue", "images"), ("task", "resize"))
    mail = (("queue", ""), ("task", "mail"))
    assert samples[("pgjobs_jobs_started_total", resize)] == 2
    assert samples[("pgjobs_jobs_completed_total", resize)] == 1
    assert samples[("pgjobs_jobs_retried_total", resize)] == 1
    assert samples[("pgjobs_jobs_failed_total", mail)] == 1
    assert samples[("pgjobs_jobs_cancelled_total", mail)] == 1
    assert samples[("pgjobs_jobs_lost_total", mail)] == 1
    retried = (("outcome", "retried"), *resize)
    assert samples[("pgjobs_job_duration_seconds_count", retried)] == 1
    assert samples[("pgjobs_worker_running_jobs", ())] == 1  # one mail job still runs
    assert samples[("pgjobs_worker_up", ())] == 1
    assert samples[("pgjobs_worker_last_heartbeat_timestamp_seconds", ())] > 0
    # The database figures, with the queue label (opted in).
    assert samples[("pgjobs_queue_ready_jobs", resize)] == 1


def test_worker_metrics_implement_the_worker_hook_interface() -> None:
    assert isinstance(WorkerMetrics(), WorkerHooks)
    assert isinstance(NoWorkerHooks(), WorkerHooks)
    hook_names = {
        "job_started",
        "job_completed",
        "job_retried",
        "job_failed",
        "job_cancelled",
        "job_lost",
        "heartbeat",
    }
    assert {n for n in dir(WorkerHooks) if not n.startswith("_")} == hook_names


def test_labels_are_per_task_unless_queues_are_asked_for() -> None:
    metrics = WorkerMetrics()
    metrics.job_started("resize", "images-7f3a")
    names = {
        (s.name, tuple(s.labels))
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == "pgjobs_jobs_started_total"
    }
    assert names == {("pgjobs_jobs_started_total", ("task",))}


def test_an_unreachable_database_is_reported_not_raised() -> None:
    collector = DatabaseCollector("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    families = {f.name: f for f in collector.collect()}
    assert [s.value for s in families["pgjobs_database_up"].samples] == [0.0]


def test_a_search_that_runs_too_long_is_cut_off_by_the_statement_timeout(
    dsn: str, tmp_path: Path, connect: Callable[..., Conn]
) -> None:
    db = connect()
    add_job(db, payload='{"user": 7}')
    running = start_dashboard(dsn, tmp_path, "--statement-timeout", "0.5")
    try:
        assert running.request("/jobs?payload=user")[0] == 200
        # A transaction holding app_jobs.jobs exclusively makes every reader wait: the
        # dashboard's search waits until its statement timeout stops it.
        locker = connect(autocommit=False)
        locker.execute("LOCK TABLE app_jobs.jobs IN ACCESS EXCLUSIVE MODE")
        code, body, _ = running.request("/jobs?payload=%7B%22user%22%3A+7%7D")
        locker.rollback()
        assert code == 200
        assert "the search took too long and was stopped" in body
        code, body, _ = running.request("/jobs?payload=%7B%22user%22%3A+7%7D")
        assert "took too long" not in body and 'data-job-id="' in body
    finally:
        stop_dashboard(running)


def test_a_database_without_the_schema_gets_a_clear_answer(
    dsn: str, tmp_path: Path, connect: Callable[..., Conn]
) -> None:
    import uuid

    db = connect()
    name = f"pgjobs_dash_empty_{uuid.uuid4().hex[:10]}"
    db.execute(f'CREATE DATABASE "{name}"')
    empty = psycopg.conninfo.make_conninfo(dsn, dbname=name)
    try:
        running = start_dashboard(empty, tmp_path)
        try:
            for path in ("/", "/jobs", "/schedules"):
                code, body, _ = running.request(path)
                assert code == 503 and "Run `pgjobs deploy`" in body, path
        finally:
            stop_dashboard(running)
    finally:
        db.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
