"""Chaos on named serial queues: workers, producers and admins racing over a few queues.

The serial-queue protocol of 0.3.0 (a lock row in job_queue_locks while a queue is held, only
the head of a free queue claimable, the others parked as 'blocked', wake requests in
job_queue_wakes settled by get_job's sweep) has many roads by which a job enters or leaves a
queue. This test takes most of them at once, each thread on its own connection, over 5 queues
(3 + 2 in two tenants, the same names in both) and about 1,500 jobs:

- 4 workers claim (get_job), check that the job is the only running one of its queue and that
  they hold the queue's lock row, then complete it, or fail it with a zero or 50 ms backoff
  (max_attempts is 1 to 3, so some failures are final);
- 2 producers enqueue one to three jobs at a time, a third of them under a job key (a keyed
  job is replaced in place: it may move to another queue, to no queue, or a little into the
  future), and end each epoch with a burst;
- 2 admins: one calls reschedule_jobs (up to 300 ms into the past or future),
  permanently_fail_jobs and cancel_jobs on a few waiting jobs, mostly heads (the claimable
  job of a queue with parked ones), or holds a queue's parked jobs in a transaction that it
  rolls back; the other calls remove_job and cancel_job, one job at a time (two admins each
  locking several rows in their own order could deadlock each other, whatever pgjobs does);
- deferred triggers in the test's database make some commits that take or release a queue,
  or delete a job, dawdle a few milliseconds (see JITTER).

The race runs in EPOCHS; each ends with a tail in which nothing but the workers' runs and the
admins' removal of heads changes the queues (see TAIL_BACKLOG), then every thread waits while
the queues are checked.

Checked: no two jobs of one (tenant, queue) ever run at once, as the workers see it and again
from job_history and job_attempts; at the end of each epoch, once a sweep has run, no queue has
parked jobs without a holder or a claimable head (nothing would ever wake them), and no lock
row or wake request is left; after the race one drainer empties app_jobs.jobs; every job ever
created is in job_history exactly once, with the status its last actor was told (complete_job,
fail_job, permanently_fail_jobs, remove_job, cancel_job); every attempt recorded is one a
worker saw; job_queue_locks, job_queue_wakes and the job_queues view end empty. Nothing is
timed: GUARD_SECONDS and STALL_SECONDS only turn a hang into a failure.

The run is random but seeded: PGJOBS_CHAOS_SEED=<n> replays a seed's choices (the interleaving
of the threads is still the machine's). The seed is printed, and named in every failure.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import psycopg
from helpers import Conn, add_job, complete_job, settle_wake_requests

Connect = Callable[..., Conn]

SEED = int(os.environ.get("PGJOBS_CHAOS_SEED", "20250611"))
#: Safety nets against a hung test, never assertions about speed.
GUARD_SECONDS = 120.0
STALL_SECONDS = 15.0

TENANT_A = "aaaaaaaa-0000-4000-8000-000000000001"
TENANT_B = "bbbbbbbb-0000-4000-8000-000000000002"
# The same queue names in both tenants: a queue is a (tenant, name) pair.
QUEUES = (
    (TENANT_A, "q0"),
    (TENANT_A, "q1"),
    (TENANT_A, "q2"),
    (TENANT_B, "q0"),
    (TENANT_B, "q1"),
)
KEYS = tuple(f"key-{n}" for n in range(6))  # per tenant
DOOMED = "doomed"  # the task cancel_jobs aims at

WORKERS = 4
PRODUCERS = 2
ADMINS = 2
INITIAL_JOBS = 150
#: The race runs in epochs; each ends with every thread idle while the queues are checked.
EPOCHS = 4
#: Per producer and epoch: rounds of one to three enqueued jobs, then a burst of BURST jobs.
PRODUCER_ROUNDS = 70
BURST = 50
#: After the burst, in the epoch's tail, the admins go on while the workers work through the
#: backlog, until fewer than TAIL_BACKLOG jobs wait (carried over; the drainer gets the last
#: ones) or nothing is claimable or running any more. In the tail the admins only take heads
#: away (the claimable job of a queue with parked ones) and nothing else would unstick a
#: queue whose wake-up was lost: no new job, no retry, no reschedule_jobs (each makes a job
#: claimable, whose claim and release wakes the queue as a side effect), no removal of
#: parked jobs (which could empty a stranded queue before it is seen).
TAIL_BACKLOG = 20


@dataclass(frozen=True)
class Run:
    """One attempt as the worker that held it saw it."""

    job_id: int
    tenant: str
    queue: str | None
    locked_at: datetime  # the job row's locked_at, as get_job returned it
    taken_at: datetime  # after get_job took the queue, before its commit (see claim)
    completing_at: datetime  # before complete_job / fail_job was sent
    outcome: str  # completed, or the state fail_job returned (scheduled, failed, cancelled)


class Abandoned(Exception):
    """Another thread failed: this one gave up."""


@dataclass
class Chaos:
    connect: Connect
    #: The connection of the checks between epochs (made by whichever thread ends an epoch).
    checker: Conn
    threads: int
    deadline: float = field(default_factory=lambda: time.monotonic() + GUARD_SECONDS)
    #: Set when the epoch's producers are all done: the admins start their tail.
    produced: threading.Event = field(default_factory=threading.Event)
    #: Set when the epoch's producers and admins are all done: the workers stop.
    stop: threading.Event = field(default_factory=threading.Event)
    #: Set when a thread failed: every thread stops.
    failed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    left: Counter[str] = field(default_factory=Counter)
    epoch: int = 0

    def __post_init__(self) -> None:
        self.start = threading.Barrier(self.threads)
        self.epoch_end = threading.Barrier(self.threads, action=self.next_epoch)
        self.left.update(producer=PRODUCERS, admin=ADMINS)

    def rng(self, role: str, index: int) -> random.Random:
        return random.Random(f"{SEED}:{role}:{index}")

    def guard(self, what: str) -> None:
        if self.failed.is_set():
            raise Abandoned(what)
        if time.monotonic() > self.deadline:
            raise AssertionError(f"seed {SEED}: gave up after {GUARD_SECONDS}s: {what}")

    def epochs(self, role: str) -> Iterator[int]:
        """The epochs of one thread: after each, it reports done and waits for the others."""
        self.start.wait(timeout=GUARD_SECONDS)
        for epoch in range(EPOCHS):
            yield epoch
            with self.lock:
                self.left[role] -= 1
                if self.left["producer"] == 0:
                    self.produced.set()
                if self.left["producer"] == self.left["admin"] == 0:
                    self.stop.set()
            self.epoch_end.wait(timeout=max(1.0, self.deadline - time.monotonic()))

    def next_epoch(self) -> None:
        """Run by the last thread to end an epoch, all others idle."""
        assert_nothing_stranded(self.checker, f"after epoch {self.epoch}")
        self.epoch += 1
        self.produced.clear()
        self.stop.clear()
        self.left = Counter(producer=PRODUCERS, admin=ADMINS)

    def fail(self) -> None:
        self.failed.set()
        self.produced.set()
        self.stop.set()
        self.start.abort()
        self.epoch_end.abort()


@dataclass
class Outcomes:
    """What the threads saw: every attempt, the ids created, and the fate the last actor on a
    job was told (the status job_history must show)."""

    runs: list[Run] = field(default_factory=list)
    created: set[int] = field(default_factory=set)
    expected: dict[int, str] = field(default_factory=dict)

    def merge(self, other: Outcomes) -> None:
        self.runs += other.runs
        self.created |= other.created
        self.expected.update(other.expected)


# --- the racing threads ---------------------------------------------------------------------

#: Fault injection, in this test's own database: a transaction that takes or releases a queue
#: lock, or deletes a job, sometimes dawdles a few milliseconds at its commit (deferred
#: triggers), after pgjobs has done all its work and while it still holds its row locks.
#: That widens the windows in which another transaction sees the queue half-changed.
JITTER = """
CREATE FUNCTION public.chaos_jitter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF random() < TG_ARGV[0]::float8 THEN
    PERFORM pg_sleep(random() * TG_ARGV[1]::float8);
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER chaos_jitter_release AFTER DELETE ON app_jobs.job_queue_locks
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.chaos_jitter(0.5, 0.008);
CREATE CONSTRAINT TRIGGER chaos_jitter_take AFTER INSERT ON app_jobs.job_queue_locks
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.chaos_jitter(0.3, 0.004);
CREATE CONSTRAINT TRIGGER chaos_jitter_delete AFTER DELETE ON app_jobs.jobs
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.chaos_jitter(0.3, 0.004);
"""


def claim(conn: Conn, name: str) -> dict[str, Any] | None:
    """get_job, plus taken_at: clock_timestamp() read in the same statement once get_job has
    returned, so after it took the job's queue and before that claim committed.

    The job's locked_at (and job_history.locked_at) is no such bound: it is now(), the start
    of get_job's transaction, and a claim that started before the queue's previous job was
    released may still take the queue once that release has committed (get_job never waits,
    it only finds the queue free on a later statement). Its locked_at then precedes the
    previous job's finished_at (the start of complete_job's transaction) although the two
    never ran at once. On a busy 2-core machine a naive locked_at/finished_at overlap check
    failed about one run in three (each time on such a handover, which the workers' own
    timestamps showed to be sequential)."""
    row = conn.execute(
        "SELECT clock_timestamp() AS taken_at, j.* FROM app_jobs.get_job(worker_id := %s) AS j",
        (name,),
    ).fetchone()
    return None if row is None else dict(row)


def run_one(conn: Conn, name: str, job: dict[str, Any], rng: random.Random, tail: bool) -> Run:
    """Check that the claimed job is its queue's only running job, hold it briefly, then
    complete it (mostly) or fail it with a short backoff. In the tail, no failures: a retry's
    claim and release would wake a queue whose wake-up was lost."""
    tenant, queue = str(job["database_id"]), job["queue_name"]
    seen = conn.execute(
        "SELECT count(*) AS running,"
        "       count(*) FILTER (WHERE locked_by = %s) AS mine,"
        "       (SELECT locked_by FROM app_jobs.job_queue_locks"
        "         WHERE database_id = %s AND queue_name = %s) AS holder"
        "  FROM app_jobs.jobs"
        " WHERE state = 'running' AND database_id = %s AND queue_name = %s",
        (name, tenant, queue, tenant, queue),
    ).fetchone()
    assert seen is not None
    if queue is not None:
        assert (seen["running"], seen["mine"], seen["holder"]) == (1, 1, name), (
            f"seed {SEED}: {name} claimed job {job['id']} of ({tenant}, {queue}): {seen}"
        )
    time.sleep(rng.uniform(0, 0.02))  # the handler
    end = conn.execute("SELECT clock_timestamp() AS at").fetchone()
    assert end is not None
    if not tail and rng.random() < 0.3:
        backoff = rng.choice(['{"strategy": "none"}', '{"strategy": "fixed", "base": 0.05}'])
        row = conn.execute(
            "SELECT * FROM app_jobs.fail_job(worker_id := %s, job_id := %s,"
            " error_message := 'chaos', backoff := %s::jsonb)",
            (name, job["id"], backoff),
        ).fetchone()
        assert row is not None, f"seed {SEED}: {name} no longer held job {job['id']}"
        outcome = row["state"]
        assert outcome in ("scheduled", "failed", "cancelled"), row
    else:
        done = complete_job(conn, name, job["id"])
        assert done is not None, f"seed {SEED}: {name} no longer held job {job['id']}"
        outcome = "completed"
    return Run(job["id"], tenant, queue, job["locked_at"], job["taken_at"], end["at"], outcome)


def worker(ctx: Chaos, index: int) -> Outcomes:
    conn = ctx.connect()
    name = f"worker-{index}"
    rng = ctx.rng("worker", index)
    seen = Outcomes()
    for _ in ctx.epochs("worker"):
        while not ctx.stop.is_set():
            ctx.guard(f"{name} claiming")
            job = claim(conn, name)
            if job is None:
                time.sleep(0.002)
                continue
            run = run_one(conn, name, job, rng, ctx.produced.is_set())
            seen.runs.append(run)
            if run.outcome != "scheduled":
                seen.expected[run.job_id] = run.outcome
    return seen


def job_spec(rng: random.Random) -> dict[str, Any]:
    """Arguments of one add_job: a random queue (or none), attempts, sometimes a run_at a
    little in the past or future, sometimes the task cancel_jobs aims at."""
    tenant, queue = rng.choice(QUEUES)
    spec: dict[str, Any] = {
        "db_id": tenant,
        "identifier": DOOMED if rng.random() < 0.1 else "chaos",
        "queue_name": None if rng.random() < 0.1 else queue,
        "max_attempts": rng.randint(1, 3),
    }
    if rng.random() < 0.15:
        spec["run_at"] = datetime.now(UTC) + timedelta(seconds=rng.uniform(-0.3, 0.3))
    return spec


def produce_one_round(conn: Conn, rng: random.Random, seen: Outcomes) -> None:
    if rng.random() < 0.35:
        # Keyed: one call per transaction (two producers replacing several keys each in
        # their own order could deadlock each other, whatever pgjobs does).
        spec = job_spec(rng)
        try:
            job = add_job(conn, job_key=rng.choice(KEYS), **spec)
        except psycopg.Error as error:
            if error.sqlstate != "PJ401":  # the key kept changing hands: documented
                raise
        else:
            seen.created.add(job["id"])
    else:
        with conn.transaction():
            ids = [add_job(conn, **job_spec(rng))["id"] for _ in range(rng.randint(1, 3))]
        seen.created.update(ids)


def producer(ctx: Chaos, index: int) -> Outcomes:
    conn = ctx.connect()
    rng = ctx.rng("producer", index)
    seen = Outcomes()
    for _ in ctx.epochs("producer"):
        for _ in range(PRODUCER_ROUNDS):
            ctx.guard(f"producer-{index}")
            produce_one_round(conn, rng, seen)
            time.sleep(rng.uniform(0, 0.03))
        with conn.transaction():
            seen.created.update(add_job(conn, **job_spec(rng))["id"] for _ in range(BURST))
    return seen


def pick(conn: Conn, rng: random.Random, most: int, tail: bool, running: bool = False) -> list[int]:
    """Up to `most` random jobs, waiting ones unless `running`; mostly heads: claimable jobs
    of a queue that has parked ones, which must wake when the head leaves other than by a
    claim. Only heads in the tail."""
    rows = conn.execute(
        "SELECT id, state = 'ready' AND queue_name IS NOT NULL"
        "       AND EXISTS (SELECT 1 FROM app_jobs.jobs AS b"
        "                    WHERE b.database_id = j.database_id"
        "                      AND b.queue_name = j.queue_name AND b.state = 'blocked') AS head"
        "  FROM app_jobs.jobs AS j WHERE %s OR state <> 'running' ORDER BY id",
        (running,),
    ).fetchall()
    heads = [row["id"] for row in rows if row["head"]]
    ids = heads if tail or (heads and rng.random() < 0.7) else [row["id"] for row in rows]
    return rng.sample(ids, min(len(ids), rng.randint(1, most)))


def hesitate(conn: Conn, rng: random.Random) -> None:
    """Hold every parked job of one queue for a moment, in a transaction that then rolls back
    (an admin changing their mind; a keyed add_job that fails): a release of the queue
    meanwhile cannot wake any of them, and must leave a wake request for later instead."""
    rows = conn.execute(
        "SELECT database_id, queue_name, array_agg(id ORDER BY id) AS ids"
        "  FROM app_jobs.jobs WHERE state = 'blocked' GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    if not rows:
        return
    with conn.transaction(force_rollback=True):
        conn.execute(
            "SELECT id FROM app_jobs.reschedule_jobs(%s::bigint[], run_at := now())",
            (rng.choice(rows)["ids"],),
        ).fetchall()
        time.sleep(rng.uniform(0.005, 0.03))


def batch_admin_step(conn: Conn, rng: random.Random, seen: Outcomes, tail: bool) -> None:
    """reschedule_jobs, permanently_fail_jobs or cancel_jobs on a few waiting jobs, or a
    rolled-back reschedule_jobs of a queue's parked jobs."""
    ids = pick(conn, rng, 4, tail)
    ops, weights = ("reschedule", "fail", "cancel", "hesitate"), (5, 3, 1, 2)
    op = rng.choices(ops, weights=(0, 3, 0, 1) if tail else weights)[0]
    if op == "hesitate":
        hesitate(conn, rng)
    elif op == "reschedule":
        conn.execute(
            "SELECT id FROM app_jobs.reschedule_jobs(%s::bigint[],"
            " run_at := now() + make_interval(secs => %s))",
            (ids, rng.uniform(-0.3, 0.3)),
        ).fetchall()
    elif op == "fail":
        rows = conn.execute(
            "SELECT id FROM app_jobs.permanently_fail_jobs(%s::bigint[], 'chaos admin')", (ids,)
        ).fetchall()
        seen.expected.update({row["id"]: "failed" for row in rows})
    else:
        tenant, queue = rng.choice(QUEUES)
        conn.execute(
            "SELECT app_jobs.cancel_jobs(task := %s, queue := %s, db_id := %s)",
            (DOOMED, queue, tenant),
        )


