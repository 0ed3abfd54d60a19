"""Job keys: replace in place, running keyed jobs, tenant scoping, remove_job."""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]
T1 = "11111111-1111-1111-1111-111111111111"
T2 = "22222222-2222-2222-2222-222222222222"


def add(db: Conn, tenant: str | None = T1, task: str = "task", **kw: Any) -> dict[str, Any]:
    args = "".join(f", {k} := %({k})s" for k in kw)
    row = db.execute(
        f"SELECT * FROM app_jobs.add_job(%(tenant)s, %(task)s{args})",
        {"tenant": tenant, "task": task, **kw},
    ).fetchone()
    assert row is not None
    return row


def test_same_key_replaces_the_waiting_job_in_place(db: Conn) -> None:
    first = add(db, job_key="k", payload='{"v": 1}', priority=5, run_at="2999-01-01T00:00:00Z")
    # Give it a failed attempt so the reset is visible.
    db.execute(
        "UPDATE app_jobs.jobs SET attempts = 3, last_error = 'old', state = 'ready',"
        " run_at = now() WHERE id = %s",
        (first["id"],),
    )
    second = add(
        db,
        task="other_task",
        job_key="k",
        payload='{"v": 2}',
        priority=1,
        queue_name="q",
        max_attempts=7,
    )
    assert second["id"] == first["id"]
    assert second["task_identifier"] == "other_task"
    assert second["payload"] == {"v": 2}
    assert (second["priority"], second["attempts"], second["last_error"]) == (1, 0, None)
    assert (second["queue_name"], second["max_attempts"]) == ("q", 7)
    assert second["run_at"] <= db.execute("SELECT now() AS n").fetchone()["n"]  # type: ignore[index]
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 1}
    # The count follows the queue change at commit.
    assert db.execute("SELECT queue_name, job_count FROM app_jobs.job_queues").fetchall() == [
        {"queue_name": "q", "job_count": 1}
    ]


def test_replacing_with_a_future_run_at_makes_it_wait(db: Conn) -> None:
    add(db, job_key="k")
    again = add(db, job_key="k", run_at="2999-01-01T00:00:00Z")
    assert again["state"] == "scheduled"
    assert db.execute("SELECT * FROM app_jobs.get_job('w')").fetchall() == []


def test_running_keyed_job_is_left_alone_and_a_new_job_takes_the_key(db: Conn) -> None:
    first = add(db, job_key="k", payload='{"v": 1}')
    running = db.execute("SELECT * FROM app_jobs.get_job('w1')").fetchone()
    assert running is not None and running["id"] == first["id"]
    second = add(db, job_key="k", payload='{"v": 2}')
    assert second["id"] != first["id"]
    assert second["key"] == "k" and second["payload"] == {"v": 2}
    old = db.execute("SELECT * FROM app_jobs.jobs WHERE id = %s", (first["id"],)).fetchone()
    assert old is not None
    # Undisturbed: still locked by w1 with its payload; only its key moved and its retries.
    assert (old["locked_by"], old["state"], old["payload"]) == ("w1", "running", {"v": 1})
    assert old["key"] is None and old["max_attempts"] == old["attempts"] == 1
    # If it fails it is not retried: it goes to history as failed.
    db.execute("SELECT app_jobs.fail_job('w1', %s, 'boom')", (first["id"],))
    hist = db.execute("SELECT id, status FROM app_jobs.job_history").fetchall()
    assert hist == [{"id": first["id"], "status": "failed"}]
    # The new keyed job runs next.
    nxt = db.execute("SELECT * FROM app_jobs.get_job('w2')").fetchone()
    assert nxt is not None and nxt["id"] == second["id"]


def test_running_keyed_job_can_still_complete(db: Conn) -> None:
    first = add(db, job_key="k")
    db.execute("SELECT * FROM app_jobs.get_job('w1')")
    add(db, job_key="k")
    done = db.execute("SELECT * FROM app_jobs.complete_job('w1', %s)", (first["id"],)).fetchall()
    assert len(done) == 1


def test_keys_are_scoped_by_tenant(db: Conn) -> None:
    a = add(db, tenant=T1, job_key="shared", payload='{"t": 1}')
    b = add(db, tenant=T2, job_key="shared", payload='{"t": 2}')
    assert a["id"] != b["id"]
    a2 = add(db, tenant=T1, job_key="shared", payload='{"t": 11}')
    assert a2["id"] == a["id"]
    rows = db.execute(
        "SELECT database_id::text AS d, payload FROM app_jobs.jobs ORDER BY id"
    ).fetchall()
    assert rows == [{"d": T1, "payload": {"t": 11}}, {"d": T2, "payload": {"t": 2}}]


def test_remove_job_cancels_the_waiting_job_of_that_tenant_only(db: Conn) -> None:
    a = add(db, tenant=T1, job_key="k")
    b = add(db, tenant=T2, job_key="k")
    removed = db.execute("SELECT * FROM app_jobs.remove_job('k', %s)", (T2,)).fetchall()
    assert [r["id"] for r in removed] == [b["id"]]
    left = db.execute("SELECT id FROM app_jobs.jobs").fetchall()
    assert left == [{"id": a["id"]}]
    hist = db.execute("SELECT id, status FROM app_jobs.job_history").fetchall()
    assert hist == [{"id": b["id"], "status": "cancelled"}]
    # Unknown key: no row, nothing changes.
    assert db.execute("SELECT * FROM app_jobs.remove_job('nope', %s)", (T1,)).fetchall() == []


def test_remove_job_defaults_to_the_default_tenant(db: Conn) -> None:
    add(db, tenant=None, job_key="k")
    kept = add(db, tenant=T1, job_key="k")
    assert len(db.execute("SELECT * FROM app_jobs.remove_job('k')").fetchall()) == 1
    assert db.execute("SELECT id FROM app_jobs.jobs").fetchall() == [{"id": kept["id"]}]


def test_remove_job_of_a_running_job_stops_its_retries(db: Conn) -> None:
    job = add(db, job_key="k")
    db.execute("SELECT * FROM app_jobs.get_job('w1')")
    rows = db.execute("SELECT * FROM app_jobs.remove_job('k', %s)", (T1,)).fetchall()
    assert len(rows) == 1 and rows[0]["locked_by"] == "w1"
    left = db.execute("SELECT key, max_attempts, attempts FROM app_jobs.jobs").fetchone()
    assert left == {"key": None, "max_attempts": 1, "attempts": 1}
    db.execute("SELECT app_jobs.fail_job('w1', %s, 'x')", (job["id"],))
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 0}
