"""The pgjobs client: enqueue and work jobs from Python by calling the app_jobs SQL API.

:class:`AsyncClient` (asyncio, psycopg 3; written in :mod:`pgjobs.db.async_client`) and its
synchronous twin :class:`Client` (generated from it into :mod:`pgjobs.db.sync_client`) expose
the SQL functions one to one, schedules included; every statement they send lives in
:mod:`pgjobs.db.queries`. Errors of the SQL API (SQLSTATE class ``PJ``) are raised as
:mod:`pgjobs.db.errors` exceptions. The row types are in :mod:`pgjobs.db.rows`.
"""

from __future__ import annotations

from pgjobs.db.async_client import AsyncClient
from pgjobs.db.rows import (
    DEFAULT_JOB_EXPIRY,
    DEFAULT_LEASE,
    FINISHED_CHANNEL,
    Backoff,
    CleanupResult,
    Job,
    JobInfo,
    JobSpec,
    QueueStats,
    Schedule,
    ScheduledJob,
)
from pgjobs.db.sync_client import Client

__all__ = [
    "DEFAULT_JOB_EXPIRY",
    "DEFAULT_LEASE",
    "FINISHED_CHANNEL",
    "AsyncClient",
    "Backoff",
    "CleanupResult",
    "Client",
    "Job",
    "JobInfo",
    "JobSpec",
    "QueueStats",
    "Schedule",
    "ScheduledJob",
]