def single_admin_step(conn: Conn, rng: random.Random, seen: Outcomes, tail: bool) -> None:
    """remove_job by key, or cancel_job of any job (a running one only gets a request)."""
    if not tail and rng.random() < 0.5:
        tenant = rng.choice((TENANT_A, TENANT_B))
        row = conn.execute(
            "SELECT id, state FROM app_jobs.remove_job(%s, %s)", (rng.choice(KEYS), tenant)
        ).fetchone()
        if row is not None and row["state"] != "running":
            seen.expected[row["id"]] = "cancelled"
        return
    for job_id in pick(conn, rng, 1, tail, running=not tail):
        info = conn.execute("SELECT id, status FROM app_jobs.cancel_job(%s)", (job_id,))
        for row in info:
            if row["status"] == "cancelled":
                seen.expected[row["id"]] = "cancelled"


def tail_over(conn: Conn) -> bool:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE state <> 'running') AS waiting,"
        "       count(*) FILTER (WHERE state IN ('ready', 'running', 'scheduled')) AS active"
        "  FROM app_jobs.jobs"
    ).fetchone()
    assert row is not None
    return bool(row["waiting"] < TAIL_BACKLOG or row["active"] == 0)


def admin(ctx: Chaos, index: int) -> Outcomes:
    conn = ctx.connect()
    rng = ctx.rng("admin", index)
    step = batch_admin_step if index == 0 else single_admin_step
    seen = Outcomes()
    for _ in ctx.epochs("admin"):
        while True:
            ctx.guard(f"admin-{index}")
            tail = ctx.produced.is_set()
            if tail and tail_over(conn):
                break
            step(conn, rng, seen, tail)
            time.sleep(rng.uniform(0.002, 0.01) if tail else rng.uniform(0.005, 0.04))
    return seen


