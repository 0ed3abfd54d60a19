"""find_scheduled_job (a schedule by key) and run_jobs_now (tests' "run the later jobs now"):
the lookups the Python client used to do itself, now one SQL call each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from helpers import OTHER_TENANT, TENANT, add_job, snapshot

Conn = psycopg.Connection[Any]


def schedule(db: Conn, tenant: str | None, key: str, task: str = "report") -> dict[str, Any]:
    row = db.execute(
        "SELECT * FROM app_jobs.add_scheduled_job(%s, %s, cron := '@daily', job_key := %s)",
        (tenant, task, key),
    ).fetchone()
    assert row is not None
    return row


def find(db: Conn, key: str | None, tenant: str | None = None) -> list[int]:
    rows = db.execute(
        "SELECT id FROM app_jobs.find_scheduled_job(job_key := %s, db_id := %s)", (key, tenant)
    ).fetchall()
    return [row["id"] for row in rows]


def test_find_scheduled_job_finds_by_key_per_tenant(db: Conn) -> None:
    ours = schedule(db, TENANT, "nightly")
    theirs = schedule(db, OTHER_TENANT, "nightly")
    other = schedule(db, TENANT, "weekly")
    assert find(db, "nightly", TENANT) == [ours["id"]]
    assert find(db, "nightly", OTHER_TENANT) == [theirs["id"]]
    assert find(db, "nightly") == sorted([ours["id"], theirs["id"]])  # one per tenant
    assert find(db, "weekly") == [other["id"]]
    assert find(db, "missing") == []
    assert find(db, None) == []


def test_find_scheduled_job_returns_whole_rows(db: Conn) -> None:
    made = schedule(db, TENANT, "nightly", task="cleanup")
    rows = db.execute("SELECT * FROM app_jobs.find_scheduled_job('nightly', %s)", (TENANT,))
    assert rows.fetchall() == [made]


def test_run_jobs_now_makes_the_later_jobs_of_those_tasks_due(db: Conn) -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    later = add_job(db, "mail", run_at=tomorrow)
    other_task = add_job(db, "report", run_at=tomorrow)
    assert (later["state"], other_task["state"]) == ("scheduled", "scheduled")
    ready = add_job(db, "mail")
    moved = db.execute("SELECT * FROM app_jobs.run_jobs_now(ARRAY['mail'])").fetchall()
    assert [row["id"] for row in moved] == [later["id"]]
    states = {
        row["id"]: (row["state"], row["run_at"] <= row["now"])
        for row in db.execute("SELECT id, state, run_at, now() AS now FROM app_jobs.jobs")
    }
    assert states[later["id"]] == ("ready", True)
    assert states[ready["id"]] == ("ready", True)
    assert states[other_task["id"]][0] == "scheduled"  # another task: untouched


def test_run_jobs_now_refuses_null_and_writes_nothing(db: Conn) -> None:
    add_job(db, "mail")
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT * FROM app_jobs.run_jobs_now(NULL)")
    assert err.value.sqlstate == "PJ103"
    assert "task_identifiers" in (err.value.diag.message_primary or "")
    assert snapshot(db) == before


def test_run_jobs_now_with_nothing_later_changes_nothing(db: Conn) -> None:
    add_job(db, "mail")
    before = snapshot(db)
    assert db.execute("SELECT * FROM app_jobs.run_jobs_now(ARRAY['mail'])").fetchall() == []
    assert snapshot(db) == before
