"""claim_job: claim one given waiting job now, with get_job's locking rules."""

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


def claim_job(db: Conn, worker: str, job_id: int) -> dict[str, Any] | None:
    return db.execute("SELECT * FROM app_jobs.claim_job(%s, %s)", (worker, job_id)).fetchone()


def test_claims_the_given_job_out_of_order(db: Conn) -> None:
    add(db, priority=-10)
    wanted = add(db, priority=10)
    got = claim_job(db, "w1", wanted["id"])
    assert got is not None
    assert (got["id"], got["locked_by"], got["attempts"], got["state"]) == (
        wanted["id"],
        "w1",
        1,
        "running",
    )
    done = db.execute("SELECT id FROM app_jobs.complete_job('w1', %s)", (wanted["id"],))
    assert done.fetchall() == [{"id": wanted["id"]}]


def test_a_delayed_job_runs_early(db: Conn) -> None:
    later = add(db, run_at="2999-01-01T00:00:00Z")
    got = claim_job(db, "w1", later["id"])
    assert got is not None and got["id"] == later["id"]


def test_running_unknown_and_finished_jobs_are_not_claimed(db: Conn) -> None:
    job = add(db)
    assert claim_job(db, "w1", job["id"]) is not None
    assert claim_job(db, "w2", job["id"]) is None  # running
    db.execute("SELECT app_jobs.complete_job('w1', %s)", (job["id"],))
    assert claim_job(db, "w2", job["id"]) is None  # finished
    assert claim_job(db, "w2", 987654) is None  # never existed


def test_a_busy_serial_queue_is_respected(db: Conn) -> None:
    first = add(db, queue_name="q")
    second = add(db, queue_name="q")
    assert claim_job(db, "w1", first["id"]) is not None
    assert claim_job(db, "w2", second["id"]) is None
    db.execute("SELECT app_jobs.complete_job('w1', %s)", (first["id"],))
    got = claim_job(db, "w2", second["id"])
    assert got is not None and got["id"] == second["id"]


def test_bad_arguments(db: Conn) -> None:
    for statement, sqlstate in (
        ("SELECT * FROM app_jobs.claim_job(NULL, 1)", "PJ102"),
        ("SELECT * FROM app_jobs.claim_job('', 1)", "PJ102"),
        ("SELECT * FROM app_jobs.claim_job('w', NULL)", "PJ103"),
    ):
        with pytest.raises(psycopg.Error) as err:
            db.execute(statement)
        assert err.value.sqlstate == sqlstate
