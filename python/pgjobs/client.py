"""The pgjobs client: enqueue and work jobs from Python by calling the app_jobs SQL API.

:class:`AsyncClient` (asyncio, psycopg 3) and its synchronous twin :class:`Client` expose the
SQL functions one to one; every statement they send lives in :mod:`pgjobs.queries`. Errors of
the SQL API (SQLSTATE class ``PJ``) are raised as :mod:`pgjobs.errors` exceptions.

Priorities follow the contract: a lower number runs first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Self
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.composite import CompositeInfo, register_composite
from psycopg.types.json import Json

from pgjobs import queries
from pgjobs.compat import SCHEMA_WITHOUT_VERSION
from pgjobs.errors import translate

__all__ = ["AsyncClient", "Client", "Job", "JobSpec"]

DEFAULT_JOB_EXPIRY = timedelta(hours=4)
DEFAULT_LEASE = timedelta(seconds=30)


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """A row of ``app_jobs.jobs`` (columns a newer schema adds are ignored)."""

    id: int
    database_id: UUID
    task_identifier: str
    payload: Any
    priority: int
    run_at: datetime
    attempts: int
    max_attempts: int
    locked_by: str | None
    locked_at: datetime | None
    key: str | None
    queue_name: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    state: str
    scheduled_job_id: int | None = None
    superseded: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})


@dataclasses.dataclass(frozen=True, slots=True)
class JobSpec:
    """One job for :meth:`Client.add_jobs`: the arguments of :meth:`Client.add_job`."""

    task: str
    payload: Any = None
    tenant: UUID | str | None = None
    job_key: str | None = None
    queue: str | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None
    priority: int | None = None


def _add_job_params(
    task: str,
    payload: Any,
    *,
    tenant: UUID | str | None,
    job_key: str | None,
    queue: str | None,
    run_at: datetime | None,
    delay: timedelta | float | None,
    max_attempts: int | None,
    priority: int | None,
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "db_id": tenant,
        "identifier": task,
        "payload": None if payload is None else Json(payload),
        "job_key": job_key,
        "queue_name": queue,
        "run_at": run_at,
        "max_attempts": max_attempts,
        "priority": priority,
    }
    if delay is None:
        return queries.ADD_JOB, params
    if run_at is not None:
        raise ValueError("pass run_at or delay, not both")
    params["delay"] = delay if isinstance(delay, timedelta) else timedelta(seconds=delay)
    return queries.ADD_JOB_DELAYED, params


def _spec_tuple(spec: JobSpec) -> tuple[Any, ...]:
    return (
        spec.tenant,
        spec.task,
        None if spec.payload is None else Json(spec.payload),
        spec.job_key,
        spec.queue,
        spec.run_at,
        spec.max_attempts,
        spec.priority,
    )


def _add_jobs_params(info: CompositeInfo, specs: Iterable[JobSpec]) -> dict[str, Any]:
    make = info.python_type
    if make is None:  # register() sets it
        raise RuntimeError("app_jobs.job_spec is not registered on this connection")
    return {"specs": [make(*_spec_tuple(spec)) for spec in specs]}


def _get_job_params(
    worker_id: str, tasks: Iterable[str] | None, job_expiry: timedelta
) -> dict[str, Any]:
    return {
        "worker_id": worker_id,
        "task_identifiers": None if tasks is None else list(tasks),
        "job_expiry": job_expiry,
    }


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as error:
        pgjobs_error = translate(error)
        if pgjobs_error is None:
            raise
        raise pgjobs_error from error


class Client:
    """Synchronous client over one psycopg connection (autocommit unless you pass your own)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._job_spec: CompositeInfo | None = None

    @classmethod
    def connect(cls, conninfo: str = "") -> Self:
        return cls(psycopg.connect(conninfo, autocommit=True))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        with _translated(), self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def _jobs(self, query: str, params: Mapping[str, Any]) -> list[Job]:
        return [Job.from_row(row) for row in self._rows(query, params)]

    def _job(self, query: str, params: Mapping[str, Any]) -> Job | None:
        jobs = self._jobs(query, params)
        return jobs[0] if jobs else None

    def add_job(
        self,
        task: str,
        payload: Any = None,
        *,
        tenant: UUID | str | None = None,
        job_key: str | None = None,
        queue: str | None = None,
        run_at: datetime | None = None,
        delay: timedelta | float | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
    ) -> Job:
        """Enqueue one job (app_jobs.add_job); ``delay`` counts from the database's clock."""
        query, params = _add_job_params(
            task, payload, tenant=tenant, job_key=job_key, queue=queue, run_at=run_at,
            delay=delay, max_attempts=max_attempts, priority=priority,
        )  # fmt: skip
        job = self._job(query, params)
        assert job is not None
        return job

    def add_jobs(self, specs: Iterable[JobSpec]) -> list[Job]:
        """Enqueue many jobs in one call (app_jobs.add_jobs), all or nothing, in order."""
        if self._job_spec is None:
            self._job_spec = CompositeInfo.fetch(self.conn, "app_jobs.job_spec")
            if self._job_spec is None:
                raise RuntimeError("type app_jobs.job_spec is missing: run `pgjobs deploy`")
            register_composite(self._job_spec, self.conn)
        return self._jobs(queries.ADD_JOBS, _add_jobs_params(self._job_spec, specs))

    def get_job(
        self,
        worker_id: str,
        tasks: Iterable[str] | None = None,
        job_expiry: timedelta = DEFAULT_JOB_EXPIRY,
    ) -> Job | None:
        """Claim the next due job (app_jobs.get_job), or None."""
        return self._job(queries.GET_JOB, _get_job_params(worker_id, tasks, job_expiry))

    def claim_job(self, worker_id: str, job_id: int) -> Job | None:
        """Claim one given waiting job now (app_jobs.claim_job), or None."""
        return self._job(queries.CLAIM_JOB, {"worker_id": worker_id, "job_id": job_id})

    def complete_job(self, worker_id: str, job_id: int) -> Job | None:
        """Complete a job this worker holds; None when it does not hold it (any more)."""
        return self._job(queries.COMPLETE_JOB, {"worker_id": worker_id, "job_id": job_id})

    def fail_job(
        self, worker_id: str, job_id: int, error_message: str, *, permanent: bool = False
    ) -> Job | None:
        """Fail the attempt of a job this worker holds (for good with ``permanent``); the
        returned job's state is ``scheduled`` (will retry) or ``failed`` (moved to history).
        None when this worker does not hold the job."""
        return self._job(
            queries.FAIL_JOB,
            {
                "worker_id": worker_id,
                "job_id": job_id,
                "error_message": error_message,
                "permanent": permanent,
            },
        )

    def heartbeat(self, worker_id: str, lease: timedelta = DEFAULT_LEASE) -> list[int]:
        """Renew this worker's lease; returns the ids of the jobs it still holds."""
        [row] = self._rows(queries.HEARTBEAT, {"worker_id": worker_id, "lease": lease})
        return list(row["held"])

    def release_jobs(self, worker_id: str) -> list[Job]:
        """Give back every job and queue the worker holds (app_jobs.release_jobs)."""
        return self._jobs(queries.RELEASE_JOBS, {"worker_id": worker_id})

    def remove_job(self, job_key: str, tenant: UUID | str | None = None) -> Job | None:
        """Cancel the tenant's waiting job with this key (app_jobs.remove_job)."""
        return self._job(queries.REMOVE_JOB, {"job_key": job_key, "db_id": tenant})

    def reschedule_jobs(
        self,
        job_ids: Iterable[int],
        *,
        run_at: datetime | None = None,
        priority: int | None = None,
        attempts: int | None = None,
        max_attempts: int | None = None,
    ) -> list[Job]:
        """Change when and how waiting jobs run (app_jobs.reschedule_jobs); None keeps."""
        return self._jobs(
            queries.RESCHEDULE_JOBS,
            {
                "job_ids": list(job_ids),
                "run_at": run_at,
                "priority": priority,
                "attempts": attempts,
                "max_attempts": max_attempts,
            },
        )

    def schema_version(self) -> str:
        """The pgjobs release the database's app_jobs schema is at (app_jobs.schema_version()).

        A schema without that function is at 0.1.0, the release before it existed. Runs in a
        savepoint, so it is safe inside a transaction too.
        """
        try:
            with self.conn.transaction():
                [row] = self._rows(queries.SCHEMA_VERSION, {})
        except psycopg.errors.UndefinedFunction:
            return SCHEMA_WITHOUT_VERSION
        return str(row["version"])

    def create_history_partitions(self, days_ahead: int = 7) -> int:
        """Create the missing day partitions of job_history; returns how many it made."""
        [row] = self._rows(queries.CREATE_HISTORY_PARTITIONS, {"days_ahead": days_ahead})
        return int(row["created"])