def race(ctx: Chaos) -> Outcomes:
    """Run every role in its own thread; re-raise the first failure."""
    roles: list[tuple[Callable[[Chaos, int], Outcomes], int]] = [
        *((worker, n) for n in range(WORKERS)),
        *((producer, n) for n in range(PRODUCERS)),
        *((admin, n) for n in range(ADMINS)),
    ]
    assert len(roles) == ctx.threads

    def run(target: Callable[[Chaos, int], Outcomes], index: int) -> Outcomes:
        try:
            return target(ctx, index)
        except BaseException:
            ctx.fail()  # the others stop, and leave their barriers
            raise

    with ThreadPoolExecutor(max_workers=len(roles)) as pool:
        futures = [pool.submit(run, *role) for role in roles]
        errors = [error for future in futures if (error := future.exception()) is not None]
    # The first real failure, not a barrier broken by it.
    errors.sort(key=lambda error: isinstance(error, threading.BrokenBarrierError | Abandoned))
    if errors:
        raise errors[0]
    total = Outcomes()
    for future in futures:
        total.merge(future.result())
    return total


# --- checks ---------------------------------------------------------------------------------


def dump(db: Conn) -> str:
    """Everything needed to tell why a queue is stuck."""
    lines = [f"seed {SEED}", "jobs (id, tenant, queue, state, run_at - now, attempts, key):"]
    for row in db.execute(
        "SELECT id, database_id::text AS t, queue_name AS q, state, run_at - now() AS due,"
        "       attempts || '/' || max_attempts AS att, key, locked_by"
        "  FROM app_jobs.jobs ORDER BY database_id, queue_name, priority, run_at, id"
    ):
        lines.append(f"  {row}")
    lines.append("job_queue_locks:")
    lines += [f"  {row}" for row in db.execute("SELECT * FROM app_jobs.job_queue_locks")]
    lines.append("job_queue_wakes:")
    lines += [f"  {row}" for row in db.execute("SELECT * FROM app_jobs.job_queue_wakes")]
    return "\n".join(lines)


