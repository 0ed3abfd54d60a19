"""The pgjobs worker: runs the handlers of claimed jobs; all queue decisions stay in SQL.

One claim loop fills up to ``concurrency`` slots with ``app_jobs.get_jobs`` (only the tasks it
has handlers for), then sleeps until a ``NOTIFY "jobs:insert"`` arrives, a running job ends, or
``poll_interval`` passes (the fallback for due delayed jobs and missed notifications). Each job
ends with ``complete_job`` or, when its handler raises, ``fail_job`` with the error and the
traceback; a payload that does not match the task's payload type fails for good at once
(``fail_job(..., permanent := true)``). Listeners run inside the transaction that records the
outcome. A heartbeat keeps the worker's lease alive (``app_jobs.heartbeat``); a job the
database no longer lists as held (its lease lapsed and another worker took it back) has its
handler cancelled, and its late completion would be refused anyway. At start the worker
releases (or, with ``orphans="fail"``, fails) what an earlier life under the same
``worker_id`` left locked; at stop it stops claiming, lets running jobs finish up to
``shutdown_timeout``, then gives the rest back. Lost connections (a PostgreSQL restart, a
killed backend) are retried with backoff; the worker carries on when the database is back.
At start it also declares the app's schedules, and unless ``scheduler=False`` it runs
``app_jobs.run_due_schedules()`` every ``schedule_interval`` seconds (see pgjobs.schedules).

Claims go one job after a wake-up, then, while they find jobs, twice as many each round, up to
the free slots, each round one ``get_jobs`` call (one round trip, one transaction): a backlog
fills the slots in a few calls, and an idle wake-up costs one claim. On a schema before 0.4.0
(no ``get_jobs``) the worker claims with ``get_job``, one call per job.

A handler's result is stored with the job (``complete_job(..., result)``); a failure sends the
traceback as text and as frames to the attempt log, with the task's ``backoff``.
``app_jobs.cancel_job`` of a running job reaches the worker on ``NOTIFY "jobs:cancel"`` (or,
missed, by its absence from the heartbeat's answer): the handler is cancelled (a sync one sees
``ctx.cancelled`` set) and the job recorded cancelled. At start and every
``maintenance_interval`` seconds the worker creates history partitions ahead and applies
``retention`` (``cleanup_jobs``).

Before anything else a worker checks the schema version (:mod:`pgjobs.compat`: it refuses a
schema newer than it understands, works with older compatible ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import logging
import os
import socket
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool

from pgjobs.db import pooler, queries
from pgjobs.db import schedules as schedules_
from pgjobs.db.client import DEFAULT_JOB_EXPIRY, AsyncClient, Job
from pgjobs.db.rows import failed_outcome
from pgjobs.install.compat import check_schema
from pgjobs.runtime import scheduler, settings
from pgjobs.runtime.hooks import NoWorkerHooks, WorkerHooks
from pgjobs.runtime.registry import Event, JobContext, JobEvent, Registry, Task
from pgjobs.runtime.typed import InvalidPayload, InvalidResult

__all__ = [
    "CANCEL_CHANNEL",
    "CHANNEL",
    "DEFAULT_RETENTION",
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
    cancel_requested: bool = False  # cancel_job, or absent from the heartbeat's answer


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
        lease: timedelta = timedelta(seconds=30),
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
        # False for a transaction-mode pooler (PgBouncer), which cannot keep prepared statements.
        self.prepared_statements = prepared_statements
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
        return self.summary

    @contextlib.asynccontextmanager
    async def session(self, *, orphans: bool = True) -> AsyncIterator[Worker]:
        """Open the pool, deal with orphans, keep the lease alive; at exit give back whatever
        this worker still holds. :meth:`run` and in-process runs (``App.run_now``) use it."""
        self._wake, self._stop, self._stop_now = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._pool = AsyncConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=self.concurrency + 2,
            kwargs={"autocommit": True, **pooler.connect_kwargs()},  # issue 15: PgBouncer
            open=False,
        )
        await self._pool.open(wait=True)
        heartbeat: asyncio.Task[None] | None = None
        try:
            async with self.pool.connection() as conn:
                check_schema(await AsyncClient(conn).schema_version())  # SchemaVersionError
            if orphans:
                await self._orphans()
            await self._heartbeat()
            heartbeat = asyncio.create_task(self._heartbeat_loop())
            yield self
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await heartbeat
            for r in list(self._running.values()):
                r.task.cancel()
            for r in list(self._running.values()):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await r.task
            await self._release("gave back")
            await self._pool.close()
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
        try:
            value = await task.run(payload, self.context(task, job))
            result = check_result(task, value)
        except asyncio.CancelledError:
            running = self._running.get(job.id)
            if running is None or not running.cancel_requested:
                raise  # stopping: the database decides what happens to the job
            # Cancelled on request (or lost): fail_job records a cancel-requested job
            # cancelled, and refuses one the database took back.
            stopped = asyncio.CancelledError("cancelled: the handler was stopped on request")
            return await self._record(task, job, error=stopped)
        except Exception as error:
            return await self._record(task, job, error=error)
        return await self._record(task, job, result=result)

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

    async def _start_schedules(self, *, once: bool) -> list[asyncio.Task[None]]:
        """Declare the app's schedules; tick once now (a --once run fires what is due too) and,
        unless once, return the background scheduler loop."""
        async with self.pool.connection() as conn:  # the task settings first (tasks helper)
            await settings.declare(conn, self.registry)
        if self.schedules:
            async with self.pool.connection() as conn:
                await schedules_.AsyncSchedules(conn).declare(self.schedules)
        if not self.scheduler:
            return []
        await scheduler.tick(self.pool)

        def enqueued() -> None:
            self._woken()

        if once:
            return []
        loop = scheduler.scheduler_loop(self.pool, self.schedule_interval, enqueued)
        return [asyncio.create_task(loop)]

    # -- lease --------------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        started = time.monotonic()
        claims = (self._claims_begun, self._claims_done)
        async with self.pool.connection() as conn:
            held = set(await AsyncClient(conn).heartbeat(self.worker_id, self.lease))
        self.hooks.heartbeat()
        await self._give_back_unknown(held, claims)
        for job_id, running in list(self._running.items()):
            # A job claimed after the heartbeat was sent may not be in its answer yet.
            if running.claimed_at < started and job_id not in held:
                # Taken back (the lease lapsed), or its cancellation was requested: stop the
                # handler; fail_job then records which (cancelled, or refused: lost).
                self.request_cancel(job_id)

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
        running = self._running.get(job_id)
        if running is None or running.cancel_requested:
            return
        running.cancel_requested = True
        if running.ctx is not None:
            running.ctx.cancelled.set()
        running.task.cancel()

    async def _heartbeat_loop(self) -> None:
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self._heartbeat()
            except (psycopg.Error, OSError) as error:
                await self._report(error, "renewing the lease (heartbeat)")

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
                    if self._running:
                        # A cancel_job sent before LISTEN took effect (at start, or while
                        # reconnecting) was not heard: the heartbeat leaves out the jobs whose
                        # cancellation was requested, so one now stops their handlers.
                        await self._heartbeat()
                    async for note in conn.notifies():
                        if note.channel == CANCEL_CHANNEL:
                            if note.payload.isdigit():
                                self.request_cancel(int(note.payload))
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
        """Let running jobs finish (up to shutdown_timeout, or until stop(now=True)), then
        cancel the rest and give their jobs back to the queue."""
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
        for r in list(self._running.values()):
            r.task.cancel()
        for r in list(self._running.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await r.task
        await self._release("gave back")

    async def _release(self, verb: str) -> None:
        try:
            async with self.pool.connection() as conn:
                released = await AsyncClient(conn).release_jobs(self.worker_id)
        except RETRYABLE as error:
            await self._report(error, "giving back unfinished jobs (the lease will expire)")
            return
        if released:
            log.warning("%s %d unfinished job(s)", verb, len(released))
            self.summary.released += len(released)


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
        "backoffs": [
            None if p.backoff is None else json.dumps(p.backoff, default=str) for p in finishes
        ]
        if failures
        else None,
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
