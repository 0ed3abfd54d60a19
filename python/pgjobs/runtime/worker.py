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
import logging
import os
import socket
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

import psycopg
from psycopg_pool import AsyncConnectionPool

from pgjobs.db import pooler
from pgjobs.db import schedules as schedules_
from pgjobs.db.client import DEFAULT_JOB_EXPIRY, AsyncClient, Job
from pgjobs.install.compat import check_schema
from pgjobs.runtime import scheduler
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


@dataclasses.dataclass
class _Running:
    job: Job
    task: asyncio.Task[Outcome]
    claimed_at: float  # time.monotonic() when claimed
    ctx: JobContext | None = None
    cancel_requested: bool = False  # cancel_job, or absent from the heartbeat's answer


def error_text(error: BaseException) -> str:
    """What fail_job stores: the error line, then the traceback."""
    lines = traceback.format_exception(error)
    return f"{type(error).__name__}: {error}\n\n{''.join(lines)}"


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
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
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
        self._running: dict[int, _Running] = {}
        # Until this time.monotonic(), claims use get_job: the schema had no app_jobs.get_jobs
        # (before 0.4.0). Checked again a minute later, so an upgrade is noticed.
        self._single_claims_until = 0.0
        # Completions waiting to be recorded together (app_jobs.finish_jobs): (job, result,
        # the future its execute() awaits). None while no flusher runs: record one by one.
        self._completions: asyncio.Queue[tuple[Job, Any, asyncio.Future[Outcome]]] | None = None
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
            self._completions = asyncio.Queue()
            helpers.append(asyncio.create_task(self._flush_loop()))  # batched completions
            if not once:
                helpers.append(asyncio.create_task(self._maintenance_loop()))
            try:
                await self._claim_loop(once=once, batch_size=batch_size)
                await self._drain()
            finally:
                self._completions = None
                for helper in helpers:
                    helper.cancel()
                for helper in helpers:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await helper
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
        async with self.pool.connection() as conn:
            client = AsyncClient(conn)
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
        assert self._wake is not None and self._stop is not None
        tasks = self.registry.names()
        backoff = 0.1
        while not self._stop.is_set():
            self._wake.clear()
            exhausted = False
            want = 1  # one claim first: an empty queue costs one get_job per wake-up
            try:
                while len(self._running) < self.concurrency and not self._stop.is_set():
                    free = self.concurrency - len(self._running)
                    if batch_size is not None:
                        free = min(free, batch_size - self.summary.claimed)
                    if free <= 0:
                        exhausted = True
                        break
                    asked = min(want, free)
                    claimed = await self._claim(tasks, asked)
                    for job in claimed:
                        self.start(job)
                    if len(claimed) < asked:
                        exhausted = True
                        break
                    want *= 2  # the queue has work: claim more at once, up to the free slots
                backoff = 0.1
            except psycopg.Error as error:
                # Unreachable database (RETRYABLE), or an error from the claim itself: say a
                # get_job that began during a schema upgrade and ran on into the new schema
                # with the old function's code. Either way the next claim may well work, so
                # the loop reports it and tries again with backoff instead of ending (which
                # would leave the worker alive but claiming nothing).
                await self._report(error, "claiming jobs")
                await self._pause(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if once and exhausted and not self._running:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

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
        batched = (
            error is None and not listened and job.queue_name is None
            and self._completions is not None
        )  # fmt: skip
        if batched:
            # Recorded with others in one finish_jobs call, within a few milliseconds. Not a
            # job of a serial queue (its completion frees the queue: at once), nor one whose
            # listeners must run in the transaction that records it.
            assert self._completions is not None
            future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
            self._completions.put_nowait((job, result, future))
            outcome = await future
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
        if outcome.status == "lost":
            self.summary.lost += 1
        elif outcome.status == "completed":
            self.summary.completed += 1
        elif outcome.status == "cancelled":
            self.summary.cancelled += 1
        else:
            self.summary.failed += 1
        return outcome

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
        status: Literal["retrying", "failed", "cancelled"] = (
            "retrying" if failed.state == "scheduled"
            else "cancelled" if failed.state == "cancelled" else "failed"
        )  # fmt: skip
        return Outcome(job.id, status, None, error)

    async def _flush_loop(self) -> None:
        """Record queued completions in batches: what arrives within 2 ms of the first, up to
        100, in one finish_jobs call."""
        assert self._completions is not None
        queue = self._completions
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            deadline = loop.time() + 0.002
            while len(batch) < 100:
                if not queue.empty():
                    batch.append(queue.get_nowait())
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), left))
                except TimeoutError:
                    break
            await self._flush(batch)

    async def _flush(self, batch: list[tuple[Job, Any, asyncio.Future[Outcome]]]) -> None:
        """One finish_jobs call for the batch (retried while the database is unreachable: a
        retried call records nothing twice); on a schema before 0.4.0, complete_job each."""
        applied: dict[int, str] = {}
        backoff = 0.1
        while True:
            try:
                applied = await self._finish_batch([(job.id, result) for job, result, _ in batch])
                break
            except RETRYABLE as lost:
                await self._report(lost, f"recording the outcome of {len(batch)} job(s)")
                assert self._stop_now is not None
                if self._stop_now.is_set():
                    break
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception as error:
                # Not the connection: record each job on its own, as without batching.
                await self._report(error, f"recording the outcome of {len(batch)} job(s)")
                for job, result, future in batch:
                    async with self.pool.connection() as conn:
                        future.set_result(await self._finish(conn, job, result, None, False))
                return
        for job, result, future in batch:
            future.set_result(
                Outcome(job.id, _STATUSES.get(applied.get(job.id, ""), "lost"), result)
            )

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
        if self.schedules:
            async with self.pool.connection() as conn:
                await schedules_.AsyncSchedules(conn).declare(self.schedules)
        if not self.scheduler:
            return []
        await scheduler.tick(self.pool)

        def enqueued() -> None:
            if self._wake is not None:
                self._wake.set()

        if once:
            return []
        loop = scheduler.scheduler_loop(self.pool, self.schedule_interval, enqueued)
        return [asyncio.create_task(loop)]

    # -- lease --------------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        started = time.monotonic()
        async with self.pool.connection() as conn:
            held = set(await AsyncClient(conn).heartbeat(self.worker_id, self.lease))
        self.hooks.heartbeat()
        for job_id, running in list(self._running.items()):
            # A job claimed after the heartbeat was sent may not be in its answer yet.
            if running.claimed_at < started and job_id not in held:
                # Taken back (the lease lapsed), or its cancellation was requested: stop the
                # handler; fail_job then records which (cancelled, or refused: lost).
                self.request_cancel(job_id)

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
                    if self._wake is not None:
                        self._wake.set()  # whatever arrived while not listening
                    if self._running:
                        # A cancel_job sent before LISTEN took effect (at start, or while
                        # reconnecting) was not heard: the heartbeat leaves out the jobs whose
                        # cancellation was requested, so one now stops their handlers.
                        await self._heartbeat()
                    async for note in conn.notifies():
                        if note.channel == CANCEL_CHANNEL:
                            if note.payload.isdigit():
                                self.request_cancel(int(note.payload))
                        elif self._wake is not None:
                            self._wake.set()
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
        "message": str(error),
        "traceback": "".join(traceback.format_exception(error)),
        "frames": [
            {"file": f.filename, "line": f.lineno, "function": f.name, "code": f.line}
            for f in frames
        ],
    }