def count(db: Conn, query: str) -> int:
    row = db.execute(query).fetchone()
    assert row is not None
    return int(row["n"])


def assert_nothing_stranded(db: Conn, when: str) -> None:
    """With nobody racing, after a sweep: a queue with parked jobs is held, or has a job that
    can be claimed (its head); otherwise nothing would ever wake the parked ones."""
    settle_wake_requests(db)
    stranded = db.execute(
        "SELECT database_id::text AS tenant, queue_name, count(*) AS blocked"
        "  FROM app_jobs.jobs AS j"
        " WHERE state = 'blocked'"
        "   AND NOT EXISTS (SELECT 1 FROM app_jobs.job_queue_locks AS l"
        "                    WHERE l.database_id = j.database_id AND l.queue_name = j.queue_name)"
        "   AND NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS r"
        "                    WHERE r.database_id = j.database_id AND r.queue_name = j.queue_name"
        "                      AND r.state = 'ready')"
        " GROUP BY 1, 2"
    ).fetchall()
    assert stranded == [], f"{when}: stranded queues {stranded}\n{dump(db)}"
    for table in ("job_queue_wakes", "job_queue_locks"):
        n = count(db, f"SELECT count(*) AS n FROM app_jobs.{table}")
        assert n == 0, f"{when}: {n} rows left in {table}\n{dump(db)}"


