"""A worker's declaration of the tasks it serves (``app_jobs.declare_worker_tasks``).

Called once when a worker starts (:meth:`pgjobs.App.serve`, so ``pgjobs worker`` and
``App.run_worker``), on a connection of its own: ``app_jobs.task_coverage()`` and ``pgjobs
status`` then count the worker for those tasks while its lease is live. The declaration never
stops a worker from starting: on a schema without the function (before 0.4.0: a new worker
during a rolling upgrade) it is skipped, and any other database error is logged and skipped
(the worker's own start-up retries and reports an unreachable database).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import psycopg

from pgjobs.db.client import AsyncClient
from pgjobs.db.errors import PgJobsError

if TYPE_CHECKING:
    from pgjobs.runtime.worker import Worker

__all__ = ["declare_tasks"]

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
