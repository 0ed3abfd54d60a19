"""Recurring schedules from Python; every decision about them is made in SQL.

Declare schedules with the app; each worker upserts them by key at start
(``app_jobs.add_scheduled_job``) and runs a light scheduler loop that calls
``app_jobs.run_due_schedules()`` every ``schedule_interval`` seconds. The database enqueues each
fire time exactly once however many workers tick, so no leader is needed::

    app.schedule("generate_report", cron="0 8 * * 1", tz="Europe/Paris", payload={"kind": "weekly"})

:class:`Schedules` (sync) and :class:`AsyncSchedules` (asyncio) wrap the SQL calls the worker
and ``pgjobs schedules ...`` make; every statement is in :mod:`pgjobs.queries`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool

from pgjobs.db import queries
from pgjobs.db.client import Job
from pgjobs.db.errors import translate

__all__ = [
    "MISSED_RUNS",
    "AsyncSchedules",
    "Schedule",
    "ScheduledJob",
    "Schedules",
    "scheduler_loop",
]

log = logging.getLogger("pgjobs.schedules")

#: The missed-run policies of app_jobs.scheduled_jobs.missed_runs.
MISSED_RUNS = ("skip", "run_once", "backfill")


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    """A recurring job to declare: ``cron`` text (or a ``schedule_info`` rule object) for
    ``task``. ``key`` (default: the task name) identifies it per tenant: declaring it again
    replaces the definition, keeps its enabled flag and, when the schedule itself is unchanged,
    its next fire time. ``missed_runs`` (skip, run_once, backfill with ``backfill_limit`` and/or
    ``backfill_window``) says what happens to fire times missed while nothing ticked."""

    task: str
    cron: str | None = None
    schedule_info: Mapping[str, Any] | None = None
    tz: str | None = None
    payload: Any = None
    key: str | None = None
    tenant: UUID | str | None = None
    queue: str | None = None
    priority: int | None = None
    max_attempts: int | None = None
    missed_runs: str | None = None
    backfill_limit: int | None = None
    backfill_window: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.schedule_info is None):
            raise ValueError(
                f"schedule for task {self.task!r}: give cron text (cron='0 8 * * 1') or a "
                "rule object (schedule_info={'hour': [2], 'minute': [0]}), exactly one of them"
            )
        if self.missed_runs is not None and self.missed_runs not in MISSED_RUNS:
            raise ValueError(
                f"schedule for task {self.task!r}: missed_runs must be one of "
                f"{', '.join(MISSED_RUNS)}, not {self.missed_runs!r}"
            )

    @property
    def job_key(self) -> str:
        """The key the schedule is stored under: ``key``, else the task name."""
        return self.key or self.task

    def params(self) -> dict[str, Any]:
        """Arguments of app_jobs.add_scheduled_job (queries.ADD_SCHEDULED_JOB)."""
        return {
            "db_id": self.tenant,
            "identifier": self.task,
            "payload": None if self.payload is None else Json(self.payload),
            "schedule_info": None if self.schedule_info is None else Json(self.schedule_info),
            "job_key": self.job_key,
            "queue_name": self.queue,
            "max_attempts": self.max_attempts,
            "priority": self.priority,
            "cron": self.cron,
            "tz": self.tz,
            "missed_runs": self.missed_runs,
            "backfill_limit": self.backfill_limit,
            "backfill_window": self.backfill_window,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A row of ``app_jobs.scheduled_jobs`` (the parsed ``spec`` and newer columns ignored)."""

    id: int
    database_id: UUID
    task_identifier: str
    payload: Any
    schedule_info: Any
    priority: int
    max_attempts: int
    queue_name: str | None
    key: str | None
    created_at: datetime
    updated_at: datetime
    enabled: bool = True
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    last_job_id: int | None = None
    missed_runs: str = "run_once"
    backfill_limit: int | None = None
    backfill_window: timedelta | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ScheduledJob:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as error:
        pgjobs_error = translate(error)
        if pgjobs_error is None:
            raise
        raise pgjobs_error from error


class Schedules:
    """The schedule calls over one synchronous psycopg connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def _rows(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        with _translated(), self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def declare(self, schedule: Schedule) -> ScheduledJob:
        """Create or replace (by tenant and key) the schedule (app_jobs.add_scheduled_job)."""
        [row] = self._rows(queries.ADD_SCHEDULED_JOB, schedule.params())
        return ScheduledJob.from_row(row)

    def run_due(self) -> list[Job]:
        """Enqueue every due fire time (app_jobs.run_due_schedules); the new jobs."""
        return [Job.from_row(row) for row in self._rows(queries.RUN_DUE_SCHEDULES, {})]

    def run_now(self, scheduled_job_id: int) -> Job:
        """Enqueue one job from the schedule now (app_jobs.run_scheduled_job)."""
        [row] = self._rows(queries.RUN_SCHEDULED_JOB, {"scheduled_job_id": scheduled_job_id})
        return Job.from_row(row)

    def set_enabled(self, scheduled_job_id: int, enabled: bool) -> ScheduledJob:
        """Enable or disable a schedule (app_jobs.enable_scheduled_job)."""
        [row] = self._rows(
            queries.ENABLE_SCHEDULED_JOB,
            {"scheduled_job_id": scheduled_job_id, "enabled": enabled},
        )
        return ScheduledJob.from_row(row)

    def list_all(self, tenant: UUID | str | None = None) -> list[ScheduledJob]:
        """Every schedule, or a tenant's (app_jobs.list_scheduled_jobs), by id."""
        rows = self._rows(queries.LIST_SCHEDULED_JOBS, {"db_id": tenant})
        return [ScheduledJob.from_row(row) for row in rows]


class AsyncSchedules:
    """The schedule calls a worker makes, over one psycopg ``AsyncConnection``."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def _rows(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        with _translated():
            async with self.conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(query, params)
                return await cur.fetchall()

    async def declare(self, schedules: Iterable[Schedule]) -> list[ScheduledJob]:
        """Create or replace each schedule by key, in one transaction."""
        declared = []
        async with self.conn.transaction():
            for schedule in schedules:
                [row] = await self._rows(queries.ADD_SCHEDULED_JOB, schedule.params())
                declared.append(ScheduledJob.from_row(row))
        return declared

    async def run_due(self) -> list[Job]:
        """Enqueue every due fire time (app_jobs.run_due_schedules); the new jobs."""
        return [Job.from_row(row) for row in await self._rows(queries.RUN_DUE_SCHEDULES, {})]


async def tick(pool: AsyncConnectionPool[Any]) -> list[Job]:
    """One run of app_jobs.run_due_schedules on a pooled connection."""
    async with pool.connection() as conn:
        jobs = await AsyncSchedules(conn).run_due()
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
