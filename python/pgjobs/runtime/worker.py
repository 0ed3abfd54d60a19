"""The pgjobs worker: runs the handlers of claimed jobs; all queue decisions stay in SQL.

One claim loop fills up to ``concurrency`` slots with ``app_jobs.get_jobs`` (only the tasks it
has handlers for), then sleeps until a ``NOTIFY "jobs:insert"`` arrives, a running job ends, or
``poll_interval`` passes (the fallback for due delayed jobs and missed notifications). Each job
ends with ``complete_job`` or, when its handler raises, ``fail_job`` with the error and the
traceback; a payload that does not match the task's payload type fails for good at once
(``fail_job(..., permanent := true)``). Listeners run inside the transaction that records the
outcome. A heartbeat keeps the worker's lease alive (``app_jobs.heartbeat``, every quarter
lease from a thread and a connection of its own); the lease belongs to this process (its
``instance`` token): a second live process with the same ``worker_id`` is refused
(:class:`WorkerIdInUse`), a restart after a crash waits at most one lease for the dead one's to
lapse. A job the database no longer lists as held (its lease lapsed and another worker took
it back) has its handler stopped, and its late completion would be refused anyway. At start
the worker settles what an earlier life under the same ``worker_id`` left locked; at stop it
stops claiming, lets running jobs finish up to ``shutdown_timeout``, then asks the rest to
stop (``ctx.cancelled``; async handlers are cancelled) and gives each job back only once its
handler has really stopped (sync handlers run in daemon threads of their own); a second stop
exits at once, leaving the jobs of handlers still running to the lease. A job's ``timeout``
(else its task's) stops its handler the same way and fails the attempt (:class:`JobTimeout`).
Lost connections (a PostgreSQL restart, a
killed backend) are retried with backoff; the worker carries on when the database is back.
At start it also declares the app's schedules, and unless ``scheduler=False`` it runs
``app_jobs.run_due_schedules()`` every ``schedule_interval`` seconds (see pgjobs.schedules).

Claims go one job after a wake-up, then, while they find jobs, twice as many each round, up to
the free slots, each round one ``get_jobs`` call (one round trip, one transaction): a backlog
fills the slots in a few calls, and an idle wake-up costs one claim. On a schema before 0.4.0
(no ``get_jobs``) the worker claims with ``get_job``, one call per job.

A handler's result is stored with the job (``complete_job(..., result)``); a failure sends the
traceback as text and as frames to the attempt log, with the task's ``backoff``.
``app_jobs.cancel_job`` of a running job is read from the database: ``NOTIFY "jobs:cancel"``
(which any role can send) only wakes the worker to ask ``heartbeat``, whose answer leaves such
jobs out (as does every periodic heartbeat): the handler is stopped and the job recorded
cancelled. At start and every
``maintenance_interval`` seconds the worker creates history partitions ahead and applies
``retention`` (``cleanup_jobs``).

Before anything else a worker checks the schema version (:mod:`pgjobs.compat`: it refuses a
schema newer than it understands, works with older compatible ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import inspect
import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool

from pgjobs.db import pooler, queries
from pgjobs.db import schedules as schedules_
from pgjobs.db.client import DEFAULT_JOB_EXPIRY, AsyncClient, Client, Job
from pgjobs.db.errors import WorkerIdInUse
from pgjobs.db.rows import backoff_text, failed_outcome
from pgjobs.install.compat import check_schema
from pgjobs.runtime import scheduler, settings
from pgjobs.runtime.hooks import NoWorkerHooks, WorkerHooks
from pgjobs.runtime.registry import Event, JobContext, JobEvent, Registry, Task
from pgjobs.runtime.typed import InvalidPayload, InvalidResult

__all__ = [
    "CANCEL_CHANNEL",
    "CHANNEL",
    "DEFAULT_LEASE",
    "DEFAULT_RETENTION",
    "JobTimeout",
    "Outcome",
    "Worker",
    "WorkerSummary",
    "default_worker_id",
]

log = logging.getLogger("pgjobs.worker")

#: The channel app_jobs notifies when a job becomes claimable.
CHANNEL = "jobs:insert"
#: The channel app_jobs.cancel_job notifies (payload: the job id) for a running job.
CANCEL_CHANNEL = "jobs:cancel"
#: Finished jobs are kept this long by default (the worker applies it with cleanup_jobs).
DEFAULT_RETENTION = timedelta(days=14)
#: A worker's lease at the defaults. It renews it every quarter lease (2 s) from a thread of
#: its own on a connection of its own, so neither busy handlers nor a blocked event loop delay
#: it: a heartbeat may come 6 s late (three missed) before the lease lapses, and a killed
#: worker's jobs are free again 6-8 s after the kill (then the next claim of any worker, within
#: its poll interval, takes them back): under 10 s from kill to rerun (docs/operations.md).
DEFAULT_LEASE = timedelta(seconds=8)
#: A sync handler still running this long after its ctx.cancelled was set is reported.
CANCEL_GRACE = 5.0
#: How many days of job_history partitions a worker keeps made ahead of today.
HISTORY_DAYS_AHEAD = 7

#: Errors that mean "the database is unreachable for now": retried with backoff.
RETRYABLE = (psycopg.OperationalError, psycopg.InterfaceError)

ErrorHandler = Callable[[BaseException, str], Any]


def default_worker_id() -> str:
    """host:pid:random: unique per process, readable in app_jobs.jobs.locked_by."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclasses.dataclass
class WorkerSummary:
    """What a worker run did."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0  # attempts that failed (retrying or for good)
    lost: int = 0  # taken back by the database (lease lapsed) before the worker finished
    cancelled: int = 0  # stopped on request (app_jobs.cancel_job) and recorded cancelled
    released: int = 0  # given back unfinished at stop, or orphans of an earlier life


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one run of a handler ended, as recorded in the database.

    ``status``: ``completed``; ``retrying`` (failed, will run again); ``failed`` (for good);
    ``lost`` (the worker no longer held the job: nothing was recorded); ``cancelled`` (stopped
    on request: app_jobs.cancel_job).
    """

    job_id: int | None
    status: Literal["completed", "retrying", "failed", "lost", "cancelled"]
    result: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def value(self) -> Any:
        """The result, or raise the handler's error."""
        if self.error is not None:
            raise self.error
        return self.result


class JobTimeout(TimeoutError):
    """The attempt ran longer than the job's timeout (``add_job(timeout=)``, the task's): it
    fails like any error and is retried while attempts are left."""


#: Why a running handler was asked to stop: its cancellation was requested (cancel_job) or
#: the database took the job back ("cancel": fail_job tells which); its timeout passed; the
#: worker is stopping (the job is given back once the handler has stopped).
StopReason = Literal["cancel", "timeout", "stop"]


@dataclasses.dataclass(slots=True)
class _Pending:
    """An outcome waiting for the next round's finish_jobs (a completion, or a failure)."""

    job: Job
    result: Any
    future: asyncio.Future[Outcome]
    error: BaseException | None = None
    permanent: bool = False
    backoff: Any = None


@dataclasses.dataclass
class _Running:
    job: Job
    task: asyncio.Task[Outcome]
    claimed_at: float  # time.monotonic() when claimed
    ctx: JobContext | None = None
    stop_reason: StopReason | None = None  # set once: the first reason wins
    #: A sync handler's thread: done when the handler has really returned.
    thread: asyncio.Future[Any] | None = None
    handler_done: bool = False  # the handler returned or raised: its outcome is being recorded


def error_text(error: BaseException) -> str:
    """What fail_job stores: the error line, then the traceback (a NUL, which PostgreSQL text
    cannot hold, written \\x00)."""
    lines = traceback.format_exception(error)
    return _printable(f"{type(error).__name__}: {error}\n\n{''.join(lines)}")


def _printable(text: str) -> str:
    return text.replace("\x00", "\\x00") if "\x00" in text else text


