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
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from pgjobs.db import pooler
from pgjobs.db import schedules as schedules_
from pgjobs.db.client import AsyncClient
from pgjobs.install.compat import check_schema
from pgjobs.runtime import scheduler, settings
from pgjobs.runtime.worker_rounds import WorkerRounds
from pgjobs.runtime.worker_state import (
    CANCEL_CHANNEL,
    CHANNEL,
    DEFAULT_LEASE,
    DEFAULT_RETENTION,
    HISTORY_DAYS_AHEAD,
    JobTimeout,
    Outcome,
    WorkerSummary,
    default_worker_id,
)
from pgjobs.runtime.worker_state import ErrorHandler as ErrorHandler
from pgjobs.runtime.worker_state import check_result as check_result
from pgjobs.runtime.worker_state import log as log

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


class Worker(WorkerRounds):
    """Runs the handlers of ``registry`` for jobs of the database at ``conninfo``."""

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
            # claims, starts and batched completions, pipelined on one connection per lane
            self._claimed_total = 0
            for lane in range(len(self._cores)):
                helpers.append(
                    asyncio.create_task(self._pump(lane, once=once, batch_size=batch_size))
                )
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
        self._loop = asyncio.get_running_loop()
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
            self._loop = None

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
