"""The row triggers of app_jobs.jobs that a claim or a finish may fire, and when they act.

0.6.0 keeps their WHEN conditions short (PostgreSQL compiles a WHEN condition again for
every statement that may fire the trigger) and lets the trigger functions test the rest:
`jobs_updated` (WHEN the job is not locked after the update: a claim locks it),
`jobs_queue_moved` (on an update of the queue or the tenant of a locked job) and
`jobs_queue_wake_delete` (WHEN the job had a queue) record a wake request only when a
waiting job (ready or blocked) of a queue leaves it other than by a claim. Each road below is
one statement on a fresh job, and the wake requests it recorded are read before any claim's
sweep settles them. (`jobs_updated` also notifies when a job becomes ready:
tests/sql/test_notify.py.)
"""

from __future__ import annotations

import pytest
from helpers import OTHER_TENANT, TENANT, Conn, add_job, complete_job, get_job


def wakes(db: Conn) -> list[tuple[str, str]]:
    return [
        (str(r["database_id"]), r["queue_name"])
        for r in db.execute("SELECT database_id, queue_name FROM app_jobs.job_queue_wakes")
    ]


def queued_pair(db: Conn, queue: str) -> tuple[int, int]:
    """Two jobs of one queue: the head (ready) and the next one, parked (blocked) as a claim
    that finds the queue busy parks it (a change of state alone records no wake request)."""
    head = add_job(db, "work", queue_name=queue)["id"]
    follower = add_job(db, "work", queue_name=queue)["id"]
    db.execute("UPDATE app_jobs.jobs SET state = 'blocked' WHERE id = %s", (follower,))
    assert wakes(db) == []
    return head, follower


#: (road, statement on the job (%s: its id), whether a wake request is recorded), for the
#: head (ready) and the follower (blocked) of a queue.
ROADS = [
    ("delete", "DELETE FROM app_jobs.jobs WHERE id = %s", True),
    (
        "delayed to scheduled",
        "UPDATE app_jobs.jobs SET state = 'scheduled', run_at = now() + interval '1 hour'"
        " WHERE id = %s",
        True,
    ),
    (
        "moved to another queue",
        "UPDATE app_jobs.jobs SET queue_name = 'elsewhere' WHERE id = %s",
        True,
    ),
    (
        "moved to another tenant",
        f"UPDATE app_jobs.jobs SET database_id = '{OTHER_TENANT}' WHERE id = %s",
        True,
    ),
    (
        # No pgjobs function does this; a hand-written statement may (jobs_queue_moved).
        "locked and moved to another queue at once",
        "UPDATE app_jobs.jobs SET state = 'running', locked_by = 'someone', locked_at = now(),"
        " queue_name = 'elsewhere' WHERE id = %s",
        True,
    ),
    (
        "locked at once",
        "UPDATE app_jobs.jobs SET state = 'running', locked_by = 'someone', locked_at = now()"
        " WHERE id = %s",
        False,
    ),
    ("priority changed", "UPDATE app_jobs.jobs SET priority = priority + 1 WHERE id = %s", False),
    ("payload changed", "UPDATE app_jobs.jobs SET payload = '{\"x\": 1}' WHERE id = %s", False),
]


@pytest.mark.parametrize("which", ["head", "follower"])
@pytest.mark.parametrize(("road", "statement", "wakes_queue"), ROADS, ids=[r[0] for r in ROADS])
def test_a_waiting_job_leaving_its_queue_records_a_wake_request(
    db: Conn, which: str, road: str, statement: str, wakes_queue: bool
) -> None:
    head, follower = queued_pair(db, "q1")
    db.execute(statement, (head if which == "head" else follower,))
    assert wakes(db) == ([(TENANT, "q1")] if wakes_queue else [])


def test_the_claim_and_the_finish_of_a_queued_job_record_no_wake_request(db: Conn) -> None:
    head, follower = queued_pair(db, "q1")
    claimed = get_job(db, "worker-1")
    assert claimed is not None and claimed["id"] == head
    assert wakes(db) == []
    db.execute("UPDATE app_jobs.jobs SET progress = 50 WHERE id = %s", (head,))
    assert wakes(db) == []
    assert complete_job(db, "worker-1", head) is not None
    assert wakes(db) == []
    # The finish released the queue: its next job is claimable, with no request needed.
    assert db.execute("SELECT state FROM app_jobs.jobs WHERE id = %s", (follower,)).fetchone() == {
        "state": "ready"
    }


@pytest.mark.parametrize(("road", "statement", "wakes_queue"), ROADS, ids=[r[0] for r in ROADS])
def test_a_job_without_a_queue_or_not_waiting_records_no_wake_request(
    db: Conn, road: str, statement: str, wakes_queue: bool
) -> None:
    plain = add_job(db, "work")["id"]
    db.execute(statement, (plain,))
    scheduled = add_job(db, "work", queue_name="q2", run_at="2100-01-01T00:00:00Z")["id"]
    db.execute(statement, (scheduled,))
    assert wakes(db) == []
