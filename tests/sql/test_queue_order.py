"""Named queues start their jobs strictly in (priority, run_at, id) order, under racing workers.

The contract: within a (tenant, queue), jobs start in claim order among the jobs that are due,
whatever the number of racing workers. Until 0.4.0 a claimer that skipped the queue's head
(row-locked by another claimer, which then found the queue busy) could take the next job and
the queue, so a later job started first. Here many workers race over many queues, some
workers serving only some tasks, claiming one job or a batch (get_jobs), repeated with
several seeds, and once with the machine under CPU load (busy processes on every core),
where the race shows most. Each worker records a global sequence number right after its claim
returns; since a queue runs one job at a time, a later job of a queue can only be claimed
after the earlier one completed, so the sequence of a queue's claims is its start order.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count

import pytest
from helpers import Conn, settle_wake_requests

Connect = Callable[..., Conn]

TENANTS = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222")
TASKS = ("a", "b", "c")
#: The task sets of the racing workers: some serve everything, some only part of it.
WORKER_TASKS: tuple[list[str] | None, ...] = (
    None,
    None,
    None,
    ["a"],
    ["b"],
    ["c"],
    ["a", "b"],
    None,
)
#: A safety net against a hung test, never an assertion about speed.
GUARD_SECONDS = 180.0


def _burn(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    while not stop.is_set():
        sum(i * i for i in range(10_000))


@contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    stop = multiprocessing.Event()
    procs = [multiprocessing.Process(target=_burn, args=(stop,)) for _ in range(processes)]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        stop.set()
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()


def enqueue(
    db: Conn, rng: random.Random, queues: int, per_queue: int
) -> dict[int, tuple[str, str]]:
    """Jobs of `queues` named queues (over two tenants) with random priorities and tasks, in a
    random interleaving, plus queue-less jobs; returns {job id: (tenant, queue)}."""
    specs = [
        (TENANTS[q % 2], f"q{q}", rng.choice(TASKS), rng.randint(-2, 2))
        for q in range(queues)
        for _ in range(per_queue)
    ]
    specs += [(TENANTS[0], None, rng.choice(TASKS), rng.randint(-2, 2)) for _ in range(per_queue)]
    rng.shuffle(specs)
    where: dict[int, tuple[str, str]] = {}
    with db.transaction():
        for tenant, queue, task, priority in specs:
            row = db.execute(
                "SELECT id FROM app_jobs.add_job(%s, %s, queue_name := %s, priority := %s)",
                (tenant, task, queue, priority),
            ).fetchone()
            assert row is not None
            if queue is not None:
                where[row["id"]] = (tenant, queue)
    return where


@dataclass
class Shared:
    """What the racing workers share: claim sequence numbers, errors, the guard's deadline."""

    deadline: float
    started: dict[int, int] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)
    sequence: Iterator[int] = field(default_factory=count)
    lock: threading.Lock = field(default_factory=threading.Lock)


def work(conn: Conn, index: int, seed: int, shared: Shared) -> None:
    """One worker: claim 1-5 jobs (its tasks only), note when each claim returned, complete
    them (sometimes after a pause), until no job is left."""
    rng = random.Random(seed * 100 + index)
    name = f"w{index}"
    idle = 0
    while time.monotonic() < shared.deadline:
        rows = conn.execute(
            "SELECT id FROM app_jobs.get_jobs(%s, %s, batch_size := %s)",
            (name, WORKER_TASKS[index], rng.choice((1, 1, 2, 5))),
        ).fetchall()
        with shared.lock:
            for row in rows:
                shared.started[row["id"]] = next(shared.sequence)
        if not rows:
            left = conn.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()
            if left is not None and left["n"] == 0:
                return
            idle += 1
            time.sleep(0.001 * min(idle, 20))
            continue
        idle = 0
        for row in rows:
            if rng.random() < 0.3:
                time.sleep(rng.random() * 0.002)
            done = conn.execute(
                "SELECT id FROM app_jobs.complete_job(%s, %s)", (name, row["id"])
            ).fetchone()
            assert done is not None, f"{name} lost job {row['id']}"
    raise AssertionError(f"gave up after {GUARD_SECONDS}s")


