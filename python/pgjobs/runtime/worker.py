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
import contextvars
import dataclasses
import inspect
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

import psycopg
from psycopg_pool import AsyncConnectionPool

from pgjobs.db import schedules as schedules_
from pgjobs.db.client import DEFAULT_JOB_EXPIRY, AsyncClient, Client, Job
from pgjobs.db.errors import WorkerIdInUse
from pgjobs.install.compat import check_schema
from pgjobs.runtime import scheduler
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
            kwargs={"autocommit": True},
            open=False,
        )
        await self._pool.open(wait=True)
        checks: asyncio.Task[None] | None = None
        try:
            async with self.pool.connection() as conn:
                check_schema(await AsyncClient(conn).schema_version())  # SchemaVersionError
            await self._take_lease()  # before the orphans: they are only ours with the lease
            if orphans:
                await self._orphans()
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
        async with self.pool.connection() as conn:
            held = await self._renew_async(AsyncClient(conn))
        self._beaten(held, sent)

    def _beaten(self, held: set[int] | list[int], sent: float) -> None:
        """A heartbeat answered: stop the handlers of the jobs it did not list."""
        self.hooks.heartbeat()
        held = set(held)
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
                    on_loop(self._beaten, held, sent)
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
            running.ctx.cancelled.set()
        if running.thread is None:
            if not running.handler_done:
                running.task.cancel()
            return
        thread = running.thread
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
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f'LISTEN "{CHANNEL}"')
                    await conn.execute(f'LISTEN "{CANCEL_CHANNEL}"')
                    backoff = 0.1
                    if self._wake is not None:
                        self._wake.set()  # whatever arrived while not listening
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
    """The per-job timeout stored with the job, else the task's (``@app.task(timeout=)``)."""
    for limit in (getattr(job, "timeout", None), getattr(task, "timeout", None)):
        if isinstance(limit, timedelta) and limit > timedelta(0):
            return limit
        if isinstance(limit, int | float) and limit > 0:
            return timedelta(seconds=limit)
    return None


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
