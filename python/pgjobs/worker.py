"""The pgjobs worker: runs the handlers of claimed jobs; all queue decisions stay in SQL.

One claim loop fills up to ``concurrency`` slots with ``app_jobs.get_job`` (only the tasks it
has handlers for), then sleeps until a ``NOTIFY "jobs:insert"`` arrives, a running job ends, or
``poll_interval`` passes (the fallback for due delayed jobs and missed notifications). Each job
ends with ``complete_job`` or, when its handler raises, ``fail_job`` with the error and the
traceback. A heartbeat keeps the worker's lease alive (``app_jobs.heartbeat``); a job the
database no longer lists as held (its lease lapsed and another worker took it back) has its
handler cancelled, and its late completion would be refused anyway. At start the worker
releases what an earlier life under the same ``worker_id`` left locked; at stop it stops
claiming, lets running jobs finish up to ``shutdown_timeout``, then gives the rest back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
import traceback
import uuid
from datetime import timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from pgjobs.client import DEFAULT_JOB_EXPIRY, AsyncClient, Job
from pgjobs.registry import JobContext, Registry

__all__ = ["CHANNEL", "Worker", "WorkerSummary", "default_worker_id"]

log = logging.getLogger("pgjobs.worker")

#: The channel app_jobs notifies when a job becomes claimable.
CHANNEL = "jobs:insert"


def default_worker_id() -> str:
    """host:pid:random: unique per process, readable in app_jobs.jobs.locked_by."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclasses.dataclass
