"""Stale locks and worker leases: job_expiry for raw SQL callers, heartbeats for workers."""

from __future__ import annotations

from typing import Any

import psycopg
from helpers import sweep_due

Conn = psycopg.Connection[Any]


def add(db: Conn, **kw: Any) -> dict[str, Any]:
    args = "".join(f", {k} := %({k})s" for k in kw)
    row = db.execute(f"SELECT * FROM app_jobs.add_job(NULL, 'task'{args})", kw).fetchone()
    assert row is not None
    return row


def claim(db: Conn, worker: str, expiry: str = "4 hours") -> dict[str, Any] | None:
    return db.execute(
        "SELECT * FROM app_jobs.get_job(%s, job_expiry := %s::interval)", (worker, expiry)
    ).fetchone()


def age_lock(db: Conn, job_id: int, age: str) -> None:
    db.execute(
        "UPDATE app_jobs.jobs SET locked_at = now() - %s::interval WHERE id = %s", (age, job_id)
    )
    sweep_due(db)


def test_a_lock_older_than_job_expiry_is_claimed_again_as_a_new_attempt(db: Conn) -> None:
    job = add(db)
    claim(db, "w1")
    age_lock(db, job["id"], "3 hours 59 minutes")
    assert claim(db, "w2") is None  # not stale yet under the default 4 hours
    age_lock(db, job["id"], "4 hours 1 minute")
    again = claim(db, "w2")
    assert again is not None and again["id"] == job["id"]
    assert (again["locked_by"], again["attempts"]) == ("w2", 2)
    assert "lock expired" in again["last_error"] and "w1" in again["last_error"]


def test_job_expiry_is_per_call(db: Conn) -> None:
    job = add(db)
    claim(db, "w1")
    age_lock(db, job["id"], "10 minutes")
    assert claim(db, "w2") is None
    # The sweep's probe runs at most once per 10 ms per database, with the expiry of the claim
    # that runs it: the next claim of a shorter expiry may have to wait for its turn.
    sweep_due(db)
    again = claim(db, "w2", expiry="5 minutes")
    assert again is not None and again["id"] == job["id"]


def test_a_live_lease_protects_a_job_whatever_its_lock_age(db: Conn) -> None:
    job = add(db)
    claim(db, "w1")
    held = db.execute("SELECT app_jobs.heartbeat('w1', interval '1 minute') AS ids").fetchone()
    assert held == {"ids": [job["id"]]}
    age_lock(db, job["id"], "3 days")
    assert claim(db, "w2") is None
    assert claim(db, "w2", expiry="1 second") is None
    row = db.execute("SELECT locked_by, attempts FROM app_jobs.jobs").fetchone()
    assert row == {"locked_by": "w1", "attempts": 1}


def test_a_lapsed_lease_makes_the_jobs_reclaimable_at_once(db: Conn) -> None:
    job = add(db)
    claim(db, "w1")
    db.execute("SELECT app_jobs.heartbeat('w1', interval '1 minute')")
    # The lock is seconds old, far below job_expiry; the lease has lapsed.
    db.execute("UPDATE app_jobs.workers SET lease_expires_at = now() - interval '1 second'")
    sweep_due(db)
    again = claim(db, "w2")
    assert again is not None and again["id"] == job["id"] and again["attempts"] == 2
    assert "lost its lease" in again["last_error"]
    # The lapsed worker is forgotten once it holds nothing; its late completion is refused.
    assert db.execute("SELECT worker_id FROM app_jobs.workers").fetchall() == []
    assert (
        db.execute("SELECT * FROM app_jobs.complete_job('w1', %s)", (job["id"],)).fetchall() == []
    )
    # Its next heartbeat tells it that it holds nothing any more.
    held = db.execute("SELECT app_jobs.heartbeat('w1') AS ids").fetchone()
    assert held == {"ids": []}


def test_heartbeat_renews_the_lease(db: Conn) -> None:
    db.execute("SELECT app_jobs.heartbeat('w1', interval '10 seconds')")
    first = db.execute("SELECT lease_expires_at FROM app_jobs.workers").fetchone()
    db.execute("SELECT app_jobs.heartbeat('w1', interval '1 hour')")
    second = db.execute(
        "SELECT lease_expires_at, lease_expires_at > now() + interval '59 minutes' AS long"
        " FROM app_jobs.workers"
    ).fetchone()
    assert first is not None and second is not None
    assert second["lease_expires_at"] > first["lease_expires_at"] and second["long"]


def test_stale_job_on_its_last_attempt_fails_into_history(db: Conn) -> None:
    job = add(db, max_attempts=1)
    claim(db, "w1")
    age_lock(db, job["id"], "5 hours")
    assert claim(db, "w2") is None
    hist = db.execute(
        "SELECT id, status, last_error, worker_id FROM app_jobs.job_history"
    ).fetchall()
    assert len(hist) == 1
    assert (hist[0]["id"], hist[0]["status"], hist[0]["worker_id"]) == (job["id"], "failed", "w1")
    assert "lock expired" in hist[0]["last_error"]


def test_the_sweep_is_an_index_probe_not_a_scan(db: Conn) -> None:
    db.execute("SELECT app_jobs.add_job(NULL, 't') FROM generate_series(1, 3000)")
    db.execute("SELECT app_jobs.get_job('w' || g) FROM generate_series(1, 300) g")
    db.execute("ANALYZE app_jobs.jobs")
    plan = "\n".join(
        r["QUERY PLAN"]
        for r in db.execute(
            "EXPLAIN SELECT j.id FROM app_jobs.jobs AS j WHERE j.state = 'running'"
            " AND j.locked_at < now() - interval '4 hours'"
        ).fetchall()
    )
    assert "jobs_running_idx" in plan, plan
    plan = "\n".join(
        r["QUERY PLAN"]
        for r in db.execute(
            "EXPLAIN SELECT s.id FROM app_jobs.jobs AS s WHERE s.state = 'scheduled'"
            " AND s.run_at <= now() ORDER BY s.run_at LIMIT 1000"
        ).fetchall()
    )
    assert "jobs_scheduled_idx" in plan, plan
