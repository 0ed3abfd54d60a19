"""The task registry: task name -> handler, its enqueue defaults, types and listeners.

Filled by ``@app.task(...)``. A handler is called as ``fn(payload)`` or ``fn(payload, ctx)``
(:class:`JobContext`). Listeners (``on_success``, ``on_failure``, ``on_attempt``) receive a
:class:`JobEvent`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from pgjobs.runtime.typed import Codec, handler_codecs

if TYPE_CHECKING:
    import psycopg

    from pgjobs.db.client import Job

__all__ = ["EVENTS", "JobContext", "JobEvent", "Listener", "Registry", "Task"]

#: The longest per-job timeout app_jobs accepts (add_job refuses more with PJ406).
MAX_TIMEOUT = timedelta(days=7)

#: The events a task's listeners can follow.
EVENTS = ("success", "failure", "attempt")
Event = Literal["success", "failure", "attempt"]

Listener = Callable[["JobEvent"], Any]


#: Guards the lazy making of a _CancelFlag's condition (see there).
_MAKING = threading.Lock()


class _CancelFlag(threading.Event):
    """A :class:`threading.Event` whose lock and condition are made only when a thread waits
    on it (a handler's ``ctx.cancelled``: most are only ever read with ``is_set()``, and a
    worker makes one per job). Same methods and meaning as threading.Event."""

    def __init__(self) -> None:  # no super().__init__(): the condition comes with wait()
        self._flag = False
        self._made: threading.Condition | None = None

    def _condition(self) -> threading.Condition:
        with _MAKING:
            if self._made is None:
                self._made = threading.Condition(threading.Lock())
            return self._made

    def set(self) -> None:
        # The flag first, then the condition (if a waiter made one, it is notified; if not, a
        # waiter that makes one later reads the flag under it and does not wait).
        self._flag = True
        with _MAKING:
            made = self._made
        if made is not None:
            with made:
                made.notify_all()

    def clear(self) -> None:
        with self._condition():
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        condition = self._condition()
        with condition:
            signaled = self._flag
            if not signaled:
                signaled = condition.wait(timeout)
            return signaled or self._flag

    def _at_fork_reinit(self) -> None:
        if self._made is not None:
            self._made._at_fork_reinit()  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler may want besides its payload.

    ``job_id`` is None (and ``attempt`` 1) when ``run_now(..., persist=False)`` runs the handler
    without a job. ``database_id`` is the job's tenant, ``correlation_id`` its correlation id.
    ``connection()`` lends a connection of the worker's pool (async handlers:
    ``async with ctx.connection() as conn``); ``dsn`` lets sync handlers open their own.
    """

    job_id: int | None
    task: str
    attempt: int
    max_attempts: int
    payload: Any
    worker_id: str
    logger: logging.Logger
    dsn: str = ""
    fire_time: datetime | None = None  # set when a schedule enqueued the job: which run it is
    #: The job's tenant (app_jobs.jobs.database_id; the nil uuid for the default tenant) and
    #: correlation id (None when it has none, or without a job).
    database_id: UUID | None = None
    correlation_id: str | None = None
    _connect: Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]] | None = None
    #: Set when the job's cancellation was requested (app_jobs.cancel_job): a sync handler
    #: should check ``ctx.cancelled.is_set()`` and return; an async one is cancelled anyway.
    cancelled: threading.Event = dataclasses.field(default_factory=_CancelFlag)
    _progress: Callable[[float | None, str | None], Coroutine[Any, Any, bool]] | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        """A connection from the worker's pool (autocommit), returned when the block ends."""
        if self._connect is None:
            return _own_connection(self.dsn)
        return self._connect()

    async def set_progress(self, percent: float | None, message: str | None = None) -> bool:
        """Report progress (0-100 and/or a message; app_jobs.set_progress), visible in
        find_job and list_jobs while the job runs. False when the job is no longer ours."""
        if self._progress is None:
            return False
        return await self._progress(percent, message)

    def set_progress_sync(self, percent: float | None, message: str | None = None) -> bool:
        """:meth:`set_progress` for sync handlers (they run in a thread)."""
        if self._progress is None or self._loop is None:
            return False
        future = asyncio.run_coroutine_threadsafe(self._progress(percent, message), self._loop)
        return future.result()


def _own_connection(dsn: str) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
    import contextlib

    import psycopg

    from pgjobs.db import pooler

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, **pooler.connect_kwargs()
        ) as conn:
            yield conn

    return connect()


