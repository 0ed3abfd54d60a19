"""Pauses (app_jobs.job_pauses) as the client sees them: one row of ``app_jobs.pause_jobs`` or
``app_jobs.list_pauses``. A pause holds back every waiting job whose tenant, queue and task
equal its keys that are set (None: any value); ``resume_jobs`` removes it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

__all__ = ["Pause"]


@dataclasses.dataclass(frozen=True, slots=True)
class Pause:
    """A pause in force: its keys (None: any), when and by whom it was made, and why."""

    database_id: UUID | None
    queue_name: str | None
    task_identifier: str | None
    paused_at: datetime
    paused_by: str
    reason: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Pause:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})
