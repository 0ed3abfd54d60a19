"""Recurring schedules from Python; every decision about them is made in SQL.

Declare schedules with the app; each worker upserts them by key at start
(``app_jobs.add_scheduled_job``) and runs a light scheduler loop
(:mod:`pgjobs.runtime.scheduler`) that calls ``app_jobs.run_due_schedules()`` every
``schedule_interval`` seconds. The database enqueues each fire time exactly once however many
workers tick, so no leader is needed::

    app.schedule("generate_report", cron="0 8 * * 1", tz="Europe/Paris", payload={"kind": "weekly"})

The schedule calls are methods of :class:`~pgjobs.db.client.AsyncClient` and
:class:`~pgjobs.db.client.Client` (``add_scheduled_job``, ``run_due_schedules``, ...).
:class:`Schedules` and :class:`AsyncSchedules` are the older names of the same calls, kept as
thin views over those clients.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import psycopg

from pgjobs.db.async_client import AsyncClient
from pgjobs.db.rows import MISSED_RUNS, Job, Schedule, ScheduledJob
from pgjobs.db.sync_client import Client

__all__ = [
    "MISSED_RUNS",
    "AsyncSchedules",
    "Schedule",
    "ScheduledJob",
    "Schedules",
]


class Schedules:
    """The schedule calls over one synchronous connection (a view of :class:`Client`)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.client = Client(conn)

    def declare(self, schedule: Schedule) -> ScheduledJob:
        """Create or replace (by tenant and key) the schedule (app_jobs.add_scheduled_job)."""
        return self.client.add_scheduled_job(schedule)

    def run_due(self) -> list[Job]:
        """Enqueue every due fire time (app_jobs.run_due_schedules); the new jobs."""
        return self.client.run_due_schedules()

    def run_now(self, scheduled_job_id: int) -> Job:
        """Enqueue one job from the schedule now (app_jobs.run_scheduled_job)."""
        return self.client.run_scheduled_job(scheduled_job_id)

    def set_enabled(self, scheduled_job_id: int, enabled: bool) -> ScheduledJob:
        """Enable or disable a schedule (app_jobs.enable_scheduled_job)."""
        return self.client.enable_scheduled_job(scheduled_job_id, enabled)

    def list_all(self, tenant: UUID | str | None = None) -> list[ScheduledJob]:
        """Every schedule, or a tenant's (app_jobs.list_scheduled_jobs), by id."""
        return self.client.list_scheduled_jobs(tenant)


class AsyncSchedules:
    """The schedule calls a worker makes (a view of :class:`AsyncClient`)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self.client = AsyncClient(conn)

    async def declare(self, schedules: Iterable[Schedule]) -> list[ScheduledJob]:
        """Create or replace each schedule by key, in one transaction."""
        return await self.client.add_scheduled_jobs(schedules)

    async def run_due(self) -> list[Job]:
        """Enqueue every due fire time (app_jobs.run_due_schedules); the new jobs."""
        return await self.client.run_due_schedules()
