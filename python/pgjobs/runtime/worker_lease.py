"""The worker's lease: taking it (one live process per worker_id), renewing it from a thread
of its own, what its answers mean (jobs taken back, cancellations, jobs held but unknown), the
previous life's orphans, and giving jobs back and ending the lease at stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg

from pgjobs.db.client import AsyncClient, Client
from pgjobs.db.errors import WorkerIdInUse
from pgjobs.runtime.worker_handlers import WorkerHandlers
from pgjobs.runtime.worker_state import RETRYABLE, log


class WorkerLease(WorkerHandlers):
    """The worker's lease of its worker_id and what hangs on it."""

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
        known = (
            self._running.keys()
            | {job.id for job in self._buffer}
            | self._starting
            | self._finishing
        )
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
