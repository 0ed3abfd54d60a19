"""Running one job: its handler (async on the event loop, sync in a thread of its own), its
timeout and cancellation, and recording its outcome (batched for the pump, or on its own with
the task's listeners in the recording transaction); stopping handlers at stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import psycopg

from pgjobs.db.client import AsyncClient, Job
from pgjobs.db.rows import failed_outcome
from pgjobs.runtime.registry import Event, JobContext, JobEvent, Task
from pgjobs.runtime.typed import InvalidPayload
from pgjobs.runtime.worker_state import (
    CANCEL_GRACE,
    RETRYABLE,
    JobTimeout,
    Outcome,
    StopReason,
    Undecodable,
    WorkerState,
    _Pending,
    _printable,
    _Running,
    _timeout_of,
    call_maybe_async,
    check_result,
    error_details,
    error_text,
    log,
)


class WorkerHandlers(WorkerState):
    """The worker's handlers: running, stopping and recording one job."""

    def start(self, job: Job) -> asyncio.Task[Outcome | None]:
        """Run a job this worker has claimed, as one of its running jobs. Its task takes it
        out of the running jobs as it ends (:meth:`execute`), with no done callback per job;
        a task cancelled before it began runs none of execute(), so whoever cancels it adds
        one (:meth:`_cancel`, and here when a caller other than the pump holds the task)."""
        self.summary.claimed += 1
        loop = self._loop if self._loop is not None else asyncio.get_running_loop()
        task = loop.create_task(self.execute(job), name=f"pgjobs job {job.id}")
        self._running[job.id] = _Running(job, task, time.monotonic())
        if self._completions is None:  # App.run_now: its caller awaits (and may cancel) it
            task.add_done_callback(functools.partial(self._task_ended, job))
        return task

    def _start_all(self, jobs: Iterable[Job]) -> bool:
        """:meth:`start` for the jobs of a round (the pump's own path: no caller holds their
        tasks), with the loop, the clock and the running jobs looked up once for all of
        them. True when it started any."""
        if self._completions is None:  # no pump: each as start() runs it
            return bool([self.start(job) for job in jobs])
        loop = self._loop if self._loop is not None else asyncio.get_running_loop()
        running, execute, now = self._running, self.execute, time.monotonic()
        count = 0
        for job in jobs:
            task = loop.create_task(execute(job), name=f"pgjobs job {job.id}")
            running[job.id] = _Running(job, task, now)
            count += 1
        self.summary.claimed += count
        return count > 0

    def _ended(self, job: Job) -> None:
        """A job's task ends (its outcome recorded, or it was stopped): its slot is free now,
        and the pump plans its next round."""
        running = self._running.get(job.id)
        if running is not None and running.job is job:  # this run's (not a later claim's)
            del self._running[job.id]
        if self._wake is not None:
            self._wake.set()

    def _task_ended(self, job: Job, _: asyncio.Task[Outcome | None]) -> None:
        self._ended(job)

    def _cancel(self, running: _Running) -> None:
        """Cancel a job's task. One cancelled before it began never runs execute(), which
        takes a job out of the running ones as it ends: its done callback does."""
        running.task.add_done_callback(functools.partial(self._task_ended, running.job))
        running.task.cancel()

    def _logger(self, task: str) -> logging.Logger:
        """The task's logger (pgjobs.worker.<task>), looked up once per task: logging's own
        lookup takes a lock on every call."""
        logger = self._loggers.get(task)
        if logger is None:
            logger = self._loggers[task] = log.getChild(task)
        return logger

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
            logger=self._logger(job.task_identifier),
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

    async def execute(self, job: Job) -> Outcome | None:
        """Run the handler of a job this worker holds and record how it ended (one coroutine
        per job: the handler's run and its recording are written here rather than in
        coroutines of their own). A completion the pump records (the common case) ends the
        task at once, returning None: the round that records it settles the job
        (:meth:`_settle`), which stays running until then."""
        started = time.monotonic()
        try:
            # In the try: whatever ends this task takes the job out of the running ones.
            self.hooks.job_started(job.task_identifier, job.queue_name)
            task = self.registry.get(job.task_identifier)
            payload, refused = self._payload_of(task, job)
            if refused is not None:  # it can never run: failed (for good, when it has a task)
                outcome = await self._record(task, job, error=refused, permanent=task is not None)
            else:
                assert task is not None
                # A handler that takes no ctx has none made (an async one is stopped by
                # cancelling its task; a sync one without ctx cannot be told to return anyway).
                ctx = self.context(task, job) if task.wants_context else None
                # Most jobs have no timeout (neither their own nor their task's): no timer.
                timer = (
                    None
                    if job.timeout is None and task.timeout is None
                    else self._arm_timeout(job, task)
                )
                failure: BaseException | None = None
                result: Any = None
                try:
                    if task.is_async:  # on the event loop (the common case)
                        fn = task.fn
                        value = await (fn(payload, ctx) if ctx is not None else fn(payload))
                    else:
                        value = await self._call_handler(task, payload, ctx, job)
                    result = value if not task.result.typed else check_result(task, value)
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
                if (
                    (running is None or running.stop_reason is None)
                    and failure is None
                    and self._lease_taken is None
                ):
                    # The common case: completed, recorded with others by the pump's next
                    # round (unless listeners must run in the recording transaction).
                    completions = self._completions
                    if completions is not None and not self.registry.listened(task.name):
                        assert self._wake is not None and running is not None
                        running.queued = queued = _Pending(
                            job, result, None, None, False, task.backoff, started
                        )
                        completions.append(queued)
                        self._wake.set()
                        self._recording += 1
                        return None  # no future, no wake-up of this task: _settle follows
                    else:
                        outcome = await self._record(task, job, result=result)
                else:
                    outcome = await self._conclude(task, job, result, failure)
        except BaseException:
            # Stopped before an outcome was recorded (the worker is stopping): the database
            # decides what happens to the job; for the hooks, it is lost here.
            self._ended(job)
            self.hooks.job_lost(job.task_identifier, job.queue_name, time.monotonic() - started)
            raise
        # Recorded: the slot is free now (the round that follows may fill it).
        self._ended(job)
        self._finished(job, outcome, time.monotonic() - started)
        return outcome

    def _payload_of(self, task: Task | None, job: Job) -> tuple[Any, BaseException | None]:
        """The payload the handler takes (checked against the task's payload type), or why
        the job can never run: no handler here, a payload Python cannot decode or that does
        not match the task's type."""
        if task is None:
            return None, LookupError(f"no handler for task {job.task_identifier!r} in this worker")
        if isinstance(job.payload, Undecodable):
            return None, InvalidPayload(
                f"job {job.id}: its payload cannot be decoded ({type(job.payload.error).__name__}:"
                f" {job.payload.error}), so it can never succeed"
            )
        load = task.payload.loader
        try:
            return (job.payload if load is None else load(job.payload)), None
        except ValueError as invalid:
            return None, InvalidPayload(
                f"job {job.id}: the payload does not match {task.payload.type!r} of task "
                f"{task.name!r}, so it can never succeed: {invalid}"
            )

    def _finished(self, job: Job, outcome: Outcome, duration: float) -> None:
        """One log line per finished job (and the traceback of a failed attempt); the hook."""
        task, queue, status = job.task_identifier, job.queue_name, outcome.status
        hooks = self.hooks
        if status == "completed":
            hooks.job_completed(task, queue, duration)
        else:
            {
                "retrying": hooks.job_retried,
                "failed": hooks.job_failed,
                "cancelled": hooks.job_cancelled,
                "lost": hooks.job_lost,
            }[status](task, queue, duration)
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

    async def _call_handler(
        self, task: Task, payload: Any, ctx: JobContext | None, job: Job
    ) -> Any:
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
    def _in_thread(
        task: Task, payload: Any, ctx: JobContext | None, job: Job
    ) -> asyncio.Future[Any]:
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
            self._cancel(running)

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
        listened = task is not None and self.registry.listened(task.name)
        backoff = 0.1
        batched = not listened and self._completions is not None
        if batched:
            future = self._queue_outcome(task, job, result, error, permanent)
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
        self._count(outcome)
        return outcome

    def _queue_outcome(
        self,
        task: Task | None,
        job: Job,
        result: Any,
        error: BaseException | None,
        permanent: bool,
    ) -> asyncio.Future[Outcome]:
        """Queue an outcome for the pump's next round (one finish_jobs call with others, as
        soon as the round in flight returns); the future resolves once it is recorded. The
        caller takes one off ``_recording`` when it is (or when it stops waiting)."""
        assert self._completions is not None and self._wake is not None
        loop = self._loop if self._loop is not None else asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        backoff = None if task is None else task.backoff
        self._completions.append(_Pending(job, result, future, error, permanent, backoff))
        self._wake.set()
        self._recording += 1
        return future

    def _settle(self, pending: _Pending, outcome: Outcome) -> None:
        """A completion queued without a future (its task has ended) is recorded, or given
        up: what its task would have done then (count it, free its slot, log it, the hook)."""
        if pending.settled:
            return
        pending.settled = True
        self._recording -= 1
        self._count(outcome)
        job = pending.job
        self._ended(job)
        try:
            self._finished(job, outcome, time.monotonic() - pending.started)
        except Exception:  # a hook that raises: the other jobs of the round still settle
            log.exception("reporting the outcome of job %d", job.id)

    def _settled(self, pending: _Pending, outcome: Outcome) -> None:
        """An outcome recorded apart: to the future its task awaits, else :meth:`_settle`."""
        if pending.future is None:
            self._settle(pending, outcome)
        elif not pending.future.done():
            pending.future.set_result(outcome)

    def _give_up_queued(self) -> None:
        """The completions no round will record any more (the worker stops and its pump has
        ended, or waits no longer): their jobs are lost here, as a task stopped while it
        waited for its recording is (the database decides what happens to them)."""
        for running in list(self._running.values()):
            queued = running.queued
            if queued is None or queued.settled:
                continue
            queued.settled = True
            self._recording -= 1
            job = queued.job
            self._ended(job)
            duration = time.monotonic() - queued.started
            self.hooks.job_lost(job.task_identifier, job.queue_name, duration)

    def _count(self, outcome: Outcome) -> None:
        """An outcome recorded (or lost), in the worker's summary."""
        status = outcome.status
        if status == "completed":
            self.summary.completed += 1
        elif status == "lost":
            self.summary.lost += 1
        elif status == "cancelled":
            self.summary.cancelled += 1
        else:
            self.summary.failed += 1

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
                # Completions queued without a task waiting (see execute) are waited for too:
                # the pump records them while it runs.
                queued = any(r.queued is not None for r in self._running.values())
                if not (pending or queued) or remaining <= 0:
                    break
                await asyncio.wait(
                    [*pending, stop_now],
                    timeout=remaining if pending else min(remaining, 0.01),
                    return_when=asyncio.FIRST_COMPLETED,
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
        self._give_up_queued()
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
            self._cancel(r)
        for r in list(self._running.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await r.task
