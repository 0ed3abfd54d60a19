"""The HTTP API for serverless platforms and cron services: each route is a ``POST`` behind a
bearer secret (``Authorization: Bearer <secret>``, ``--api-secret``), answers JSON, and does
one bounded piece of work through app_jobs functions:

- ``POST /api/process-batch?batch_size=10&concurrency=3``: runs up to batch_size due jobs with
  the handlers of ``--app`` (a ``--once`` worker run, as ``app.process_batch``);
- ``POST /api/reclaim-stuck?older_than=600``: ``app_jobs.reclaim_stuck_jobs`` (seconds);
- ``POST /api/cleanup?older_than_days=14``: ``app_jobs.cleanup_jobs``;
- ``POST /api/run-schedules``: ``app_jobs.run_due_schedules()``.

Without a configured secret every route answers 403: the API is off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pgjobs.dashboard.security import bearer_ok
from pgjobs.dashboard.store import Store

if TYPE_CHECKING:
    from pgjobs.dashboard.settings import Settings


def _number(request: Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = float(raw)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {raw}")
    return value


def routes(store: Store, settings: Settings) -> list[Route]:
    def guarded(work: Callable[[Request], Awaitable[dict[str, Any]]]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            if not bearer_ok(request, settings.api_secret):
                return JSONResponse(
                    {"error": "a valid Authorization: Bearer <api secret> header is required"},
                    status_code=403 if not settings.api_secret else 401,
                )
            try:
                return JSONResponse(await work(request))
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except psycopg.Error as exc:
                message = exc.diag.message_primary or str(exc)
                return JSONResponse({"error": message}, status_code=500)

        return endpoint

    async def process_batch(request: Request) -> dict[str, Any]:
        app = settings.worker_app
        if app is None:
            raise ValueError("no handlers loaded: start the dashboard with --app MODULE:APP")
        batch_size = int(_number(request, "batch_size", 10, 1, 1000))
        concurrency = int(_number(request, "concurrency", 3, 1, 100))
        if app.dsn is None:
            app.dsn = settings.conninfo
        worker = app.worker(concurrency=concurrency)
        summary = await worker.run(once=True, batch_size=batch_size)
        return {"worker_id": worker.worker_id, **dataclasses.asdict(summary)}

    async def reclaim(request: Request) -> dict[str, Any]:
        seconds = _number(request, "older_than", 600, 1, 30 * 86400)
        return {"reclaimed": await store.reclaim_stuck_jobs(timedelta(seconds=seconds))}

    async def cleanup(request: Request) -> dict[str, Any]:
        days = _number(request, "older_than_days", 14, 0.01, 36500)
        result = await store.cleanup_jobs(timedelta(days=days))
        return {k: int(v) for k, v in result.items()}

    async def run_schedules(request: Request) -> dict[str, Any]:
        return {"enqueued": await store.run_due_schedules()}

    return [
        Route("/api/process-batch", guarded(process_batch), methods=["POST"]),
        Route("/api/reclaim-stuck", guarded(reclaim), methods=["POST"]),
        Route("/api/cleanup", guarded(cleanup), methods=["POST"]),
        Route("/api/run-schedules", guarded(run_schedules), methods=["POST"]),
    ]
