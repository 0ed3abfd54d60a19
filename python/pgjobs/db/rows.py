"""What the clients send and get back: row types and the shaping of arguments.

Shared by :class:`~pgjobs.db.async_client.AsyncClient` and the generated
:class:`~pgjobs.db.sync_client.Client`. Priorities follow the contract: a lower number runs
first.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import operator
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeVar, cast
from uuid import UUID

from psycopg.types.json import Json

from pgjobs.db import queries
from pgjobs.db.errors import JobFailed

__all__ = [
    "DEFAULT_JOB_EXPIRY",
    "DEFAULT_LEASE",
    "FINISHED_CHANNEL",
    "JOB_STATUSES",
    "MISSED_RUNS",
    "Backoff",
    "CleanupResult",
    "Job",
    "JobEdge",
    "JobInfo",
    "JobSpec",
    "QueueStats",
    "Schedule",
    "ScheduledJob",
    "TaskCoverage",
    "WorkerInfo",
    "renamed_keywords",
]

#: The statuses of app_jobs.job_info (live and finished jobs), in the order they are shown.
JOB_STATUSES = (
    "pending", "scheduled", "running", "retrying", "paused", "waiting", "completed", "failed",
    "cancelled",
)  # fmt: skip

F = TypeVar("F", bound=Callable[..., Any])


def _warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    warnings.warn(
        f"{old} is deprecated: use {new} (the SQL contract's name); the old name goes in the "
        "next release",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """Accept the old keyword names (``old=new``) for one release, with a DeprecationWarning.

    Works on plain and ``async`` functions alike, so the generated sync client keeps it.
    """

    def decorate(fn: F) -> F:
        def move(kwargs: dict[str, Any]) -> None:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{fn.__qualname__}() got both {old}= and {new}= (the same)")
                name = fn.__qualname__.removesuffix(".__init__")
                _warn_renamed(f"{name}({old}=...)", f"{new}=", stacklevel=4)
                kwargs[new] = kwargs.pop(old)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if kwargs:
                    move(kwargs)
                return await fn(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if kwargs:  # JobSpec(...) by position, 50,000 times in a bulk enqueue: no work
                move(kwargs)
            return fn(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


#: The missed-run policies of app_jobs.scheduled_jobs.missed_runs.
MISSED_RUNS = ("skip", "run_once", "backfill")

#: The channel app_jobs notifies (payload: the job id) when a watched job finishes.
FINISHED_CHANNEL = "jobs:finished"

DEFAULT_JOB_EXPIRY = timedelta(hours=4)
DEFAULT_LEASE = timedelta(seconds=30)


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """A row of ``app_jobs.jobs`` (columns a newer schema adds are ignored), as the functions
    that return jobs rows give it (add_job, get_job, fail_job, ...).

    The row's ``state`` column is the claim's internal flag (ready, scheduled, blocked,
    running), not a status, and stays internal (``_state``): the public status of a job
    (pending, scheduled, running, retrying, completed, failed, cancelled) is
    :attr:`JobInfo.status`, from ``find_job(job.id)`` or ``list_jobs``. ``Job.state`` is a
    deprecated alias for one release.
    """

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
    _state: str  # the row's internal claim flag (column ``state``): not a status
    scheduled_job_id: int | None = None
    superseded: bool = False
    fire_time: datetime | None = None  # the schedule's fire time this job runs for
    uid: UUID | None = None
    correlation_id: str | None = None
    first_started_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    rerun_of: int | None = None
    #: Longest run of one attempt (add_job's ``timeout``); None: no limit (0.4.0).
    timeout: timedelta | None = None

    @property
    def state(self) -> str:
        """Deprecated: the row's internal claim flag, not a status (gone in the next release)."""
        _warn_renamed("Job.state (the internal claim flag)", "client.find_job(job.id).status")
        return self._state

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        return cls(**{name: row[column] for name, column in _JOB_FIELDS if column in row})


