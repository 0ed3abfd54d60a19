"""Declaring an application's task settings in the database (app_jobs.task_settings).

``@app.task("charge", max_attempts=2, queue=..., priority=..., backoff=...)`` declares the
task's settings; they are written once, in one call (app_jobs.declare_task_settings), when a
worker starts and before an App's first enqueue. From then on every enqueue path applies them
(add_job from any language, triggers, schedules, ``pgjobs add``), and an operator's setting
(``pgjobs tasks set``) wins over them, for Python-enqueued jobs too: the App no longer sends
them with every job. ``App(settings_version=N)`` orders declarations during a rolling deploy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgjobs.db.async_client import AsyncClient
from pgjobs.db.sync_client import Client

if TYPE_CHECKING:
    import psycopg

    from pgjobs.runtime.registry import Registry

__all__ = ["declare", "declare_sync", "declared"]


def declared(registry: Registry) -> dict[str, dict[str, Any]]:
    """{task: {setting: value}} of every registered task (a task without settings declares
    none, which removes settings an earlier version of the code declared)."""
    return {
        task.name: {
            "max_attempts": task.max_attempts,
            "backoff": task.backoff,
            "priority": task.priority,
            "queue_name": task.queue,
            "timeout": task.timeout,
        }
        for task in registry
    }


async def declare(conn: psycopg.AsyncConnection[Any], registry: Registry) -> int:
    """Declare the registry's task settings on ``conn``; the number of rows written."""
    if not len(registry):
        return 0
    client = AsyncClient(conn)
    return await client.declare_task_settings(declared(registry), registry.settings_version)


def declare_sync(conn: psycopg.Connection[Any], registry: Registry) -> int:
    """:func:`declare` for synchronous code."""
    if not len(registry):
        return 0
    return Client(conn).declare_task_settings(declared(registry), registry.settings_version)