async def call_maybe_async(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn``: await it when it is async, else run it in a thread."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    if inspect.isawaitable(result):
        return await result
    return result


class Worker:
    """Runs the handlers of ``registry`` for jobs of the database at ``conninfo``."""

    def __init__(
        self,
        registry: Registry,
        conninfo: str,
        *,
        concurrency: int = 4,
        poll_interval: float = 2.0,
        lease: timedelta = DEFAULT_LEASE,
        job_expiry: timedelta = DEFAULT_JOB_EXPIRY,
        worker_id: str | None = None,
        shutdown_timeout: float = 30.0,
        orphans: Literal["release", "fail"] = "release",
        on_error: ErrorHandler | None = None,
        max_backoff: float = 10.0,
        schedules: Sequence[schedules_.Schedule] = (),
        scheduler: bool = True,
        schedule_interval: float = 1.0,
        retention: timedelta | None = DEFAULT_RETENTION,
        maintenance_interval: float = 3600.0,
        hooks: WorkerHooks | None = None,
        buffer: int | None = None,
        prepared_statements: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if buffer is not None and buffer < 0:
            raise ValueError("buffer must be 0 or more")
        if lease <= timedelta(0):
            raise ValueError("lease must be positive")
        if orphans not in ("release", "fail"):
            raise ValueError("orphans must be 'release' or 'fail'")
        self.registry = registry
        self.conninfo = conninfo
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease
        self.job_expiry = job_expiry
        self.worker_id = worker_id or default_worker_id()
        #: This process's token for the lease of worker_id (app_jobs.heartbeat's instance): a
        #: second live process with the same worker_id is refused (WorkerIdInUse).
        self.instance = uuid.uuid4()
        self.shutdown_timeout = shutdown_timeout
        self.orphans = orphans
        self.on_error = on_error
        self.max_backoff = max_backoff
        self.schedules = list(schedules)
        self.scheduler = scheduler
        self.schedule_interval = schedule_interval
        self.retention = retention
        self.maintenance_interval = maintenance_interval
        self.hooks: WorkerHooks = hooks if hooks is not None else NoWorkerHooks()
        self.summary = WorkerSummary()
        # Jobs claimed ahead of free slots (get_jobs with started := false): at most `buffer`
        # beyond the running ones; each is recorded started (start_jobs) when a slot frees.
        self.buffer = concurrency if buffer is None else buffer
        # False for a transaction-mode pooler (PgBouncer), which cannot keep prepared statements:
        # pooler mode (PGJOBS_POOLER=transaction, pgjobs worker --pooler) turns them off too.
        self.prepared_statements = prepared_statements and not pooler.transaction_pooler()
        self._buffer: deque[Job] = deque()
        self._starting: set[int] = set()  # popped from the buffer, start_jobs not answered yet
        self._recording = 0  # handlers ended, outcomes waiting for the pump
        self._more = True  # the last claim found as many jobs as it asked for (or a wake-up)
        self._claims_begun = self._claims_done = 0  # claim rounds (for held-but-unknown jobs)
        self._core: psycopg.AsyncConnection[Any] | None = None  # claim, start, finish
        self._idle: asyncio.Event | None = None  # run(once=True): nothing left to do
        self._running: dict[int, _Running] = {}
        # Until this time.monotonic(), claims use get_job: the schema had no app_jobs.get_jobs
        # (before 0.4.0). Checked again a minute later, so an upgrade is noticed.
        self._single_claims_until = 0.0
        # Completions waiting to be recorded together (app_jobs.finish_jobs): (job, result,
        # the future its execute() awaits). None while no pump runs: record one by one.
        self._completions: list[_Pending] | None = None
        self._single_finish = False  # a schema without app_jobs.finish_jobs (before 0.4.0)
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._stop_now: asyncio.Event | None = None
        self._pool: AsyncConnectionPool[Any] | None = None
        self._cancel_check: asyncio.Event | None = None  # a NOTIFY "jobs:cancel" arrived
        self._lease_taken: WorkerIdInUse | None = None  # another process took our worker_id
        self._beat_stop: threading.Event | None = None
        self._leased = False  # this process holds the lease of worker_id
        self._no_instance = False  # a schema before 0.4.0: heartbeat takes no instance token
        #: Sync handlers still running when a stop(now=True) ended the wait: their jobs are not
        #: given back (they return when the lease lapses, after this process exits).
        self._abandoned: list[int] = []
        self._background: set[asyncio.Task[Any]] = set()

    # -- control ------------------------------------------------------------------------------

    def stop(self, *, now: bool = False) -> None:
        """Stop claiming; running jobs finish (up to shutdown_timeout) unless ``now``."""
        if self._stop is None or self._stop_now is None or self._wake is None:
            return
        if now or self._stop.is_set():
            self._stop_now.set()
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        """A stop was asked (stop() or a signal): the worker claims no more."""
        return self._stop is not None and self._stop.is_set()

    @property
    def running_jobs(self) -> int:
        """How many jobs this worker runs now."""
        return len(self._running)

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        if self._pool is None:
            raise RuntimeError("the worker is not running: use run() or session()")
        return self._pool

    # -- the run ------------------------------------------------------------------------------

    async def run(self, *, once: bool = False, batch_size: int | None = None) -> WorkerSummary:
        """Work until :meth:`stop` (or, with ``once``, until nothing is due or ``batch_size``
        jobs were claimed) and return what was done."""
        if not len(self.registry):
            raise ValueError("the worker has no tasks to run: register handlers first")
        async with self.session():
            await self._maintain()  # partitions ahead and the retention, now and periodically
            helpers = await self._start_schedules(once=once)
            helpers.append(asyncio.create_task(self._listen_loop()))  # wake-ups, cancellations
            self._completions = []
            self._idle = asyncio.Event()
            # claims, starts and batched completions, pipelined on one connection
            helpers.append(asyncio.create_task(self._pump(once=once, batch_size=batch_size)))
            if not once:
                helpers.append(asyncio.create_task(self._maintenance_loop()))
            try:
                await self._claim_loop(once=once, batch_size=batch_size)
                await self._drain()
            finally:
                self._completions = None
                self._buffer.clear()
                for helper in helpers:
                    helper.cancel()
                for helper in helpers:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await helper
                await self._close_core()
        if self._lease_taken is not None:
            raise self._lease_taken
        return self.summary

    @contextlib.asynccontextmanager
    async def session(self, *, orphans: bool = True) -> AsyncIterator[Worker]:
        """Open the pool, take the lease of worker_id, deal with orphans, keep the lease alive;
        at exit stop the handlers still running and, once they have really stopped, give back
        whatever this worker still holds and end the lease. :meth:`run` and in-process runs
        (``App.run_now``) use it. Raises :class:`WorkerIdInUse` when another live process
        holds worker_id."""
        self._wake, self._stop, self._stop_now = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._cancel_check = asyncio.Event()
        self._lease_taken, self._leased, self._abandoned = None, False, []
        self._pool = AsyncConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=self.concurrency + 2,
            kwargs={"autocommit": True, **pooler.connect_kwargs()},  # issue 15: PgBouncer
            open=False,
        )
        await self._pool.open(wait=True)
        checks: asyncio.Task[None] | None = None
        try:

            async def check() -> None:
                async with self.pool.connection() as conn:
                    check_schema(await AsyncClient(conn).schema_version())  # SchemaVersionError

            await self._start_step(check, "checking the schema")
            # The lease before the orphans: they are only ours with the lease.
            await self._start_step(self._take_lease, "taking the worker's lease")
            if orphans:
                await self._start_step(self._orphans, "settling the previous life's jobs")
            self._start_heartbeat()
            checks = asyncio.create_task(self._cancel_checks())
            yield self
        finally:
            if checks is not None:
                checks.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await checks
            await self._stop_handlers()  # the lease stays renewed while they stop
            if self._beat_stop is not None:
                self._beat_stop.set()
            if self._leased and self._lease_taken is None and not self._abandoned:
                await self._release("gave back")
                await self._unregister()
            elif self._abandoned:
                log.warning(
                    "exiting while the sync handler(s) of job(s) %s still run: their jobs "
                    "were not given back; they return to the queue when this worker's lease "
                    "lapses (%gs)", ", ".join(map(str, self._abandoned)),
                    self.lease.total_seconds(),
                )  # fmt: skip
            assert self._stop_now is not None
            await self._pool.close(timeout=1.0 if self._stop_now.is_set() else 5.0)
            self._pool = None

    async def _orphans(self) -> None:
        """Settle what an earlier life under this worker_id left, in one call
        (app_jobs.settle_jobs): a job it had started has used its attempt (logged lost, failed
        after max_attempts; failed for good with ``orphans="fail"``), a job it had only
        buffered goes back with its attempt refunded. Before 0.4.0: release_jobs."""
        async with self.pool.connection() as conn:
            client = AsyncClient(conn)
            try:
                settled = await client.settle_jobs(
                    self.worker_id, fail_started=self.orphans == "fail"
                )
            except psycopg.errors.UndefinedFunction:
                await self._orphans_before_0_4(client)
                return
        if not settled:
            return
        counts = Counter(settled.values())
        log.warning(
            "settled %d job(s) an earlier %s left: %s", len(settled), self.worker_id,
            ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())),
        )  # fmt: skip
        self.summary.released += counts["refunded"] + counts["lost"]
        self.summary.failed += counts["failed"]
        self.summary.cancelled += counts["cancelled"]

    async def _orphans_before_0_4(self, client: AsyncClient) -> None:
        if self.orphans == "fail":
            for job_id in await client.heartbeat(self.worker_id, self.lease):
                failed = await client.fail_job(
                    self.worker_id,
                    job_id,
                    f"orphaned: worker {self.worker_id} restarted while running this job",
                    permanent=True,
                )
                if failed is not None:
                    log.warning("failed job %d, an orphan of an earlier life", job_id)
                    self.summary.failed += 1
        orphans = await client.release_jobs(self.worker_id)
        if orphans:
            log.warning(
                "released %d job(s) an earlier %s left locked", len(orphans), self.worker_id
            )
            self.summary.released += len(orphans)

    async def _claim_loop(self, *, once: bool, batch_size: int | None) -> None:
        """Until stop() (or, with ``once``, until nothing is due or ``batch_size`` jobs were
        claimed): the pump (:meth:`_pump`) claims, starts and records."""
        assert self._stop is not None and self._idle is not None
        waits = [asyncio.create_task(self._stop.wait())]
        if once:
            waits.append(asyncio.create_task(self._idle.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _woken(self) -> None:
        """A wake-up (NOTIFY, the scheduler, the poll): there may be jobs to claim."""
        self._more = True
        if self._wake is not None:
            self._wake.set()

    async def _pump(self, *, once: bool, batch_size: int | None) -> None:
        """The worker's one connection to the queue. Each round sends, pipelined in one round
        trip and one transaction: the completions waiting to be recorded (finish_jobs), the
        buffered jobs that start now in free slots (start_jobs), a claim for the slots still
        free (get_jobs, started) and one that refills the buffer (get_jobs, started :=
        false). Completions that arrive while a round is in flight go in the next one, so
        batches grow with the load and an idle worker records at once. A round with nothing to
        do waits for a wake-up (NOTIFY, a job ending) or ``poll_interval``."""
        assert self._wake is not None and self._stop is not None and self._idle is not None
        assert self._completions is not None
        tasks = self.registry.names()
        claimed_total = 0
        backoff = 0.1
        while True:
            self._wake.clear()
            finishes = self._completions[:1000]
            del self._completions[:1000]
            to_start, now, ahead = self._plan(batch_size, claimed_total)
            if not (finishes or to_start or now or ahead):
                if once and not self._more and not self._running and not self._buffer:
                    self._idle.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
                if not self._wake.is_set():
                    self._more = True  # the poll: delayed jobs may be due, a NOTIFY missed
                continue
            self._starting.update(job.id for job in to_start)
            claiming = bool(now or ahead)
            self._claims_begun += claiming
            try:
                started, run_now, buffered = await self._round(
                    tasks, finishes, to_start, now, ahead
                )
            except Exception as error:
                await self._round_failed(error, finishes, to_start, backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            finally:
                self._starting.difference_update(job.id for job in to_start)
                self._claims_done += claiming
            backoff = 0.1
            if len(run_now) < now or len(buffered) < ahead:
                self._more = False
            claimed_total += len(run_now) + len(buffered)
            if self._stop.is_set():  # stopped meanwhile: given back with the rest at the end
                self._buffer.extend(job for job in to_start if job.id in started)
                self._buffer.extend([*run_now, *buffered])
                continue
            for job in to_start:
                if job.id in started:
                    self.start(job)
                else:  # taken back meanwhile (say its lease lapsed): not ours to run
                    self.summary.lost += 1
            for job in run_now:
                self.start(job)
            self._buffer.extend(buffered)

    def _plan(self, batch_size: int | None, claimed_total: int) -> tuple[list[Job], int, int]:
        """What the next round does: the buffered jobs that start in free slots, how many jobs
        to claim to run now (the slots still free), how many to claim into the buffer (up to
        ``buffer``, none while the worker is idle: it claims what it runs). Nothing once
        stopping, nor claims after a claim found fewer jobs than it asked (until a wake-up)."""
        assert self._stop is not None
        if self._stop.is_set():
            return [], 0, 0
        to_start: list[Job] = []
        # A job whose handler has ended and whose outcome waits for a round no longer takes a
        # slot: the next job starts in the round that records it.
        free = self.concurrency - len(self._running) + self._recording
        while free > 0 and self._buffer:
            to_start.append(self._buffer.popleft())
            free -= 1
        if not self._more:
            return to_start, 0, 0
        room = 1 << 30 if batch_size is None else batch_size - claimed_total
        if room <= 0:
            self._more = False
            return to_start, 0, 0
        now = min(free, room)
        ahead = 0
        # Refilled when down to half (claims of many jobs at once), never while idle: an idle
        # worker claims what it runs.
        if now < self.concurrency and len(self._buffer) <= self.buffer // 2:
            ahead = min(self.buffer - len(self._buffer), room - now)
        return to_start, now, ahead

    async def _round_failed(
        self,
        error: Exception,
        finishes: list[_Pending],
        to_start: list[Job],
        backoff: float,
    ) -> None:
        """Unreachable database (RETRYABLE), or an error from a statement of the round:
        nothing of the round was applied (one transaction). Starts go back to the buffer and
        completions are retried (both are idempotent), or, when the error is not the
        connection's, recorded one by one so that one that cannot be recorded fails alone;
        the claims are asked again in the next round."""
        assert self._completions is not None and self._stop_now is not None
        self._buffer.extendleft(reversed(to_start))
        await self._report(error, "claiming, starting and recording jobs")
        await self._close_core()
        if not isinstance(error, RETRYABLE):
            await self._round_apart(finishes)
        elif self._stop_now.is_set():
            _resolve(finishes, {})  # stopping now: not recorded, the jobs are lost
        else:
            self._completions[:0] = finishes
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_now.wait(), backoff)

    async def _round(
        self,
        tasks: list[str],
        finishes: list[_Pending],
        to_start: list[Job],
        now: int,
        ahead: int,
    ) -> tuple[set[int], list[Job], list[Job]]:
        """One pipelined round (see :meth:`_pump`); resolves the finishes' futures and returns
        (ids started, jobs claimed to run now, jobs claimed into the buffer)."""
        if time.monotonic() < self._single_claims_until or self._single_finish:
            return await self._round_before_0_4(tasks, finishes, to_start, now, ahead)
        conn = await self._core_connection()
        claim = {"worker_id": self.worker_id, "task_identifiers": tasks,
                 "job_expiry": self.job_expiry}  # fmt: skip
        cursors: dict[str, psycopg.AsyncCursor[dict[str, Any]]] = {}
        try:
            async with conn.pipeline():
                if finishes:
                    cursors["finish"] = cur = conn.cursor(row_factory=dict_row)
                    await cur.execute(
                        queries.FINISH_OUTCOMES, _finish_params(self.worker_id, finishes)
                    )
                if to_start:
                    cursors["start"] = cur = conn.cursor(row_factory=dict_row)
                    ids = [job.id for job in to_start]
                    await cur.execute(
                        queries.START_JOBS, {"worker_id": self.worker_id, "job_ids": ids}
                    )
                if now:
                    cursors["now"] = cur = conn.cursor(row_factory=dict_row)
                    await cur.execute(
                        queries.GET_JOBS_CLAIM, {**claim, "batch_size": now, "started": True}
                    )
                if ahead:
                    cursors["ahead"] = cur = conn.cursor(row_factory=dict_row)
                    await cur.execute(
                        queries.GET_JOBS_CLAIM, {**claim, "batch_size": ahead, "started": False}
                    )
        except psycopg.errors.UndefinedFunction:  # fmt: skip
            log.info("app_jobs.get_jobs(started) is missing (a schema before 0.4.0): get_job")
            self._single_claims_until = time.monotonic() + 60.0
            return await self._round_before_0_4(tasks, finishes, to_start, now, ahead)
        applied: dict[int, str] = {}
        if "finish" in cursors:
            for row in await cursors["finish"].fetchall():
                applied[int(row["job_id"])] = str(row["status"])
        started: set[int] = set()
        if "start" in cursors:
            [row] = await cursors["start"].fetchall()
            started = set(row["started"])
        run_now = [self._decoded(row) for row in await cursors["now"].fetchall()] if now else []
        buffered = (
            [self._decoded(row) for row in await cursors["ahead"].fetchall()] if ahead else []
        )
        _resolve(finishes, applied)
        return started, run_now, buffered

    async def _round_before_0_4(
        self,
        tasks: list[str],
        finishes: list[_Pending],
        to_start: list[Job],
        now: int,
        ahead: int,
    ) -> tuple[set[int], list[Job], list[Job]]:
        """A schema before 0.4.0: complete_job each, get_job each, no buffer (every claim is a
        start); the rolling-upgrade fallback."""
        done = [p for p in finishes if p.error is None]
        if done:
            _resolve(done, await self._finish_batch([(p.job.id, p.result) for p in done]))
        for p in finishes:
            if p.error is not None:
                p.future.set_result(
                    await self._record_apart(p.job, None, p.error, p.permanent, p.backoff)
                )
        jobs = await self._claim(tasks, now) if now else []
        return {job.id for job in to_start}, jobs, []

    async def _round_apart(self, finishes: list[_Pending]) -> None:
        """A round failed for another reason than the connection: record its completions one
        by one, so one that cannot be recorded fails alone (and never stays held)."""
        for p in finishes:
            if not p.future.done():
                p.future.set_result(
                    await self._record_apart(p.job, p.result, p.error, p.permanent, p.backoff)
                )

    async def _core_connection(self) -> psycopg.AsyncConnection[Any]:
        if self._core is None or self._core.closed:
            conn = await psycopg.AsyncConnection.connect(
                self.conninfo,
                autocommit=True,
                prepare_threshold=0 if self.prepared_statements else None,
            )
            # Payloads come as text and are decoded per job (_decoded): one payload Python
            # cannot decode fails its own job, not the batch it came in.
            conn.adapters.register_loader("json", TextLoader)
            conn.adapters.register_loader("jsonb", TextLoader)
            self._core = conn
        return self._core

    async def _close_core(self) -> None:
        core, self._core = self._core, None
        if core is not None:
            with contextlib.suppress(Exception):
                await core.close()

    @staticmethod
    def _decoded(row: dict[str, Any]) -> Job:
        payload = row.get("payload")
        if isinstance(payload, str):
            try:
                row["payload"] = json.loads(payload)
            except (ValueError, RecursionError, MemoryError) as error:
                row["payload"] = Undecodable(error)
        return Job.from_row(row)

    async def _claim(self, tasks: list[str], count: int) -> list[Job]:
        """Up to ``count`` jobs in one get_jobs call (one round trip, one transaction). On a
        schema older than 0.4.0, which has no get_jobs, the worker falls back to get_job, one
        call per job (rolling upgrades: a new worker runs on the older compatible schema)."""
        async with self.pool.connection() as conn:
            client = AsyncClient(conn)
            if time.monotonic() >= self._single_claims_until:
                try:
                    return await client.get_jobs(self.worker_id, tasks, self.job_expiry, count)
                except psycopg.errors.UndefinedFunction:
                    log.info("app_jobs.get_jobs is missing (a schema before 0.4.0): get_job")
                    self._single_claims_until = time.monotonic() + 60.0
            jobs = []
            for _ in range(count):
                job = await client.get_job(self.worker_id, tasks, self.job_expiry)
                if job is None:
                    break
                jobs.append(job)
            return jobs

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up for stop()."""
        assert self._stop is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    def start(self, job: Job) -> asyncio.Task[Outcome]:
        """Run a job this worker has claimed, as one of its running jobs."""
        self.summary.claimed += 1
        task = asyncio.create_task(self.execute(job), name=f"pgjobs job {job.id}")
        self._running[job.id] = _Running(job, task, time.monotonic())

        def done(_: asyncio.Task[Outcome], job_id: int = job.id) -> None:
            self._running.pop(job_id, None)
            if self._wake is not None:
                self._wake.set()

        task.add_done_callback(done)
        return task

    # -- one job ------------------------------------------------------------------------------

    def context(self, task: Task, job: Job) -> JobContext:
        async def progress(percent: float | None, message: str | None) -> bool:
            async with self.pool.connection() as conn:
                return await AsyncClient(conn).set_progress(
                    self.worker_id, job.id, percent, message
                )

        ctx = JobContext(
            job_id=job.id,
            task=job.task_identifier,
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            payload=job.payload,
            worker_id=self.worker_id,
            logger=log.getChild(job.task_identifier),
            dsn=self.conninfo,
            fire_time=job.fire_time,
            database_id=job.database_id,
            correlation_id=job.correlation_id,  # tasks helper
            _connect=self.pool.connection,
            _progress=progress,
            _loop=asyncio.get_running_loop(),
        )
        running = self._running.get(job.id)
        if running is not None:
            running.ctx = ctx
            if running.stop_reason is not None:  # asked to stop before it started
                ctx.cancelled.set()
        return ctx

    async def execute(self, job: Job) -> Outcome:
        """Run the handler of a job this worker holds and record how it ended."""
        started = time.monotonic()
        self.hooks.job_started(job.task_identifier, job.queue_name)
        try:
            outcome = await self._execute(job)
        except BaseException:
            # Stopped before an outcome was recorded (the worker is stopping): the database
            # decides what happens to the job; for the hooks, it is lost here.
            self.hooks.job_lost(job.task_identifier, job.queue_name, time.monotonic() - started)
            raise
        self._finished(job, outcome, time.monotonic() - started)
        return outcome

    def _finished(self, job: Job, outcome: Outcome, duration: float) -> None:
        """One log line per finished job (and the traceback of a failed attempt); the hook."""
        task, queue, status = job.task_identifier, job.queue_name, outcome.status
        hook = {
            "completed": self.hooks.job_completed,
            "retrying": self.hooks.job_retried,
            "failed": self.hooks.job_failed,
            "cancelled": self.hooks.job_cancelled,
            "lost": self.hooks.job_lost,
        }[status]
        hook(task, queue, duration)
        # A retry is routine (INFO, with its traceback); a job failed for good or lost, a warning.
        level = logging.WARNING if status in ("failed", "lost") else logging.INFO
        if not log.isEnabledFor(level):
            return
        error = outcome.error
        first = ""
        if error is not None:
            lines = str(error).strip().splitlines()
            first = f": {type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
        exc_info = error if status in ("retrying", "failed") and error is not None else None
        log.log(
            level,
            "job %d %s attempt %d/%d %s in %.3fs%s",
            job.id, task, job.attempts, job.max_attempts, status, duration, first,
            exc_info=exc_info,
            extra={
                "job_id": job.id, "task": task, "queue": queue, "attempt": job.attempts,
                "outcome": status, "duration": round(duration, 6),
            },
        )  # fmt: skip

    async def _execute(self, job: Job) -> Outcome:
        task = self.registry.get(job.task_identifier)
        if task is None:
            missing = LookupError(f"no handler for task {job.task_identifier!r} in this worker")
            return await self._record(None, job, error=missing)
        if isinstance(job.payload, Undecodable):
            undecodable = InvalidPayload(
                f"job {job.id}: its payload cannot be decoded ({type(job.payload.error).__name__}:"
                f" {job.payload.error}), so it can never succeed"
            )
            return await self._record(task, job, error=undecodable, permanent=True)
        try:
            payload = task.payload.load(job.payload)
        except ValueError as invalid:
            error = InvalidPayload(
                f"job {job.id}: the payload does not match {task.payload.type!r} of task "
                f"{task.name!r}, so it can never succeed: {invalid}"
            )
            return await self._record(task, job, error=error, permanent=True)
        ctx = self.context(task, job)
        timer = self._arm_timeout(job, task)
        failure: BaseException | None = None
        result: Any = None
        try:
            value = await self._call_handler(task, payload, ctx, job)
            result = check_result(task, value)
        except asyncio.CancelledError:
            assert self._stop_now is not None
            if self._stop_now.is_set() or self._stop_reason(job.id) in (None, "stop"):
                raise  # stopping: the job is given back once every handler has stopped
        except Exception as error:
            failure = error
        finally:
            if timer is not None:
                timer.cancel()
            running = self._running.get(job.id)
            if running is not None:
                running.handler_done = True
        return await self._conclude(task, job, result, failure)

    async def _conclude(
        self, task: Task, job: Job, result: Any, failure: BaseException | None
    ) -> Outcome:
        """Record how the handler ended. Once asked to stop, what it returned or raised is
        not recorded: why it was stopped is."""
        reason = self._stop_reason(job.id)
        if self._lease_taken is not None:
            return Outcome(job.id, "lost", None, failure)  # the job may be another process's
        if reason == "stop":
            raise asyncio.CancelledError("stopping: the job is given back")
        if reason == "cancel":
            # Cancelled on request (or lost): fail_job records a cancel-requested job
            # cancelled, and refuses one the database took back.
            stopped = asyncio.CancelledError("cancelled: the handler was stopped on request")
            return await self._record(task, job, error=stopped)
        if reason == "timeout":
            limit = _timeout_of(job, task)
            timed_out = JobTimeout(
                f"job {job.id} ({job.task_identifier}) ran longer than its timeout of "
                f"{limit.total_seconds() if limit else 0:g}s: the handler was stopped"
            )
            return await self._record(task, job, error=timed_out)
        if failure is not None:
            return await self._record(task, job, error=failure)
        return await self._record(task, job, result=result)

    def _stop_reason(self, job_id: int) -> StopReason | None:
        running = self._running.get(job_id)
        return None if running is None else running.stop_reason

    def _arm_timeout(self, job: Job, task: Task) -> asyncio.TimerHandle | None:
        """The job's timeout (its own, else its task's): stop the handler when it passes."""
        limit = _timeout_of(job, task)
        if limit is None:
            return None
        loop = asyncio.get_running_loop()
        return loop.call_later(limit.total_seconds(), self._stop_handler, job.id, "timeout")

    async def _call_handler(self, task: Task, payload: Any, ctx: JobContext, job: Job) -> Any:
        """Run the handler: an async one on the event loop, a sync one in a thread of its own
        (a daemon thread: one that never returns cannot keep the process from exiting). A
        sync handler is never abandoned while its job is held: when its task is asked to stop,
        it waits for the thread (``ctx.cancelled`` tells the handler to return)."""
        if task.is_async:
            return await task.call(payload, ctx)
        thread = self._in_thread(task, payload, ctx, job)
        running = self._running.get(job.id)
        if running is not None:
            running.thread = thread
            if running.stop_reason is not None:
                self._watch_ignored(running, thread)
        value = await asyncio.shield(thread)
        return await value if inspect.isawaitable(value) else value

    @staticmethod
    def _in_thread(task: Task, payload: Any, ctx: JobContext, job: Job) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        # Retrieved even when nobody awaits it any more (a stop that could not wait).
        future.add_done_callback(lambda f: f.cancelled() or f.exception())

        def settle(value: Any, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

        def target() -> None:
            value, error = None, None
            try:
                value = task.call(payload, ctx)
            except Exception as raised:
                error = raised
            except BaseException as raised:  # SystemExit, KeyboardInterrupt in a handler
                error = RuntimeError(f"the handler raised {raised!r}")
            with contextlib.suppress(RuntimeError):  # the loop is closed: the process exits
                loop.call_soon_threadsafe(settle, value, error)

        context = contextvars.copy_context()
        threading.Thread(
            target=context.run, args=(target,), name=f"pgjobs job {job.id}", daemon=True
        ).start()
        return future

    async def _record(
        self,
        task: Task | None,
        job: Job,
        *,
        result: Any = None,
        error: BaseException | None = None,
        permanent: bool = False,
    ) -> Outcome:
        """complete_job or fail_job, with the task's listeners in the same transaction;
        retried while the database is unreachable."""
        listened = task is not None and any(
            self.registry.listeners(e, task.name) for e in ("success", "failure", "attempt")
        )
        backoff = 0.1
        batched = not listened and self._completions is not None
        if batched:
            # Recorded with others in the pump's next round (one finish_jobs call, as soon as
            # the round in flight returns), unless listeners must run in the transaction
            # that records it.
            assert self._completions is not None and self._wake is not None
            future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
            backoff_ = None if task is None else task.backoff
            self._completions.append(_Pending(job, result, future, error, permanent, backoff_))
            self._wake.set()
            self._recording += 1
            try:
                outcome = await future
            finally:
                self._recording -= 1
        while not batched:
            try:
                async with self.pool.connection() as conn:
                    backoff_ = None if task is None else task.backoff
                    if not listened:
                        outcome = await self._finish(conn, job, result, error, permanent, backoff_)
                    else:
                        assert task is not None
                        async with conn.transaction():
                            outcome = await self._finish(
                                conn, job, result, error, permanent, backoff_
                            )
                            await self._fire(task, job, outcome, conn)
                break
            except RETRYABLE as lost:
                await self._report(lost, f"recording the outcome of job {job.id}")
                assert self._stop_now is not None
                if self._stop_now.is_set():
                    outcome = Outcome(job.id, "lost", result, error)
                    break
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception as recording:
                # Not the connection: the outcome itself cannot be recorded (say a result
                # jsonb cannot hold). Never hold the job silently.
                await self._report(recording, f"recording the outcome of job {job.id}")
                outcome = await self._record_recording_error(job, recording, error)
                break
        if outcome.status == "lost":
            self.summary.lost += 1
        elif outcome.status == "completed":
            self.summary.completed += 1
        elif outcome.status == "cancelled":
            self.summary.cancelled += 1
        else:
            self.summary.failed += 1
        return outcome

    async def _record_apart(
        self, job: Job, result: Any, error: BaseException | None, permanent: bool, backoff: Any
    ) -> Outcome:
        """Record one outcome on its own (a pooled connection); an error while recording it
        becomes a failure carrying that error (see _record_recording_error)."""
        try:
            async with self.pool.connection() as conn:
                return await self._finish(conn, job, result, error, permanent, backoff)
        except Exception as recording:
            await self._report(recording, f"recording the outcome of job {job.id}")
            return await self._record_recording_error(job, recording, error)

    async def _record_recording_error(
        self, job: Job, recording: BaseException, error: BaseException | None
    ) -> Outcome:
        """The outcome of a job could not be recorded: record a failure of its attempt that
        carries the recording error (retried as any failure), or, when even that fails, give
        the job back (settle_jobs). Whatever happens, the worker never holds it silently; the
        last resort is its lease (the job is no longer in this worker's hands, so the
        heartbeat's check of held jobs gives it back)."""
        message = _printable(
            f"{type(recording).__name__} while recording the outcome of job {job.id}: "
            f"{recording}" + ("" if error is None else f"\n\nthe outcome: {error_text(error)}")
        )
        try:
            async with self.pool.connection() as conn:
                failed = await AsyncClient(conn).fail_job(self.worker_id, job.id, message)
            if failed is None:
                return Outcome(job.id, "lost", None, error or recording)
            return Outcome(job.id, failed_outcome(failed), None, recording)
        except Exception as again:
            await self._report(again, f"recording the failure of job {job.id}")
        try:
            async with self.pool.connection() as conn:
                await AsyncClient(conn).settle_jobs(self.worker_id, [job.id])
        except Exception as given_back:
            await self._report(given_back, f"giving back job {job.id}")
        return Outcome(job.id, "lost", None, error or recording)

    async def _finish(
        self,
        conn: psycopg.AsyncConnection[Any],
        job: Job,
        result: Any,
        error: BaseException | None,
        permanent: bool,
        backoff: Any = None,
    ) -> Outcome:
        client = AsyncClient(conn)
        if error is None:
            done = await client.complete_job(self.worker_id, job.id, result)
            if done is None:
                return Outcome(job.id, "lost", result)
            return Outcome(job.id, "completed", result)
        failed = await client.fail_job(
            self.worker_id, job.id, error_text(error), error_details(error), backoff,
            permanent=permanent,
        )  # fmt: skip
        if failed is None:
            return Outcome(job.id, "lost", None, error)
        return Outcome(job.id, failed_outcome(failed), None, error)

    async def _finish_batch(self, pairs: list[tuple[int, Any]]) -> dict[int, str]:
        async with self.pool.connection() as conn:
            client = AsyncClient(conn)
            if not self._single_finish:
                try:
                    return await client.finish_jobs(self.worker_id, pairs)
                except psycopg.errors.UndefinedFunction:
                    log.info("app_jobs.finish_jobs is missing (before 0.4.0): complete_job")
                    self._single_finish = True
            applied = {}
            for job_id, result in pairs:
                if await client.complete_job(self.worker_id, job_id, result) is not None:
                    applied[job_id] = "completed"
            return applied

    async def _fire(
        self, task: Task, job: Job, outcome: Outcome, conn: psycopg.AsyncConnection[Any]
    ) -> None:
        """Call the task's listeners of this outcome, inside its recording transaction."""
        status = outcome.status
        if status == "lost" or status == "cancelled":
            return
        events: list[Event] = ["attempt"]
        if outcome.status == "completed":
            events.append("success")
        elif outcome.status == "failed":
            events.append("failure")
        for name in events:
            for listener in self.registry.listeners(name, task.name):
                event = JobEvent(
                    name, job, status, job.attempts, outcome.result, outcome.error, conn
                )
                try:
                    async with conn.transaction():  # a savepoint: a failing listener undoes
                        await call_maybe_async(listener, event)  # only its own writes
                except RETRYABLE:
                    raise
                except Exception as error:
                    await self._report(error, f"the {name} listener of task {task.name!r}")

    async def _report(self, error: BaseException, where: str) -> None:
        """An error outside handlers: logged, and passed to on_error."""
        log.warning("error while %s: %s", where, error)
        if self.on_error is None:
            return
        try:
            await call_maybe_async(self.on_error, error, where)
        except Exception:
            log.exception("the on_error handler failed")

    # -- schedules ----------------------------------------------------------------------------
    async def _start_step(self, step: Callable[[], Awaitable[Any]], what: str) -> None:
        """A start-up step, tried again (up to 5 times, 0.2 s then doubling) when its
        connection is lost: a network blip at start must not stop the worker."""
        for attempt in range(5):
            try:
                await step()
                return
            except psycopg.OperationalError as exc:
                if attempt == 4:
                    raise
                first = (str(exc).strip().splitlines() or [""])[0]
                log.warning("error while %s (trying again): %s", what, first)
                await asyncio.sleep(0.2 * 2**attempt)

    async def _start_schedules(self, *, once: bool) -> list[asyncio.Task[None]]:
        """Declare the app's schedules; tick once now (a --once run fires what is due too) and,
        unless once, return the background scheduler loop."""

        async def declare() -> None:
            async with self.pool.connection() as conn:  # the task settings first
                await settings.declare(conn, self.registry)
            if self.schedules:
                async with self.pool.connection() as conn:
                    await schedules_.AsyncSchedules(conn).declare(self.schedules)

        await self._start_step(declare, "declaring the task settings and schedules")
        if not self.scheduler:
            return []
        await self._start_step(lambda: scheduler.tick(self.pool), "running due schedules")

        def enqueued() -> None:
            self._woken()

        if once:
            return []
        loop = scheduler.scheduler_loop(self.pool, self.schedule_interval, enqueued)
        return [asyncio.create_task(loop)]

    # -- lease --------------------------------------------------------------------------------

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between two renewals of the lease: a quarter of it."""
        return self.lease.total_seconds() / 4

    async def _take_lease(self) -> None:
        """The first heartbeat, with this process's instance token. While another live
        process holds worker_id it is refused: when that lease is renewed meanwhile (the holder
        is alive) raise WorkerIdInUse; when it lapses (the holder crashed) take it over. So a
        restart after a crash waits at most one lease, and says so."""
        assert self._stop is not None
        refusal: tuple[str, str] | None = None
        since = time.monotonic()
        while True:
            try:
                async with self.pool.connection() as conn:
                    await self._renew_async(AsyncClient(conn))
            except WorkerIdInUse as refused:
                seen = (refused.message, refused.detail)
                waited = time.monotonic() - since
                if refusal is None:
                    refusal = seen
                    log.warning(
                        "worker id %s is held by another process (%s): waiting for its lease "
                        "to lapse, in case that process is gone (at most one lease)",
                        self.worker_id, refused.detail.rstrip("."),
                    )  # fmt: skip
                elif seen != refusal or waited > 2 * self.lease.total_seconds() + 10:
                    raise WorkerIdInUse(
                        f"worker id {self.worker_id!r} is in use by another live process "
                        "(it renewed its lease while this one waited): give each worker "
                        "process its own --worker-id",
                        sqlstate="PJ307",
                    ) from refused
                await self._pause(min(0.5, self.heartbeat_interval / 2))
                if self._stop.is_set():
                    raise
                continue
            if refusal is not None:
                log.warning(
                    "worker id %s: the earlier process's lease lapsed %.1fs later: this process "
                    "holds it now", self.worker_id, time.monotonic() - since,
                )  # fmt: skip
            self._leased = True
            self.hooks.heartbeat()
            return

    def _instance(self) -> uuid.UUID | None:
        return None if self._no_instance else self.instance

    async def _renew_async(self, client: AsyncClient) -> set[int]:
        try:
            return set(await client.heartbeat(self.worker_id, self.lease, self._instance()))
        except psycopg.errors.UndefinedFunction:
            if self._no_instance:
                raise
            log.info("app_jobs.heartbeat takes no instance (a schema before 0.4.0)")
            self._no_instance = True
            return set(await client.heartbeat(self.worker_id, self.lease))

    async def _heartbeat(self) -> None:
        """One heartbeat from the event loop (at start and when checking for cancellations);
        the periodic ones come from the heartbeat thread."""
        sent = time.monotonic()
        claims = (self._claims_begun, self._claims_done)
        async with self.pool.connection() as conn:
            held = await self._renew_async(AsyncClient(conn))
        self._beaten(held, sent, claims)

    def _beaten(
        self, held: set[int] | list[int], sent: float, claims: tuple[int, int] | None = None
    ) -> None:
        """A heartbeat answered: stop the handlers of the jobs it did not list; give back the
        jobs it listed that this worker does not know (a claim whose reply was lost)."""
        self.hooks.heartbeat()
        held = set(held)
        if claims is not None:
            self._spawn(self._settle_unknown(held, claims))
        for job_id, running in list(self._running.items()):
            # A job claimed after the heartbeat was sent may not be in its answer yet.
            if running.claimed_at < sent and job_id not in held:
                # Taken back (the lease lapsed), or its cancellation was requested: stop the
                # handler; fail_job then records which (cancelled, or refused: lost).
                self.request_cancel(job_id)

    def _start_heartbeat(self) -> None:
        self._beat_stop = threading.Event()
        threading.Thread(
            target=self._beat,
            args=(asyncio.get_running_loop(), self._beat_stop),
            name=f"pgjobs heartbeat {self.worker_id}",
            daemon=True,
        ).start()

    def _beat(self, loop: asyncio.AbstractEventLoop, stopped: threading.Event) -> None:
        """The heartbeat thread: renews the lease every heartbeat_interval on a connection of
        its own, so that neither a full pool nor a busy event loop delays it. What the answers
        mean is handled on the event loop."""
        conn: psycopg.Connection[Any] | None = None

        def on_loop(fn: Callable[..., Any], *args: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the worker is done
                loop.call_soon_threadsafe(fn, *args)

        try:
            while not stopped.wait(self.heartbeat_interval):
                sent = time.monotonic()
                claims = (self._claims_begun, self._claims_done)  # ints: read atomically
                try:
                    if conn is None or conn.closed:
                        timeout = max(2, int(self.lease.total_seconds() / 2))
                        conn = psycopg.connect(
                            self.conninfo, autocommit=True, connect_timeout=timeout
                        )
                    held = Client(conn).heartbeat(self.worker_id, self.lease, self._instance())
                except WorkerIdInUse as taken:
                    on_loop(self._lost_lease, taken)
                    return
                except (psycopg.Error, OSError) as error:
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            conn.close()
                        conn = None
                    on_loop(self._spawn, self._report(error, "renewing the lease (heartbeat)"))
                    continue
                if not stopped.is_set():
                    on_loop(self._beaten, held, sent, claims)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def _lost_lease(self, taken: WorkerIdInUse) -> None:
        """Another process took worker_id over (this one's lease lapsed: was it paused?). Its
        jobs may be that process's now, under the same worker_id: stop at once, recording
        nothing and giving nothing back."""
        if self._lease_taken is not None:
            return
        log.error(
            "worker id %s was taken over by another process after this one's lease lapsed: "
            "stopping now, recording nothing (%s)", self.worker_id, taken.message,
        )  # fmt: skip
        self._lease_taken = taken
        for job_id in list(self._running):
            self._stop_handler(job_id, "stop")
        self.stop(now=True)

    def _spawn(self, coro: Any) -> None:
        """Run a coroutine in the background, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _settle_unknown(self, held: set[int], claims: tuple[int, int]) -> None:
        try:
            await self._give_back_unknown(held, claims)
        except (psycopg.Error, OSError) as error:
            await self._report(error, "giving back jobs held in this worker's name")

    async def _give_back_unknown(self, held: set[int], claims: tuple[int, int]) -> None:
        """Jobs the database says this worker holds but the worker does not know (a claim
        whose reply was lost, a claim_job made in its name) are given back by the same rule
        as at start (settle_jobs): never held silently under a live lease. Only when no claim
        was in flight while the heartbeat ran, so a claim's answer not yet read is not
        taken for one that was lost."""
        begun, done = claims
        if self._completions is None:  # no pump (App.run_now claims by id on its own)
            return
        if begun != done or (self._claims_begun, self._claims_done) != claims:
            return
        known = self._running.keys() | {job.id for job in self._buffer} | self._starting
        if self._completions is not None:
            known |= {p.job.id for p in self._completions}
        unknown = held - known
        if not unknown:
            return
        try:
            async with self.pool.connection() as conn:
                settled = await AsyncClient(conn).settle_jobs(self.worker_id, sorted(unknown))
        except psycopg.errors.UndefinedFunction:
            return  # a schema before 0.4.0: the lease lapses when the worker stops
        if settled:
            log.warning(
                "gave back %d job(s) held in this worker's name that it did not know of: %s",
                len(settled), ", ".join(f"{i} {o}" for i, o in sorted(settled.items())),
            )  # fmt: skip
            self.summary.released += len(settled)

    def request_cancel(self, job_id: int) -> None:
        """Stop the handler of a running job (cancel_job, or gone from the heartbeat)."""
        self._stop_handler(job_id, "cancel")

    def _stop_handler(self, job_id: int, reason: StopReason) -> None:
        """Ask a running handler to stop: ``ctx.cancelled`` is set; an async handler is
        cancelled; a sync one runs on until it returns (its job stays held meanwhile), and is
        reported when it still runs CANCEL_GRACE seconds later."""
        running = self._running.get(job_id)
        if running is None or running.stop_reason is not None:
            return
        running.stop_reason = reason
        if running.ctx is not None:
            running.ctx.cancelled.set()  # else context() sets it
        task = self.registry.get(running.job.task_identifier)
        if task is not None and not task.is_async:
            # Never cancelled: a sync handler is waited for (its thread may be starting).
            if running.thread is not None:
                self._watch_ignored(running, running.thread)
            return
        if not running.handler_done:
            running.task.cancel()

    def _watch_ignored(self, running: _Running, thread: asyncio.Future[Any]) -> None:
        asyncio.get_running_loop().call_later(CANCEL_GRACE, self._ignored, running, thread)

    def _ignored(self, running: _Running, thread: asyncio.Future[Any]) -> None:
        if thread.done():
            return
        job = running.job
        self._spawn(
            self._report(
                RuntimeError(
                    f"job {job.id} ({job.task_identifier}): its sync handler still runs "
                    f"{CANCEL_GRACE:g}s after ctx.cancelled was set ({running.stop_reason}): it "
                    "ignores its cancel flag; the job stays held by this worker until it returns"
                ),
                f"stopping job {job.id}",
            )
        )

    async def _cancel_checks(self) -> None:
        """What to cancel is read from the database, never from a notification: NOTIFY
        "jobs:cancel" (which any role can send) only wakes this loop, which asks heartbeat
        which jobs to go on running. Notifications arriving during a check make one more."""
        assert self._cancel_check is not None
        while True:
            await self._cancel_check.wait()
            self._cancel_check.clear()
            if not self._running:
                continue
            try:
                await self._heartbeat()
            except WorkerIdInUse as taken:
                self._lost_lease(taken)
                return
            except (psycopg.Error, OSError) as error:
                await self._report(error, "checking for cancelled jobs (heartbeat)")
            await asyncio.sleep(0.05)  # a flood of notifications costs at most 20 checks/s

    # -- wake-ups -----------------------------------------------------------------------------

    async def _listen_loop(self) -> None:
        backoff = 0.1
        while True:
            try:
                if (listen := pooler.listen_conninfo(self.conninfo)) is None:
                    return  # issue 15: a transaction pooler and no direct listen DSN: poll
                async with await psycopg.AsyncConnection.connect(listen, autocommit=True) as conn:
                    await conn.execute(f'LISTEN "{CHANNEL}"')
                    await conn.execute(f'LISTEN "{CANCEL_CHANNEL}"')
                    backoff = 0.1
                    self._woken()  # whatever arrived while not listening
                    if self._cancel_check is not None:
                        # A cancel_job sent before LISTEN took effect (at start, or while
                        # reconnecting) was not heard: the heartbeat leaves out the jobs whose
                        # cancellation was requested, so one now stops their handlers.
                        self._cancel_check.set()
                    async for note in conn.notifies():
                        if note.channel == CANCEL_CHANNEL:
                            # Only a wake-up: the payload is not trusted (anyone can NOTIFY).
                            if self._cancel_check is not None:
                                self._cancel_check.set()
                        else:
                            self._woken()
            except (psycopg.Error, OSError) as error:
                await self._report(error, f"listening (reconnecting in {backoff:.1f}s)")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    # -- maintenance --------------------------------------------------------------------------

    async def _maintain(self) -> None:
        """Make the day partitions of job_history ahead (app_jobs.create_history_partitions)
        and apply the retention (app_jobs.cleanup_jobs); errors are reported, never fatal:
        finished jobs go to job_history_default meanwhile."""
        try:
            async with self.pool.connection() as conn:
                client = AsyncClient(conn)
                made = await client.create_history_partitions(HISTORY_DAYS_AHEAD)
                if made:
                    log.info("created %d day partition(s) of app_jobs.job_history", made)
                if self.retention is not None:
                    removed = await client.cleanup_jobs(self.retention)
                    if removed.deleted_jobs or removed.deleted_attempts:
                        log.info("retention %s: %s", self.retention, removed)
        except (psycopg.Error, OSError) as error:
            await self._report(error, "maintaining the history (partitions, retention)")

    async def _maintenance_loop(self) -> None:
        while True:
            await asyncio.sleep(self.maintenance_interval)
            await self._maintain()

    # -- stop ---------------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Let running jobs finish (up to shutdown_timeout, or until stop(now=True)), then ask
        the rest to stop and wait until their handlers have really stopped; the session then
        gives their jobs back."""
        assert self._stop_now is not None
        deadline = time.monotonic() + self.shutdown_timeout
        stop_now = asyncio.create_task(self._stop_now.wait())
        try:
            while not self._stop_now.is_set():
                pending = [r.task for r in self._running.values() if not r.task.done()]
                remaining = deadline - time.monotonic()
                if not pending or remaining <= 0:
                    break
                await asyncio.wait(
                    [*pending, stop_now], timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            stop_now.cancel()
        await self._stop_handlers()

    async def _stop_handlers(self) -> None:
        """Ask every running handler to stop (``ctx.cancelled``; async ones are cancelled)
        and wait until each has really stopped: a sync handler that ignores its flag keeps its
        job held (the lease is renewed) until it returns, or until stop(now=True). Then the
        tasks still waiting (on a thread, or on an unreachable database) are cancelled, and
        the jobs of handlers still running are left out of the give-back (_abandoned)."""
        assert self._stop_now is not None
        if not self._running:
            return
        for job_id in list(self._running):
            self._stop_handler(job_id, "stop")
        stop_now = asyncio.create_task(self._stop_now.wait())
        reported = False
        try:
            while not self._stop_now.is_set():
                pending = [r.task for r in self._running.values() if not r.task.done()]
                if not pending:
                    break
                done, _ = await asyncio.wait(
                    [*pending, stop_now], timeout=CANCEL_GRACE, return_when=asyncio.FIRST_COMPLETED
                )
                if not done and not reported:
                    reported = True
                    log.warning(
                        "waiting for %d sync handler(s) that ignore ctx.cancelled: their jobs "
                        "stay held until they return; stop again to exit now",
                        len(pending),
                    )
        finally:
            stop_now.cancel()
        self._abandoned += [
            r.job.id for r in self._running.values() if r.thread is not None and not r.thread.done()
        ]
        for r in list(self._running.values()):
            r.task.cancel()
        for r in list(self._running.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await r.task

    async def _release(self, verb: str) -> None:
        assert self._stop_now is not None
        try:
            # After stop(now=True) the database gets a second, not a pool timeout (30 s).
            async with asyncio.timeout(1.0 if self._stop_now.is_set() else None):
                async with self.pool.connection() as conn:
                    released = await AsyncClient(conn).release_jobs(self.worker_id)
        except (*RETRYABLE, TimeoutError) as error:
            await self._report(error, "giving back unfinished jobs (the lease will expire)")
            return
        if released:
            log.warning("%s %d unfinished job(s)", verb, len(released))
            self.summary.released += len(released)

    async def _unregister(self) -> None:
        """End this process's lease: a restart under the same worker_id starts at once."""
        assert self._stop_now is not None
        try:
            async with asyncio.timeout(1.0 if self._stop_now.is_set() else 5.0):
                async with self.pool.connection() as conn:
                    if not self._no_instance:
                        await AsyncClient(conn).unregister_worker(self.worker_id, self.instance)
        except psycopg.errors.UndefinedFunction:
            pass  # a schema before 0.4.0: the lease lapses
        except (*RETRYABLE, TimeoutError) as error:
            await self._report(error, "ending the lease (it will lapse)")


def _timeout_of(job: Job, task: Task | None) -> timedelta | None:
    """The per-job timeout stored with the job (add_job's ``timeout``), else, for a job
    enqueued without one (say from SQL), its task's (``@app.task(timeout=)``)."""
    limit = job.timeout if job.timeout is not None else getattr(task, "timeout", None)
    if isinstance(limit, timedelta) and limit > timedelta(0):
        return limit
    return None


class Undecodable:
    """The payload of a claimed job that Python cannot decode (say nested too deep): the job
    fails alone, for good, with this error."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"<undecodable payload: {type(self.error).__name__}>"


def _finish_params(worker_id: str, finishes: list[_Pending]) -> dict[str, Any]:
    """finish_jobs' arrays: element i completed (no error) or failed (error, details,
    permanent, backoff)."""
    failures = any(p.error is not None for p in finishes)
    return {
        "worker_id": worker_id,
        "job_ids": [p.job.id for p in finishes],
        "results": [
            None if p.result is None else json.dumps(p.result, default=str) for p in finishes
        ],
        "error_messages": [None if p.error is None else error_text(p.error) for p in finishes]
        if failures
        else None,
        "error_details": [
            None if p.error is None else json.dumps(error_details(p.error), default=str)
            for p in finishes
        ]
        if failures
        else None,
        "permanent": [p.permanent for p in finishes] if failures else None,
        "backoffs": [backoff_text(p.backoff) for p in finishes] if failures else None,
    }


def _resolve(finishes: list[_Pending], applied: dict[int, str]) -> None:
    """Resolve the futures of recorded outcomes (a job left out was not held: lost)."""
    for p in finishes:
        if not p.future.done():
            status = _STATUSES.get(applied.get(p.job.id, ""), "lost")
            result = p.result if p.error is None else None
            p.future.set_result(Outcome(p.job.id, status, result, p.error))


#: finish_jobs' status of an applied completion, as an Outcome status (missing: lost).
_STATUSES: dict[str, Literal["completed", "retrying", "failed", "lost", "cancelled"]] = {
    "completed": "completed",
    "scheduled": "retrying",
    "failed": "failed",
    "cancelled": "cancelled",
}


def check_result(task: Task, value: Any) -> Any:
    """The handler's return value, checked against the task's result type."""
    try:
        return task.result.dump(value)
    except ValueError as invalid:
        raise InvalidResult(
            f"task {task.name!r} returned a value that does not match {task.result.type!r}: "
            f"{invalid}"
        ) from invalid


def error_details(error: BaseException) -> dict[str, Any]:
    """The attempt log's error details: type, message, traceback text and structured frames."""
    frames = traceback.extract_tb(error.__traceback__)
    return {
        "type": f"{type(error).__module__}.{type(error).__qualname__}",
        "message": _printable(str(error)),
        "traceback": _printable("".join(traceback.format_exception(error))),
        "frames": [
            {"file": f.filename, "line": f.lineno, "function": f.name,
             "code": None if f.line is None else _printable(f.line)}
            for f in frames
        ],
    }  # fmt: skip
