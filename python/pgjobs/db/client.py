"""The pgjobs client: enqueue and work jobs from Python by calling the app_jobs SQL API.

:class:`AsyncClient` (asyncio, psycopg 3) and its synchronous twin :class:`Client` expose the
SQL functions one to one; every statement they send lives in :mod:`pgjobs.queries`. Errors of
the SQL API (SQLSTATE class ``PJ``) are raised as :mod:`pgjobs.errors` exceptions.

Priorities follow the contract: a lower number runs first.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal, Self
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.composite import CompositeInfo, register_composite
from psycopg.types.json import Json

from pgjobs.db import queries
from pgjobs.db.errors import JobFailed, translate
from pgjobs.install.compat import SCHEMA_WITHOUT_VERSION

__all__ = [
    "FINISHED_CHANNEL",
    "AsyncClient",
    "Backoff",
    "CleanupResult",
    "Client",
    "Job",
    "JobInfo",
    "JobSpec",
    "QueueStats",
]

#: The channel app_jobs notifies (payload: the job id) when a watched job finishes.
FINISHED_CHANNEL = "jobs:finished"

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
    fire_time: datetime | None = None  # the schedule's fire time this job runs for
    uid: UUID | None = None
    correlation_id: str | None = None
    first_started_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    rerun_of: int | None = None

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


@dataclasses.dataclass(frozen=True, slots=True)
class Backoff:
    """Retry delay options (computed by app_jobs, see fail_job): after failed attempt n,
    ``exponential`` waits base * 2^(n-1), ``linear`` base * n, ``fixed`` base, ``none`` 0
    seconds, spread by ``jitter`` (0-1: times a uniform [1 - jitter, 1 + jitter]) and capped
    at ``cap`` seconds."""

    strategy: Literal["exponential", "linear", "fixed", "none"] = "exponential"
    base: float = 1.0
    cap: float = 21600.0
    jitter: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _backoff_param(backoff: Backoff | Mapping[str, Any] | None) -> Json | None:
    if backoff is None:
        return None
    return Json(backoff.as_json() if isinstance(backoff, Backoff) else dict(backoff))


@dataclasses.dataclass(frozen=True, slots=True)
class JobInfo:
    """A job, live or finished (an ``app_jobs.job_info`` row). ``status`` is one of pending,
    scheduled, running, retrying, completed, failed, cancelled."""

    id: int
    uid: UUID
    status: str
    database_id: UUID
    task_identifier: str
    queue_name: str | None
    key: str | None
    correlation_id: str | None
    payload: Any
    priority: int
    run_at: datetime
    attempts: int
    max_attempts: int
    last_error: str | None
    result: Any
    progress: Any
    progress_message: str | None
    worker_id: str | None
    created_at: datetime
    first_started_at: datetime | None
    locked_at: datetime | None
    finished_at: datetime | None
    duration: timedelta | None
    cancel_requested_at: datetime | None
    rerun_of: int | None
    scheduled_job_id: int | None
    attempt_log: list[dict[str, Any]] | None = None

    #: The statuses of a job that will not change any more.
    FINISHED = frozenset({"completed", "failed", "cancelled"})

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> JobInfo:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})


@dataclasses.dataclass(frozen=True, slots=True)
class QueueStats:
    """One row of ``app_jobs.queue_stats()``: per task and queue."""

    task_identifier: str
    queue_name: str | None
    queued: int
    scheduled: int
    running: int
    retrying: int
    total: int
    completed_last_hour: int
    failed_last_hour: int
    cancelled_last_hour: int
    oldest_queued_age: timedelta | None
    avg_duration: timedelta | None
    failure_rate: float | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> QueueStats:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})


@dataclasses.dataclass(frozen=True, slots=True)
class CleanupResult:
    """What ``app_jobs.cleanup_jobs`` removed."""

    dropped_partitions: int
    deleted_jobs: int
    deleted_attempts: int


def _statuses(status: str | Sequence[str] | None) -> list[str] | None:
    if status is None:
        return None
    return [status] if isinstance(status, str) else list(status)


def _list_params(
    status: str | Sequence[str] | None,
    task: str | None,
    queue: str | None,
    tenant: UUID | str | None,
    correlation_id: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    return {
        "status": _statuses(status),
        "task": task,
        "queue": queue,
        "db_id": tenant,
        "correlation_id": correlation_id,
        "row_limit": limit,
        "row_offset": offset,
    }


def _find_params(job: int | UUID | str, with_attempts: bool) -> dict[str, Any]:
    if isinstance(job, int):
        return {"job_id": job, "job_uid": None, "with_attempts": with_attempts}
    return {"job_id": None, "job_uid": UUID(str(job)), "with_attempts": with_attempts}


def _result_param(result: Any) -> Json | None:
    """A handler's return value as JSON; values JSON cannot hold are stored as text."""
    if result is None:
        return None
    return Json(result, dumps=lambda value: json.dumps(value, default=str))


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
    correlation_id: str | None = None,
    backoff: Backoff | Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "correlation_id": correlation_id,
        "backoff": _backoff_param(backoff),
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


