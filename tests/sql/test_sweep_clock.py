"""The sweep's probe runs at most once per 10 ms per database (app_jobs.sweep_clock, 0.6.0):
one claim elects itself when the clock is older, the others skip the probe without waiting;
a wake request and unregister_worker set the clock back so the next claim probes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
from helpers import add_job, sweep_due

Conn = psycopg.Connection[Any]


def clock(db: Conn) -> int | None:
    row = db.execute("SELECT pg_sequence_last_value('app_jobs.sweep_clock') AS ms").fetchone()
    return row["ms"]


def claim(db: Conn, worker: str = "w") -> Any:
    return db.execute("SELECT id FROM app_jobs.get_job(%s)", (worker,)).fetchone()


def make_due(db: Conn, job_id: int) -> None:
    db.execute("UPDATE app_jobs.jobs SET run_at = now() - interval '1 s' WHERE id = %s", (job_id,))


def test_a_claim_within_10_ms_of_the_probe_skips_it_and_the_next_one_after_runs_it(
    connect: Callable[..., Conn],
) -> None:
    tx = connect(autocommit=False)
    later = add_job(tx, run_at="2999-01-01T00:00:00Z")
    tx.commit()
    sweep_due(tx)
    tx.commit()
    # One transaction, so now() does not move: the first claim probes and sets the clock...
    assert claim(tx) is None
    probed = tx.execute("SELECT (date_part('epoch', now()) * 1000)::bigint AS ms").fetchone()
    assert clock(tx) == probed["ms"]
    # ...and a job made due after it is not promoted by a claim within the same 10 ms.
    make_due(tx, later["id"])
    assert claim(tx) is None
    assert tx.execute("SELECT state FROM app_jobs.jobs").fetchone()["state"] == "scheduled"
    tx.commit()
    time.sleep(0.011)  # the next transaction's now() is more than 10 ms later
    assert claim(tx) == {"id": later["id"]}
    tx.commit()


def test_a_claim_finding_the_probe_taken_skips_it_without_waiting(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    job = add_job(db, run_at="2999-01-01T00:00:00Z")
    make_due(db, job["id"])
    sweep_due(db)
    # Another session holds the election's advisory lock (a claim probing right now).
    prober = connect(autocommit=False)
    prober.execute("SELECT pg_advisory_xact_lock(hashtextextended('pgjobs.sweep_clock', 0))")
    assert claim(db) is None  # returns at once, the probe left to the holder
    assert clock(db) == 0
    prober.rollback()
    assert claim(db) == {"id": job["id"]}  # elected now: probes, promotes, claims
    assert clock(db) > 0


def test_a_wake_request_sets_the_clock_back(db: Conn) -> None:
    first = add_job(db, queue_name="q")
    second = add_job(db, queue_name="q")
    assert claim(db) == {"id": first["id"]}
    assert clock(db) > 0
    # The parked job leaves its queue by another road than a claim (here a delete): a wake
    # request is recorded, and the next claim must probe to settle it.
    db.execute("DELETE FROM app_jobs.jobs WHERE id = %s", (second["id"],))
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queue_wakes").fetchone()["n"] == 1
    assert clock(db) == 0


def test_unregister_worker_making_a_lease_lapsed_sets_the_clock_back(db: Conn) -> None:
    add_job(db)
    assert claim(db, "w") is not None
    instance = "2c1f4e8a-0d7b-4e49-9c1e-0a4d2b6f1e55"
    db.execute("SELECT app_jobs.heartbeat('w', interval '1 minute', %s::uuid)", (instance,))
    assert clock(db) > 0
    db.execute("SELECT app_jobs.unregister_worker('w', %s::uuid)", (instance,))
    assert clock(db) == 0
