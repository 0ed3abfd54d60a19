"""Admin functions: complete_jobs, permanently_fail_jobs, reschedule_jobs, release_jobs."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

Conn = psycopg.Connection[Any]


def add(db: Conn, **kw: Any) -> dict[str, Any]:
    args = "".join(f", {k} := %({k})s" for k in kw)
    row = db.execute(f"SELECT * FROM app_jobs.add_job(NULL, 'task'{args})", kw).fetchone()
    assert row is not None
    return row


def test_complete_jobs_skips_running_jobs(db: Conn) -> None:
    a, b, c = add(db), add(db), add(db)
    running = db.execute("SELECT * FROM app_jobs.get_job('w1')").fetchone()
    assert running is not None and running["id"] == a["id"]
    done = db.execute(
        "SELECT id FROM app_jobs.complete_jobs(%s)", ([a["id"], b["id"], c["id"]],)
    ).fetchall()
    assert sorted(r["id"] for r in done) == [b["id"], c["id"]]
    hist = db.execute("SELECT id, status FROM app_jobs.job_history ORDER BY id").fetchall()
    assert hist == [{"id": b["id"], "status": "completed"}, {"id": c["id"], "status": "completed"}]
    assert db.execute("SELECT id FROM app_jobs.jobs").fetchall() == [{"id": a["id"]}]


def test_permanently_fail_jobs_records_the_reason(db: Conn) -> None:
    a, b = add(db), add(db, queue_name="q")
    rows = db.execute(
        "SELECT id FROM app_jobs.permanently_fail_jobs(%s, 'bad data')", ([a["id"], b["id"]],)
    ).fetchall()
    assert len(rows) == 2
    hist = db.execute("SELECT status, last_error FROM app_jobs.job_history").fetchall()
    assert hist == [{"status": "failed", "last_error": "bad data"}] * 2
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queues").fetchone() == {"n": 0}
    db.execute("SELECT app_jobs.permanently_fail_jobs(%s)", ([add(db)["id"]],))
    last = db.execute(
        "SELECT last_error FROM app_jobs.job_history ORDER BY finished_at DESC, id DESC LIMIT 1"
    ).fetchone()
    assert last == {"last_error": "Manually marked as failed"}


def test_reschedule_jobs_changes_only_what_is_given(db: Conn) -> None:
    a = add(db, priority=3, max_attempts=5)
    rows = db.execute(
        "SELECT * FROM app_jobs.reschedule_jobs(%s, run_at := '2999-01-01T00:00:00Z',"
        " priority := 1)",
        ([a["id"]],),
    ).fetchall()
    assert len(rows) == 1
    r = rows[0]
    assert (r["priority"], r["max_attempts"], r["state"]) == (1, 5, "scheduled")
    assert db.execute("SELECT * FROM app_jobs.get_job('w')").fetchall() == []
    db.execute("SELECT app_jobs.reschedule_jobs(%s, run_at := now(), attempts := 2)", ([a["id"]],))
    got = db.execute("SELECT * FROM app_jobs.get_job('w')").fetchone()
    assert got is not None and got["attempts"] == 3


def test_reschedule_refuses_to_leave_no_attempt_and_changes_nothing(db: Conn) -> None:
    a = add(db, max_attempts=3)
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT * FROM app_jobs.reschedule_jobs(%s, attempts := 3)", ([a["id"]],))
    assert err.value.sqlstate == "PJ108"
    assert db.execute("SELECT attempts FROM app_jobs.jobs").fetchone() == {"attempts": 0}


def test_reschedule_skips_running_jobs(db: Conn) -> None:
    a = add(db)
    db.execute("SELECT * FROM app_jobs.get_job('w')")
    rows = db.execute("SELECT * FROM app_jobs.reschedule_jobs(%s, priority := 9)", ([a["id"]],))
    assert rows.fetchall() == []


def test_release_jobs_unlocks_everything_a_worker_held(db: Conn) -> None:
    a = add(db, queue_name="q")
    a2 = add(db, queue_name="q")
    b = add(db)
    db.execute("SELECT * FROM app_jobs.get_job('dead')")
    db.execute("SELECT * FROM app_jobs.get_job('dead')")
    db.execute("SELECT app_jobs.heartbeat('dead')")
    released = db.execute("SELECT * FROM app_jobs.release_jobs('dead')").fetchall()
    assert sorted(r["id"] for r in released) == [a["id"], b["id"]]
    assert all(r["locked_by"] is None and r["attempts"] == 0 for r in released)
    assert db.execute(
        "SELECT count(*) AS n FROM app_jobs.jobs WHERE state = 'running'"
    ).fetchone() == {"n": 0}
    assert db.execute("SELECT locked_by FROM app_jobs.job_queues").fetchall() == [
        {"locked_by": None}
    ]
    assert db.execute("SELECT count(*) AS n FROM app_jobs.workers").fetchone() == {"n": 0}
    # Everything is claimable again, the serial queue still one at a time.
    got = [db.execute("SELECT id FROM app_jobs.get_job('w2')").fetchone() for _ in range(3)]
    ids = [g["id"] for g in got if g]
    assert sorted(ids) == sorted([a["id"], b["id"]]) and a2["id"] not in ids