def _fail_params(
    worker_id: str,
    job_id: int,
    error_message: str,
    error_details: Any,
    backoff: Backoff | Mapping[str, Any] | None,
    permanent: bool = False,
) -> dict[str, Any]:
    return {
        "worker_id": worker_id,
        "job_id": job_id,
        "error_message": error_message,
        "permanent": permanent,
        "error_details": None if error_details is None else Json(error_details),
        "backoff": _backoff_param(backoff),
    }


def _cleanup_params(older_than: timedelta, statuses: Sequence[str] | None) -> dict[str, Any]:
    return {
        "older_than": older_than,
        "statuses": list(statuses) if statuses else ["completed", "failed", "cancelled"],
    }


#: wait_for re-checks the job this often (seconds) in case a notification was lost.
_POLL = 5.0


def _outcome(info: JobInfo) -> Any:
    if info.status == "completed":
        return info.result
    raise JobFailed(info)


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
        correlation_id: str | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
    ) -> Job:
        """Enqueue one job (app_jobs.add_job); ``delay`` counts from the database's clock."""
        query, params = _add_job_params(
            task, payload, tenant=tenant, job_key=job_key, queue=queue, run_at=run_at,
            delay=delay, max_attempts=max_attempts, priority=priority,
            correlation_id=correlation_id, backoff=backoff,
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

    def complete_job(self, worker_id: str, job_id: int, result: Any = None) -> Job | None:
        """Complete a job this worker holds, storing ``result`` (JSON); None when it does not
        hold it (any more)."""
        return self._job(
            queries.COMPLETE_JOB,
            {"worker_id": worker_id, "job_id": job_id, "result": _result_param(result)},
        )

    def fail_job(
        self,
        worker_id: str,
        job_id: int,
        error_message: str,
        error_details: Any = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
        *,
        permanent: bool = False,
    ) -> Job | None:
        """Fail the attempt of a job this worker holds (logged in the attempt log with
        ``error_details``; for good with ``permanent``; else retried after the job's backoff,
        or ``backoff``). The returned job's state is ``scheduled`` (will retry), ``failed`` or
        ``cancelled`` (moved to history). None when this worker does not hold the job."""
        return self._job(
            queries.FAIL_JOB,
            _fail_params(worker_id, job_id, error_message, error_details, backoff, permanent),
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

    # -- the lifecycle ---------------------------------------------------------------------

    def _infos(self, query: str, params: Mapping[str, Any]) -> list[JobInfo]:
        return [JobInfo.from_row(row) for row in self._rows(query, params)]

    def find_job(self, job: int | UUID | str, *, with_attempts: bool = False) -> JobInfo | None:
        """The job with this id (int) or uid, live or finished (app_jobs.find_job), or None."""
        infos = self._infos(queries.FIND_JOB, _find_params(job, with_attempts))
        return infos[0] if infos else None

    def list_jobs(
        self,
        status: str | Sequence[str] | None = None,
        *,
        task: str | None = None,
        queue: str | None = None,
        tenant: UUID | str | None = None,
        correlation_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[JobInfo]:
        """Jobs newest first, live then finished (app_jobs.list_jobs); filters combine."""
        return self._infos(
            queries.LIST_JOBS,
            _list_params(status, task, queue, tenant, correlation_id, limit, offset),
        )

    def recent_jobs(self, limit: int = 20) -> list[JobInfo]:
        """The newest jobs (app_jobs.recent_jobs)."""
        return self._infos(queries.RECENT_JOBS, {"row_limit": limit})

    def queue_stats(self) -> list[QueueStats]:
        """Per task and queue: live counts and the last hour (app_jobs.queue_stats)."""
        return [QueueStats.from_row(row) for row in self._rows(queries.QUEUE_STATS, {})]

    def cancel_job(self, job_id: int) -> JobInfo | None:
        """Cancel a waiting job, or ask the worker of a running one to (app_jobs.cancel_job)."""
        infos = self._infos(queries.CANCEL_JOB, {"job_id": job_id})
        return infos[0] if infos else None

    def cancel_jobs(
        self,
        *,
        task: str | None = None,
        priority: int | None = None,
        run_at: datetime | None = None,
        queue: str | None = None,
        tenant: UUID | str | None = None,
    ) -> int:
        """Cancel every waiting job matching all filters given; returns how many."""
        [row] = self._rows(
            queries.CANCEL_JOBS,
            {"task": task, "priority": priority, "run_at": run_at, "queue": queue, "db_id": tenant},
        )
        return int(row["cancelled"])

    def rerun_job(self, job_id: int) -> JobInfo:
        """Enqueue a fresh copy of a finished job (app_jobs.rerun_job)."""
        [info] = self._infos(queries.RERUN_JOB, {"job_id": job_id})
        return info

    def set_progress(
        self, worker_id: str, job_id: int, percent: float | None, message: str | None = None
    ) -> bool:
        """Report a running job's progress; False when the worker does not hold it."""
        [row] = self._rows(
            queries.SET_PROGRESS,
            {"worker_id": worker_id, "job_id": job_id, "percent": percent, "message": message},
        )
        return bool(row["held"])

    def reclaim_stuck_jobs(self, older_than: timedelta) -> int:
        """Take back jobs locked longer than ``older_than`` by workers without a live lease."""
        [row] = self._rows(queries.RECLAIM_STUCK_JOBS, {"older_than": older_than})
        return int(row["reclaimed"])

    def cleanup_jobs(
        self, older_than: timedelta, statuses: Sequence[str] | None = None
    ) -> CleanupResult:
        """Remove finished jobs older than ``older_than`` (app_jobs.cleanup_jobs)."""
        [row] = self._rows(queries.CLEANUP_JOBS, _cleanup_params(older_than, statuses))
        return CleanupResult(**row)

    def create_history_partitions(self, days_ahead: int = 7) -> int:
        """Create the day partitions of job_history ahead of time; returns how many."""
        [row] = self._rows(queries.CREATE_HISTORY_PARTITIONS, {"days_ahead": days_ahead})
        return int(row["created"])

    def wait_for(self, job_id: int, timeout: float | None = None) -> Any:
        """Wait until the job finishes and return its result; raise
        :class:`~pgjobs.errors.JobFailed` if it failed or was cancelled, TimeoutError after
        ``timeout`` seconds. Race-free: LISTEN first, then watch_job (see AsyncClient)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.conn.execute(f'LISTEN "{FINISHED_CHANNEL}"')
        try:
            while True:
                infos = self._infos(queries.WATCH_JOB, {"job_id": job_id})
                if not infos:
                    raise LookupError(f"there is no job {job_id}")
                if infos[0].finished:
                    return _outcome(infos[0])
                while True:
                    left = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
                    if left <= 0:
                        raise TimeoutError(f"job {job_id} did not finish within {timeout} s")
                    payloads = [n.payload for n in self.conn.notifies(timeout=left, stop_after=1)]
                    if str(job_id) in payloads or not payloads:
                        break  # ours finished, or a poll is due (a missed notification)
        finally:
            self.conn.execute(f'UNLISTEN "{FINISHED_CHANNEL}"')


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
        correlation_id: str | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
    ) -> Job:
        """Enqueue one job (app_jobs.add_job); ``delay`` counts from the database's clock."""
        query, params = _add_job_params(
            task, payload, tenant=tenant, job_key=job_key, queue=queue, run_at=run_at,
            delay=delay, max_attempts=max_attempts, priority=priority,
            correlation_id=correlation_id, backoff=backoff,
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

    async def complete_job(self, worker_id: str, job_id: int, result: Any = None) -> Job | None:
        """Complete a job this worker holds, storing ``result`` (JSON); None when it does not
        hold it (any more)."""
        return await self._job(
            queries.COMPLETE_JOB,
            {"worker_id": worker_id, "job_id": job_id, "result": _result_param(result)},
        )

    async def fail_job(
        self,
        worker_id: str,
        job_id: int,
        error_message: str,
        error_details: Any = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
        *,
        permanent: bool = False,
    ) -> Job | None:
        """Fail the attempt of a job this worker holds (logged in the attempt log with
        ``error_details``; for good with ``permanent``; else retried after the job's backoff,
        or ``backoff``). The returned job's state is ``scheduled`` (will retry), ``failed`` or
        ``cancelled`` (moved to history). None when this worker does not hold the job."""
        return await self._job(
            queries.FAIL_JOB,
            _fail_params(worker_id, job_id, error_message, error_details, backoff, permanent),
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

    # -- the lifecycle ---------------------------------------------------------------------

    async def _infos(self, query: str, params: Mapping[str, Any]) -> list[JobInfo]:
        return [JobInfo.from_row(row) for row in await self._rows(query, params)]

    async def find_job(
        self, job: int | UUID | str, *, with_attempts: bool = False
    ) -> JobInfo | None:
        """The job with this id (int) or uid, live or finished (app_jobs.find_job), or None."""
        infos = await self._infos(queries.FIND_JOB, _find_params(job, with_attempts))
        return infos[0] if infos else None

    async def list_jobs(
        self,
        status: str | Sequence[str] | None = None,
        *,
        task: str | None = None,
        queue: str | None = None,
        tenant: UUID | str | None = None,
        correlation_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[JobInfo]:
        """Jobs newest first, live then finished (app_jobs.list_jobs); filters combine."""
        return await self._infos(
            queries.LIST_JOBS,
            _list_params(status, task, queue, tenant, correlation_id, limit, offset),
        )

    async def recent_jobs(self, limit: int = 20) -> list[JobInfo]:
        """The newest jobs (app_jobs.recent_jobs)."""
        return await self._infos(queries.RECENT_JOBS, {"row_limit": limit})

    async def queue_stats(self) -> list[QueueStats]:
        """Per task and queue: live counts and the last hour (app_jobs.queue_stats)."""
        return [QueueStats.from_row(row) for row in await self._rows(queries.QUEUE_STATS, {})]

    async def cancel_job(self, job_id: int) -> JobInfo | None:
        """Cancel a waiting job, or ask the worker of a running one to (app_jobs.cancel_job)."""
        infos = await self._infos(queries.CANCEL_JOB, {"job_id": job_id})
        return infos[0] if infos else None

    async def cancel_jobs(
        self,
        *,
        task: str | None = None,
        priority: int | None = None,
        run_at: datetime | None = None,
        queue: str | None = None,
        tenant: UUID | str | None = None,
    ) -> int:
        """Cancel every waiting job matching all filters given; returns how many."""
        [row] = await self._rows(
            queries.CANCEL_JOBS,
            {"task": task, "priority": priority, "run_at": run_at, "queue": queue, "db_id": tenant},
        )
        return int(row["cancelled"])

    async def rerun_job(self, job_id: int) -> JobInfo:
        """Enqueue a fresh copy of a finished job (app_jobs.rerun_job)."""
        [info] = await self._infos(queries.RERUN_JOB, {"job_id": job_id})
        return info

    async def set_progress(
        self, worker_id: str, job_id: int, percent: float | None, message: str | None = None
    ) -> bool:
        """Report a running job's progress; False when the worker does not hold it."""
        [row] = await self._rows(
            queries.SET_PROGRESS,
            {"worker_id": worker_id, "job_id": job_id, "percent": percent, "message": message},
        )
        return bool(row["held"])

    async def reclaim_stuck_jobs(self, older_than: timedelta) -> int:
        """Take back jobs locked longer than ``older_than`` by workers without a live lease."""
        [row] = await self._rows(queries.RECLAIM_STUCK_JOBS, {"older_than": older_than})
        return int(row["reclaimed"])

    async def cleanup_jobs(
        self, older_than: timedelta, statuses: Sequence[str] | None = None
    ) -> CleanupResult:
        """Remove finished jobs older than ``older_than`` (app_jobs.cleanup_jobs)."""
        [row] = await self._rows(queries.CLEANUP_JOBS, _cleanup_params(older_than, statuses))
        return CleanupResult(**row)

    async def create_history_partitions(self, days_ahead: int = 7) -> int:
        """Create the day partitions of job_history ahead of time; returns how many."""
        [row] = await self._rows(queries.CREATE_HISTORY_PARTITIONS, {"days_ahead": days_ahead})
        return int(row["created"])

    async def wait_for(self, job_id: int, timeout: float | None = None) -> Any:
        """Wait until the job finishes and return its result; raise
        :class:`~pgjobs.errors.JobFailed` if it failed or was cancelled, TimeoutError after
        ``timeout`` seconds. Race-free: it LISTENs on "jobs:finished" before watch_job marks
        the job, so a completion committing at any moment is either seen by watch_job or
        notified; a poll every few seconds covers a lost connection's notifications."""
        deadline = None if timeout is None else time.monotonic() + timeout
        await self.conn.execute(f'LISTEN "{FINISHED_CHANNEL}"')
        try:
            while True:
                infos = await self._infos(queries.WATCH_JOB, {"job_id": job_id})
                if not infos:
                    raise LookupError(f"there is no job {job_id}")
                if infos[0].finished:
                    return _outcome(infos[0])
                while True:
                    left = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
                    if left <= 0:
                        raise TimeoutError(f"job {job_id} did not finish within {timeout} s")
                    notes = self.conn.notifies(timeout=left, stop_after=1)
                    payloads = [n.payload async for n in notes]
                    if str(job_id) in payloads or not payloads:
                        break  # ours finished, or a poll is due (a missed notification)
        finally:
            await self.conn.execute(f'UNLISTEN "{FINISHED_CHANNEL}"')