def drain(db: Conn) -> list[Run]:
    """One worker empties app_jobs.jobs (jobs due a little later are waited for); fails with
    a dump when nothing could be claimed for STALL_SECONDS while jobs are left."""
    runs: list[Run] = []
    progress = time.monotonic()
    while True:
        assert time.monotonic() - progress < STALL_SECONDS, (
            f"the drainer could claim nothing for {STALL_SECONDS}s\n{dump(db)}"
        )
        job = claim(db, "drainer")
        if job is None:
            if count(db, "SELECT count(*) AS n FROM app_jobs.jobs") == 0:
                return runs
            time.sleep(0.02)
            continue
        progress = time.monotonic()
        stamp = db.execute("SELECT clock_timestamp() AS at").fetchone()
        assert stamp is not None
        assert complete_job(db, "drainer", job["id"]) is not None
        runs.append(
            Run(
                job["id"],
                str(job["database_id"]),
                job["queue_name"],
                job["locked_at"],
                job["taken_at"],
                stamp["at"],
                "completed",
            )
        )


def by_queue(runs: list[Run]) -> dict[tuple[str, str], list[Run]]:
    """The runs of each (tenant, queue), in the order they took the queue."""
    queues: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        if run.queue is not None:
            queues[(run.tenant, run.queue)].append(run)
    for queue_runs in queues.values():
        queue_runs.sort(key=lambda run: run.taken_at)
    return queues