@dataclasses.dataclass(frozen=True, slots=True)
class JobEvent:
    """One event of one job, as the worker that saw it recorded it.

    ``outcome`` is ``completed``, ``retrying`` (failed, will run again) or ``failed`` (failed
    for good). Listeners run inside the transaction that records the outcome: ``conn`` is that
    transaction's connection (for async listeners), so what a listener writes commits with the
    outcome, and a worker that dies before the commit leaves the job to run (and the event to
    fire) again: listeners fire at least once per event.
    """

    event: Event
    job: Job
    outcome: Literal["completed", "retrying", "failed"]
    attempt: int
    result: Any = None
    error: BaseException | None = None
    conn: psycopg.AsyncConnection[Any] | None = None


@dataclasses.dataclass(frozen=True)
class Task:
    """A registered handler with its enqueue defaults and codecs."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    wants_context: bool
    payload: Codec = dataclasses.field(default_factory=Codec)
    result: Codec = dataclasses.field(default_factory=Codec)
    max_attempts: int | None = None
    queue: str | None = None
    priority: int | None = None
    #: Retry delay options of the task (a pgjobs.client.Backoff or its dict), sent with
    #: fail_job; a job's own backoff (add_job) wins over it.
    backoff: Mapping[str, Any] | Any | None = None
    #: Longest run of one attempt of the jobs this task enqueues from Python (stored with
    #: each job, app_jobs.jobs.timeout; a job's own timeout wins); None: no limit.
    timeout: timedelta | None = None

    def call(self, payload: Any, ctx: JobContext | None) -> Any:
        return self.fn(payload, ctx) if self.wants_context else self.fn(payload)

    async def run(self, payload: Any, ctx: JobContext) -> Any:
        """Run the handler: an async one on the event loop (it never waits for a thread that
        sync handlers hold), a sync one in a thread."""
        if self.is_async:
            return await self.call(payload, ctx)
        result = await asyncio.to_thread(self.call, payload, ctx)
        return await result if inspect.isawaitable(result) else result


class Registry:
    """Task name -> :class:`Task`, and the listeners of each task."""

    def __init__(self, settings_version: int = 0) -> None:
        #: Orders the declarations of task settings (app_jobs.declare_task_settings): raise
        #: it with each release that changes them, so old workers do not bring theirs back.
        self.settings_version = settings_version
        self._tasks: dict[str, Task] = {}
        self._by_fn: dict[Callable[..., Any], str] = {}
        self._listeners: dict[tuple[str, str], list[Listener]] = {}
        self._listened: set[str] = set()  # tasks with at least one listener

    def register(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        max_attempts: int | None = None,
        queue: str | None = None,
        priority: int | None = None,
        payload_type: Any = None,
        result_type: Any = None,
        backoff: Any = None,
        timeout: timedelta | float | None = None,
    ) -> Task:
        if not name:
            raise ValueError("a task needs a non-empty name")
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already registered ({self._tasks[name].fn!r})")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"task {name!r}: max_attempts must be at least 1")
        if timeout is not None and not isinstance(timeout, timedelta):
            timeout = timedelta(seconds=timeout)
        if timeout is not None and not timedelta(0) < timeout <= MAX_TIMEOUT:
            raise ValueError(f"task {name!r}: timeout must be more than 0 and at most 7 days")
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if not 1 <= len(params) <= 2:
            raise TypeError(
                f"task {name!r}: the handler must take (payload) or (payload, ctx), "
                f"not {len(params)} positional parameters"
            )
        payload, result = handler_codecs(fn, payload_type, result_type)
        task = Task(
            name,
            fn,
            inspect.iscoroutinefunction(fn),
            len(params) == 2,
            payload,
            result,
            max_attempts,
            queue,
            priority,
            backoff,
            timeout,
        )
        self._tasks[name] = task
        self._by_fn[fn] = name
        return task

    def listen(self, event: Event, task: str | Callable[..., Any], fn: Listener) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}: one of {', '.join(EVENTS)}")
        name = self.name_of(task)
        self._listeners.setdefault((event, name), []).append(fn)
        self._listened.add(name)

    def listened(self, task: str) -> bool:
        """Whether the task has listeners (of any event): its outcomes are then recorded one
        by one, each in a transaction that runs them."""
        return task in self._listened

    def listeners(self, event: Event, task: str) -> list[Listener]:
        return self._listeners.get((event, task), [])

    def name_of(self, task: str | Callable[..., Any]) -> str:
        """A task's name from its name or its handler function."""
        if isinstance(task, str):
            return task
        try:
            return self._by_fn[task]
        except KeyError:
            raise ValueError(f"{task!r} is not a registered handler") from None

    def get(self, name: str) -> Task | None:
        return self._tasks.get(name)

    def names(self) -> list[str]:
        return sorted(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)
