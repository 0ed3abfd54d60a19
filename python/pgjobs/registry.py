"""The task registry: task name -> handler, its enqueue defaults, types and listeners.

Filled by ``@app.task(...)``. A handler is called as ``fn(payload)`` or ``fn(payload, ctx)``
(:class:`JobContext`). Listeners (``on_success``, ``on_failure``, ``on_attempt``) receive a
:class:`JobEvent`.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pgjobs.typed import Codec, handler_codecs

if TYPE_CHECKING:
    import psycopg

    from pgjobs.client import Job

__all__ = ["EVENTS", "JobContext", "JobEvent", "Listener", "Registry", "Task"]

#: The events a task's listeners can follow.
EVENTS = ("success", "failure", "attempt")
Event = Literal["success", "failure", "attempt"]

Listener = Callable[["JobEvent"], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler may want besides its payload.

    ``job_id`` is None (and ``attempt`` 1) when ``run_now(..., persist=False)`` runs the handler
    without a job. ``connection()`` lends a connection of the worker's pool (async handlers:
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
    _connect: Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]] | None = None

    def connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        """A connection from the worker's pool (autocommit), returned when the block ends."""
        if self._connect is None:
            return _own_connection(self.dsn)
        return self._connect()


def _own_connection(dsn: str) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
    import contextlib

    import psycopg

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
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

    def call(self, payload: Any, ctx: JobContext) -> Any:
        return self.fn(payload, ctx) if self.wants_context else self.fn(payload)


class Registry:
    """Task name -> :class:`Task`, and the listeners of each task."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._by_fn: dict[Callable[..., Any], str] = {}
        self._listeners: dict[tuple[str, str], list[Listener]] = {}

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
    ) -> Task:
        if not name:
            raise ValueError("a task needs a non-empty name")
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already registered ({self._tasks[name].fn!r})")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"task {name!r}: max_attempts must be at least 1")
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
        )
        self._tasks[name] = task
        self._by_fn[fn] = name
        return task

    def listen(self, event: Event, task: str | Callable[..., Any], fn: Listener) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}: one of {', '.join(EVENTS)}")
        self._listeners.setdefault((event, self.name_of(task)), []).append(fn)

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