def failed_outcome(failed: Job) -> Literal["retrying", "cancelled", "failed"]:
    """How the attempt that fail_job (or finish_jobs) recorded ended, read from the row it
    returned: ``retrying`` (the job waits for its next attempt), ``cancelled`` or ``failed``."""
    if failed._state == "scheduled":
        return "retrying"
    return "cancelled" if failed._state == "cancelled" else "failed"


#: Job's (field, column) names, read once (dataclasses.fields per row was a fifth of a bulk
#: enqueue); the internal ``state`` column is the private field ``_state``.
_JOB_FIELDS = tuple((f.name, f.name.lstrip("_")) for f in dataclasses.fields(Job))


@dataclasses.dataclass(frozen=True, slots=True)
class JobEdge:
    """One dependency edge of a job (app_jobs.list_job_dependencies, since 0.5.0): the other
    job is a ``dependency`` (the job waits or waited for it) or a ``dependant`` (it waits or
    waited for the job); ``status`` is the other job's (None: its history was cleaned up)."""

    relation: str
    id: int
    task_identifier: str | None
    status: str | None


@dataclasses.dataclass(frozen=True, slots=True, init=False)
class JobSpec:
    """One job for :meth:`Client.add_jobs`: the arguments of :meth:`Client.add_job`."""

    identifier: str
    payload: Any = None
    database_id: UUID | str | None = None
    job_key: str | None = None
    queue: str | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None
    priority: int | None = None
    #: Longest run of one attempt (a timedelta or seconds); None: no limit.
    timeout: timedelta | float | None = None
    #: add_job's correlation_id and backoff (0.4.0).
    correlation_id: str | None = None
    backoff: Backoff | Mapping[str, Any] | None = None

    def __init__(
        self,
        identifier: str,
        payload: Any = None,
        database_id: UUID | str | None = None,
        job_key: str | None = None,
        queue: str | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
        timeout: timedelta | float | None = None,
        correlation_id: str | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
    ) -> None:
        # The dataclass __init__ a frozen class gets calls object.__setattr__ per field; the
        # slots' own setters are twice as fast, and a bulk enqueue builds one spec per job.
        (s_identifier, s_payload, s_database_id, s_job_key, s_queue, s_run_at, s_max_attempts,
         s_priority, s_timeout, s_correlation_id, s_backoff) = _JOB_SPEC_SETTERS  # fmt: skip
        s_identifier(self, identifier)
        s_payload(self, payload)
        s_database_id(self, database_id)
        s_job_key(self, job_key)
        s_queue(self, queue)
        s_run_at(self, run_at)
        s_max_attempts(self, max_attempts)
        s_priority(self, priority)
        s_timeout(self, timeout)
        s_correlation_id(self, correlation_id)
        s_backoff(self, backoff)

    @property
    def tenant(self) -> UUID | str | None:
        """Deprecated name of :attr:`database_id`."""
        _warn_renamed("JobSpec.tenant", "JobSpec.database_id")
        return self.database_id

    @property
    def task(self) -> str:
        """Deprecated name of :attr:`identifier` (the contract's name, as in add_job)."""
        _warn_renamed("JobSpec.task", "JobSpec.identifier")
        return self.identifier


#: The slot setters of JobSpec's fields, in field order (its __init__ uses them).
_JOB_SPEC_SETTERS: tuple[Callable[[JobSpec, Any], None], ...] = tuple(
    getattr(JobSpec, field.name).__set__ for field in dataclasses.fields(JobSpec)
)


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


def _backoff_dict(backoff: Backoff | Mapping[str, Any]) -> dict[str, Any]:
    return backoff.as_json() if isinstance(backoff, Backoff) else dict(backoff)


def _backoff_param(backoff: Backoff | Mapping[str, Any] | None) -> Json | None:
    return None if backoff is None else Json(_backoff_dict(backoff))


