"""Declaring an application's task settings in the database (app_jobs.task_settings).

``@app.task("charge", max_attempts=2, queue=..., priority=..., backoff=...)`` declares the
task's settings; they are written once, in one call (app_jobs.declare_task_settings), when a
worker starts and before an App's first enqueue. From then on every enqueue path applies them
(add_job from any language, triggers, schedules, ``pgjobs add``), and an operator's setting
(``pgjobs tasks set``) wins over them, for Python-enqueued jobs too: the App no longer sends
them with every job. ``App(settings_version=N)`` orders declarations during a rolling deploy.

A handler's payload type (a pydantic model, or any type pydantic validates) is declared as the
task's payload schema, its JSON Schema (``model_json_schema()``): the database then checks
every payload of the task at enqueue, from any language (PJ190 names the failing path). A
schema the database refuses (PJ191: a keyword it does not check) is left out with a WARNING,
so the worker still starts; its payloads are then checked by the handler only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import psycopg

from pgjobs.db.async_client import AsyncClient
from pgjobs.db.errors import PgJobsError
from pgjobs.db.sync_client import Client

if TYPE_CHECKING:
    from pgjobs.runtime.registry import Registry

__all__ = ["declare", "declare_sync", "declared"]

log = logging.getLogger("pgjobs.worker")


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
            "payload_schema": task.payload.json_schema(),
        }
        for task in registry
    }


def _without_schemas(tasks: dict[str, dict[str, Any]], refused: PgJobsError) -> None:
    """A payload schema was refused (PJ191): declare the settings without payload schemas (the
    message names the task and the keyword), so the application still starts."""
    log.warning(
        "payload schemas not declared (jobs are checked by their handlers only): %s",
        refused.message,
    )
    for settings in tasks.values():
        settings["payload_schema"] = None


async def declare(conn: psycopg.AsyncConnection[Any], registry: Registry) -> int | None:
    """Declare the registry's task settings on ``conn``; the number of rows written, or None
    when the schema predates task settings (a rolling upgrade: the new package's worker on
    the old schema), which the caller then sends with each job as before. In a savepoint, so
    that on an older schema the caller's transaction goes on."""
    if not len(registry):
        return 0
    client = AsyncClient(conn)
    tasks = declared(registry)
    try:
        try:
            async with conn.transaction():
                return await client.declare_task_settings(tasks, registry.settings_version)
        except PgJobsError as refused:
            if refused.sqlstate != "PJ191":
                raise
            _without_schemas(tasks, refused)
            async with conn.transaction():
                return await client.declare_task_settings(tasks, registry.settings_version)
    except psycopg.errors.UndefinedFunction:
        log.info("the schema has no task settings yet: the task defaults go with each job")
        return None


def declare_sync(conn: psycopg.Connection[Any], registry: Registry) -> int | None:
    """:func:`declare` for synchronous code."""
    if not len(registry):
        return 0
    tasks = declared(registry)
    try:
        try:
            with conn.transaction():
                return Client(conn).declare_task_settings(tasks, registry.settings_version)
        except PgJobsError as refused:
            if refused.sqlstate != "PJ191":
                raise
            _without_schemas(tasks, refused)
            with conn.transaction():
                return Client(conn).declare_task_settings(tasks, registry.settings_version)
    except psycopg.errors.UndefinedFunction:
        log.info("the schema has no task settings yet: the task defaults go with each job")
        return None
