"""Limits (app_jobs.job_limits) as the client sees them: one row of ``app_jobs.set_job_limit``
or ``app_jobs.list_job_limits``. A limit caps the jobs whose tenant and task equal its keys that
are set (None: any value): at most ``max_running`` running at once, and/or at most
``max_starts`` starts per ``per_period`` (a token bucket); ``remove_job_limit`` lifts it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

__all__ = ["JobLimit"]


@dataclasses.dataclass(frozen=True, slots=True)
class JobLimit:
    """A limit in force: its keys (None: any), its limits (None: none of that kind), and, when
    listed, how many of its jobs run now and how many starts its rate bucket holds now."""

    database_id: UUID | None
    task_identifier: str | None
    max_running: int | None
    max_starts: int | None
    per_period: timedelta | None
    updated_at: datetime
    set_by: str
    running: int | None = None
    starts_left: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> JobLimit:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})