class AsyncClient:
    """Asynchronous client over one psycopg ``AsyncConnection``; same methods as :class:`Client`."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self._job_spec: CompositeInfo | None = None

    @classmethod
    async def connect(cls, conninfo: str = "") -> Self:
        return cls(await psycopg.AsyncConnection.connect(conninfo, autocommit=True))

    async def close(self) -> None:
        await self.conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _rows(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        with _translated():
            async with self.conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(query, params)
                return await cur.fetchall()

    async def _jobs(self, query: str, params: Mapping[str, Any]) -> list[Job]:
        return [Job.from_row(row) for row in await self._rows(query, params)]

    async def _job(self, query: str, params: Mapping[str, Any]) -> Job | None:
        jobs = await self._jobs(query, params)
        return jobs[0] if jobs else None

    async def add_job(
        self,
        task: str,
        payload: Any = None,
        *,
        tenant: UUID | str | None = None,
        job_key: str | None = None,
        queue: str | None = None,
        run_at: datetime | None = None,
        delay: timedelta | float | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
    ) -> Job:
        """Enqueue one job (app_jobs.add_job); ``delay`` counts from the database's clock."""
        query, params = _add_job_params(
            task, payload, tenant=tenant, job_key=job_key, queue=queue, run_at=run_at,
            delay=delay, max_attempts=max_attempts, priority=priority,
        )  # fmt: skip
        job = await self._job(query, params)
        assert job is not None
        return job

    async def add_jobs(self, specs: Iterable[JobSpec]) -> list[Job]:
        """Enqueue many jobs in one call (app_jobs.add_jobs), all or nothing, in order."""
        if self._job_spec is None:
            self._job_spec = await CompositeInfo.fetch(self.conn, "app_jobs.job_spec")
            if self._job_spec is None:
                raise RuntimeError("type app_jobs.job_spec is missing: run `pgjobs deploy`")
            register_composite(self._job_spec, self.conn)
        return await self._jobs(queries.ADD_JOBS, _add_jobs_params(self._job_spec, specs))

    async def get_job(
        self,
        worker_id: str,
        tasks: Iterable[str] | None = None,
        job_expiry: timedelta = DEFAULT_JOB_EXPIRY,
    ) -> Job | None:
        """Claim the next due job (app_jobs.get_job), or None."""
        return await self._job(queries.GET_JOB, _get_job_params(worker_id, tasks, job_expiry))

    async def claim_job(self, worker_id: str, job_id: int) -> Job | None:
        """Claim one given waiting job now (app_jobs.claim_job), or None."""
        return await self._job(queries.CLAIM_JOB, {"worker_id": worker_id, "job_id": job_id})

    async def complete_job(self, worker_id: str, job_id: int) -> Job | None:
        """Complete a job this worker holds; None when it does not hold it (any more)."""
        return await self._job(queries.COMPLETE_JOB, {"worker_id": worker_id, "job_id": job_id})

    async def fail_job(
        self, worker_id: str, job_id: int, error_message: str, *, permanent: bool = False
    ) -> Job | None:
        """Fail the attempt of a job this worker holds (for good with ``permanent``); the
        returned job's state is ``scheduled`` (will retry) or ``failed`` (moved to history).
        None when this worker does not hold the job."""
        return await self._job(
            queries.FAIL_JOB,
            {
                "worker_id": worker_id,
                "job_id": job_id,
                "error_message": error_message,
                "permanent": permanent,
            },
        )

    async def heartbeat(self, worker_id: str, lease: timedelta = DEFAULT_LEASE) -> list[int]:
        """Renew this worker's lease; returns the ids of the jobs it still holds."""
        [row] = await self._rows(queries.HEARTBEAT, {"worker_id": worker_id, "lease": lease})
        return list(row["held"])

    async def release_jobs(self, worker_id: str) -> list[Job]:
        """Give back every job and queue the worker holds (app_jobs.release_jobs)."""
        return await self._jobs(queries.RELEASE_JOBS, {"worker_id": worker_id})

    async def remove_job(self, job_key: str, tenant: UUID | str | None = None) -> Job | None:
        """Cancel the tenant's waiting job with this key (app_jobs.remove_job)."""
        return await self._job(queries.REMOVE_JOB, {"job_key": job_key, "db_id": tenant})

    async def reschedule_jobs(
        self,
        job_ids: Iterable[int],
        *,
        run_at: datetime | None = None,
        priority: int | None = None,
        attempts: int | None = None,
        max_attempts: int | None = None,
    ) -> list[Job]:
        """Change when and how waiting jobs run (app_jobs.reschedule_jobs); None keeps."""
        return await self._jobs(
            queries.RESCHEDULE_JOBS,
            {
                "job_ids": list(job_ids),
                "run_at": run_at,
                "priority": priority,
                "attempts": attempts,
                "max_attempts": max_attempts,
            },
        )

    async def schema_version(self) -> str:
        """The pgjobs release the database's app_jobs schema is at; see Client.schema_version."""
        try:
            async with self.conn.transaction():
                [row] = await self._rows(queries.SCHEMA_VERSION, {})
        except psycopg.errors.UndefinedFunction:
            return SCHEMA_WITHOUT_VERSION
        return str(row["version"])

    async def create_history_partitions(self, days_ahead: int = 7) -> int:
        """Create the missing day partitions of job_history; returns how many it made."""
        [row] = await self._rows(queries.CREATE_HISTORY_PARTITIONS, {"days_ahead": days_ahead})
        return int(row["created"])
