"""Many real connections racing the SQL API: claims, serial queues, job keys, producers.

Every worker thread has its own connection. Threads start together on a barrier and any
exception in a thread (a deadlock, a serialization failure, a failed assertion) fails the test.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TypeVar

import psycopg
from helpers import TENANT, Conn, add_job, complete_job, get_job, settle_wake_requests

Connect = Callable[..., Conn]
T = TypeVar("T")

WORKERS = 8
#: A safety net against a hung test, never an assertion about speed.
GUARD_SECONDS = 120.0

TENANTS = (
    "00000000-0000-0000-0000-000000000000",
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
)


def run_threads(count: int, target: Callable[[int, threading.Barrier], T]) -> list[T]:
    """Run target(index, barrier) in `count` threads; return their results, re-raising the
    first exception any of them raised."""
    barrier = threading.Barrier(count)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(target, index, barrier) for index in range(count)]
        return [future.result() for future in futures]


def guard(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise AssertionError(f"gave up after {GUARD_SECONDS}s: {what}")


def bulk_add(db: Conn, jobs: list[tuple[str, str | None, str | None]]) -> list[int]:
    """Enqueue (tenant, queue, task) jobs in one transaction; return their ids in order."""
    ids = []
    with db.transaction():
        for tenant, queue, task in jobs:
            ids.append(add_job(db, task, db_id=tenant, queue_name=queue)["id"])
    return ids


def history_counts(db: Conn) -> Counter[int]:
    rows = db.execute("SELECT id FROM app_jobs.job_history WHERE status = 'completed'")
    return Counter(row["id"] for row in rows)


def assert_all_done_once(db: Conn, ids: list[int]) -> None:
    settle_wake_requests(db)
    history = history_counts(db)
    assert sorted(history) == sorted(ids)
    assert set(history.values()) == {1}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 0}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queues").fetchone() == {"n": 0}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queue_locks").fetchone() == {"n": 0}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queue_wakes").fetchone() == {"n": 0}


def test_every_job_is_handed_out_exactly_once(db: Conn, connect: Connect) -> None:
    ids = bulk_add(db, [(TENANT, None, f"task_{n % 3}") for n in range(600)])

    def worker(index: int, barrier: threading.Barrier) -> list[int]:
        conn = connect()
        name = f"worker-{index}"
        claimed: list[int] = []
        deadline = time.monotonic() + GUARD_SECONDS
        barrier.wait()
        while True:
            guard(deadline, f"{name} claiming")
            job = get_job(conn, name)
            if job is None:
                # SKIP LOCKED may hide a row another claim is locking right now: stop only
                # once no claimable job is left at all.
                left = conn.execute(
                    "SELECT count(*) AS n FROM app_jobs.jobs WHERE state = 'ready'"
                ).fetchone()
                if left == {"n": 0}:
                    return claimed
                continue
            assert job["locked_by"] == name and job["attempts"] == 1
            claimed.append(job["id"])
            done = complete_job(conn, name, job["id"])
            assert done is not None and done["id"] == job["id"]

    per_worker = run_threads(WORKERS, worker)

    handed_out = [job_id for claimed in per_worker for job_id in claimed]
    duplicates = [job_id for job_id, n in Counter(handed_out).items() if n > 1]
    assert duplicates == []
    assert sorted(handed_out) == sorted(ids)
    assert_all_done_once(db, ids)
    # History records the worker that really ran each job.
    runner = {job_id: f"worker-{i}" for i, claimed in enumerate(per_worker) for job_id in claimed}
    rows = db.execute("SELECT id, worker_id FROM app_jobs.job_history").fetchall()
    assert {row["id"]: row["worker_id"] for row in rows} == runner


@dataclass(frozen=True)
class Run:
    job_id: int
    tenant: str
    queue: str
    claimed_at: datetime
    completing_at: datetime


def test_named_queues_never_run_two_jobs_at_once(db: Conn, connect: Connect) -> None:
    # 20 queues over 3 tenants; the same queue names recur across tenants, and a queue of one
    # tenant must not hold up the same-named queue of another. Some jobs have no queue at all.
    queues = [(TENANTS[n % 3], f"queue-{n % 7}") for n in range(20)]
    assert len(set(queues)) == 20
    plan: list[tuple[str, str | None, str | None]] = []
    for n in range(600):
        tenant, queue = queues[n % 20]
        # n % 7 never lines up with n % 20, so every queue still gets jobs.
        plan.append((tenant, None, "free") if n % 7 == 6 else (tenant, queue, "serial"))
    ids = bulk_add(db, plan)
    counts = db.execute(
        "SELECT database_id::text AS t, queue_name AS q, job_count AS n FROM app_jobs.job_queues"
    ).fetchall()
    expected = Counter((tenant, queue) for tenant, queue, _ in plan if queue is not None)
    assert {(row["t"], row["q"]): row["n"] for row in counts} == expected

    def worker(index: int, barrier: threading.Barrier) -> list[Run]:
        conn = connect()
        name = f"worker-{index}"
        runs: list[Run] = []
        deadline = time.monotonic() + GUARD_SECONDS
        barrier.wait()
        while True:
            guard(deadline, f"{name} claiming")
            job = get_job(conn, name)
            if job is None:
                left = conn.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()
                if left == {"n": 0}:
                    return runs
                continue
            if job["queue_name"] is None:
                assert complete_job(conn, name, job["id"]) is not None
                continue
            # The claim has committed: from now until complete_job commits, this worker owns
            # the queue. Both timestamps are taken inside that window.
            seen = conn.execute(
                "SELECT clock_timestamp() AS at, count(*) AS running,"
                "       count(*) FILTER (WHERE locked_by = %s) AS mine"
                "  FROM app_jobs.jobs"
                " WHERE state = 'running' AND database_id = %s AND queue_name = %s",
                (name, job["database_id"], job["queue_name"]),
            ).fetchone()
            assert seen is not None
            assert (seen["running"], seen["mine"]) == (1, 1), (job, seen)
            holder = conn.execute(
                "SELECT locked_by FROM app_jobs.job_queues WHERE database_id = %s"
                " AND queue_name = %s",
                (job["database_id"], job["queue_name"]),
            ).fetchone()
            assert holder == {"locked_by": name}
            end = conn.execute("SELECT clock_timestamp() AS at").fetchone()
            assert end is not None
            assert complete_job(conn, name, job["id"]) is not None
            runs.append(
                Run(
                    job["id"],
                    str(job["database_id"]),
                    job["queue_name"],
                    seen["at"],
                    end["at"],
                )
            )

    runs = [run for worker_runs in run_threads(WORKERS, worker) for run in worker_runs]

    by_queue: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        by_queue[(run.tenant, run.queue)].append(run)
    assert set(by_queue) == set(queues)
    for queue, queue_runs in by_queue.items():
        queue_runs.sort(key=lambda run: run.claimed_at)
        for before, after in pairwise(queue_runs):
            assert before.completing_at <= after.claimed_at, (queue, before, after)
    assert sorted(run.job_id for run in runs) == sorted(
        job_id for job_id, (_, queue, _) in zip(ids, plan, strict=True) if queue is not None
    )
    assert_all_done_once(db, ids)


def test_racing_producers_of_one_job_key_leave_one_waiting_job(db: Conn, connect: Connect) -> None:
    # 8 connections hammer the same key in two tenants (keys are per tenant): no call may
    # fail, and each tenant ends with exactly one waiting job holding the key.
    rounds = 40
    tenants = (TENANTS[1], TENANTS[2])

    def producer(index: int, barrier: threading.Barrier) -> list[int]:
        conn = connect()
        returned = []
        barrier.wait()
        for n in range(rounds):
            job = add_job(
                conn,
                "dedupe",
                db_id=tenants[(index + n) % 2],
                job_key="the-key",
                payload=f'{{"producer": {index}, "round": {n}}}',
            )
            assert job["key"] == "the-key" and job["state"] == "ready"
            returned.append(job["id"])
        return returned

    run_threads(WORKERS, producer)

    rows = db.execute(
        "SELECT database_id::text AS tenant, key, state, attempts, payload FROM app_jobs.jobs"
    ).fetchall()
    assert sorted(row["tenant"] for row in rows) == sorted(tenants)
    for row in rows:
        assert (row["key"], row["state"], row["attempts"]) == ("the-key", "ready", 0)
        assert row["payload"]["producer"] in range(WORKERS)
        assert row["payload"]["round"] in range(rounds)
    # A replaced job is updated in place, never archived.
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_history").fetchone() == {"n": 0}


def test_producers_and_workers_racing_on_named_queues(db: Conn, connect: Connect) -> None:
    # 4 producers enqueue into 8 named queues, in small transactions of one queue each (the
    # queue count is kept at their commit), while 4 workers claim and complete. No call may
    # fail (a deadlock would), and the queue counts must match what is left at the end.
    # (Transactions spanning several queues: see the opposite-orders test below.)
    producers, per_producer, batch = 4, 160, 5
    total = producers * per_producer
    queues = [f"queue-{n}" for n in range(8)]
    producing = threading.Event()
    producing.set()
    unfinished = [producers]
    lock = threading.Lock()

    def producer(index: int) -> list[int]:
        conn = connect()
        ids = []
        try:
            for first in range(0, per_producer, batch):
                queue = queues[(index + first // batch) % len(queues)]
                with conn.transaction():
                    for n in range(first, first + batch):
                        payload = f'{{"producer": {index}, "n": {n}}}'
                        job = add_job(conn, "serial", queue_name=queue, payload=payload)
                        ids.append(job["id"])
        finally:
            with lock:
                unfinished[0] -= 1
                if unfinished[0] == 0:
                    producing.clear()
        return ids

    def worker(index: int) -> list[int]:
        conn = connect()
        name = f"worker-{index}"
        done = []
        deadline = time.monotonic() + GUARD_SECONDS
        while producing.is_set():
            guard(deadline, f"{name} claiming")
            job = get_job(conn, name)
            if job is not None:
                assert complete_job(conn, name, job["id"]) is not None
                done.append(job["id"])
        return done

    def role(index: int, barrier: threading.Barrier) -> tuple[str, list[int]]:
        barrier.wait()
        if index < producers:
            return "produced", producer(index)
        return "completed", worker(index)

    results = run_threads(producers + 4, role)

    produced = [job_id for kind, ids in results if kind == "produced" for job_id in ids]
    completed = [job_id for kind, ids in results if kind == "completed" for job_id in ids]
    assert len(produced) == len(set(produced)) == total
    assert len(completed) == len(set(completed))

    # The workers stopped with the producers: each queue's count must match what is left of
    # it, no queue may still be locked, and a queue with nothing left has no row, nor lock.
    settle_wake_requests(db)
    left = db.execute(
        "SELECT queue_name, count(*) AS n FROM app_jobs.jobs GROUP BY queue_name"
    ).fetchall()
    assert sum(row["n"] for row in left) == total - len(completed)
    rows = db.execute(
        "SELECT queue_name, job_count AS n, locked_by FROM app_jobs.job_queues"
        " WHERE database_id = %s",
        (TENANT,),
    ).fetchall()
    assert {row["queue_name"]: row["n"] for row in rows} == {
        row["queue_name"]: row["n"] for row in left
    }
    assert [row["locked_by"] for row in rows if row["locked_by"] is not None] == []
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queue_locks").fetchone() == {"n": 0}

    # Drain what is left with one worker.
    while (job := get_job(db, "drainer")) is not None:
        assert complete_job(db, "drainer", job["id"]) is not None
        completed.append(job["id"])
    assert sorted(completed) == sorted(produced)
    assert_all_done_once(db, produced)


def wait_until_blocked_or_done(
    db: Conn, pid: int, blocker_pid: int, thread: threading.Thread
) -> None:
    """Wait (polling pg_blocking_pids) until backend `pid` waits on a lock that backend
    `blocker_pid` holds, or `thread` (the one using `pid`) has finished. A wait on any other
    backend does not count: a commit that sends a NOTIFY takes the server-wide notify lock,
    and a commit of another database's session (a parallel test) can hold it for a moment."""
    deadline = time.monotonic() + GUARD_SECONDS
    while thread.is_alive():
        guard(deadline, f"waiting for backend {pid} to block")
        row = db.execute(
            "SELECT %s = ANY (pg_catalog.pg_blocking_pids(%s)) AS blocked", (blocker_pid, pid)
        ).fetchone()
        if row == {"blocked": True}:
            return
        time.sleep(0.01)


