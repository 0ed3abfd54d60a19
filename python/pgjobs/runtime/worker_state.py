"""The worker's vocabulary and state: its constants, summary and outcomes, the records of
running and pending jobs, the helpers that turn errors and results into what the database
stores, and :class:`WorkerState` (the constructor, the controls and the shared helpers the
other parts of :class:`pgjobs.runtime.worker.Worker` build on).
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
import threading
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

import psycopg
from psycopg_pool import AsyncConnectionPool

from pgjobs.db import pooler
from pgjobs.db import schedules as schedules_
from pgjobs.db.client import DEFAULT_JOB_EXPIRY, Job
from pgjobs.db.errors import WorkerIdInUse
from pgjobs.db.rows import backoff_text
from pgjobs.runtime.hooks import NoWorkerHooks, WorkerHooks
from pgjobs.runtime.registry import JobContext, Registry, Task
from pgjobs.runtime.typed import InvalidResult

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
    """An outcome waiting for the next round's finish_jobs (a completion, or a failure).
    With a future, the job's task awaits it; without one (a completed job's common case),
    the task has ended and the round settles the job itself (WorkerHandlers._settle)."""

    job: Job
    result: Any
    future: asyncio.Future[Outcome] | None
    error: BaseException | None = None
    permanent: bool = False
    backoff: Any = None
    started: float = 0.0  # time.monotonic() when its task began (the duration it reports)
    settled: bool = False  # (no future) recorded or given up: its job is no longer running


@dataclasses.dataclass(slots=True)
class _Running:
    job: Job
    task: asyncio.Task[Outcome | None]  # None: its outcome is settled by a round (_Pending)
    claimed_at: float  # time.monotonic() when claimed
    ctx: JobContext | None = None
    stop_reason: StopReason | None = None  # set once: the first reason wins
    #: A sync handler's thread: done when the handler has really returned.
    thread: asyncio.Future[Any] | None = None
    handler_done: bool = False  # the handler returned or raised: its outcome is being recorded
    #: Its completion, queued for a round once its task has ended (settled by the round).
    queued: _Pending | None = None


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


def _finish_params(
    worker_id: str,
    finishes: list[_Pending],
    ids: Callable[[list[int]], list[int]] = list,
    texts: Callable[[list[str | None]], list[str | None]] = list,
) -> dict[str, Any]:
    """finish_jobs' arrays: element i completed (no error) or failed (error, details,
    permanent, backoff). ``ids`` and ``texts`` wrap the id and text arrays (the worker's
    connection writes its own types faster)."""
    failures = any(p.error is not None for p in finishes)
    results = [None if p.result is None else json.dumps(p.result, default=str) for p in finishes]
    return {
        "worker_id": worker_id,
        "job_ids": ids([p.job.id for p in finishes]),
        # No result at all (handlers that return None): NULL, which finish_jobs takes for
        # "no element has one" (nothing to send, nor to unnest).
        "results": texts(results) if any(r is not None for r in results) else None,
        "error_messages": texts(
            [None if p.error is None else error_text(p.error) for p in finishes]
        )
        if failures
        else None,
        "error_details": texts(
            [
                None if p.error is None else json.dumps(error_details(p.error), default=str)
                for p in finishes
            ]
        )
        if failures
        else None,
        "permanent": [p.permanent for p in finishes] if failures else None,
        "backoffs": texts([backoff_text(p.backoff) for p in finishes]) if failures else None,
    }


def _resolve(
    finishes: list[_Pending],
    applied: dict[int, str],
    settle: Callable[[_Pending, Outcome], None] | None = None,
) -> None:
    """Resolve the futures of recorded outcomes (a job left out was not held: lost); an
    outcome without a future goes to ``settle`` (once)."""
    statuses, new = _STATUSES, object.__new__
    for p in finishes:
        future = p.future
        if future.done() if future is not None else p.settled or settle is None:
            continue
        job_id, error = p.job.id, p.error
        # The Outcome its constructor makes (equal, same repr), its fields written straight
        # to its __dict__: a frozen dataclass's __init__ sets each through
        # object.__setattr__, twice the cost, once per job.
        outcome = new(Outcome)
        outcome.__dict__.update(
            job_id=job_id,
            status=statuses.get(applied.get(job_id, ""), "lost"),
            result=p.result if error is None else None,
            error=error,
        )
        if future is not None:
            future.set_result(outcome)
        else:
            assert settle is not None
            settle(p, outcome)


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


#: The concurrency from which a worker runs two lanes by default (see WorkerState.lanes).
LANES_FROM = 64


class WorkerState:
    """What every part of the worker shares: its settings, its state, stop() and error
    reporting. :class:`pgjobs.runtime.worker.Worker` is the class to use."""

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
        lanes: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if lanes is not None and not 1 <= lanes <= 8:
            raise ValueError("lanes must be between 1 and 8")
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
        self._finishing: set[int] = set()  # outcomes sent in the round in flight
        self._loggers: dict[str, logging.Logger] = {}  # per task (JobContext.logger)
        self._recording = 0  # handlers ended, outcomes waiting for the pump
        self._more = True  # the last claim found as many jobs as it asked for (or a wake-up)
        self._wakes = 0  # wake-ups so far: one that comes while a claim runs keeps _more
        self._claims_begun = self._claims_done = 0  # claim rounds (for held-but-unknown jobs)
        # Rounds that can be in flight at once, each on its own connection (WorkerRounds._pump):
        # by default two from LANES_FROM slots on, so that PostgreSQL runs one lane's round
        # while Python handles the other's jobs; one below, where rounds would get too small.
        self.lanes = lanes if lanes is not None else (2 if concurrency >= LANES_FROM else 1)
        self._cores: list[psycopg.AsyncConnection[Any] | None] = [None] * self.lanes
        self._reserved = 0  # slots taken by the jobs that rounds in flight claim or start
        self._reserved_ahead = 0  # buffer room taken by the claims ahead of rounds in flight
        self._claiming = 0  # jobs asked for by the claims of rounds in flight
        self._in_flight = 0  # rounds in flight
        self._claimed_total = 0  # jobs claimed in this run (run(batch_size=...))
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
        #: The event loop of the session (looked up once: asyncio.get_running_loop() makes a
        #: getpid() system call each time, and every job would make two).
        self._loop: asyncio.AbstractEventLoop | None = None
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

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up for stop()."""
        assert self._stop is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _report(self, error: BaseException, where: str) -> None:
        """An error outside handlers: logged, and passed to on_error."""
        log.warning("error while %s: %s", where, error)
        if self.on_error is None:
            return
        try:
            await call_maybe_async(self.on_error, error, where)
        except Exception:
            log.exception("the on_error handler failed")

    def _spawn(self, coro: Any) -> None:
        """Run a coroutine in the background, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
