"""A worker's declaration of the tasks it serves (``app_jobs.declare_worker_tasks``).

:func:`declared` wraps a worker's run (:meth:`pgjobs.App.serve`, so ``pgjobs worker`` and
``App.run_worker``): it declares at start, on a connection of its own, and again every
:data:`REDECLARE_EVERY` seconds, so that ``app_jobs.task_coverage()`` and ``pgjobs status``
count the worker for its tasks while its lease is live, even when the start-up declaration
failed (the database was unreachable a moment) or the declaration was deleted meanwhile (a
lease that lapsed long enough for another worker's declaration to forget it). A declaration
never stops a worker: on a schema without the function (before 0.4.0: a new worker during a
rolling upgrade) it is skipped, and any other error is logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import psycopg

from pgjobs.db.client import AsyncClient
from pgjobs.db.errors import PgJobsError

if TYPE_CHECKING:
    from pgjobs.runtime.worker import Worker

__all__ = ["REDECLARE_EVERY", "declare_tasks", "declared"]

#: Seconds between two declarations of a running worker (one small write each).
REDECLARE_EVERY = 300.0

log = logging.getLogger("pgjobs.worker")


async def declare_tasks(worker: Worker) -> bool:
    """Declare ``worker``'s tasks; True when the database recorded them."""
    tasks = sorted(worker.registry.names())
    if not tasks:
        return False
    try:
        async with await psycopg.AsyncConnection.connect(
            worker.conninfo, autocommit=True, connect_timeout=10
        ) as conn:
            await AsyncClient(conn).declare_worker_tasks(worker.worker_id, tasks)
    except psycopg.errors.UndefinedFunction:
        log.debug("app_jobs.declare_worker_tasks is missing (a schema before 0.4.0): skipped")
        return False
    except (psycopg.Error, PgJobsError) as error:  # PgJobsError: over 1000 tasks (PJ160)
        first = (str(error).strip().splitlines() or [""])[0]
        log.warning(
            "could not declare this worker's tasks (pgjobs status will not count it): %s", first
        )
        return False
    return True


@contextlib.asynccontextmanager
async def declared(worker: Worker, every: float = REDECLARE_EVERY) -> AsyncIterator[None]:
    """Declare ``worker``'s tasks now and every ``every`` seconds until the block ends."""
    await declare_tasks(worker)

    async def again() -> None:
        while True:
            await asyncio.sleep(every)
            await declare_tasks(worker)

    task = asyncio.create_task(again(), name="pgjobs declare tasks")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
