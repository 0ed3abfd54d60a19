"""complete_job and fail_job: only the lock holder, history, retry with backoff, final failure."""

from __future__ import annotations

import math
from typing import Any

import psycopg
from helpers import sweep_due

Conn = psycopg.Connection[Any]


def add(db: Conn, **kw: Any) -> dict[str, Any]:
    args = "".join(f", {k} := %({k})s" for k in kw)
    row = db.execute(f"SELECT * FROM app_jobs.add_job(NULL, 'task'{args})", kw).fetchone()
    assert row is not None
    return row


def claim(db: Conn, worker: str = "w1") -> dict[str, Any]:
    row = db.execute("SELECT * FROM app_jobs.get_job(%s)", (worker,)).fetchone()
    assert row is not None
    return row


def jobs_snapshot(db: Conn) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM app_jobs.jobs ORDER BY id").fetchall()


def history(db: Conn) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM app_jobs.job_history ORDER BY id").fetchall()


def test_complete_by_holder_moves_the_job_to_history(db: Conn) -> None:
    job = add(db, payload='{"a": 1}')
    claim(db, "w1")
    done = db.execute("SELECT * FROM app_jobs.complete_job('w1', %s)", (job["id"],)).fetchall()
    assert [r["id"] for r in done] == [job["id"]]
    assert jobs_snapshot(db) == []
    [h] = history(db)
    assert h["id"] == job["id"] and h["status"] == "completed"
    assert h["worker_id"] == "w1" and h["attempts"] == 1 and h["payload"] == {"a": 1}
    assert h["finished_at"] >= h["locked_at"] >= h["created_at"]
    # A second completion finds nothing.
    again = db.execute("SELECT * FROM app_jobs.complete_job('w1', %s)", (job["id"],)).fetchall()
    assert again == []


def test_complete_by_another_worker_changes_nothing_and_returns_no_row(db: Conn) -> None:
    job = add(db)
    claim(db, "w1")
    before = jobs_snapshot(db)
    rows = db.execute("SELECT * FROM app_jobs.complete_job('w2', %s)", (job["id"],)).fetchall()
    assert rows == []
    assert jobs_snapshot(db) == before
    assert history(db) == []


def test_complete_of_a_waiting_job_is_refused(db: Conn) -> None:
    job = add(db)
    assert (
        db.execute("SELECT * FROM app_jobs.complete_job('w1', %s)", (job["id"],)).fetchall() == []
    )
    assert len(jobs_snapshot(db)) == 1


def test_complete_job_of_unknown_id_returns_no_row(db: Conn) -> None:
    assert db.execute("SELECT * FROM app_jobs.complete_job('w1', 424242)").fetchall() == []


def test_fail_stores_error_unlocks_and_backs_off_exponentially(db: Conn) -> None:
    job = add(db)
    for attempt in (1, 2, 3):
        claimed = claim(db)
        assert claimed["attempts"] == attempt
        row = db.execute(
            "SELECT *, now() AS t FROM app_jobs.fail_job('w1', %s, %s)",
            (job["id"], f"boom {attempt}"),
        ).fetchone()
        assert row is not None
        assert row["last_error"] == f"boom {attempt}"
        assert row["locked_by"] is None and row["locked_at"] is None
        assert row["state"] == "scheduled"
        delay = (row["run_at"] - row["t"]).total_seconds()
        assert math.isclose(delay, math.exp(attempt), rel_tol=1e-3), delay
        # Not handed out during the backoff...
        assert db.execute("SELECT * FROM app_jobs.get_job('w1')").fetchall() == []
        # ...and handed out again once it is over (clock moved by rewriting run_at).
        db.execute(
            "UPDATE app_jobs.jobs SET run_at = now() - interval '1 ms' WHERE id = %s", (job["id"],)
        )
        sweep_due(db)


def test_backoff_is_capped_at_exp_10_seconds(db: Conn) -> None:
    job = add(db, max_attempts=30)
    db.execute("UPDATE app_jobs.jobs SET attempts = 14 WHERE id = %s", (job["id"],))
    claim(db)
    row = db.execute(
        "SELECT run_at - now() AS d FROM app_jobs.fail_job('w1', %s, 'x')", (job["id"],)
    ).fetchone()
    assert row is not None
    assert math.isclose(row["d"].total_seconds(), math.exp(10), rel_tol=1e-3)