def test_producers_committing_into_shared_queues_in_opposite_orders_do_not_deadlock(
    db: Conn, connect: Connect
) -> None:
    # Two application transactions each enqueue one job into queues A and B, in opposite
    # orders, while queue A is held by a worker and its lock row is busy (a release in
    # progress). Producers never touch a queue's lock row, before or at commit, so both
    # commits go through at once, and each queue's job_count is exact right after.
    for queue in ("A", "B"):
        add_job(db, "seed", queue_name=queue)
    held = get_job(db, "holder")
    assert held is not None and held["queue_name"] == "A"
    t1 = connect(autocommit=False)
    t2 = connect(autocommit=False)
    add_job(t1, "t1", queue_name="A")
    add_job(t1, "t1", queue_name="B")
    add_job(t2, "t2", queue_name="B")
    add_job(t2, "t2", queue_name="A")

    blocker = connect(autocommit=False)
    locked = blocker.execute(
        "SELECT locked_by FROM app_jobs.job_queue_locks"
        " WHERE database_id = %s AND queue_name = 'A' FOR UPDATE",
        (TENANT,),
    ).fetchall()
    assert locked == [{"locked_by": "holder"}]
    for conn in (t1, t2):
        conn.execute("SET LOCAL lock_timeout = '5s'")  # a wait would fail the commit
    errors: list[BaseException] = []

    def commit(conn: Conn) -> None:
        try:
            conn.commit()
        except psycopg.Error as error:
            errors.append(error)
            conn.rollback()

    threads = [threading.Thread(target=commit, args=(conn,)) for conn in (t1, t2)]
    for conn, thread in zip((t1, t2), threads, strict=True):
        thread.start()
        wait_until_blocked_or_done(db, conn.info.backend_pid, blocker.info.backend_pid, thread)
    for thread in threads:
        assert not thread.is_alive(), "a producer's commit waited for the busy queue lock row"
    blocker.rollback()
    for thread in threads:
        thread.join()

    assert errors == []
    rows = db.execute("SELECT queue_name, job_count FROM app_jobs.job_queues ORDER BY 1")
    assert [(row["queue_name"], row["job_count"]) for row in rows] == [("A", 3), ("B", 3)]


