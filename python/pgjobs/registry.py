"""The task registry: task name -> handler, filled by ``@app.task(...)``."""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["JobContext", "Registry", "Task"]


@dataclasses.dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler may want besides its payload."""

    job_id: int
    task: str
    attempt: int
    max_attempts: int
    payload: Any
    worker_id: str
    logger: logging.Logger


@dataclasses.dataclass(frozen=True, slots=True)
class Task:
    """A registered handler. It is called as ``fn(payload)`` or ``fn(payload, ctx)``."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    wants_context: bool

    def call(self, payload: Any, ctx: JobContext) -> Any:
        return self.fn(payload, ctx) if self.wants_context else self.fn(payload)


class Registry:
    """Task name -> :class:`Task`."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def register(self, name: str, fn: Callable[..., Any]) -> Task:
        if not name:
            raise ValueError("a task needs a non-empty name")
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already registered ({self._tasks[name].fn!r})")
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
        task = Task(name, fn, inspect.iscoroutinefunction(fn), len(params) == 2)
        self._tasks[name] = task
        return task

    def get(self, name: str) -> Task | None:
        return self._tasks.get(name)

    def names(self) -> list[str]:
        return sorted(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)
