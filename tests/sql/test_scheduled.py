"""Scheduled job definitions: add_scheduled_job and run_scheduled_job."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

Conn = psycopg.Connection[Any]
T1 = "11111111-1111-1111-1111-111111111111"
T2 = "22222222-2222-2222-2222-222222222222"


def schedule(db: Conn, tenant: str = T1, **kw: Any) -> dict[str, Any]:
    kw.setdefault("schedule_info", '{"hour": [2], "minute": [0]}')
    args = "".join(f", {k} := %({k})s" for k in kw)
    row = db.execute(
        f"SELECT * FROM app_jobs.add_scheduled_job(%(t)s, 'cleanup_task'{args})",
        {"t": tenant, **kw},
    ).fetchone()
    assert row is not None
    return row


def test_add_scheduled_job_stores_the_definition(db: Conn) -> None:
    s = schedule(db, payload='{"days": 30}', queue_name="maint", max_attempts=3, priority=4)
    assert s["task_identifier"] == "cleanup_task"
    assert s["schedule_info"] == {"hour": [2], "minute": [0]}
    assert (s["payload"], s["queue_name"], s["max_attempts"], s["priority"]) == (
        {"days": 30},
        "maint",
        3,
        4,
    )


def test_add_scheduled_job_with_a_key_replaces_the_definition_per_tenant(db: Conn) -> None:
    a = schedule(db, job_key="nightly", schedule_info='{"hour": [1]}')
    b = schedule(db, job_key="nightly", schedule_info='{"hour": [3]}')
    c = schedule(db, tenant=T2, job_key="nightly")
    assert a["id"] == b["id"] != c["id"]
    assert b["schedule_info"] == {"hour": [3]}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.scheduled_jobs").fetchone() == {"n": 2}


def test_run_scheduled_job_enqueues_from_the_definition(db: Conn) -> None:
    s = schedule(db, payload='{"days": 30}', queue_name="maint", max_attempts=3, priority=4)
    job = db.execute("SELECT * FROM app_jobs.run_scheduled_job(%s)", (s["id"],)).fetchone()
    assert job is not None
    assert str(job["database_id"]) == T1
    assert (job["task_identifier"], job["payload"], job["queue_name"]) == (
        "cleanup_task",
        {"days": 30},
        "maint",
    )
    assert (job["max_attempts"], job["priority"], job["scheduled_job_id"]) == (3, 4, s["id"])
    assert job["state"] == "ready"


def test_run_scheduled_job_refuses_while_the_previous_job_is_pending(db: Conn) -> None:
    s = schedule(db)
    db.execute("SELECT app_jobs.run_scheduled_job(%s)", (s["id"],))
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT app_jobs.run_scheduled_job(%s)", (s["id"],))
    assert err.value.sqlstate == "PJ302"
    assert "pending" in (err.value.diag.message_primary or "")
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 1}
    # Once the job runs, the schedule may run again (even while it is still running).
    db.execute("SELECT * FROM app_jobs.get_job('w')")
    db.execute("SELECT app_jobs.run_scheduled_job(%s)", (s["id"],))
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 2}


def test_run_scheduled_job_of_unknown_id_is_a_clear_error(db: Conn) -> None:
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT app_jobs.run_scheduled_job(999)")
    assert err.value.sqlstate == "PJ301"


def test_racing_run_scheduled_job_calls_enqueue_once(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    s = schedule(db)
    conns = [connect() for _ in range(8)]
    barrier = threading.Barrier(len(conns))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(conn: Conn) -> None:
        barrier.wait()
        try:
            conn.execute("SELECT app_jobs.run_scheduled_job(%s)", (s["id"],))
            result = "enqueued"
        except psycopg.Error as e:
            result = e.sqlstate or "?"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["PJ302"] * 7 + ["enqueued"]
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 1}


def test_raw_insert_of_a_schedule_is_checked(db: Conn) -> None:
    with pytest.raises(psycopg.Error) as err:
        db.execute(
            "INSERT INTO app_jobs.scheduled_jobs (task_identifier, schedule_info)"
            " VALUES ('x', '[1, 2]')"
        )
    assert err.value.sqlstate == "PJ107"
