"""The dashboard in a real browser (Debian's Chromium, headless, driven by Playwright) against
a real `pgjobs dashboard` process on a real database: what the page shows follows the
database, and what the buttons do changes it. Screenshots of the overview and of a job page
are saved in the test's tmp dir (and into docs/img with PGJOBS_DOCS_SCREENSHOTS=1)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboard_support import API_SECRET, Dashboard, browser, dashboard, page

__all__ = ["browser", "dashboard", "page"]  # fixtures

Conn = Any
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def add_job(db: Conn, task: str, payload: Any, **options: Any) -> int:
    args = "".join(f", {name} := %({name})s" for name in options)
    row = db.execute(
        f"SELECT id FROM app_jobs.add_job(NULL, %(task)s, %(payload)s::json{args})",
        {"task": task, "payload": json.dumps(payload), **options},
    ).fetchone()
    return int(row["id"])


def find(db: Conn, job_id: int) -> dict[str, Any]:
    row = db.execute("SELECT * FROM app_jobs.find_job(%s)", (job_id,)).fetchone()
    assert row is not None
    return dict(row)


def process_batch(dashboard: Dashboard) -> dict[str, Any]:
    status, body, _ = dashboard.request(
        "/api/process-batch?batch_size=50",
        method="POST",
        headers={"Authorization": f"Bearer {API_SECRET}"},
    )
    assert status == 200, body
    return dict(json.loads(body))


def test_a_job_enqueued_in_sql_appears_without_a_reload(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn]
) -> None:
    db = connect()
    page.goto(dashboard.url + "/jobs")
    assert page.locator("#jobs tbody").inner_text().strip() == "No job matches."
    job_id = add_job(db, "greet", {"name": "Ann"})
    # The list refreshes itself (live.js): the row arrives without navigation.
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    row.wait_for()
    assert "greet" in row.inner_text()
    assert "pending" in row.inner_text()


def test_a_failed_jobs_traceback_is_shown_and_rerun_enqueues_a_copy(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn], tmp_path: Path
) -> None:
    db = connect()
    job_id = add_job(db, "explode", {"n": 42}, max_attempts=1)
    assert process_batch(dashboard)["failed"] == 1
    page.goto(f"{dashboard.url}/jobs/{job_id}")
    assert page.locator("#job-status").inner_text() == "failed"
    traceback = page.locator("pre.traceback").inner_text()
    assert "ValueError: cannot frobnicate 42" in traceback
    assert "in frobnicate" in traceback  # the frame that raised
    page.screenshot(path=tmp_path / "job.png", full_page=True)

    page.click("#rerun")
    page.wait_for_url(f"{dashboard.url}/jobs/*")
    copy = db.execute(
        "SELECT id, status, rerun_of FROM app_jobs.list_jobs(task := 'explode')"
        " WHERE rerun_of IS NOT NULL"
    ).fetchall()
    assert [(r["status"], r["rerun_of"]) for r in copy] == [("pending", job_id)]
    assert page.url == f"{dashboard.url}/jobs/{copy[0]['id']}?msg=" + (
        f"job+{job_id}+rerun+as+job+{copy[0]['id']}"
    )
    assert "rerun as job" in page.locator(".flash.ok").inner_text()


def test_cancel_moves_the_job_to_history(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn]
) -> None:
    db = connect()
    job_id = add_job(db, "greet", {"name": "Bob"})
    page.goto(f"{dashboard.url}/jobs/{job_id}")
    page.click("#cancel")
    page.locator(".flash.ok").wait_for()
    assert find(db, job_id)["status"] == "cancelled"
    assert page.locator("#job-status").inner_text() == "cancelled"


def test_cancel_all_upcoming_confirms_with_the_count(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn]
) -> None:
    db = connect()
    doomed = [add_job(db, "greet", {"name": f"n{i}"}) for i in range(3)]
    kept = add_job(db, "explode", {"n": 1})
    page.goto(f"{dashboard.url}/jobs?task=greet")
    page.click("#cancel-upcoming")
    assert "cancels 3 waiting job(s)" in page.locator("#confirm-count").inner_text()
    page.click("#confirm")
    assert "cancelled 3 upcoming job(s)" in page.locator(".flash.ok").inner_text()
    assert [find(db, j)["status"] for j in doomed] == ["cancelled"] * 3
    assert find(db, kept)["status"] == "pending"


def test_the_filters_narrow_the_list(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn]
) -> None:
    db = connect()
    ann = add_job(db, "greet", {"name": "Ann", "user": 7})
    bob = add_job(db, "greet", {"name": "Bob", "user": 8})
    boom = add_job(db, "explode", {"n": 7}, queue_name="blasts")

    def listed() -> set[int]:
        ids = page.locator("#jobs tbody tr[data-job-id]").evaluate_all(
            "rows => rows.map(r => Number(r.dataset.jobId))"
        )
        return set(ids)

    page.goto(dashboard.url + "/jobs")
    assert listed() == {ann, bob, boom}
    page.fill("input[name=task]", "greet")
    # The form loads a new page: read its list once it has loaded, not the one it replaces.
    with page.expect_navigation(wait_until="load"):
        page.click("#filters button[type=submit]")
    assert listed() == {ann, bob}
    page.fill("input[name=payload]", '{"user": 7}')
    with page.expect_navigation(wait_until="load"):
        page.click("#filters button[type=submit]")
    assert listed() == {ann}
    page.goto(dashboard.url + "/jobs?payload=Bob")  # text in the payload
    assert listed() == {bob}
    page.goto(dashboard.url + "/jobs?queue=blasts")
    assert listed() == {boom}
    page.goto(dashboard.url + "/jobs?status=completed")
    assert listed() == set()


def test_a_script_in_a_payload_renders_as_text(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn]
) -> None:
    db = connect()
    hostile = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    job_id = add_job(db, "greet", {"name": hostile})
    page.goto(f"{dashboard.url}/jobs/{job_id}")
    assert hostile in page.locator("#payload").inner_text()
    assert page.locator("#payload script, #payload img").count() == 0
    page.goto(dashboard.url + "/jobs")
    assert "<script>" in page.locator(f'tr[data-job-id="{job_id}"] td.payload').inner_text()
    assert page.locator("#jobs script, #jobs img").count() == 0
    assert page.evaluate("window.pwned") is None


def test_schedules_enable_disable_and_run_now(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn]
) -> None:
    db = connect()
    schedule = db.execute(
        "SELECT id FROM app_jobs.add_scheduled_job(NULL, 'greet', '{\"name\": \"cron\"}',"
        " cron := '0 3 * * *', job_key := 'nightly-greet')"
    ).fetchone()["id"]
    page.goto(dashboard.url + "/schedules")
    row = page.locator(f'tr[data-schedule-id="{schedule}"]')
    assert "nightly-greet" in row.inner_text()
    row.locator("button", has_text="Disable").click()
    page.locator(".flash.ok").wait_for()

    def enabled() -> bool:
        found = db.execute(
            "SELECT enabled FROM app_jobs.list_scheduled_jobs() WHERE id = %s", (schedule,)
        ).fetchone()
        return bool(found["enabled"])

    assert enabled() is False
    page.locator(f'tr[data-schedule-id="{schedule}"] button', has_text="Enable").click()
    page.locator(".flash.ok").wait_for()
    assert enabled() is True
    page.locator(f'tr[data-schedule-id="{schedule}"] button', has_text="Run now").click()
    assert "enqueued job" in page.locator(".flash.ok").inner_text()
    jobs = db.execute("SELECT scheduled_job_id FROM app_jobs.list_jobs(task := 'greet')")
    assert [r["scheduled_job_id"] for r in jobs.fetchall()] == [schedule]


def test_overview_shows_counts_charts_and_workers_screenshot(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn], tmp_path: Path
) -> None:
    db = connect()
    for i in range(12):
        add_job(db, "greet", {"name": f"user{i}"})
    for i in range(3):
        add_job(db, "explode", {"n": i}, max_attempts=1)
    summary = process_batch(dashboard)
    assert (summary["completed"], summary["failed"]) == (12, 3)
    # Spread the finished jobs over the last hour, so the charts have bars to draw.
    db.execute(
        "UPDATE app_jobs.job_history SET finished_at = now() - (id * 7 % 55) * interval '1 minute',"
        " locked_at = now() - (id * 7 % 55) * interval '1 minute'"
        " - (id % 5 + 1) * interval '90 milliseconds'"
    )
    for i in range(5):
        add_job(db, "greet", {"name": f"later{i}"}, queue_name="mail")
    add_job(db, "greet", {"name": "tomorrow"}, run_at="2999-01-01T00:00:00Z")
    failed_job = add_job(db, "explode", {"n": 99}, max_attempts=1)
    process_batch(dashboard)  # a failure in the current minute (and the mail queue drains)
    for i in range(4):
        add_job(db, "resize", {"image": f"{i}.png"}, queue_name="images")
    db.execute("SELECT app_jobs.heartbeat('web-1:4242')")

    page.goto(dashboard.url + "/")
    assert page.locator("#live-workers").inner_text() == "1"
    stats = page.locator("#stats").inner_text()
    assert "resize" in stats and "images" in stats
    assert page.locator(".chart").count() == 2  # greet and explode finished in the last hour
    assert page.locator(".chart rect.failed[height^='0']").count() < 60 * 2
    assert "web-1:4242" in page.locator("#workers").inner_text()
    overview = tmp_path / "overview.png"
    page.screenshot(path=overview, full_page=True)

    page.goto(f"{dashboard.url}/jobs/{failed_job}")
    page.locator("pre.traceback").wait_for()
    job = tmp_path / "job.png"
    page.screenshot(path=job, full_page=True)
    page.goto(dashboard.url + "/jobs")
    jobs = tmp_path / "jobs.png"
    page.screenshot(path=jobs, full_page=True)
    assert overview.stat().st_size > 10_000 and job.stat().st_size > 10_000
    if os.environ.get("PGJOBS_DOCS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for shot in (overview, job, jobs):
            shutil.copy(shot, DOCS_IMG / f"dashboard-{shot.name}")


def test_a_job_page_shows_its_dependencies_and_dependants(
    dashboard: Dashboard, page: Any, connect: Callable[..., Conn]
) -> None:
    db = connect()
    first = add_job(db, "fetch", {"page": 1})
    row = db.execute(
        "SELECT id FROM app_jobs.add_job(NULL, 'merge', depends_on := ARRAY[%s]::bigint[])",
        (first,),
    ).fetchone()
    merge = int(row["id"])
    page.goto(f"{dashboard.url}/jobs/{merge}")
    assert page.locator("#job-status").inner_text() == "waiting"
    edges = page.locator("#dependencies").inner_text()
    assert "waits for" in edges and f"job {first}" in edges and "pending" in edges
    page.click(f'#dependencies a[href="/jobs/{first}"]')
    page.wait_for_url(f"{dashboard.url}/jobs/{first}")
    upstream = page.locator("#dependencies").inner_text()
    assert "needed by" in upstream and f"job {merge}" in upstream and "waiting" in upstream
