"""The dashboard: a Starlette app with server-rendered Jinja2 pages, a little vanilla JS for
live refresh, actions as CSRF-protected POSTs, the HTTP API for serverless platforms
(:mod:`pgjobs.dashboard.api`) and ``/metrics``. Everything it reads and does goes through
``app_jobs`` functions (:mod:`pgjobs.db.dashboard_queries`)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pgjobs.dashboard import api, charts
from pgjobs.dashboard.metrics import DatabaseCollector
from pgjobs.dashboard.security import (
    CSRF_COOKIE,
    TOKEN_COOKIE,
    csrf_ok,
    csrf_token,
)
from pgjobs.dashboard.settings import Settings
from pgjobs.dashboard.store import STATUSES, JobFilter, Store

HERE = Path(__file__).parent
PAGE_SIZE = 50


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value rendered escaped, payloads and tracebacks included
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.filters["age"] = _age
    env.filters["pretty"] = _pretty
    env.filters["compact"] = _compact
    env.filters["first_line"] = _first_line
    return Jinja2Templates(env=env)


def _when(moment: datetime | str | None) -> str:
    """UTC, to the second; also ISO text (the timestamps of an attempt log's JSON)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return str(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _first_line(text: str | None) -> str:
    return "" if not text else text.strip().splitlines()[0]


def _age(value: timedelta | None) -> str:
    if value is None:
        return ""
    if value.total_seconds() < 1:
        return f"{max(int(value.total_seconds() * 1000), 0)} ms"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _compact(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)


def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True, default=str)


class Guard(BaseHTTPMiddleware):
    """Authentication for the pages and /metrics (the API checks its own secret), and the
    CSRF cookie on every page that may hold a form."""

    def __init__(self, app: Any, settings: Settings) -> None:
        super().__init__(app)
        self.settings = settings

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        public = path.startswith(("/api/", "/static/")) or path in ("/healthz", "/login")
        if not public and not self.settings.auth.allows(request):
            if self.settings.auth.basic_user:
                return PlainTextResponse(
                    "authentication required",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="pgjobs"'},
                )
            if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                return RedirectResponse("/login", status_code=303)
            return PlainTextResponse("authentication required", status_code=401)
        response = await call_next(request)
        new = getattr(request.state, "new_csrf", None)
        if new is not None:
            response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
        )
        return response