def backoff_text(backoff: Backoff | Mapping[str, Any] | None) -> str | None:
    """A Backoff (or its dict) as the JSON text of a backoff option (None: none)."""
    return None if backoff is None else json.dumps(_backoff_dict(backoff))


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
class TaskCoverage:
    """One row of ``app_jobs.task_coverage()``: a task's jobs and the live workers serving it.

    ``live_workers`` counts the workers with a live lease that declared the task
    (``app_jobs.declare_worker_tasks``, which a pgjobs worker calls at start)."""

    task_identifier: str
    queued: int
    scheduled: int
    running: int
    oldest_queued_age: timedelta | None
    live_workers: int

    @property
    def unserved(self) -> bool:
        """Jobs wait (due or later) and no live worker serves the task."""
        return self.live_workers == 0 and (self.queued > 0 or self.scheduled > 0)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TaskCoverage:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One row of ``app_jobs.list_workers()``: a worker's lease and the jobs it runs."""

    worker_id: str
    alive: bool
    first_seen_at: datetime
    last_heartbeat_at: datetime
    lease_expires_at: datetime
    running_jobs: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> WorkerInfo:
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
    database_id: UUID | str | None,
    correlation_id: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    return {
        "status": _statuses(status),
        "task": task,
        "queue": queue,
        "db_id": database_id,
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
    identifier: str,
    payload: Any,
    *,
    database_id: UUID | str | None,
    job_key: str | None,
    queue: str | None,
    run_at: datetime | None,
    delay: timedelta | float | None,
    max_attempts: int | None,
    priority: int | None,
    correlation_id: str | None = None,
    backoff: Backoff | Mapping[str, Any] | None = None,
    timeout: timedelta | float | None = None,
    job_key_mode: str | None = None,
    depends_on: Iterable[int] | None = None,
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "depends_on": None if depends_on is None else list(depends_on),
        "job_key_mode": job_key_mode,
        "timeout": _interval(timeout),
        "correlation_id": correlation_id,
        "backoff": _backoff_param(backoff),
        "db_id": database_id,
        "identifier": identifier,
        "payload": None if payload is None else Json(payload, dumps=payload_dumps),
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


def _quoted(text: str) -> str:
    """A double-quoted element of a record or array literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _interval(seconds: timedelta | float | None) -> timedelta | None:
    """A duration argument: a timedelta, or a number of seconds."""
    if seconds is None or isinstance(seconds, timedelta):
        return seconds
    return timedelta(seconds=seconds)


def _quoted_column(texts: list[str | None]) -> list[str] | None:
    """The record-field literals of one field of every spec: double-quoted and escaped, empty
    for None (NULL). Escaped in one pass over the whole column (joined by NUL, which no text
    sent to PostgreSQL holds); None when a text holds a NUL after all (the caller then writes
    element by element and psycopg refuses the NUL as it always did)."""
    if all(text is None for text in texts):
        return [""] * len(texts)
    joined = "\x00".join("" if text is None else text for text in texts)
    if joined.count("\x00") != len(texts) - 1:
        return None
    escaped = joined.replace("\\", "\\\\").replace('"', '\\"').split("\x00")
    return ["" if text is None else f'"{e}"' for text, e in zip(texts, escaped, strict=True)]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _payload_dumps() -> tuple[Callable[[Any], str], Callable[[list[Any]], list[str | None]]]:
    """json.dumps with its defaults, without its per-call cost: the C encoder json.dumps
    builds on every call, built once (a bulk enqueue serialises one payload per job; this
    halves that). Falls back to json.dumps where the C encoder is missing. Same output and
    errors as json.dumps (circular check, NaN allowed, ASCII only). Returns it and its batch
    form (a list of values to a list of texts, None staying None: one lookup of the encoder
    for a whole bulk enqueue)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it

        def many_slowly(values: list[Any]) -> list[str | None]:
            return [None if value is None else json.dumps(value) for value in values]

        return json.dumps, many_slowly
    local = threading.local()  # each thread its own encoder: the circular check's state
    ascii_string = json.encoder.encode_basestring_ascii

    def encoder() -> tuple[dict[int, Any], Callable[[Any, int], Any]]:
        markers: dict[int, Any] = {}
        encode = make(
            markers, json.JSONEncoder().default, ascii_string, None,
            ": ", ", ", False, False, True,
        )  # fmt: skip
        local.markers, local.encode = markers, encode
        return markers, encode

    def dumps(value: Any) -> str:
        if isinstance(value, str):
            return ascii_string(value)
        try:
            markers, encode = local.markers, local.encode
        except AttributeError:
            markers, encode = encoder()
        try:
            return "".join(encode(value, 0))
        except BaseException:
            markers.clear()  # what a failed call left in the circular check
            raise

    def dumps_many(values: list[Any]) -> list[str | None]:
        try:
            markers, encode = local.markers, local.encode
        except AttributeError:
            markers, encode = encoder()
        join = "".join
        try:
            return [
                None if value is None
                else ascii_string(value) if isinstance(value, str)
                else join(encode(value, 0))
                for value in values
            ]  # fmt: skip
        except BaseException:
            markers.clear()
            raise

    return dumps, dumps_many


#: A payload as JSON text, exactly as json.dumps writes it (see _payload_dumps), and the same
#: for a list of payloads (None stays None).
payload_dumps, payloads_dumps = _payload_dumps()

#: The job_spec fields in record order, with how a value becomes its text.
_SPEC_FIELDS: Final[tuple[tuple[str, Callable[[Any], str] | None], ...]] = (
    ("database_id", str),
    ("identifier", str),
    ("payload", None),  # JSON text, payloads_dumps
    ("job_key", str),
    ("queue", str),
    ("run_at", lambda run_at: run_at.isoformat()),
    ("max_attempts", str),
    ("priority", str),
)


def _job_spec_array(specs: Sequence[JobSpec]) -> str:
    """The app_jobs.job_spec[] literal of the specs, written here: psycopg's generic composite
    dumper took about 60 µs per element (3 s of a 50,000-job add_jobs). Each element is a
    record literal quoted as an array element; an absent field is empty (NULL). Escaping is
    done per field column and then once over the whole array, not per element. A field no
    spec sets, or that all set to one value (the task, often), goes into the record's form
    once; when only one field varies (the payload, often), the records are written by a join,
    with no Python step per element beyond the payload's JSON."""
    if not specs:
        return "{}"
    n = len(specs)
    form: list[str | None] = []  # the record's fields: a literal, or None where one varies
    columns: list[list[str]] = []  # the varying fields, quoted, in record order
    for name, to_text in _SPEC_FIELDS:
        values = list(map(operator.attrgetter(name), specs))
        nulls = values.count(None)
        if nulls == n:
            form.append("")
            continue
        if to_text is None:
            texts = payloads_dumps(values)
        else:
            texts = [None if value is None else to_text(value) for value in values]
        if nulls == 0 and texts.count(texts[0]) == n:
            texts = texts[:1]  # one value for every spec
        column = _quoted_column(texts)
        if column is None:
            return _job_spec_array_slowly(specs)
        if len(column) < n:
            form.append(column[0])
        else:
            form.append(None)
            columns.append(column)
    return _spec_records(form, columns, n)


def _spec_records(form: list[str | None], columns: list[list[str]], n: int) -> str:
    """The job_spec[] literal of n records: ``form`` holds each field's literal, or None where
    it varies; ``columns`` the varying fields' quoted literals, in record order."""
    if len(columns) == 1:
        k = form.index(None)
        prefix = "(" + "".join(f"{field}," for field in form[:k])
        suffix = "".join(f",{field}" for field in form[k + 1 :]) + ")"
        records = prefix + "\x00".join(columns[0]).replace("\x00", f"{suffix}\x00{prefix}") + suffix
    else:
        template = "(" + ",".join(
            "%s" if field is None else field.replace("%", "%%") for field in form
        ) + ")"  # fmt: skip
        rows = [template % row for row in zip(*columns, strict=True)] if columns else []
        records = "\x00".join(rows or [template % ()] * n)
    escaped = records.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", '","')
    return '{"' + escaped + '"}'


def _job_spec_array_of(template: JobSpec, payloads: Sequence[Any]) -> str:
    """The job_spec[] literal of one job per payload, each with the template's other fields:
    _job_spec_array's fast case with no JobSpec and no field pass per job (add_many)."""
    n = len(payloads)
    if not n:
        return "{}"
    form: list[str | None] = []
    columns: list[list[str]] = []
    for name, to_text in _SPEC_FIELDS:
        column = (
            _quoted_column(payloads_dumps(list(payloads)))
            if to_text is None
            else _quoted_column([None if (v := getattr(template, name)) is None else to_text(v)])
        )
        if column is None:  # a NUL in a text: element by element, where psycopg refuses it
            return _job_spec_array_slowly(
                [dataclasses.replace(template, payload=payload) for payload in payloads]
            )
        if to_text is None:
            form.append(None)
            columns.append(column)
        else:
            form.append(column[0])
    return _spec_records(form, columns, n)


def _job_spec_array_slowly(specs: Sequence[JobSpec]) -> str:
    """_job_spec_array element by element (for specs with a NUL in a text)."""
    elements = []
    for spec in specs:
        fields = (
            spec.database_id, spec.identifier,
            None if spec.payload is None else payload_dumps(spec.payload),
            spec.job_key, spec.queue, None if spec.run_at is None else spec.run_at.isoformat(),
            spec.max_attempts, spec.priority,
        )  # fmt: skip
        record = ",".join("" if v is None else _quoted(str(v)) for v in fields)
        elements.append(_quoted(f"({record})"))
    return "{" + ",".join(elements) + "}"


def _depends_on_param(
    given: Sequence[JobSpec], depends_on: Sequence[Iterable[int | JobSpec] | None] | None
) -> list[Json | None] | None:
    """add_jobs' depends_on: element i's dependencies as a JSON array of job ids and
    {"element": k}, for a JobSpec that is element k of the same call (the very object)."""
    if depends_on is None:
        return None
    if len(depends_on) != len(given):
        raise ValueError(f"depends_on must have one entry per spec ({len(given)})")
    out: list[Json | None] = []
    for i, deps in enumerate(depends_on):
        if deps is None:
            out.append(None)
            continue
        items: list[int | dict[str, int]] = []
        for dep in deps:
            if isinstance(dep, JobSpec):
                k = next((n for n, s in enumerate(given[:i]) if s is dep), None)
                if k is None:
                    raise ValueError(
                        f"depends_on of spec {i + 1} names a JobSpec that is not an earlier"
                        " spec of this call"
                    )
                items.append({"element": k + 1})
            else:
                items.append(dep)
        out.append(Json(items))
    return out


def _add_jobs_params(
    specs: Iterable[JobSpec],
    job_key_mode: str | None = None,
    depends_on: Sequence[Iterable[int | JobSpec] | None] | None = None,
) -> dict[str, Any]:
    given = list(specs)
    n = len(given)
    # A field no spec sets is sent as NULL, after one pass over the specs.
    timeouts = list(map(operator.attrgetter("timeout"), given))
    correlation_ids = list(map(operator.attrgetter("correlation_id"), given))
    backoffs = list(map(operator.attrgetter("backoff"), given))
    return {
        "specs": _job_spec_array(given),
        "timeouts": None if timeouts.count(None) == n else [_interval(t) for t in timeouts],
        "correlation_ids": None if correlation_ids.count(None) == n else correlation_ids,
        "backoffs": (None if backoffs.count(None) == n else [_backoff_param(b) for b in backoffs]),
        "job_key_mode": job_key_mode,
        "depends_on": _depends_on_param(given, depends_on),
    }


def _add_many_params(identifier: str, payloads: Iterable[Any], **options: Any) -> dict[str, Any]:
    """add_jobs' parameters for one job of task ``identifier`` per payload, each with the
    same ``options`` (JobSpec's other fields but job_key)."""
    if isinstance(payloads, str | bytes | Mapping):
        # Iterable, but of characters or keys: one job per character would be no one's intent.
        raise TypeError(
            "payloads must be an iterable of payloads, one per job, not a"
            f" {type(payloads).__name__} (for one job, pass [payload] or use add_job)"
        )
    template = JobSpec(identifier, None, **options)
    given = payloads if isinstance(payloads, Sequence) else list(payloads)
    n = len(given)
    timeout, correlation_id, backoff = template.timeout, template.correlation_id, template.backoff
    return {
        "specs": _job_spec_array_of(template, given),
        "timeouts": None if timeout is None else [_interval(timeout)] * n,
        "correlation_ids": None if correlation_id is None else [correlation_id] * n,
        "backoffs": None if backoff is None else [_backoff_param(backoff)] * n,
        "job_key_mode": None,
        "depends_on": None,
    }


def _get_job_params(
    worker_id: str, task_identifiers: Iterable[str] | None, job_expiry: timedelta
) -> dict[str, Any]:
    return {
        "worker_id": worker_id,
        "task_identifiers": None if task_identifiers is None else list(task_identifiers),
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


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    """A recurring job to declare: ``cron`` text (or a ``schedule_info`` rule object) for the
    task ``identifier``. ``key`` (default: the task identifier) identifies it per tenant:
    declaring it again replaces the definition, keeps its enabled flag and, when the schedule
    itself is unchanged, its next fire time. ``missed_runs`` (skip, run_once, backfill with
    ``backfill_limit`` and/or ``backfill_window``) says what happens to fire times missed while
    nothing ticked."""

    identifier: str
    cron: str | None = None
    schedule_info: Mapping[str, Any] | None = None
    tz: str | None = None
    payload: Any = None
    key: str | None = None
    database_id: UUID | str | None = None
    queue: str | None = None
    priority: int | None = None
    max_attempts: int | None = None
    missed_runs: str | None = None
    backfill_limit: int | None = None
    backfill_window: timedelta | None = None
    #: Of the jobs it enqueues, as add_job's (0.4.0).
    correlation_id: str | None = None
    backoff: Backoff | Mapping[str, Any] | None = None
    timeout: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.schedule_info is None):
            raise ValueError(
                f"schedule for task {self.identifier!r}: give cron text (cron='0 8 * * 1') or a "
                "rule object (schedule_info={'hour': [2], 'minute': [0]}), exactly one of them"
            )
        if self.missed_runs is not None and self.missed_runs not in MISSED_RUNS:
            raise ValueError(
                f"schedule for task {self.identifier!r}: missed_runs must be one of "
                f"{', '.join(MISSED_RUNS)}, not {self.missed_runs!r}"
            )

    @property
    def tenant(self) -> UUID | str | None:
        """Deprecated name of :attr:`database_id`."""
        _warn_renamed("Schedule.tenant", "Schedule.database_id")
        return self.database_id

    @property
    def task(self) -> str:
        """Deprecated name of :attr:`identifier` (the contract's name, as in add_scheduled_job)."""
        _warn_renamed("Schedule.task", "Schedule.identifier")
        return self.identifier

    @property
    def job_key(self) -> str:
        """The key the schedule is stored under: ``key``, else the task identifier."""
        return self.key or self.identifier

    def params(self) -> dict[str, Any]:
        """Arguments of app_jobs.add_scheduled_job (queries.ADD_SCHEDULED_JOB)."""
        return {
            "db_id": self.database_id,
            "identifier": self.identifier,
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
            "correlation_id": self.correlation_id,
            "backoff": _backoff_param(self.backoff),
            "timeout": self.timeout,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A row of ``app_jobs.scheduled_jobs`` (the parsed ``spec`` and newer columns ignored)."""

    id: int
    database_id: UUID
    task_identifier: str
    payload: Any
    schedule_info: Any
    #: None: left out, the task's settings apply (0.4.0).
    priority: int | None
    max_attempts: int | None
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
    correlation_id: str | None = None
    backoff: Any = None
    timeout: timedelta | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ScheduledJob:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})


# The old keywords of the constructors (``JobSpec(task=..., tenant=...)``) for one release.
for _renamed in (JobSpec, Schedule):
    _init = renamed_keywords(tenant="database_id", task="identifier")(_renamed.__init__)
    _renamed.__init__ = _init  # type: ignore[method-assign]
