"""The dashboard's database access: a small pool of connections running the statements of
:mod:`pgjobs.db.dashboard_queries`, each under a statement timeout (a payload search has no index
to lean on, so a slow one is cut off instead of piling up)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from pgjobs.db import dashboard_queries as queries
from pgjobs.db.rows import JOB_STATUSES

Row = dict[str, Any]

#: The statuses of app_jobs.job_info, in the order the dashboard shows them.
STATUSES = JOB_STATUSES


@dataclass(frozen=True)
class JobFilter:
    """What the jobs page filters by (empty = any)."""

    status: tuple[str, ...] = ()
    task: str | None = None
    queue: str | None = None
    tenant: uuid.UUID | None = None
    correlation_id: str | None = None
    payload: str | None = None
    """A JSON object or array (containment) or any other text (a substring of the payload)."""
    history_window: timedelta = field(default=timedelta(days=1))

    def payload_filter(self) -> tuple[str | None, str | None]:
        """(payload_contains, payload_text): JSON containment when the text is a JSON object or
        array, else a text search."""
        if not self.payload:
            return None, None
        try:
            value = json.loads(self.payload)
        except ValueError:
            return None, self.payload
        if isinstance(value, dict | list):
            return json.dumps(value), None
        return None, self.payload


class Store:
    """Runs the dashboard's statements on a pool of autocommit connections."""

    def __init__(self, conninfo: str, *, statement_timeout: timedelta, max_size: int = 4) -> None:
        timeout_ms = int(statement_timeout.total_seconds() * 1000)
        options = f"-c statement_timeout={timeout_ms} -c application_name=pgjobs-dashboard"
        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "options": options,
            },
        )

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Row]]:
        async with self.pool.connection() as conn:
            yield conn  # type: ignore[misc]

    async def rows(self, query: str, params: dict[str, Any] | None = None) -> list[Row]:
        async with self.connection() as conn:
            cursor = await conn.execute(query, params or {})
            return await cursor.fetchall()

    async def row(self, query: str, params: dict[str, Any] | None = None) -> Row | None:
        found = await self.rows(query, params)
        return found[0] if found else None

    # -- reads --------------------------------------------------------------------------------

    async def queue_stats(self) -> list[Row]:
        return await self.rows(queries.QUEUE_STATS)

    async def throughput(self, since: timedelta = timedelta(hours=1)) -> list[Row]:
        return await self.rows(queries.JOB_THROUGHPUT, {"since": since})

    async def workers(self) -> list[Row]:
        return await self.rows(queries.LIST_WORKERS)

    async def jobs(self, selection: JobFilter, *, limit: int, offset: int) -> list[Row]:
        params: dict[str, Any] = {
            "status": list(selection.status) or None,
            "task": selection.task or None,
            "queue": selection.queue or None,
            "db_id": selection.tenant,
            "correlation_id": selection.correlation_id or None,
            "row_limit": limit,
            "row_offset": offset,
        }
        contains, text = selection.payload_filter()
        if contains is None and text is None:
            return await self.rows(queries.LIST_JOBS, params)
        params.update(
            payload_contains=contains,
            payload_text=text,
            history_window=selection.history_window,
        )
        return await self.rows(queries.SEARCH_JOBS, params)

    async def job(self, job_id: int) -> Row | None:
        return await self.row(queries.FIND_JOB, {"job_id": job_id})

    async def job_dependencies(self, job_id: int) -> list[Row]:
        return await self.rows(queries.JOB_DEPENDENCIES, {"job_id": job_id})

    async def count_upcoming(self, selection: JobFilter) -> int:
        row = await self.row(queries.COUNT_UPCOMING, _upcoming_params(selection))
        return int(row["waiting"]) if row else 0

    async def schedules(self) -> list[Row]:
        return await self.rows(queries.LIST_SCHEDULES)

    async def queue_gauges(self, max_age: timedelta) -> list[Row]:
        return await self.rows(queries.QUEUE_GAUGES, {"max_age": max_age})

    # -- actions ------------------------------------------------------------------------------

    async def rerun(self, job_id: int) -> Row | None:
        return await self.row(queries.RERUN_JOB, {"job_id": job_id})

    async def cancel(self, job_id: int) -> Row | None:
        return await self.row(queries.CANCEL_JOB, {"job_id": job_id})

    async def cancel_upcoming(self, selection: JobFilter) -> int:
        row = await self.row(queries.CANCEL_UPCOMING, _upcoming_params(selection))
        return int(row["cancelled"]) if row else 0

    async def enable_schedule(self, schedule_id: int, enabled: bool) -> Row | None:
        return await self.row(
            queries.ENABLE_SCHEDULE, {"scheduled_job_id": schedule_id, "enabled": enabled}
        )

    async def run_schedule(self, schedule_id: int) -> Row | None:
        return await self.row(queries.RUN_SCHEDULE, {"scheduled_job_id": schedule_id})

    # -- the HTTP API ---------------------------------------------------------------------------

    async def run_due_schedules(self) -> int:
        row = await self.row(queries.RUN_DUE_SCHEDULES)
        return int(row["enqueued"]) if row else 0

    async def reclaim_stuck_jobs(self, older_than: timedelta) -> int:
        row = await self.row(queries.RECLAIM_STUCK_JOBS, {"older_than": older_than})
        return int(row["reclaimed"]) if row else 0

    async def cleanup_jobs(self, older_than: timedelta) -> Row:
        row = await self.row(queries.CLEANUP_JOBS, {"older_than": older_than})
        return row or {}


def _upcoming_params(selection: JobFilter) -> dict[str, Any]:
    return {
        "task": selection.task or None,
        "queue": selection.queue or None,
        "db_id": selection.tenant,
        # No tenant chosen: the confirmation page says "tenant any", and the count covers all.
        "all_tenants": selection.tenant is None,
    }