def assert_no_overlap_seen_by_workers(runs: list[Run]) -> None:
    """A queue's next run took it only after the previous one started to complete."""
    for queue, queue_runs in by_queue(runs).items():
        for before, after in pairwise(queue_runs):
            assert before.completing_at <= after.taken_at, (SEED, queue, before, after)


def recorded_attempts(db: Conn, runs: list[Run]) -> dict[tuple[int, datetime], datetime]:
    """Every attempt pgjobs recorded as run, (job id, locked_at) -> finished_at: the
    completed and the finally failed (or cancelled) ones in job_history, every failed one in
    job_attempts. They must be exactly the attempts the workers saw, in the same queues."""
    where = {(run.job_id, run.locked_at): (run.tenant, run.queue) for run in runs}
    recorded: dict[tuple[int, datetime], datetime] = {}
    for row in db.execute(
        "SELECT id, database_id::text AS tenant, queue_name, locked_at, finished_at"
        "  FROM app_jobs.job_history WHERE locked_at IS NOT NULL"
    ):
        key = (row["id"], row["locked_at"])
        assert where.get(key) == (row["tenant"], row["queue_name"]), (SEED, "unseen run", row)
        recorded[key] = row["finished_at"]
    attempts = db.execute("SELECT job_id, started_at, finished_at FROM app_jobs.job_attempts")
    for row in attempts:
        key = (row["job_id"], row["started_at"])
        assert key in where, (SEED, "an attempt no worker saw", row)
        # A final failure is in both, with the same finished_at (one transaction's now()).
        assert recorded.setdefault(key, row["finished_at"]) == row["finished_at"], (SEED, row)
    assert set(recorded) == set(where), (SEED, set(recorded) ^ set(where))
    return recorded


