"""The synchronous client: GENERATED from async_client.py by tools/async_to_sync.py.

Do not edit: change :mod:`pgjobs.db.async_client` and run ``make sync-client``
(tests/python/test_sync_client.py fails when this file is stale). Same methods, same
docstrings, minus ``async``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Self
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from pgjobs.db import pooler, queries
from pgjobs.db.errors import translated
from pgjobs.db.limits import JobLimit
from pgjobs.db.pauses import Pause
from pgjobs.db.rows import (
    _POLL,
    DEFAULT_JOB_EXPIRY,
    DEFAULT_LEASE,
    FINISHED_CHANNEL,
    Backoff,
    CleanupResult,
    Job,
    JobEdge,
    JobInfo,
    JobSpec,
    QueueStats,
    Schedule,
    ScheduledJob,
    TaskCoverage,
    WorkerInfo,
    _add_job_params,
    _add_jobs_params,
    _add_many_params,
    _cleanup_params,
    _fail_params,
    _find_params,
    _get_job_params,
    _list_params,
    _outcome,
    _result_param,
    renamed_keywords,
)
from pgjobs.db.task_settings import TaskSetting, declaration, set_params, unset_params

__all__ = ["Client"]


class Client:
    """Client over one psycopg ``Connection`` (autocommit unless you pass your own)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    @classmethod
    def connect(cls, conninfo: str | None = None) -> Self:
        """Connect to ``conninfo``; without one, to :meth:`default_conninfo`."""
        if conninfo is None:
            conninfo = cls.default_conninfo()
        return cls(psycopg.Connection.connect(conninfo, autocommit=True, **pooler.connect_kwargs()))

    @classmethod
    def default_conninfo(cls) -> str:
        """Where :meth:`connect` goes without a conninfo: here libpq's defaults (``""``).
        The clients exported by ``pgjobs`` resolve it as the CLI does
        (:mod:`pgjobs.runtime.clients`); this layer knows nothing of that resolution."""
        return ""

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        with translated():
            with self.conn.cursor(row_factory=dict_row) as cur:
                cur.execute(query, params)
                return cur.fetchall()

    def _jobs(self, query: str, params: Mapping[str, Any]) -> list[Job]:
        return [Job.from_row(row) for row in self._rows(query, params)]

    def _job(self, query: str, params: Mapping[str, Any]) -> Job | None:
        jobs = self._jobs(query, params)
        return jobs[0] if jobs else None

    @renamed_keywords(tenant="database_id", task="identifier")
    def add_job(
        self,
        identifier: str,
        payload: Any = None,
        *,
        database_id: UUID | str | None = None,
        job_key: str | None = None,
        queue: str | None = None,
        run_at: datetime | None = None,
        delay: timedelta | float | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
        correlation_id: str | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
        timeout: timedelta | float | None = None,
        job_key_mode: str | None = None,
        depends_on: Iterable[int] | None = None,
    ) -> Job:
        """Enqueue one job (app_jobs.add_job); ``delay`` counts from the database's clock.
        ``timeout`` (a timedelta or seconds): the longest run of one attempt, after which the
        worker stops the handler and fails the attempt (retried as any failure). What is left
        out (None) takes the task's settings in the database (app_jobs.task_settings).
        ``job_key_mode``: ``replace`` (default), ``preserve_run_at`` or ``unsafe_dedupe``.
        ``depends_on``: ids of jobs this job waits for (status ``waiting``): it runs once all
        have completed and is cancelled if one fails or is cancelled (since 0.5.0)."""
        query, params = _add_job_params(
            identifier, payload, database_id=database_id, job_key=job_key, queue=queue,
            run_at=run_at, delay=delay, max_attempts=max_attempts, priority=priority,
            correlation_id=correlation_id, backoff=backoff, timeout=timeout,
            job_key_mode=job_key_mode, depends_on=depends_on,
        )  # fmt: skip
        job = self._job(query, params)
        assert job is not None
        return job

    def add_jobs(
        self,
        specs: Iterable[JobSpec],
        *,
        job_key_mode: str | None = None,
        depends_on: Sequence[Iterable[int | JobSpec] | None] | None = None,
    ) -> list[Job]:
        """Enqueue many jobs in one call (app_jobs.add_jobs), all or nothing, in order;
        ``job_key_mode`` (as add_job's) applies to every spec. ``depends_on`` (since 0.5.0):
        one entry per spec, None or what that job waits for: job ids, and JobSpec objects
        given earlier in ``specs`` (the job enqueued for it), so one call builds a pipeline."""
        params = _add_jobs_params(specs, job_key_mode, depends_on)
        return self._jobs(queries.ADD_JOBS, params)

    def add_jobs_ids(
        self,
        specs: Iterable[JobSpec],
        *,
        job_key_mode: str | None = None,
        depends_on: Sequence[Iterable[int | JobSpec] | None] | None = None,
    ) -> list[int]:
        """:meth:`add_jobs` returning only the new jobs' ids, in order: for large batches,
        where reading every row back costs more than writing it."""
        return self._ids(queries.ADD_JOBS_IDS, _add_jobs_params(specs, job_key_mode, depends_on))

    def _ids(self, query: str, params: Mapping[str, Any]) -> list[int]:
        with translated():
            with self.conn.cursor() as cur:
                cur.execute(query, params)
                return [row[0] for row in cur.fetchall()]

    def add_many(
        self,
        identifier: str,
        payloads: Iterable[Any],
        *,
        database_id: UUID | str | None = None,
        queue: str | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
        timeout: timedelta | float | None = None,
        correlation_id: str | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
    ) -> list[Job]:
        """Enqueue one job of task ``identifier`` per payload in one call (app_jobs.add_jobs),
        all or nothing, in order, every job with the same options (add_job's, but no job key).
        The same as :meth:`add_jobs` of ``JobSpec(identifier, payload, **options)`` for each
        payload, without building the specs: the fastest bulk enqueue (since 0.6.0)."""
        params = _add_many_params(
            identifier, payloads, database_id=database_id, queue=queue, run_at=run_at,
            max_attempts=max_attempts, priority=priority, timeout=timeout,
            correlation_id=correlation_id, backoff=backoff,
        )  # fmt: skip
        return self._jobs(queries.ADD_JOBS, params)

    def add_many_ids(
        self,
        identifier: str,
        payloads: Iterable[Any],
        *,
        database_id: UUID | str | None = None,
        queue: str | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
        timeout: timedelta | float | None = None,
        correlation_id: str | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
    ) -> list[int]:
        """:meth:`add_many` returning only the new jobs' ids, in order (as
        :meth:`add_jobs_ids`)."""
        params = _add_many_params(
            identifier, payloads, database_id=database_id, queue=queue, run_at=run_at,
            max_attempts=max_attempts, priority=priority, timeout=timeout,
            correlation_id=correlation_id, backoff=backoff,
        )  # fmt: skip
        return self._ids(queries.ADD_JOBS_IDS, params)

    @renamed_keywords(tasks="task_identifiers")
    def get_job(
        self,
        worker_id: str,
        task_identifiers: Iterable[str] | None = None,
        job_expiry: timedelta = DEFAULT_JOB_EXPIRY,
    ) -> Job | None:
        """Claim the next due job of these tasks (any task: None) (app_jobs.get_job), or None."""
        return self._job(queries.GET_JOB, _get_job_params(worker_id, task_identifiers, job_expiry))

    def get_jobs(
        self,
        worker_id: str,
        tasks: Iterable[str] | None = None,
        job_expiry: timedelta = DEFAULT_JOB_EXPIRY,
        batch_size: int = 100,
    ) -> list[Job]:
        """Claim up to ``batch_size`` due jobs in one call (app_jobs.get_jobs, since 0.4.0), in
        claim order; at most one per serial queue."""
        params = _get_job_params(worker_id, tasks, job_expiry)
        return self._jobs(queries.GET_JOBS, {**params, "batch_size": batch_size})

    def claim_jobs(
        self,
        worker_id: str,
        tasks: Iterable[str] | None = None,
        job_expiry: timedelta = DEFAULT_JOB_EXPIRY,
        batch_size: int = 100,
        *,
        started: bool = True,
    ) -> list[Job]:
        """get_jobs with its ``started`` flag (since 0.4.0): ``started=False`` claims into a
        worker's buffer; record each job with :meth:`start_jobs` before its handler runs."""
        params = _get_job_params(worker_id, tasks, job_expiry)
        return self._jobs(
            queries.GET_JOBS_CLAIM, {**params, "batch_size": batch_size, "started": started}
        )

    def start_jobs(self, worker_id: str, job_ids: Sequence[int]) -> list[int]:
        """Record that the handlers of these claimed jobs start now (app_jobs.start_jobs);
        returns the ids this worker still holds."""
        [row] = self._rows(queries.START_JOBS, {"worker_id": worker_id, "job_ids": list(job_ids)})
        return list(row["started"])

    def settle_jobs(
        self, worker_id: str, job_ids: Sequence[int] | None = None, *, fail_started: bool = False
    ) -> dict[int, str]:
        """Give back jobs this worker holds and will not finish (app_jobs.settle_jobs; all of
        them when ``job_ids`` is None): {job id: refunded, lost, failed or cancelled}."""
        rows = self._rows(
            queries.SETTLE_JOBS,
            {
                "worker_id": worker_id,
                "job_ids": None if job_ids is None else list(job_ids),
                "fail_started": fail_started,
            },
        )
        return {int(row["job_id"]): str(row["outcome"]) for row in rows}

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

    def finish_jobs(self, worker_id: str, completions: Sequence[tuple[int, Any]]) -> dict[int, str]:
        """Record many completions (job id, result) of jobs this worker holds in one call
        (app_jobs.finish_jobs, since 0.4.0). Returns {job id: status} of those applied:
        ``completed``, or ``scheduled``/``failed`` when a result could not be stored (recorded
        as a failure with the reason); a job this worker does not hold is left out."""
        rows = self._rows(
            queries.FINISH_JOBS,
            {
                "worker_id": worker_id,
                "job_ids": [job_id for job_id, _ in completions],
                "results": [
                    None if result is None else json.dumps(result, default=str)
                    for _, result in completions
                ],
            },
        )
        return {int(row["job_id"]): str(row["status"]) for row in rows}

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

    def heartbeat(
        self, worker_id: str, lease: timedelta = DEFAULT_LEASE, instance: UUID | None = None
    ) -> list[int]:
        """Renew this worker's lease; returns the ids of the jobs it still holds. With
        ``instance`` (a token drawn once per process) the lease is this process's: while it is
        live, another process's heartbeat for ``worker_id`` raises :class:`WorkerIdInUse`."""
        if instance is None:
            params: dict[str, Any] = {"worker_id": worker_id, "lease": lease}
            [row] = self._rows(queries.HEARTBEAT, params)
        else:
            params = {"worker_id": worker_id, "lease": lease, "instance": instance}
            [row] = self._rows(queries.HEARTBEAT_INSTANCE, params)
        return list(row["held"])

    def unregister_worker(self, worker_id: str, instance: UUID) -> bool:
        """End the lease this process (``instance``) holds for ``worker_id``
        (app_jobs.unregister_worker): a restart under the same id starts at once."""
        params = {"worker_id": worker_id, "instance": instance}
        [row] = self._rows(queries.UNREGISTER_WORKER, params)
        return bool(row["ended"])

    def release_jobs(self, worker_id: str) -> list[Job]:
        """Give back every job and queue the worker holds (app_jobs.release_jobs)."""
        return self._jobs(queries.RELEASE_JOBS, {"worker_id": worker_id})

    @renamed_keywords(tenant="database_id")
    def remove_job(self, job_key: str, database_id: UUID | str | None = None) -> Job | None:
        """Cancel the tenant's waiting job with this key (app_jobs.remove_job)."""
        return self._job(queries.REMOVE_JOB, {"job_key": job_key, "db_id": database_id})

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
            return queries.SCHEMA_WITHOUT_VERSION
        return str(row["version"])

    # -- the lifecycle ---------------------------------------------------------------------

    def _infos(self, query: str, params: Mapping[str, Any]) -> list[JobInfo]:
        return [JobInfo.from_row(row) for row in self._rows(query, params)]

    def find_job(self, job: int | UUID | str, *, with_attempts: bool = False) -> JobInfo | None:
        """The job with this id (int) or uid, live or finished (app_jobs.find_job), or None."""
        infos = self._infos(queries.FIND_JOB, _find_params(job, with_attempts))
        return infos[0] if infos else None

    def job_dependencies(self, job_id: int) -> list[JobEdge]:
        """The dependency edges of a job, live or finished (app_jobs.list_job_dependencies):
        its dependencies first, then its dependants, each with the other job's status."""
        rows = self._rows(queries.LIST_JOB_DEPENDENCIES, {"job_id": job_id})
        return [JobEdge(**row) for row in rows]

    @renamed_keywords(tenant="database_id")
    def list_jobs(
        self,
        status: str | Sequence[str] | None = None,
        *,
        task: str | None = None,
        queue: str | None = None,
        database_id: UUID | str | None = None,
        correlation_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[JobInfo]:
        """Jobs newest first, live then finished (app_jobs.list_jobs); filters combine."""
        return self._infos(
            queries.LIST_JOBS,
            _list_params(status, task, queue, database_id, correlation_id, limit, offset),
        )

    def recent_jobs(self, limit: int = 20) -> list[JobInfo]:
        """The newest jobs (app_jobs.recent_jobs)."""
        return self._infos(queries.RECENT_JOBS, {"row_limit": limit})

    def queue_stats(self) -> list[QueueStats]:
        """Per task and queue: live counts and the last hour (app_jobs.queue_stats)."""
        return [QueueStats.from_row(row) for row in self._rows(queries.QUEUE_STATS, {})]

    def declare_worker_tasks(self, worker_id: str, tasks: Iterable[str]) -> int:
        """Declare the tasks this worker serves (app_jobs.declare_worker_tasks, at start):
        they count in task_coverage() while its lease is live. Returns how many."""
        params = {"worker_id": worker_id, "task_identifiers": list(tasks)}
        [row] = self._rows(queries.DECLARE_WORKER_TASKS, params)
        return int(row["declared"])

    def task_coverage(self, database_id: UUID | str | None = None) -> list[TaskCoverage]:
        """Per task: queued, scheduled and running jobs and the live workers serving it
        (app_jobs.task_coverage); ``database_id`` narrows the job counts to one tenant."""
        rows = self._rows(queries.TASK_COVERAGE, {"db_id": database_id})
        return [TaskCoverage.from_row(row) for row in rows]

    def list_workers(self) -> list[WorkerInfo]:
        """Workers with a lease row, live ones first (app_jobs.list_workers)."""
        return [WorkerInfo.from_row(row) for row in self._rows(queries.LIST_WORKERS, {})]

    def cancel_job(self, job_id: int) -> JobInfo | None:
        """Cancel a waiting job, or ask the worker of a running one to (app_jobs.cancel_job)."""
        infos = self._infos(queries.CANCEL_JOB, {"job_id": job_id})
        return infos[0] if infos else None

    @renamed_keywords(tenant="database_id")
    def cancel_jobs(
        self,
        *,
        task: str | None = None,
        priority: int | None = None,
        run_at: datetime | None = None,
        queue: str | None = None,
        database_id: UUID | str | None = None,
        all_tenants: bool = False,
    ) -> int:
        """Cancel every waiting job matching all filters given; returns how many.

        Give ``database_id`` (one tenant) or ``all_tenants=True`` (every tenant's matching
        jobs); neither is refused with :class:`~pgjobs.db.errors.InvalidArgument` (``PJ122``).
        """
        [row] = self._rows(
            queries.CANCEL_JOBS,
            {
                "task": task,
                "priority": priority,
                "run_at": run_at,
                "queue": queue,
                "db_id": database_id,
                "all_tenants": all_tenants,
            },
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

    # -- schedules (app_jobs.scheduled_jobs): declared by key, evaluated in SQL ---------------

    def add_scheduled_job(self, schedule: Schedule) -> ScheduledJob:
        """Create or replace (by tenant and key) the schedule (app_jobs.add_scheduled_job)."""
        [row] = self._rows(queries.ADD_SCHEDULED_JOB, schedule.params())
        return ScheduledJob.from_row(row)

    def add_scheduled_jobs(self, schedules: Iterable[Schedule]) -> list[ScheduledJob]:
        """Create or replace each schedule by key, in one transaction."""
        declared = []
        with self.conn.transaction():
            for schedule in schedules:
                declared.append(self.add_scheduled_job(schedule))
        return declared

    def run_due_schedules(self) -> list[Job]:
        """Enqueue every due fire time (app_jobs.run_due_schedules); the new jobs."""
        return self._jobs(queries.RUN_DUE_SCHEDULES, {})

    def run_scheduled_job(self, scheduled_job_id: int) -> Job:
        """Enqueue one job from the schedule now (app_jobs.run_scheduled_job)."""
        [row] = self._rows(queries.RUN_SCHEDULED_JOB, {"scheduled_job_id": scheduled_job_id})
        return Job.from_row(row)

    def enable_scheduled_job(self, scheduled_job_id: int, enabled: bool) -> ScheduledJob:
        """Enable or disable a schedule (app_jobs.enable_scheduled_job)."""
        params = {"scheduled_job_id": scheduled_job_id, "enabled": enabled}
        [row] = self._rows(queries.ENABLE_SCHEDULED_JOB, params)
        return ScheduledJob.from_row(row)

    def find_scheduled_job(
        self, job_key: str, database_id: UUID | str | None = None
    ) -> list[ScheduledJob]:
        """The schedules with this key (app_jobs.find_scheduled_job): of tenant ``database_id``,
        or one per tenant that has the key when it is None; empty when none has it."""
        params = {"job_key": job_key, "db_id": database_id}
        rows = self._rows(queries.FIND_SCHEDULED_JOB, params)
        return [ScheduledJob.from_row(row) for row in rows]

    @renamed_keywords(tenant="database_id")
    def list_scheduled_jobs(self, database_id: UUID | str | None = None) -> list[ScheduledJob]:
        """Every schedule, or a tenant's (app_jobs.list_scheduled_jobs), by id."""
        rows = self._rows(queries.LIST_SCHEDULED_JOBS, {"db_id": database_id})
        return [ScheduledJob.from_row(row) for row in rows]

    def run_jobs_now(self, task_identifiers: Sequence[str]) -> list[Job]:
        """For tests: these tasks' jobs waiting for a later run_at become due now
        (app_jobs.run_jobs_now); returns them."""
        return self._jobs(queries.RUN_JOBS_NOW, {"task_identifiers": list(task_identifiers)})

    # -- task settings (0.4.0) -----------------------------------------------------------------

    def declare_task_settings(
        self, settings: Mapping[str, Mapping[str, Any]], code_version: int = 0
    ) -> int:
        """Declare the application's settings of its tasks ({task: {setting: value}}: settings
        max_attempts, backoff, priority, queue_name, timeout, retention) in one call
        (app_jobs.declare_task_settings). Ignored for tasks declared by a higher
        ``code_version``; returns the number of rows written (0 when nothing changed)."""
        [row] = self._rows(
            queries.DECLARE_TASK_SETTINGS,
            {"settings": declaration(settings), "code_version": code_version},
        )
        return int(row["written"])

    @renamed_keywords(tenant="database_id")
    def set_task_settings(
        self,
        task: str,
        *,
        database_id: UUID | str | None = None,
        max_attempts: int | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
        priority: int | None = None,
        queue: str | None = None,
        timeout: timedelta | float | None = None,
        retention: timedelta | float | None = None,
        payload_schema: Mapping[str, Any] | bool | None = None,
    ) -> dict[str, Any]:
        """An operator's settings of ``task`` for tenant ``database_id`` (None: every tenant)
        (app_jobs.set_task_settings): the settings given are stored, others kept. They win
        over the application's declared ones. ``payload_schema``: a JSON Schema every payload
        of the task must hold at enqueue (PJ190 otherwise; ``True`` turns a declared one
        off). Returns the stored row."""
        [row] = self._rows(
            queries.SET_TASK_SETTINGS,
            set_params(
                task, database_id, max_attempts=max_attempts, backoff=backoff,
                priority=priority, queue=queue, timeout=timeout, retention=retention,
                payload_schema=payload_schema,
            ),
        )  # fmt: skip
        return row

    @renamed_keywords(tenant="database_id")
    def unset_task_settings(
        self,
        task: str,
        settings: Sequence[str] | None = None,
        *,
        database_id: UUID | str | None = None,
    ) -> int:
        """Remove an operator's settings of ``task`` (these ``settings``, or all) for tenant
        ``database_id`` (None: the all-tenants ones) (app_jobs.unset_task_settings)."""
        params = unset_params(task, None if settings is None else list(settings), database_id)
        [row] = self._rows(queries.UNSET_TASK_SETTINGS, params)
        return int(row["changed"])

    @renamed_keywords(tenant="database_id")
    def list_task_settings(self, database_id: UUID | str | None = None) -> list[TaskSetting]:
        """The effective settings of every task with settings, and where each value comes
        from (app_jobs.list_task_settings), for tenant ``database_id`` (None: a tenant
        without settings of its own)."""
        rows = self._rows(queries.LIST_TASK_SETTINGS, {"db_id": database_id})
        return [TaskSetting.from_row(row) for row in rows]

    # -- pause and resume (0.4.0) ---------------------------------------------------------------

    def pause_jobs(
        self,
        *,
        task: str | None = None,
        queue: str | None = None,
        database_id: UUID | str | None = None,
        reason: str | None = None,
    ) -> Pause:
        """Pause the waiting jobs of ``task``, of named queue ``queue`` and/or of tenant
        ``database_id`` (None: any; give at least one) (app_jobs.pause_jobs). Once this returns
        no worker starts a job the pause matches; running jobs finish. It writes one row,
        whatever the backlog. Pausing again with the same keys keeps the first pause."""
        [row] = self._rows(
            queries.PAUSE_JOBS,
            {"task": task, "queue": queue, "db_id": database_id, "reason": reason},
        )
        return Pause.from_row(row)

    def resume_jobs(
        self,
        *,
        task: str | None = None,
        queue: str | None = None,
        database_id: UUID | str | None = None,
    ) -> int | None:
        """Remove the pause made with exactly these keys (app_jobs.resume_jobs); its jobs are
        claimable again in claim order, unless another pause still holds them. Returns how many
        parked jobs were made claimable again, or None when no pause had these keys."""
        [row] = self._rows(
            queries.RESUME_JOBS, {"task": task, "queue": queue, "db_id": database_id}
        )
        return None if row["resumed"] is None else int(row["resumed"])

    def park_paused_jobs(self, max_jobs: int = 10_000) -> int:
        """Park up to about ``max_jobs`` claimable jobs a pause matches, in claim order
        (app_jobs.park_paused_jobs); returns how many, 0 when none is left. Call it in a loop
        after a pause with a large backlog, so that the workers' claims find it parked."""
        [row] = self._rows(queries.PARK_PAUSED_JOBS, {"max_jobs": max_jobs})
        return int(row["parked"])

    def list_pauses(self, database_id: UUID | str | None = None) -> list[Pause]:
        """The pauses in force, oldest first (app_jobs.list_pauses): all of them, or those
        holding back jobs of tenant ``database_id``."""
        rows = self._rows(queries.LIST_PAUSES, {"db_id": database_id})
        return [Pause.from_row(row) for row in rows]

    # -- limits and tenant fairness (0.5.0) ------------------------------------------------------

    def set_job_limit(
        self,
        *,
        task: str | None = None,
        database_id: UUID | str | None = None,
        max_running: int | None = None,
        max_starts: int | None = None,
        per_period: timedelta | None = None,
    ) -> JobLimit:
        """Limit the jobs of ``task``, of tenant ``database_id``, or of ``task`` within tenant
        ``database_id`` (give at least one) (app_jobs.set_job_limit): at most ``max_running``
        of them running at once across all workers (jobs claimed into a worker's buffer
        count), and/or at most ``max_starts`` starts per ``per_period`` (a token bucket).
        Setting again replaces both limits of the key. Enforced by every claim from now on."""
        [row] = self._rows(
            queries.SET_JOB_LIMIT,
            {
                "task": task,
                "db_id": database_id,
                "max_running": max_running,
                "max_starts": max_starts,
                "per_period": per_period,
            },
        )
        return JobLimit.from_row(row)

    def remove_job_limit(
        self, *, task: str | None = None, database_id: UUID | str | None = None
    ) -> bool:
        """Lift the limit set with exactly these keys (app_jobs.remove_job_limit); True when
        there was one. The jobs it held back start with the next claims."""
        [row] = self._rows(queries.REMOVE_JOB_LIMIT, {"task": task, "db_id": database_id})
        return bool(row["removed"])

    def list_job_limits(self, database_id: UUID | str | None = None) -> list[JobLimit]:
        """The limits in force (app_jobs.list_job_limits), with how many of each one's jobs run
        now and how many starts its rate bucket holds: all of them, or those that apply to
        tenant ``database_id``."""
        rows = self._rows(queries.LIST_JOB_LIMITS, {"db_id": database_id})
        return [JobLimit.from_row(row) for row in rows]

    def set_tenant_fairness(self, enabled: bool) -> bool:
        """Turn tenant fairness on or off (app_jobs.set_tenant_fairness): on, every claim
        rotates across tenants among the jobs of equal priority, so a tenant with a large
        backlog does not starve one with a few jobs. Turning it on builds an index of the
        claimable jobs (enqueues and claims wait while it is built)."""
        [row] = self._rows(queries.SET_TENANT_FAIRNESS, {"enabled": enabled})
        return bool(row["enabled"])

    def wait_for(self, job_id: int, timeout: float | None = None) -> Any:
        """Wait until the job finishes and return its result; raise
        :class:`~pgjobs.errors.JobFailed` if it failed or was cancelled, TimeoutError after
        ``timeout`` seconds. Race-free: it LISTENs on "jobs:finished" before watch_job marks
        the job, so a completion committing at any moment is either seen by watch_job or
        notified; a poll every few seconds covers a lost connection's notifications."""
        deadline = None if timeout is None else time.monotonic() + timeout
        listen = not pooler.transaction_pooler()  # there: a poll every few seconds only
        if listen:
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
                    notes = self.conn.notifies(timeout=left, stop_after=1)
                    payloads = [n.payload for n in notes]
                    if str(job_id) in payloads or not payloads:
                        break  # ours finished, or a poll is due (a missed notification)
        finally:
            if listen:
                self.conn.execute(f'UNLISTEN "{FINISHED_CHANNEL}"')
