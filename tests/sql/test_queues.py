"""Named serial queues: one job at a time per (tenant, queue), job_count, no producer holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from helpers import sweep_due

Conn = psycopg.Connection[Any]
T1 = "11111111-1111-1111-1111-111111111111"
T2 = "22222222-2222-2222-2222-222222222222"


def add(db: Conn, queue: str | None, tenant: str = T1, **kw: Any) -> dict[str, Any]:
    args = "".join(f", {k} := %({k})s" for k in kw)
    row = db.execute(
        f"SELECT * FROM app_jobs.add_job(%(t)s, 'task', queue_name := %(q)s{args})",
        {"t": tenant, "q": queue, **kw},
    ).fetchone()
    assert row is not None
    return row


def claim(db: Conn, worker: str = "w") -> dict[str, Any] | None:
    return db.execute("SELECT * FROM app_jobs.get_job(%s)", (worker,)).fetchone()


def queues(db: Conn) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT database_id::text AS t, queue_name, job_count, locked_by FROM app_jobs.job_queues"
        " ORDER BY 1, 2"
    ).fetchall()


def test_a_queue_runs_one_job_at_a_time_and_others_are_not_blocked(db: Conn) -> None:
    a1 = add(db, "a")
    a2 = add(db, "a")
    b1 = add(db, "b")
    plain = add(db, None)
    first = claim(db, "w1")
    assert first is not None and first["id"] == a1["id"]
    got = [claim(db, "w2"), claim(db, "w3"), claim(db, "w4")]
    assert [g["id"] if g else None for g in got] == [b1["id"], plain["id"], None]
    assert {"t": T1, "queue_name": "a", "job_count": 2, "locked_by": "w1"} in queues(db)
    # Completing releases the queue: the next job of a is handed out.
    db.execute("SELECT app_jobs.complete_job('w1', %s)", (a1["id"],))
    nxt = claim(db, "w5")
    assert nxt is not None and nxt["id"] == a2["id"]


def test_fail_releases_the_queue(db: Conn) -> None:
    a1 = add(db, "a")
    a2 = add(db, "a")
    claim(db, "w1")
    db.execute("SELECT app_jobs.fail_job('w1', %s, 'x')", (a1["id"],))
    nxt = claim(db, "w2")
    assert nxt is not None and nxt["id"] == a2["id"]


def test_queue_order_follows_priority_within_the_queue(db: Conn) -> None:
    add(db, "a", priority=5)
    urgent = add(db, "a", priority=1)
    got = claim(db)
    assert got is not None and got["id"] == urgent["id"]


def test_queues_are_scoped_by_tenant(db: Conn) -> None:
    add(db, "shared", tenant=T1)
    add(db, "shared", tenant=T2)
    first = claim(db, "w1")
    second = claim(db, "w2")
    assert first is not None and second is not None
    assert {str(first["database_id"]), str(second["database_id"])} == {T1, T2}
    assert sorted(q["locked_by"] for q in queues(db)) == ["w1", "w2"]


def test_job_count_tracks_the_queue_and_the_row_goes_when_empty(db: Conn) -> None:
    ids = [add(db, "a")["id"] for _ in range(3)]
    add(db, "b")
    assert [(q["queue_name"], q["job_count"]) for q in queues(db)] == [("a", 3), ("b", 1)]
    for _ in ids:
        got = claim(db)
        assert got is not None and got["id"] in ids
        db.execute("SELECT app_jobs.complete_job('w', %s)", (got["id"],))
    rows = [(q["queue_name"], q["job_count"]) for q in queues(db)]
    assert rows == [("b", 1)]


def test_producers_never_hold_anything_a_claimer_or_completer_needs(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    first = add(db, "a")
    producer = connect(autocommit=False)
    producer.execute("SELECT app_jobs.add_job(%s, 'task', queue_name := 'a')", (T1,))
    # The producer's transaction is still open. A claimer and a completer of queue a must
    # not wait for it: with lock_timeout they would fail instead of hanging.
    worker = connect()
    worker.execute("SET lock_timeout = '2s'")
    got = worker.execute("SELECT * FROM app_jobs.get_job('w1')").fetchone()
    assert got is not None and got["id"] == first["id"]
    assert worker.execute(
        "SELECT * FROM app_jobs.complete_job('w1', %s)", (first["id"],)
    ).fetchone()
    assert queues(db) == []  # the producer's job is not visible yet, and nothing is stored
    producer.commit()
    assert [(q["queue_name"], q["job_count"]) for q in queues(db)] == [("a", 1)]
    nxt = worker.execute("SELECT * FROM app_jobs.get_job('w1')").fetchone()
    assert nxt is not None and nxt["queue_name"] == "a"


def test_a_job_enqueued_while_its_queue_runs_waits_for_the_queue(db: Conn) -> None:
    add(db, "a")
    claim(db, "w1")
    late = add(db, "a")
    assert late["state"] == "ready"  # producers never look at the lock...
    assert claim(db, "w2") is None  # ...the claim does, and parks the job
    state = db.execute("SELECT state FROM app_jobs.jobs WHERE id = %s", (late["id"],)).fetchone()
    assert state == {"state": "blocked"}


def test_a_stale_queue_lock_is_reclaimed_with_its_job(db: Conn) -> None:
    a1 = add(db, "a")
    a2 = add(db, "a")
    claim(db, "dead-worker")
    db.execute(
        "UPDATE app_jobs.jobs SET locked_at = now() - interval '5 hours' WHERE id = %s", (a1["id"],)
    )
    db.execute("UPDATE app_jobs.job_queue_locks SET locked_at = now() - interval '5 hours'")
    sweep_due(db)
    got = claim(db, "w2")
    # The stale job is released and, being first in the queue, claimed again.
    assert got is not None and got["id"] == a1["id"] and got["attempts"] == 2
    assert [q["locked_by"] for q in queues(db)] == ["w2"]
    db.execute("SELECT app_jobs.complete_job('w2', %s)", (a1["id"],))
    nxt = claim(db, "w3")
    assert nxt is not None and nxt["id"] == a2["id"]


def test_an_orphaned_queue_lock_without_its_job_is_released(db: Conn) -> None:
    add(db, "a")
    db.execute(
        "INSERT INTO app_jobs.job_queue_locks (database_id, queue_name, locked_by, locked_at)"
        " VALUES (%s, 'a', 'ghost', now() - interval '5 hours')",
        (T1,),
    )
    assert [q["locked_by"] for q in queues(db)] == ["ghost"]
    got = claim(db, "w1")
    assert got is not None and got["queue_name"] == "a"


def test_a_queue_lock_younger_than_expiry_is_kept(db: Conn) -> None:
    add(db, "a")
    add(db, "a")
    claim(db, "w1")
    assert claim(db, "w2") is None
    assert (
        db.execute(
            "SELECT * FROM app_jobs.get_job('w2', job_expiry := interval '1 hour')"
        ).fetchall()
        == []
    )


def test_a_producer_committing_while_the_queue_row_is_busy_never_waits(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    add(db, "a")
    assert claim(db, "w1") is not None
    holder = connect(autocommit=False)  # the lock row is busy: w1 releasing it, say
    holder.execute("SELECT 1 FROM app_jobs.job_queue_locks WHERE queue_name = 'a' FOR UPDATE")
    producer = connect(autocommit=False)
    producer.execute("SET lock_timeout = '2s'")  # waiting would fail the commit
    for _ in range(3):
        producer.execute("SELECT app_jobs.add_job(%s, 'task', queue_name := 'a')", (T1,))
    producer.commit()
    # Nothing was parked for later: the count is read from the jobs themselves.
    assert [(q["queue_name"], q["job_count"]) for q in queues(db)] == [("a", 4)]
    holder.rollback()


def test_the_lock_row_exists_only_while_the_queue_is_held(db: Conn) -> None:
    first = add(db, "a")
    add(db, "a")
    locks = "SELECT queue_name, locked_by FROM app_jobs.job_queue_locks"
    assert db.execute(locks).fetchall() == []
    assert claim(db, "w1") is not None
    assert db.execute(locks).fetchall() == [{"queue_name": "a", "locked_by": "w1"}]
    db.execute("SELECT app_jobs.complete_job('w1', %s)", (first["id"],))
    assert db.execute(locks).fetchall() == []
    assert [(q["queue_name"], q["job_count"], q["locked_by"]) for q in queues(db)] == [
        ("a", 1, None)
    ]


def test_job_count_is_exact_in_every_snapshot(db: Conn, connect: Callable[..., Conn]) -> None:
    producer = connect(autocommit=False)
    for _ in range(3):
        add(producer, "a")
    assert [(q["queue_name"], q["job_count"]) for q in queues(producer)] == [("a", 3)]
    assert queues(db) == []  # not committed: nobody else counts them
    producer.commit()
    assert [(q["queue_name"], q["job_count"]) for q in queues(db)] == [("a", 3)]


def test_draining_a_serial_queue_changes_o_of_n_rows(connect: Callable[..., Conn]) -> None:
    # Each claim and release touches the queue's head, not every waiting job: counted as
    # row updates of app_jobs.jobs within one transaction (not timed).
    conn = connect(autocommit=False)
    n = 200
    conn.execute(
        "SELECT app_jobs.add_job(%s, 'task', queue_name := 'long') FROM generate_series(1, %s)",
        (T1, n),
    )
    drained = 0
    while (job := conn.execute("SELECT id FROM app_jobs.get_job('w')").fetchone()) is not None:
        conn.execute("SELECT app_jobs.complete_job('w', %s)", (job["id"],))
        drained += 1
    stats = conn.execute(
        "SELECT n_tup_upd AS updates FROM pg_stat_xact_user_tables"
        " WHERE relid = 'app_jobs.jobs'::regclass"
    ).fetchone()
    conn.rollback()
    assert drained == n
    assert stats is not None
    # claim (1) + park once (1) + wake as head (1) per job; O(N^2) would be ~20,000.
    assert stats["updates"] <= 4 * n, stats


def test_removing_the_claimable_head_wakes_the_next_job(db: Conn) -> None:
    j1, j2, j3, j4 = (add(db, "q") for _ in range(4))
    claim(db, "w")  # j1 runs; j2..j4 are parked
    db.execute("SELECT app_jobs.complete_job('w', %s)", (j1["id"],))
    states = db.execute("SELECT id, state FROM app_jobs.jobs ORDER BY id").fetchall()
    assert [s["state"] for s in states] == ["ready", "blocked", "blocked"]  # only the head
    # An admin fails the head: the next one wakes instead of the queue stalling.
    db.execute("SELECT app_jobs.permanently_fail_jobs(%s)", ([j2["id"]],))
    # reschedule_jobs delays the new head: the one after it wakes.
    db.execute(
        "SELECT app_jobs.reschedule_jobs(%s, run_at := now() + interval '1 day')", ([j3["id"]],)
    )
    got = claim(db, "w")
    assert got is not None and got["id"] == j4["id"]


def test_a_job_key_moving_the_head_to_another_queue_wakes_the_next_job(db: Conn) -> None:
    first = add(db, "q")
    keyed = add(db, "q", job_key="k")
    last = add(db, "q")
    claim(db, "w")  # first runs; keyed and last are parked
    db.execute("SELECT app_jobs.complete_job('w', %s)", (first["id"],))
    states = db.execute("SELECT id, state FROM app_jobs.jobs ORDER BY id").fetchall()
    assert [(r["id"], r["state"]) for r in states] == [
        (keyed["id"], "ready"),
        (last["id"], "blocked"),
    ]
    # Re-enqueueing the key into another queue moves the head out of q: last must wake.
    moved = add(db, "other", job_key="k")
    assert moved["id"] == keyed["id"] and moved["queue_name"] == "other"
    got = {claim(db, "w1")["id"], claim(db, "w2")["id"]}  # type: ignore[index]
    assert got == {keyed["id"], last["id"]}


def test_a_release_while_the_next_job_is_held_elsewhere_does_not_strand_the_queue(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    # Another transaction holds the parked head's row when the queue is released (a claim
    # that looked at it, or a keyed add_job that then rolls back). The release cannot wake
    # it then; the queue must not stay free with nothing claimable.
    a = add(db, "q")
    b = add(db, "q", job_key="kb")
    claim(db, "w")  # a runs, b is parked
    holder = connect(autocommit=False)
    holder.execute("SELECT app_jobs.add_job(%s, 'task', job_key := 'kb', queue_name := 'q')", (T1,))
    db.execute("SELECT app_jobs.complete_job('w', %s)", (a["id"],))
    holder.rollback()  # b is blocked again, as before the add_job
    got = claim(db, "w2")
    assert got is not None and got["id"] == b["id"]


def test_two_concurrent_removals_of_claimable_jobs_do_not_strand_the_queue(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    first = add(db, "q")
    add(db, "q", job_key="kb")
    c = add(db, "q")
    claim(db, "w")
    db.execute("SELECT app_jobs.complete_job('w', %s)", (first["id"],))  # kb wakes
    add(db, "q", job_key="kn")  # a second claimable job of q
    t1, t2 = connect(autocommit=False), connect(autocommit=False)
    t1.execute("SELECT app_jobs.remove_job('kb', %s)", (T1,))
    t2.execute("SELECT app_jobs.remove_job('kn', %s)", (T1,))
    t1.commit()
    t2.commit()
    got = claim(db, "w2")
    assert got is not None and got["id"] == c["id"]


def test_releasing_a_superseded_running_job_cancels_it_instead_of_rerunning_it(
    db: Conn,
) -> None:
    old = add(db, None, job_key="k")
    claim(db, "w1")
    new = add(db, None, job_key="k")  # supersedes the running one
    db.execute("SELECT app_jobs.release_jobs('w1')")
    hist = db.execute("SELECT id, status FROM app_jobs.job_history").fetchall()
    assert hist == [{"id": old["id"], "status": "cancelled"}]
    got = claim(db, "w2")
    assert got is not None and got["id"] == new["id"]
    assert claim(db, "w3") is None