def assert_no_overlap_in_history(db: Conn, runs: list[Run]) -> int:
    """The same from what pgjobs recorded. A queue's next run took it after the previous
    run's release committed, so after its recorded finished_at (the start of the releasing
    transaction). The runs are placed by taken_at, not by their recorded locked_at (see
    claim for why that is no bound); returns how many pairs a naive locked_at/finished_at
    overlap test would have flagged anyway."""
    finished = recorded_attempts(db, runs)
    naive = 0
    for queue, queue_runs in by_queue(runs).items():
        for run in queue_runs:
            assert run.locked_at <= run.taken_at <= finished[(run.job_id, run.locked_at)], (
                SEED,
                run,
            )
        for before, after in pairwise(queue_runs):
            released = finished[(before.job_id, before.locked_at)]
            assert released <= after.taken_at, (SEED, "overlap in history", queue, before, after)
            naive += after.locked_at < released
    return naive


def assert_every_job_finished_once(db: Conn, seen: Outcomes) -> None:
    rows = db.execute("SELECT id, status FROM app_jobs.job_history").fetchall()
    times = Counter(row["id"] for row in rows)
    assert [job_id for job_id, n in times.items() if n > 1] == [], SEED
    status = {row["id"]: row["status"] for row in rows}
    assert set(status) == seen.created, (
        SEED,
        "missing from history",
        sorted(seen.created - set(status)),
        "never created",
        sorted(set(status) - seen.created),
    )
    assert set(status.values()) <= {"completed", "failed", "cancelled"}
    wrong = {
        job_id: (told, status[job_id])
        for job_id, told in seen.expected.items()
        if status[job_id] != told
    }
    assert wrong == {}, (SEED, "history disagrees with what the caller was told", wrong)


@contextmanager
def seed_noted() -> Iterator[None]:
    print(f"PGJOBS_CHAOS_SEED={SEED}")
    try:
        yield
    except BaseException as error:
        error.add_note(f"replay with PGJOBS_CHAOS_SEED={SEED}")
        raise


def test_serial_queues_survive_chaos(db: Conn, connect: Connect) -> None:
    with seed_noted():
        rng = random.Random(f"{SEED}:initial")
        initial = Outcomes()
        with db.transaction():
            for _ in range(INITIAL_JOBS):
                spec = job_spec(rng)
                key = rng.choice(KEYS) if rng.random() < 0.2 else None
                initial.created.add(add_job(db, job_key=key, **spec)["id"])

        db.execute(JITTER)
        seen = race(Chaos(connect, connect(), WORKERS + PRODUCERS + ADMINS))
        seen.merge(initial)
        assert seen.runs, "the workers ran nothing"

        assert count(db, "SELECT count(*) AS n FROM app_jobs.jobs WHERE state = 'running'") == 0
        assert_nothing_stranded(db, "at the end")
        drained = drain(db)
        for run in drained:
            seen.expected[run.job_id] = "completed"
        seen.runs += drained

        settle_wake_requests(db)
        for table in ("jobs", "job_queue_locks", "job_queue_wakes", "job_queues"):
            assert count(db, f"SELECT count(*) AS n FROM app_jobs.{table}") == 0, dump(db)
        assert_no_overlap_seen_by_workers(seen.runs)
        naive = assert_no_overlap_in_history(db, seen.runs)
        assert_every_job_finished_once(db, seen)
        print(
            f"{len(seen.created)} jobs, {len(seen.runs)} attempts"
            f" ({len(drained)} by the drainer), outcomes"
            f" {dict(Counter(seen.expected.values()))}; {naive} handovers whose claim began"
            " before the release"
        )
