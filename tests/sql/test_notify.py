"""NOTIFY "jobs:insert": sent when a job becomes claimable now, never otherwise.

A separate connection LISTENs. Presence is awaited with a generous timeout; absence is
checked by draining for a short while (that checks that nothing came, not how fast).
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from helpers import Conn, add_job, complete_job, get_job

CHANNEL = "jobs:insert"
#: How long to wait for a notification that must come (only reached when it does not).
ARRIVAL_TIMEOUT = 10.0
#: How long to listen for notifications that must not come.
DRAIN_TIMEOUT = 0.5


@pytest.fixture
def listener(connect: Callable[..., Conn]) -> Conn:
    conn = connect()
    conn.execute('LISTEN "jobs:insert"')
    return conn


def received(listener: Conn, expected: int) -> list[psycopg.Notify]:
    """The notifications that arrive: `expected` of them awaited, then a drain for extras."""
    notes = []
    if expected:
        notes += listener.notifies(timeout=ARRIVAL_TIMEOUT, stop_after=expected)
    notes += listener.notifies(timeout=DRAIN_TIMEOUT)
    return list(notes)


def test_add_job_sends_one_notification_with_an_empty_payload(db: Conn, listener: Conn) -> None:
    add_job(db, "send_email")
    notes = received(listener, 1)
    assert [(note.channel, note.payload) for note in notes] == [(CHANNEL, "")]
    assert notes[0].pid == db.info.backend_pid


def test_a_hundred_add_jobs_in_one_transaction_deliver_one_notification(
    db: Conn, listener: Conn
) -> None:
    with db.transaction():
        for n in range(100):
            add_job(db, "bulk", payload=f'{{"n": {n}}}')
    assert len(received(listener, 1)) == 1
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 100}


def test_separate_transactions_each_notify(db: Conn, listener: Conn) -> None:
    for _ in range(3):
        add_job(db, "one_by_one")
    assert len(received(listener, 3)) == 3


def test_a_rolled_back_enqueue_sends_nothing(db: Conn, listener: Conn) -> None:
    with pytest.raises(ZeroDivisionError), db.transaction():
        add_job(db, "doomed")
        raise ZeroDivisionError
    assert received(listener, 0) == []


def test_future_run_at_sends_nothing(db: Conn, listener: Conn) -> None:
    add_job(db, "later", run_at="2999-01-01T00:00:00Z")
    db.execute(
        "SELECT app_jobs.add_job(NULL, 'soon', run_at := now() + interval '1 hour')"
    ).fetchone()
    assert received(listener, 0) == []
    rows = db.execute("SELECT state FROM app_jobs.jobs").fetchall()
    assert [row["state"] for row in rows] == ["scheduled", "scheduled"]


def test_claim_and_complete_send_nothing(db: Conn, listener: Conn) -> None:
    job = add_job(db, "work")
    assert len(received(listener, 1)) == 1

    claimed = get_job(db, "worker-1")
    assert claimed is not None and claimed["id"] == job["id"]
    assert received(listener, 0) == []

    assert complete_job(db, "worker-1", job["id"]) is not None
    assert received(listener, 0) == []


def test_failing_an_attempt_into_backoff_sends_nothing(db: Conn, listener: Conn) -> None:
    job = add_job(db, "flaky")
    assert len(received(listener, 1)) == 1
    assert get_job(db, "worker-1") is not None
    failed = db.execute(
        "SELECT state FROM app_jobs.fail_job('worker-1', %s, 'boom')", (job["id"],)
    ).fetchone()
    assert failed == {"state": "scheduled"}
    assert received(listener, 0) == []


def test_releasing_a_serial_queue_notifies_for_its_waiting_job(db: Conn, listener: Conn) -> None:
    # The second job of a queue waits (blocked) while the first runs; completing the first
    # makes it claimable, and workers must hear about it.
    first = add_job(db, "serial", queue_name="mailbox")
    second = add_job(db, "serial", queue_name="mailbox")
    assert len(received(listener, 2)) == 2

    claimed = get_job(db, "worker-1")
    assert claimed is not None and claimed["id"] == first["id"]
    waiting = db.execute("SELECT state FROM app_jobs.jobs WHERE id = %s", (second["id"],))
    assert waiting.fetchone() == {"state": "blocked"}
    assert received(listener, 0) == []

    assert complete_job(db, "worker-1", first["id"]) is not None
    assert len(received(listener, 1)) == 1
    assert get_job(db, "worker-2") is not None


def test_an_update_notifies_only_when_it_makes_a_job_ready(db: Conn, listener: Conn) -> None:
    # jobs_updated's WHEN tests only that the job is not locked (0.6.0): its function tells
    # a job that was ready already, which is no news, and a job parked or delayed, which is
    # not claimable.
    ready = add_job(db, "work")["id"]
    later = add_job(db, "work", run_at="2100-01-01T00:00:00Z")["id"]
    assert len(received(listener, 1)) == 1  # the first enqueue

    # A ready job written as ready again (its state is in the SET list): no news.
    db.execute("UPDATE app_jobs.jobs SET state = 'ready', priority = 3 WHERE id = %s", (ready,))
    assert received(listener, 0) == []
    # A scheduled job made ready: one notification.
    db.execute("UPDATE app_jobs.jobs SET state = 'ready', run_at = now() WHERE id = %s", (later,))
    assert len(received(listener, 1)) == 1
    # Parked, delayed, rescheduled or claimed: not claimable (or taken), no news.
    db.execute("UPDATE app_jobs.jobs SET state = 'blocked' WHERE id = %s", (ready,))
    db.execute(
        "UPDATE app_jobs.jobs SET state = 'scheduled', run_at = now() + interval '1 hour'"
        " WHERE id = %s",
        (later,),
    )
    db.execute("UPDATE app_jobs.jobs SET priority = 9 WHERE id = %s", (later,))
    assert received(listener, 0) == []
    db.execute("UPDATE app_jobs.jobs SET state = 'ready' WHERE id = %s", (ready,))
    assert len(received(listener, 1)) == 1
    assert get_job(db, "worker-1") is not None
    assert received(listener, 0) == []