def test_a_busy_queue_is_skipped_as_a_whole_not_job_by_job(db: Conn, connect: Connect) -> None:
    # While another transaction holds a queue row (a worker claiming or releasing it, a
    # producer committing into it), a claim cannot take the queue and must move on to other
    # work. It should give up on the queue once, not try each of its waiting jobs in turn:
    # that costs a claim time quadratic in the queue's backlog (seconds for a few thousand).
    backlog = 100
    # The queue is held by a worker; a backlog arrives after it took the queue (still
    # claimable, not parked yet), and the lock row is busy (that worker releasing it).
    add_job(db, "serial", queue_name="busy")
    first = get_job(db, "worker-0")
    assert first is not None and first["queue_name"] == "busy"
    bulk_add(db, [(TENANT, "busy", "serial")] * backlog)
    free = add_job(db, "free")
    holder = connect(autocommit=False)
    holder.execute(
        "SELECT 1 FROM app_jobs.job_queue_locks WHERE database_id = %s AND queue_name = 'busy'"
        " FOR UPDATE",
        (TENANT,),
    )
    lock_queue = db.execute("SELECT to_regproc('app_jobs._lock_queue') IS NOT NULL AS ok")
    assert lock_queue.fetchone() == {"ok": True}, "the queue-lock helper was renamed: update"
    with db.transaction():
        db.execute("SET LOCAL track_functions = 'all'")
        claimed = get_job(db, "worker-1")
        attempts = db.execute(
            "SELECT pg_stat_get_xact_function_calls('app_jobs._lock_queue'::regproc) AS n"
        ).fetchone()
    holder.rollback()
    assert claimed is not None and claimed["id"] == free["id"]
    assert attempts is not None and attempts["n"] <= 1, (
        f"the claim tried to take the busy queue {attempts['n'] if attempts else '?'} times"
    )