class Pages:
    """The endpoints of the pages, /metrics and /healthz, sharing one store and templates."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.conninfo, statement_timeout=settings.statement_timeout)
        self.templates = _templates()
        self.collector = DatabaseCollector(settings.conninfo, per_queue=settings.metrics_per_queue)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    # -- helpers ----------------------------------------------------------------------------

    def page(self, request: Request, name: str, **context: Any) -> Response:
        context.update(
            csrf=csrf_token(request),
            read_only=self.settings.read_only,
            message=request.query_params.get("msg", ""),
            error=request.query_params.get("err", ""),
            refresh=self.settings.refresh_seconds,
        )
        return self.templates.TemplateResponse(request, name, context)

    async def form_checked(self, request: Request) -> dict[str, str] | Response:
        """The POSTed form, or the refusal: read-only, or a missing/wrong CSRF token."""
        if self.settings.read_only:
            return PlainTextResponse("read-only dashboard: actions are disabled", 403)
        form = await request.form()
        values = {k: str(v) for k, v in form.items()}
        if not csrf_ok(request, values.get("csrf_token")):
            return PlainTextResponse("CSRF token missing or wrong: reload the page", 403)
        return values

    def job_filter(self, request: Request) -> JobFilter:
        q = request.query_params
        tenant = q.get("tenant") or None
        return JobFilter(
            status=tuple(s for s in q.getlist("status") if s in STATUSES),
            task=q.get("task") or None,
            queue=q.get("queue") or None,
            tenant=uuid.UUID(tenant) if tenant else None,
            correlation_id=q.get("correlation_id") or None,
            payload=q.get("payload") or None,
            history_window=self.settings.history_window,
        )

    # -- pages ------------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        stats = await self.store.queue_stats()
        throughput = await self.store.throughput()
        workers = await self.store.workers()
        template = "_overview.html" if request.query_params.get("partial") else "overview.html"
        return self.page(
            request,
            template,
            stats=stats,
            charts=charts.per_task(throughput, datetime.now(UTC)),
            workers=workers,
            live_workers=sum(1 for w in workers if w["alive"]),
        )

    async def jobs(self, request: Request) -> Response:
        try:
            selection = self.job_filter(request)
            offset = max(0, int(request.query_params.get("offset", "0") or 0))
        except ValueError:
            return back("/jobs", err="tenant must be a uuid and offset a number")
        error = ""
        try:
            found = await self.store.jobs(selection, limit=PAGE_SIZE + 1, offset=offset)
        except psycopg.errors.QueryCanceled:
            found, error = [], "the search took too long and was stopped: narrow the filter"
        except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName):
            raise  # not deployed: see not_deployed
        except psycopg.Error as exc:
            found, error = [], _db_message(exc)
        query = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "partial")
        ]
        template = "_job_rows.html" if request.query_params.get("partial") else "jobs.html"
        return self.page(
            request,
            template,
            jobs=found[:PAGE_SIZE],
            more=len(found) > PAGE_SIZE,
            offset=offset,
            page_size=PAGE_SIZE,
            query=urlencode(query),
            selection=selection,
            statuses=STATUSES,
            search_error=error,
            history_days=self.settings.history_window.days or 1,
        )

    async def job(self, request: Request) -> Response:
        job_id = int(request.path_params["job_id"])
        found = await self.store.job(job_id)
        if found is None:
            return self.page(request, "missing.html", job_id=job_id)
        edges = await self.store.job_dependencies(job_id)
        return self.page(
            request, "job.html", job=found, attempts=found["attempt_log"] or [], edges=edges
        )

    async def schedules(self, request: Request) -> Response:
        return self.page(request, "schedules.html", schedules=await self.store.schedules())

    # -- actions (POST, CSRF-checked) ---------------------------------------------------------

    async def job_action(self, request: Request) -> Response:
        form = await self.form_checked(request)
        if isinstance(form, Response):
            return form
        job_id = int(request.path_params["job_id"])
        action = request.path_params["action"]
        try:
            if action == "rerun":
                copy = await self.store.rerun(job_id)
                assert copy is not None
                return back(f"/jobs/{copy['id']}", msg=f"job {job_id} rerun as job {copy['id']}")
            if action == "cancel":
                done = await self.store.cancel(job_id)
                status = done["status"] if done else "unknown"
                return back(f"/jobs/{job_id}", msg=f"cancel asked: job {job_id} is {status}")
        except psycopg.Error as exc:
            return back(f"/jobs/{job_id}", err=_db_message(exc))
        return PlainTextResponse("unknown action", 404)

    async def cancel_upcoming(self, request: Request) -> Response:
        if request.method == "GET":
            try:
                selection = self.job_filter(request)
            except ValueError:
                return back("/jobs", err="tenant must be a uuid")
            count = await self.store.count_upcoming(selection)
            return self.page(request, "confirm_cancel.html", selection=selection, count=count)
        form = await self.form_checked(request)
        if isinstance(form, Response):
            return form
        try:
            selection = JobFilter(
                task=form.get("task") or None,
                queue=form.get("queue") or None,
                tenant=uuid.UUID(form["tenant"]) if form.get("tenant") else None,
            )
        except ValueError:
            return back("/jobs", err="tenant must be a uuid")
        cancelled = await self.store.cancel_upcoming(selection)
        return back("/jobs", msg=f"cancelled {cancelled} upcoming job(s)")

    async def schedule_action(self, request: Request) -> Response:
        form = await self.form_checked(request)
        if isinstance(form, Response):
            return form
        schedule_id = int(request.path_params["schedule_id"])
        action = request.path_params["action"]
        try:
            if action in ("enable", "disable"):
                await self.store.enable_schedule(schedule_id, action == "enable")
                return back("/schedules", msg=f"schedule {schedule_id} {action}d")
            if action == "run":
                made = await self.store.run_schedule(schedule_id)
                job_id = made["id"] if made else "?"
                return back("/schedules", msg=f"schedule {schedule_id} enqueued job {job_id}")
        except psycopg.Error as exc:
            return back("/schedules", err=_db_message(exc))
        return PlainTextResponse("unknown action", 404)

    # -- sign-in, metrics, health -------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            return self.page(request, "login.html")
        form = await request.form()
        token = str(form.get("token", ""))
        if not self.settings.auth.allows_token(token):
            return self.page(request, "login.html", failed=True)
        response = RedirectResponse("/", 303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    async def metrics(self, request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, self.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.store.open()
        try:
            yield
        finally:
            await self.store.close()
            await run_in_threadpool(self.collector.close)


def back(url: str, **query: str) -> RedirectResponse:
    """A 303 to ``url`` with a message (msg) or an error (err) for the next page."""
    sep = "&" if "?" in url else "?"
    return RedirectResponse(url + (sep + urlencode(query) if query else ""), 303)


def create_app(settings: Settings) -> Starlette:
    """The dashboard as an ASGI app (serve it with uvicorn, as ``pgjobs dashboard`` does)."""
    pages = Pages(settings)
    routes = [
        Route("/", pages.overview),
        Route("/jobs", pages.jobs),
        Route("/jobs/cancel-upcoming", pages.cancel_upcoming, methods=["GET", "POST"]),
        Route("/jobs/{job_id:int}", pages.job),
        Route("/jobs/{job_id:int}/{action:str}", pages.job_action, methods=["POST"]),
        Route("/schedules", pages.schedules),
        Route("/schedules/{schedule_id:int}/{action:str}", pages.schedule_action, methods=["POST"]),
        Route("/login", pages.login, methods=["GET", "POST"]),
        Route("/metrics", pages.metrics),
        Route("/healthz", pages.healthz),
        *api.routes(pages.store, settings),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, settings=settings)],
        lifespan=pages.lifespan,
        exception_handlers={
            psycopg.errors.UndefinedFunction: not_deployed,
            psycopg.errors.InvalidSchemaName: not_deployed,
        },
    )


async def not_deployed(request: Request, exc: Exception) -> Response:
    """The schema is missing, or older than the functions the dashboard calls."""
    detail = exc.diag.message_primary if isinstance(exc, psycopg.Error) else str(exc)
    return PlainTextResponse(
        f"app_jobs is not deployed in this database, or is older than this dashboard: {detail}\n"
        "Run `pgjobs deploy` (or upgrade the extension) first.",
        status_code=503,
    )


def _db_message(exc: psycopg.Error) -> str:
    diag = exc.diag
    text = diag.message_primary or str(exc)
    if diag.message_hint:
        text += f" ({diag.message_hint})"
    return text
