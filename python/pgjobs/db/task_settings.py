"""Task settings kept in the database (app_jobs.task_settings), as the client sees them.

An application declares its tasks' settings (``source`` code) once at start; an operator sets
or unsets settings of a task for one tenant or all (``source`` operator, winning over code);
every enqueue path (add_job, add_jobs, triggers, schedules) applies them to jobs that leave a
value out. :class:`TaskSetting` is one row of ``app_jobs.list_task_settings``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

from psycopg.types.json import Json

__all__ = ["SETTINGS", "TaskSetting", "declaration", "set_params", "unset_params"]

#: The settings a task can have, in the order list_task_settings gives them.
SETTINGS = (
    "max_attempts", "backoff", "priority", "queue_name", "timeout", "retention", "payload_schema",
)  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class TaskSetting:
    """One effective setting of one task: its value as text (None: not set) and where it
    comes from: ``operator (tenant)``, ``operator``, ``code`` or ``default``."""

    task_identifier: str
    setting: str
    value: str | None
    source: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TaskSetting:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


def _seconds(value: timedelta | float | None) -> float | None:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def _backoff_json(backoff: Any) -> Any:
    if backoff is None:
        return None
    as_json = getattr(backoff, "as_json", None)
    return as_json() if callable(as_json) else dict(backoff)


def declaration(tasks: Mapping[str, Mapping[str, Any]]) -> Json:
    """The ``settings`` argument of app_jobs.declare_task_settings for ``tasks``
    ({task: {setting: value}}): None values left out, intervals as seconds, backoff as JSON."""
    declared: dict[str, dict[str, Any]] = {}
    for task, settings in tasks.items():
        entry: dict[str, Any] = {}
        for name, value in settings.items():
            if name not in SETTINGS:
                raise ValueError(f"task {task!r}: unknown setting {name!r}")
            if value is None:
                continue
            if name == "backoff":
                value = _backoff_json(value)
            elif name in ("timeout", "retention"):
                value = _seconds(value)
            entry[name] = value
        declared[task] = entry
    return Json(declared, dumps=lambda obj: json.dumps(obj, sort_keys=True))


def set_params(
    task: str,
    database_id: UUID | str | None,
    *,
    max_attempts: int | None,
    backoff: Any,
    priority: int | None,
    queue: str | None,
    timeout: timedelta | float | None,
    retention: timedelta | float | None,
    payload_schema: Mapping[str, Any] | bool | None = None,
) -> dict[str, Any]:
    def interval(value: timedelta | float | None) -> timedelta | None:
        return None if value is None else timedelta(seconds=_seconds(value) or 0.0)

    return {
        "identifier": task,
        "db_id": database_id,
        "max_attempts": max_attempts,
        "backoff": None if backoff is None else Json(_backoff_json(backoff)),
        "priority": priority,
        "queue_name": queue,
        "timeout": interval(timeout),
        "retention": interval(retention),
        "payload_schema": None if payload_schema is None else Json(payload_schema),
    }


def unset_params(
    task: str, settings: list[str] | None, database_id: UUID | str | None
) -> dict[str, Any]:
    return {"identifier": task, "db_id": database_id, "settings": settings}