class WorkerSummary:
    """What a worker run did."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0  # taken back by the database (lease lapsed) before the worker finished
    released: int = 0  # given back unfinished at stop, or orphans of an earlier life


@dataclasses.dataclass
class _Running:
    job: Job
    task: asyncio.Task[None]
    claimed_at: float  # time.monotonic() when claimed


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
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if lease <= timedelta(0):
            raise ValueError("lease must be positive")
        self.registry = registry
        self.conninfo = conninfo
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease
        self.job_expiry = job_expiry
        self.worker_id = worker_id or default_worker_id()
        self.shutdown_timeout = shutdown_timeout
        self.summary = WorkerSummary()
        self._running: dict[int, _Running] = {}
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._stop_now: asyncio.Event | None = None

    # -- control ------------------------------------------------------------------------------

    def stop(self, *, now: bool = False) -> None:
        """Stop claiming; running jobs finish (up to shutdown_timeout) unless ``now``."""
        if self._stop is None or self._stop_now is None or self._wake is None:
            return
        if now or self._stop.is_set():
            self._stop_now.set()
        self._stop.set()
        self._wake.set()

    # -- the run ------------------------------------------------------------------------------

    async def run(self, *, once: bool = False, batch_size: int | None = None) -> WorkerSummary:
        """Work until :meth:`stop` (or, with ``once``, until nothing is due or ``batch_size``
        jobs were claimed) and return what was done."""
        if not len(self.registry):
            raise ValueError("the worker has no tasks to run: register handlers first")
        self._wake, self._stop, self._stop_now = asyncio.Event(), asyncio.Event(), asyncio.Event()
        pool = AsyncConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=self.concurrency + 2,
            kwargs={"autocommit": True},
            open=False,
        )
        await pool.open(wait=True)
        helpers: list[asyncio.Task[None]] = []
        try:
            async with pool.connection() as conn:
                orphans = await AsyncClient(conn).release_jobs(self.worker_id)
            if orphans:
                log.warning(
                    "released %d job(s) an earlier %s left locked", len(orphans), self.worker_id
                )
                self.summary.released += len(orphans)
            await self._heartbeat(pool)
            helpers.append(asyncio.create_task(self._heartbeat_loop(pool)))
            if not once:
                helpers.append(asyncio.create_task(self._listen_loop()))
            await self._claim_loop(pool, once=once, batch_size=batch_size)
            await self._drain(pool)
        finally:
            for helper in helpers:
                helper.cancel()
            for helper in helpers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await helper
            await pool.close()
        return self.summary

    async def _claim_loop(
        self, pool: AsyncConnectionPool[Any], *, once: bool, batch_size: int | None
    ) -> None:
        assert self._wake is not None and self._stop is not None
        tasks = self.registry.names()
        while not self._stop.is_set():
            self._wake.clear()
            exhausted = False
            while len(self._running) < self.concurrency and not self._stop.is_set():
                if batch_size is not None and self.summary.claimed >= batch_size:
                    exhausted = True
                    break
                async with pool.connection() as conn:
                    job = await AsyncClient(conn).get_job(self.worker_id, tasks, self.job_expiry)
                if job is None:
                    exhausted = True
                    break
                self._start(pool, job)
            if once and exhausted and not self._running:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    def _start(self, pool: AsyncConnectionPool[Any], job: Job) -> None:
        self.summary.claimed += 1
        task = asyncio.create_task(self._run_job(pool, job), name=f"pgjobs job {job.id}")
        self._running[job.id] = _Running(job, task, time.monotonic())

        def done(_: asyncio.Task[None], job_id: int = job.id) -> None:
            self._running.pop(job_id, None)
            if self._wake is not None:
                self._wake.set()

        task.add_done_callback(done)

    async def _run_job(self, pool: AsyncConnectionPool[Any], job: Job) -> None:
        task = self.registry.get(job.task_identifier)
        assert task is not None  # get_job only hands out registered tasks
        ctx = JobContext(
            job_id=job.id,
            task=job.task_identifier,
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            payload=job.payload,
            worker_id=self.worker_id,
            logger=log.getChild(job.task_identifier),
        )
        try:
            if task.is_async:
                await task.call(job.payload, ctx)
            else:
                await asyncio.to_thread(task.call, job.payload, ctx)
        except asyncio.CancelledError:
            raise  # lease lost, or stopping: the database decides what happens to the job
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
            log.info("job %d (%s) failed: %s", job.id, job.task_identifier, exc)
            async with pool.connection() as conn:
                failed = await AsyncClient(conn).fail_job(self.worker_id, job.id, error)
            if failed is None:
                self.summary.lost += 1
            else:
                self.summary.failed += 1
            return
        async with pool.connection() as conn:
            done = await AsyncClient(conn).complete_job(self.worker_id, job.id)
        if done is None:
            log.warning("job %d was taken back before it completed here", job.id)
            self.summary.lost += 1
        else:
            self.summary.completed += 1

    # -- lease --------------------------------------------------------------------------------

    async def _heartbeat(self, pool: AsyncConnectionPool[Any]) -> None:
        started = time.monotonic()
        async with pool.connection() as conn:
            held = set(await AsyncClient(conn).heartbeat(self.worker_id, self.lease))
        for job_id, running in list(self._running.items()):
            # A job claimed after the heartbeat was sent may not be in its answer yet.
            if running.claimed_at < started and job_id not in held:
                log.warning("lost job %d (the lease lapsed): cancelling its handler", job_id)
                self.summary.lost += 1
                running.task.cancel()

    async def _heartbeat_loop(self, pool: AsyncConnectionPool[Any]) -> None:
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self._heartbeat(pool)
            except psycopg.Error as error:
                log.warning("heartbeat failed (%s); retrying", error)

    # -- wake-ups -----------------------------------------------------------------------------

    async def _listen_loop(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f'LISTEN "{CHANNEL}"')
                    backoff = 0.5
                    if self._wake is not None:
                        self._wake.set()  # whatever arrived while not listening
                    async for _ in conn.notifies():
                        if self._wake is not None:
                            self._wake.set()
            except psycopg.Error as error:
                log.warning("LISTEN connection lost (%s); reconnecting in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    # -- stop ---------------------------------------------------------------------------------

    async def _drain(self, pool: AsyncConnectionPool[Any]) -> None:
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
        async with pool.connection() as conn:
            released = await AsyncClient(conn).release_jobs(self.worker_id)
        if released:
            log.warning("gave back %d unfinished job(s)", len(released))
            self.summary.released += len(released)
