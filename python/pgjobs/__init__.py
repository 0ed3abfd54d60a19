"""pgjobs: a PostgreSQL job queue whose whole logic lives in SQL (schema ``app_jobs``).

This package is the thin client: it installs the SQL (``pgjobs deploy``) and, later, runs
workers that only call ``app_jobs.*`` functions.

The public API is importable from here (``from pgjobs import App, Client``), lazily: nothing
here imports psycopg or yoyo until a name is used, so ``python3 -m pgjobs.sqltree.bundle`` (the
extension build run by ``make``) works on a bare standard-library Python.

The package is in layers (see docs/internals.md, "Architecture"): :mod:`pgjobs.sqltree` (standard
library) <- :mod:`pgjobs.install`; :mod:`pgjobs.db` <- :mod:`pgjobs.runtime` <-
:mod:`pgjobs.cli`; :mod:`pgjobs.config` and :mod:`pgjobs.embedded` at the edge.
"""

from __future__ import annotations

import importlib
import re
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgjobs.db.client import Backoff, Job, JobInfo, JobSpec
    from pgjobs.db.errors import (
        DependencyError,
        InvalidArgument,
        JobFailed,
        JobKeyContention,
        JobNotFinished,
        JobNotFound,
        PgJobsError,
        ScheduleNotFound,
        SchedulePending,
        TriggerMisuse,
        WorkerIdInUse,
    )
    from pgjobs.db.schedules import Schedule
    from pgjobs.runtime.app import App, SyncApp
    from pgjobs.runtime.clients import AsyncClient, Client
    from pgjobs.runtime.typed import InvalidPayload, InvalidResult
    from pgjobs.runtime.worker import Worker, WorkerSummary

#: The public API: name -> the module that defines it (imported on first use).
_PUBLIC: dict[str, str] = {
    "App": "pgjobs.runtime.app",
    "SyncApp": "pgjobs.runtime.app",
    "Worker": "pgjobs.runtime.worker",
    "WorkerSummary": "pgjobs.runtime.worker",
    "InvalidPayload": "pgjobs.runtime.typed",
    "InvalidResult": "pgjobs.runtime.typed",
    "Client": "pgjobs.runtime.clients",
    "AsyncClient": "pgjobs.runtime.clients",
    "Backoff": "pgjobs.db.client",
    "Job": "pgjobs.db.client",
    "JobInfo": "pgjobs.db.client",
    "JobSpec": "pgjobs.db.client",
    "Schedule": "pgjobs.db.schedules",
    "PgJobsError": "pgjobs.db.errors",
    "DependencyError": "pgjobs.db.errors",
    "InvalidArgument": "pgjobs.db.errors",
    "JobFailed": "pgjobs.db.errors",
    "JobKeyContention": "pgjobs.db.errors",
    "JobNotFinished": "pgjobs.db.errors",
    "JobNotFound": "pgjobs.db.errors",
    "ScheduleNotFound": "pgjobs.db.errors",
    "SchedulePending": "pgjobs.db.errors",
    "TriggerMisuse": "pgjobs.db.errors",
    "WorkerIdInUse": "pgjobs.db.errors",
}

__all__ = [
    "App",
    "AsyncClient",
    "Backoff",
    "Client",
    "DependencyError",
    "InvalidArgument",
    "InvalidPayload",
    "InvalidResult",
    "Job",
    "JobFailed",
    "JobInfo",
    "JobKeyContention",
    "JobNotFinished",
    "JobNotFound",
    "JobSpec",
    "PgJobsError",
    "Schedule",
    "ScheduleNotFound",
    "SchedulePending",
    "SyncApp",
    "TriggerMisuse",
    "Worker",
    "WorkerIdInUse",
    "WorkerSummary",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'pgjobs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


def _version_from_control() -> str:
    """Read ``default_version`` from the checkout's ``control`` file (the one true version)."""
    control = Path(__file__).resolve().parent.parent.parent / "control"
    try:
        text = control.read_text(encoding="utf-8")
    except OSError:
        return "0+unknown"
    match = re.search(r"^\s*default_version\s*=\s*'([^']+)'", text, re.MULTILINE)
    return match.group(1) if match else "0+unknown"


#: The distribution name (pyproject.toml): the public index's "pgjobs" is another project.
DISTRIBUTION = "pgjobs-queue"


def _version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return _version_from_control()


__version__: str = _version()