def race(db: Conn, connect: Connect, seed: int, queues: int = 8, per_queue: int = 25) -> None:
    rng = random.Random(seed)
    where = enqueue(db, rng, queues, per_queue)
    expected: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in db.execute(
        "SELECT id, database_id::text AS t, queue_name FROM app_jobs.jobs"
        " WHERE queue_name IS NOT NULL ORDER BY priority, run_at, id"
    ):
        expected[(row["t"], row["queue_name"])].append(row["id"])
    total = db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()
    assert total is not None

    shared = Shared(deadline=time.monotonic() + GUARD_SECONDS)
    barrier = threading.Barrier(len(WORKER_TASKS))

    def worker(index: int) -> None:
        try:
            barrier.wait()
            work(connect(), index, seed, shared)
        except BaseException as exc:
            shared.errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(WORKER_TASKS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if shared.errors:
        raise shared.errors[0]
    started = shared.started

    settle_wake_requests(db)
    assert len(started) == total["n"], "every job started once"
    for key, ids in expected.items():
        order = sorted(ids, key=lambda i: started[i])
        assert order == ids, f"queue {key} started out of order"
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 0}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queue_locks").fetchone() == {"n": 0}
    assert set(where) <= set(started)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_named_queues_start_in_order_under_racing_workers(
    db: Conn, connect: Connect, seed: int
) -> None:
    race(db, connect, seed)


def test_named_queues_start_in_order_under_cpu_load(db: Conn, connect: Connect) -> None:
    with cpu_load(max(2, multiprocessing.cpu_count())):
        race(db, connect, seed=7)


def test_a_skipped_head_is_not_overtaken(db: Conn, connect: Connect) -> None:
    """The interleaving itself, deterministic: the head is row-locked by another transaction
    while a claimer comes to the queue; the claimer must not start the second job."""
    tenant = TENANTS[0]
    first = db.execute(
        "SELECT id FROM app_jobs.add_job(%s, 'a', queue_name := 'q')", (tenant,)
    ).fetchone()
    second = db.execute(
        "SELECT id FROM app_jobs.add_job(%s, 'a', queue_name := 'q')", (tenant,)
    ).fetchone()
    assert first is not None and second is not None
    holder = connect(autocommit=False)
    holder.execute("SELECT 1 FROM app_jobs.jobs WHERE id = %s FOR UPDATE", (first["id"],))
    claimer = connect()
    assert claimer.execute("SELECT id FROM app_jobs.get_job('w2')").fetchall() == []
    holder.rollback()
    rows = claimer.execute("SELECT id FROM app_jobs.get_job('w2')").fetchall()
    assert rows == [{"id": first["id"]}]
    assert claimer.execute("SELECT id FROM app_jobs.get_job('w3')").fetchall() == []


def test_the_head_of_a_task_this_worker_does_not_serve_is_handed_on(db: Conn) -> None:
    """A worker that reaches a queue through a later job of its task does not start it before
    the queue's head of another task, and leaves the head claimable for a worker serving it."""
    tenant = TENANTS[0]
    head = db.execute(
        "SELECT id FROM app_jobs.add_job(%s, 'a', queue_name := 'q', priority := 0)", (tenant,)
    ).fetchone()
    later = db.execute(
        "SELECT id FROM app_jobs.add_job(%s, 'b', queue_name := 'q', priority := 1)", (tenant,)
    ).fetchone()
    assert head is not None and later is not None
    # Park the head as a busy queue would, so only the later job is claimable.
    db.execute("UPDATE app_jobs.jobs SET state = 'blocked' WHERE id = %s", (head["id"],))
    assert db.execute("SELECT id FROM app_jobs.get_job('wb', '{b}')").fetchall() == []
    assert db.execute("SELECT id FROM app_jobs.get_job('wa', '{a}')").fetchall() == [
        {"id": head["id"]}
    ]
    db.execute("SELECT app_jobs.complete_job('wa', %s)", (head["id"],))
    assert db.execute("SELECT id FROM app_jobs.get_job('wb', '{b}')").fetchall() == [
        {"id": later["id"]}
    ]
