"""pgjobs errors: the ``PJ`` SQLSTATE class of the SQL API, as Python exceptions.

Every function of the ``app_jobs`` schema refuses bad input with a SQLSTATE of class ``PJ``, a
message naming the function and a hint saying what to do (docs/sql-api.md, "Errors").
:func:`translate` turns such a :class:`psycopg.Error` into the matching :class:`PgJobsError`
subclass, keeping the message, hint and SQLSTATE, and the original error as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import psycopg

__all__ = [
    "InvalidArgument",
    "JobFailed",
    "JobKeyContention",
    "JobNotFinished",
    "JobNotFound",
    "PgJobsError",
    "ScheduleNotFound",
    "SchedulePending",
    "TriggerMisuse",
    "WorkerIdInUse",
    "translate",
    "translated",
]


class PgJobsError(Exception):
    """An error raised by the pgjobs SQL API (SQLSTATE class ``PJ``)."""

    def __init__(self, message: str, *, sqlstate: str, hint: str | None = None) -> None:
        super().__init__(message if not hint else f"{message}\nHint: {hint}")
        self.message = message
        self.sqlstate = sqlstate
        self.hint = hint


class InvalidArgument(PgJobsError, ValueError):
    """PJ101-PJ121, PJ220-PJ224, PJ226, PJ406: an argument (or a schedule) was missing,
    malformed or out of range; nothing was written."""


class TriggerMisuse(PgJobsError):
    """PJ201-PJ203: an enqueue trigger was created with wrong arguments or on a wrong level."""


class DependencyError(PgJobsError, ValueError):
    """PJ210-PJ214: add_job / add_jobs' depends_on was refused (malformed, an unknown job,
    another tenant's, one that failed or was cancelled, or with a job_key); nothing was
    written."""


class ScheduleNotFound(PgJobsError, LookupError):
    """PJ301: there is no scheduled job with that id."""


class SchedulePending(PgJobsError):
    """PJ302: the schedule's previous job has not run yet."""


class JobKeyContention(PgJobsError):
    """PJ401: the job key kept changing hands during add_job; retrying the call is safe."""


class JobNotFound(PgJobsError, LookupError):
    """PJ303: there is no such job (rerun_job), or it was removed by cleanup_jobs."""


class JobNotFinished(PgJobsError):
    """PJ304: the job is still waiting or running (rerun_job needs a finished job)."""


class WorkerIdInUse(PgJobsError):
    """PJ307: another live process holds the lease of this worker_id (heartbeat with another
    instance token). ``detail`` names that process's token and its last heartbeat."""

    @property
    def detail(self) -> str:
        cause = self.__cause__
        return (cause.diag.message_detail or "") if isinstance(cause, psycopg.Error) else ""


class JobFailed(Exception):
    """``wait_for``: the job ended failed or cancelled. ``job`` is its final state
    (a :class:`pgjobs.client.JobInfo`: status, last_error, attempts, ...)."""

    def __init__(self, job: Any) -> None:
        super().__init__(f"job {job.id} ({job.task_identifier}) {job.status}: {job.last_error}")
        self.job = job


_BY_SQLSTATE: Final[dict[str, type[PgJobsError]]] = {
    "PJ301": ScheduleNotFound,
    "PJ302": SchedulePending,
    "PJ303": JobNotFound,
    "PJ304": JobNotFinished,
    "PJ307": WorkerIdInUse,
    "PJ401": JobKeyContention,
    "PJ406": InvalidArgument,  # a timeout out of bounds (add_job, add_jobs)
    # Limits and tenant fairness (0.5.0): bad arguments (PJ225, PJ227, lock waits given up,
    # PJ228, a tenant's session changing fairness, PJ229, a limited claim outside READ
    # COMMITTED, stay plain PgJobsError).
    "PJ220": InvalidArgument,
    "PJ221": InvalidArgument,
    "PJ222": InvalidArgument,
    "PJ223": InvalidArgument,
    "PJ224": InvalidArgument,
    "PJ225": PgJobsError,
    "PJ226": InvalidArgument,
    "PJ227": PgJobsError,
    "PJ228": PgJobsError,
    "PJ229": PgJobsError,
    **{f"PJ21{n}": DependencyError for n in range(10)},  # job dependencies (0.5.0)
}
_BY_PREFIX: Final[dict[str, type[PgJobsError]]] = {
    "PJ1": InvalidArgument,
    "PJ2": TriggerMisuse,
}


def translate(error: psycopg.Error) -> PgJobsError | None:
    """The pgjobs exception for a ``PJ`` error raised by the SQL API, or None for any other."""
    sqlstate = error.sqlstate or ""
    if not sqlstate.startswith("PJ"):
        return None
    cls = _BY_SQLSTATE.get(sqlstate) or _BY_PREFIX.get(sqlstate[:3], PgJobsError)
    translated = cls(
        error.diag.message_primary or str(error),
        sqlstate=sqlstate,
        hint=error.diag.message_hint,
    )
    translated.__cause__ = error
    return translated


@contextmanager
def translated() -> Iterator[None]:
    """Raise the pgjobs exception of an SQL API error (SQLSTATE class PJ) inside the block."""
    try:
        yield
    except psycopg.Error as error:
        pgjobs_error = translate(error)
        if pgjobs_error is None:
            raise
        raise pgjobs_error from error
