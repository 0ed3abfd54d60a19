"""The scheduler loop a worker runs: ``app_jobs.run_due_schedules()`` every few seconds.

Every decision (which fire times are due, missed-run policies, enqueueing each once however
many workers tick) is made in SQL; this only calls it on a timer and logs what it enqueued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from pgjobs.db.async_client import AsyncClient
from pgjobs.db.rows import Job

__all__ = ["scheduler_loop", "tick"]

log = logging.getLogger("pgjobs.schedules")


async def tick(pool: AsyncConnectionPool[Any]) -> list[Job]:
    """One run of app_jobs.run_due_schedules on a pooled connection."""
    async with pool.connection() as conn:
        jobs = await AsyncClient(conn).run_due_schedules()
    for job in jobs:
        log.info(
            "schedule %s enqueued job %d (%s) for %s",
            job.scheduled_job_id,
            job.id,
            job.task_identifier,
            job.fire_time.isoformat() if job.fire_time else "-",
        )
    return jobs


async def scheduler_loop(
    pool: AsyncConnectionPool[Any], interval: float, enqueued: Callable[[], None]
) -> None:
    """Tick every ``interval`` seconds until cancelled; call ``enqueued`` when jobs were added.
    Errors are logged and the loop goes on (the next tick catches up by the missed-run rules)."""
    while True:
        await asyncio.sleep(interval)
        try:
            if await tick(pool):
                enqueued()
        except psycopg.Error as error:
            log.warning("run_due_schedules failed (%s); trying again in %.1fs", error, interval)