def test_after_max_attempts_the_job_fails_for_good_into_history(db: Conn) -> None:
    job = add(db, max_attempts=2)
    claim(db)
    db.execute("SELECT app_jobs.fail_job('w1', %s, 'first')", (job["id"],))
    db.execute("UPDATE app_jobs.jobs SET run_at = now() - interval '1 ms'")
    sweep_due(db)
    claim(db)
    final = db.execute(
        "SELECT * FROM app_jobs.fail_job('w1', %s, 'second')", (job["id"],)
    ).fetchone()
    assert final is not None and final["last_error"] == "second"
    assert jobs_snapshot(db) == []
    [h] = history(db)
    assert (h["status"], h["attempts"], h["last_error"]) == ("failed", 2, "second")
    assert db.execute("SELECT * FROM app_jobs.get_job('w1')").fetchall() == []


def test_fail_by_another_worker_changes_nothing(db: Conn) -> None:
    job = add(db)
    claim(db, "w1")
    before = jobs_snapshot(db)
    rows = db.execute("SELECT * FROM app_jobs.fail_job('w2', %s, 'nope')", (job["id"],)).fetchall()
    assert rows == []
    assert jobs_snapshot(db) == before


def test_fail_with_null_message_still_records_an_error(db: Conn) -> None:
    job = add(db)
    claim(db)
    row = db.execute("SELECT * FROM app_jobs.fail_job('w1', %s, NULL)", (job["id"],)).fetchone()
    assert row is not None and row["last_error"]


def test_a_late_worker_cannot_complete_a_job_someone_else_reclaimed(db: Conn) -> None:
    job = add(db)
    claim(db, "w1")
    # w1's lock goes stale (no lease), w2 claims the job again as a new attempt.
    db.execute("UPDATE app_jobs.jobs SET locked_at = now() - interval '5 hours'")
    sweep_due(db)
    again = claim(db, "w2")
    assert again["id"] == job["id"] and again["attempts"] == 2
    assert (
        db.execute("SELECT * FROM app_jobs.complete_job('w1', %s)", (job["id"],)).fetchall() == []
    )
    assert (
        db.execute("SELECT * FROM app_jobs.fail_job('w1', %s, 'x')", (job["id"],)).fetchall() == []
    )
    done = db.execute("SELECT * FROM app_jobs.complete_job('w2', %s)", (job["id"],)).fetchall()
    assert len(done) == 1
    assert [h["status"] for h in history(db)] == ["completed"]


def test_fail_permanent_moves_the_job_to_history_with_attempts_left(db: Conn) -> None:
    job = add(db, max_attempts=5, queue_name="q")
    claim(db, "w1")
    [row] = db.execute(
        "SELECT * FROM app_jobs.fail_job('w1', %s, 'bad payload', permanent := true)",
        (job["id"],),
    ).fetchall()
    assert row["state"] == "failed" and row["attempts"] == 1
    assert jobs_snapshot(db) == []
    [h] = history(db)
    assert h["status"] == "failed" and h["last_error"] == "bad payload" and h["attempts"] == 1
    # The named queue is free again (an empty queue's row goes away).
    held = db.execute(
        "SELECT count(*) AS n FROM app_jobs.job_queues"
        " WHERE queue_name = 'q' AND locked_by IS NOT NULL"
    ).fetchone()
    assert held is not None and held["n"] == 0


def test_fail_returns_where_the_job_went(db: Conn) -> None:
    retry = add(db, max_attempts=2)
    claim(db, "w1")
    [row] = db.execute("SELECT * FROM app_jobs.fail_job('w1', %s, 'e')", (retry["id"],)).fetchall()
    assert row["state"] == "scheduled"
    db.execute("UPDATE app_jobs.jobs SET run_at = now() WHERE id = %s", (retry["id"],))
    sweep_due(db)
    claim(db, "w1")
    [row] = db.execute("SELECT * FROM app_jobs.fail_job('w1', %s, 'e')", (retry["id"],)).fetchall()
    assert row["state"] == "failed"
    # permanent := NULL counts as false.
    other = add(db, max_attempts=3)
    claim(db, "w1")
    [row] = db.execute(
        "SELECT * FROM app_jobs.fail_job('w1', %s, 'e', NULL)", (other["id"],)
    ).fetchall()
    assert row["state"] == "scheduled"
