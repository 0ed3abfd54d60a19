"""``pgjobs.App``: a task registry, enqueueing that knows the tasks, and the worker.

app = App("postgresql://localhost/app")          # or App(): $PGJOBS_DSN, ..., embedded

@app.task("send_email", max_attempts=5)
async def send_email(payload: Email, ctx) -> Receipt:  # typed: validated both ways
    ...

await app.later(send_email, Email(to="ann@example.com"))     # enqueue (app_jobs.add_job)
receipt = await app.run_now(send_email, {"to": "bob@example.com"})   # run here, recorded
app.schedule("send_digest", cron="0 8 * * 1", tz="Europe/Paris")  # recurring, in SQL
app.run_worker(concurrency=8)                     # until SIGTERM / SIGINT
app.process_batch(batch_size=10)                  # serverless / cron: what is due, then return

Every method is async; ``app.sync`` has the same ones for synchronous code. All of them call
the ``app_jobs`` SQL functions: enqueue is ``add_job``/``add_jobs``, ``run_now`` enqueues and
claims its job by id (``claim_job``) and records the outcome as a worker would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import psycopg

from pgjobs import connect
from pgjobs.db.client import AsyncClient, Backoff, Client, Job, JobSpec
from pgjobs.db.rows import renamed_keywords
from pgjobs.db.schedules import Schedule
from pgjobs.runtime import settings
from pgjobs.runtime.coverage import declared
from pgjobs.runtime.registry import Event, JobContext, Listener, Registry, Task
from pgjobs.runtime.typed import InvalidPayload
from pgjobs.runtime.worker import (
    ErrorHandler,
    Outcome,
    Worker,
    WorkerSummary,
    check_result,
    default_worker_id,
    log,
)

__all__ = ["App", "SyncApp"]

_log = logging.getLogger("pgjobs.worker")

F = TypeVar("F", bound=Callable[..., Any])
TaskRef = str | Callable[..., Any]
AsyncConn = psycopg.AsyncConnection[Any]


class App:
    """Handlers by task name, enqueueing that validates typed payloads, and workers."""

    def __init__(self, dsn: str | None = None, *, settings_version: int = 0) -> None:
        """``settings_version``: raise it with each release that changes task settings, so
        that during a rolling deploy old workers do not bring their settings back (see
        app_jobs.declare_task_settings)."""
        self.dsn = dsn
        self.registry = Registry(settings_version)
        #: Whether this app's task settings were declared (and committed) in the database.
        self._declared = False
        #: The schema predates task settings: send each task's defaults with its jobs.
        self._send_defaults = False
        self._on_error: list[ErrorHandler] = []
        self.schedules: dict[tuple[str, str], Schedule] = {}

    # -- declaring tasks ----------------------------------------------------------------------

    def task(
        self,
        name: str | None = None,
        *,
        max_attempts: int | None = None,
        queue: str | None = None,
        priority: int | None = None,
        payload_type: Any = None,
        result_type: Any = None,
        on_success: Listener | None = None,
        on_failure: Listener | None = None,
        on_attempt: Listener | None = None,
        backoff: Backoff | None = None,
        timeout: timedelta | float | None = None,
    ) -> Callable[[F], F]:
        """Register the decorated function (sync or async) as the handler of task ``name``
        (default: the function's name). It is called as ``fn(payload)`` or
        ``fn(payload, ctx)``; sync handlers run in a thread.

        ``max_attempts``, ``queue``, ``priority`` and ``backoff`` are the task's settings,
        declared in the database (app_jobs.task_settings) when a worker starts and before this
        app's first enqueue: every job of the task enqueued without them gets them, from any
        language, and an operator's setting (``pgjobs tasks set``) wins over them. The
        handler's annotations (or ``payload_type``/``result_type``) declare typed payloads and
        results. ``on_success`` / ``on_failure`` (after the last attempt) / ``on_attempt``
        (every attempt) receive a :class:`~pgjobs.registry.JobEvent`. ``backoff``: the task's
        retry delays (:class:`~pgjobs.client.Backoff`; a job's own backoff wins).
        ``timeout`` (a timedelta or seconds, more than 0, at most 7 days): the longest run of
        one attempt, a task setting like the others (a job's own ``timeout`` wins), so any
        worker stops the handler past it and fails the attempt."""

        def register(fn: F) -> F:
            task = self.registry.register(
                name or fn.__name__,
                fn,
                max_attempts=max_attempts,
                queue=queue,
                priority=priority,
                payload_type=payload_type,
                result_type=result_type,
                backoff=backoff,
                timeout=timeout,
            )
            self._declared = False  # a new task: declare the settings again
            for event, listener in (
                ("success", on_success),
                ("failure", on_failure),
                ("attempt", on_attempt),
            ):
                if listener is not None:
                    self.registry.listen(event, task.name, listener)  # type: ignore[arg-type]
            return fn

        return register

    def _listener(self, event: Event, task: TaskRef) -> Callable[[F], F]:
        def register(fn: F) -> F:
            self.registry.listen(event, task, fn)
            return fn

        return register

    def on_success(self, task: TaskRef) -> Callable[[F], F]:
        """Decorator: call ``fn(event)`` after each successful run of ``task``."""
        return self._listener("success", task)

    def on_failure(self, task: TaskRef) -> Callable[[F], F]:
        """Decorator: call ``fn(event)`` when ``task`` fails for good (its last attempt)."""
        return self._listener("failure", task)

    def on_attempt(self, task: TaskRef) -> Callable[[F], F]:
        """Decorator: call ``fn(event)`` after every attempt of ``task``, whatever its outcome."""
        return self._listener("attempt", task)

    def on_error(self, fn: F) -> F:
        """Decorator: call ``fn(error, where)`` for errors outside handlers (lost connections,
        failing listeners) in this app's workers."""
        self._on_error.append(fn)
        return fn

    async def _report(self, error: BaseException, where: str) -> None:
        for handler in self._on_error:
            try:
                result = handler(error, where)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("an on_error handler failed")

    # -- enqueueing ---------------------------------------------------------------------------

    def resolve(self, task: TaskRef) -> tuple[str, Task | None]:
        name = self.registry.name_of(task)
        return name, self.registry.get(name)

    @renamed_keywords(tenant="database_id")
    def spec(
        self,
        task: TaskRef,
        payload: Any = None,
        *,
        database_id: UUID | str | None = None,
        job_key: str | None = None,
        queue: str | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        priority: int | None = None,
        timeout: timedelta | float | None = None,
        correlation_id: str | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
    ) -> JobSpec:
        """A checked :class:`JobSpec`: the payload validated against the task's payload type
        (:class:`~pgjobs.typed.InvalidPayload` when it does not match). The task's settings
        are not filled in: the database applies them (declared by :meth:`declare_settings`)."""
        name, known = self.resolve(task)
        if known is not None:
            try:
                payload = known.payload.dump(payload)
            except ValueError as invalid:
                raise InvalidPayload(
                    f"payload for task {name!r} does not match {known.payload.type!r}: {invalid}"
                ) from invalid
        return JobSpec(
            name, payload, database_id, job_key, queue, run_at, max_attempts, priority, timeout,
            correlation_id, backoff,
        )  # fmt: skip

    @contextlib.asynccontextmanager
    async def _client(self, conn: AsyncConn | None) -> AsyncIterator[AsyncClient]:
        """A client to enqueue with, this app's task settings declared on its connection."""
        if conn is not None:
            await self._declare(conn)
            yield AsyncClient(conn)
            return
        async with await AsyncClient.connect(connect.conninfo(self.dsn)) as client:
            await self._declare(client.conn)
            yield client

    async def _declare(self, conn: AsyncConn) -> None:
        # On the caller's connection inside its transaction, the declaration commits (or
        # rolls back) with the jobs: only a committed one (autocommit) counts as done.
        if not self._declared:
            written = await settings.declare(conn, self.registry)
            self._send_defaults = written is None
            self._declared = conn.autocommit or written is None

    def _with_defaults(self, spec: JobSpec) -> JobSpec:
        """``spec`` with its task's settings filled in, on a schema without task settings
        (before 0.4.0), as the App did then; else ``spec`` itself."""
        known = self.registry.get(spec.identifier) if self._send_defaults else None
        if known is None:
            return spec
        return dataclasses.replace(
            spec,
            queue=spec.queue if spec.queue is not None else known.queue,
            max_attempts=spec.max_attempts if spec.max_attempts is not None
            else known.max_attempts,
            priority=spec.priority if spec.priority is not None else known.priority,
            timeout=spec.timeout if spec.timeout is not None else known.timeout,
        )  # fmt: skip

    async def declare_settings(self, *, conn: AsyncConn | None = None) -> int | None:
        """Declare this app's task settings in the database now (workers and the first
        enqueue do it anyway); the number of rows written (0: unchanged; None: the schema
        predates task settings)."""
        if conn is not None:
            written = await settings.declare(conn, self.registry)
            self._declared = conn.autocommit or written is None
        else:
            async with await AsyncClient.connect(connect.conninfo(self.dsn)) as client:
                written = await settings.declare(client.conn, self.registry)
            self._declared = True
        self._send_defaults = written is None
        return written

    async def later(
        self,
        task: TaskRef,
        payload: Any = None,
        *,
        conn: AsyncConn | None = None,
        delay: timedelta | float | None = None,
        job_key_mode: str | None = None,
        depends_on: Iterable[int | Job] | None = None,
        **options: Any,
    ) -> Job:
        """Enqueue one job (app_jobs.add_job) and return it. ``options``: database_id, job_key,
        queue, run_at, max_attempts, priority, timeout, correlation_id, backoff (what is left
        out takes the task's settings in the database); ``delay`` counts from the database's
        clock; ``job_key_mode``: replace (default), preserve_run_at or unsafe_dedupe;
        ``depends_on``: jobs (or their ids) this one waits for (status ``waiting``) until all
        have completed (see Client.add_job). Pass ``conn`` to enqueue inside your own
        transaction (the job exists when it commits).
        """
        spec = self.spec(task, payload, **options)
        async with self._client(conn) as client:
            spec = self._with_defaults(spec)
            return await client.add_job(
                spec.identifier, spec.payload, database_id=spec.database_id, job_key=spec.job_key,
                queue=spec.queue, run_at=spec.run_at, delay=delay,
                max_attempts=spec.max_attempts, priority=spec.priority, timeout=spec.timeout,
                correlation_id=spec.correlation_id, backoff=spec.backoff,
                job_key_mode=job_key_mode, depends_on=_job_ids(depends_on),
            )  # fmt: skip

    async def later_many(
        self,
        task: TaskRef,
        payloads: Iterable[Any],
        *,
        conn: AsyncConn | None = None,
        job_key_mode: str | None = None,
        depends_on: Iterable[int | Job] | None = None,
        **options: Any,
    ) -> list[Job]:
        """Enqueue one job per payload in one call (app_jobs.add_jobs), all or nothing;
        ``options``, ``job_key_mode`` and ``depends_on`` (every job waits for those) as for
        :meth:`later`."""
        specs = [self.spec(task, payload, **options) for payload in payloads]
        async with self._client(conn) as client:
            specs = [self._with_defaults(spec) for spec in specs]
            return await client.add_jobs(
                specs, job_key_mode=job_key_mode, depends_on=_each(specs, depends_on)
            )

    async def add_jobs(
        self,
        specs: Iterable[JobSpec],
        *,
        conn: AsyncConn | None = None,
        job_key_mode: str | None = None,
        depends_on: Sequence[Iterable[int | Job | JobSpec] | None] | None = None,
    ) -> list[Job]:
        """Enqueue jobs of several tasks in one call; each spec checked as :meth:`spec` does.
        ``depends_on``: one entry per spec, what that spec waits for: job ids, jobs, or
        earlier specs of the same call (a pipeline in one call)."""
        given = list(specs)
        checked = [self.spec(**_spec_options(s)) for s in given]
        async with self._client(conn) as client:
            checked = [self._with_defaults(spec) for spec in checked]
            return await client.add_jobs(
                checked, job_key_mode=job_key_mode,
                depends_on=_per_spec(depends_on, given, checked),
            )  # fmt: skip

    def schedule(self, task: str, cron: str | None = None, **options: Any) -> Schedule:
        """Declare a recurring job of ``task``: ``cron`` text (5 fields, 6 with seconds first,
        or @daily...) or ``schedule_info={...}`` (a rule object), plus ``tz``, ``payload``,
        ``key`` (default: the task name), ``queue``, ``priority``, ``max_attempts``,
        ``missed_runs`` (skip, run_once, backfill), ``backfill_limit``, ``backfill_window``,
        ``tenant``, and add_job's ``correlation_id``, ``backoff``, ``timeout`` (what is left
        out takes the task's settings). Workers upsert the schedules by key at start; the
        database checks them."""
        schedule = Schedule(task, cron, **options)
        slot = (str(schedule.database_id or ""), schedule.job_key)
        if slot in self.schedules:
            raise ValueError(
                f"a schedule with key {schedule.job_key!r} is already declared: pass key=... "
                "to tell two schedules of one task apart"
            )
        self.schedules[slot] = schedule
        return schedule

    # -- running in this process --------------------------------------------------------------

    def worker(self, **options: Any) -> Worker:
        """A :class:`~pgjobs.worker.Worker` for this app (options as for Worker)."""
        options.setdefault("on_error", self._report if self._on_error else None)
        options.setdefault("schedules", list(self.schedules.values()))
        return Worker(self.registry, connect.conninfo(self.dsn), **options)

    def _handler(self, task: TaskRef) -> Task:
        name, known = self.resolve(task)
        if known is None:
            raise LookupError(f"no handler registered for task {name!r}")
        return known

    async def run_now(
        self, task: TaskRef, payload: Any = None, *, persist: bool = True, **options: Any
    ) -> Any:
        """Run a job of ``task`` here and now and return its result (or raise its error).

        With ``persist`` (the default) the job is enqueued, claimed by id and recorded like any
        other (history, listeners; a failure with attempts left stays queued for a retry by the
        workers). With ``persist=False`` only the handler runs (payload and result checked).
        ``options`` are enqueue options (database_id, job_key, queue, max_attempts, priority,
        timeout, correlation_id, backoff, job_key_mode)."""
        [outcome] = await self.run_batch(task, [payload], concurrency=1, persist=persist, **options)
        return outcome.value()

    async def run_batch(
        self,
        task: TaskRef,
        payloads: Sequence[Any],
        *,
        concurrency: int = 3,
        stop_on_error: bool = False,
        persist: bool = True,
        **options: Any,
    ) -> list[Outcome]:
        """Run one job per payload here, ``concurrency`` at a time, and return their outcomes
        in order (``outcome.value()`` gives the result or raises). With ``stop_on_error`` the
        first failure stops starting new ones: the rest are returned as ``lost`` (never run)
        and, when persisted, stay queued for the workers."""
        handler = self._handler(task)
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not persist:
            return await self._run_unpersisted(
                handler, payloads, concurrency, stop_on_error, options
            )
        jobs = await self.later_many(handler.name, payloads, **options)
        return await self._run_claimed(handler, [j.id for j in jobs], concurrency, stop_on_error)

    async def run_job(self, job_id: int) -> Any:
        """Claim one queued job by id (app_jobs.claim_job), run it here, return its result
        (or raise its error). LookupError when it cannot be claimed (not waiting, its serial
        queue busy, or no handler here)."""
        [outcome] = await self._run_claimed(None, [job_id], 1, False)
        return outcome.value()

    async def _run_claimed(
        self, handler: Task | None, job_ids: list[int], concurrency: int, stop_on_error: bool
    ) -> list[Outcome]:
        worker = self.worker(concurrency=concurrency, worker_id=f"{default_worker_id()}:run")
        outcomes: list[Outcome | None] = [None] * len(job_ids)
        slots = asyncio.Semaphore(concurrency)
        stopped = False
        async with worker.session(orphans=False):

            async def one(i: int, job_id: int) -> None:
                nonlocal stopped
                async with slots:
                    if stopped:
                        outcomes[i] = Outcome(job_id, "lost")
                        return
                    async with worker.pool.connection() as conn:
                        job = await AsyncClient(conn).claim_job(worker.worker_id, job_id)
                    if job is None or (
                        handler is None and not self.registry.get(job.task_identifier)
                    ):
                        if job is not None:  # claimed, but this app cannot run it
                            async with worker.pool.connection() as conn:
                                await AsyncClient(conn).release_jobs(worker.worker_id)
                        raise LookupError(
                            f"job {job_id} cannot run here: it is not waiting, its serial "
                            "queue is busy, or this app has no handler for its task"
                        )
                    outcome = await worker.start(job)
                    assert outcome is not None  # no pump here: the task records it itself
                    outcomes[i] = outcome
                    if stop_on_error and not outcome.ok:
                        stopped = True

            await asyncio.gather(*(one(i, job_id) for i, job_id in enumerate(job_ids)))
        return [o if o is not None else Outcome(None, "lost") for o in outcomes]

    async def _run_unpersisted(
        self,
        handler: Task,
        payloads: Sequence[Any],
        concurrency: int,
        stop_on_error: bool,
        options: dict[str, Any],
    ) -> list[Outcome]:
        tenant = options.get("database_id")
        slots = asyncio.Semaphore(concurrency)
        stopped = False
        dsn = connect.conninfo(self.dsn)

        async def one(payload: Any) -> Outcome:
            nonlocal stopped
            async with slots:
                if stopped:
                    return Outcome(None, "lost")
                try:
                    value = handler.payload.load(self.spec(handler.name, payload).payload)
                    ctx = JobContext(
                        job_id=None, task=handler.name, attempt=1, max_attempts=1,
                        payload=payload, worker_id="run_now", logger=log.getChild(handler.name),
                        dsn=dsn, correlation_id=options.get("correlation_id"),
                        database_id=UUID(str(tenant)) if tenant is not None else None,
                    )  # fmt: skip
                    raw = await handler.run(value, ctx)
                    return Outcome(None, "completed", check_result(handler, raw))
                except Exception as error:
                    if stop_on_error:
                        stopped = True
                    return Outcome(None, "failed", None, error)

        return list(await asyncio.gather(*(one(p) for p in payloads)))

    async def drain(self, *, concurrency: int = 4, **options: Any) -> WorkerSummary:
        """Run every due job of this app's tasks (including jobs those jobs enqueue) until
        none is due, then return what was done. Jobs due later (run_at, retry backoff) wait."""
        return await self.worker(concurrency=concurrency, **options).run(once=True)

    # -- workers ------------------------------------------------------------------------------

    def run_worker(self, **options: Any) -> WorkerSummary:
        """Run a worker until SIGTERM or SIGINT: the first lets running jobs finish (up to
        shutdown_timeout), a second stops at once; unfinished jobs go back to the queue."""
        return asyncio.run(self.serve(self.worker(**options)))

    def process_batch(
        self, batch_size: int = 10, concurrency: int = 3, **options: Any
    ) -> WorkerSummary:
        """Process up to ``batch_size`` due jobs, ``concurrency`` at a time, and return."""
        worker = self.worker(concurrency=concurrency, **options)
        return asyncio.run(worker.run(once=True, batch_size=batch_size))

    async def wait_for(self, job_id: int, timeout: float | None = None) -> Any:
        """Wait until job ``job_id`` finishes; return its result, or raise
        :class:`pgjobs.errors.JobFailed` (failed or cancelled; ``.job`` holds its final state)
        or TimeoutError. Race-free: a job finishing at any moment is never missed."""
        async with await AsyncClient.connect(connect.conninfo(self.dsn)) as client:
            return await client.wait_for(job_id, timeout)

    @staticmethod
    async def serve(worker: Worker) -> WorkerSummary:
        """Run ``worker`` in the running event loop until SIGTERM or SIGINT (see run_worker)."""
        loop = asyncio.get_running_loop()

        def stop(sig: signal.Signals) -> None:
            if worker.stopping:
                _log.warning("%s again: stopping now, unfinished jobs go back", sig.name)
            else:
                _log.warning(
                    "%s: stopping, running jobs (%d) finish within %gs; another signal stops "
                    "at once", sig.name, worker.running_jobs, worker.shutdown_timeout,
                )  # fmt: skip
            worker.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop, sig)
        try:
            async with declared(worker):  # app_jobs.task_coverage() counts it while it lives
                return await worker.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    @property
    def sync(self) -> SyncApp:
        """The same methods for synchronous code (each runs its own event loop)."""
        return SyncApp(self)


def _job_ids(jobs: Iterable[int | Job] | None) -> list[int] | None:
    """depends_on as job ids (a Job stands for its id)."""
    return None if jobs is None else [j.id if isinstance(j, Job) else j for j in jobs]


def _each(specs: list[JobSpec], depends_on: Iterable[int | Job] | None) -> list[Any] | None:
    """One depends_on shared by every spec (later_many)."""
    ids = _job_ids(depends_on)
    return None if ids is None else [ids] * len(specs)


def _per_spec(
    depends_on: Sequence[Iterable[int | Job | JobSpec] | None] | None,
    given: list[JobSpec],
    checked: list[JobSpec],
) -> list[Any] | None:
    """App.add_jobs' depends_on for the client: a Job as its id, a spec of the same call as
    the checked spec that stands for it (the client matches earlier specs by identity)."""
    if depends_on is None:
        return None
    standing = {id(spec): new for spec, new in zip(given, checked, strict=True)}
    return [
        None if entry is None
        else [
            d.id if isinstance(d, Job) else standing.get(id(d), d) if isinstance(d, JobSpec) else d
            for d in entry
        ]
        for entry in depends_on
    ]  # fmt: skip


def _spec_options(spec: JobSpec) -> dict[str, Any]:
    """The keywords of :meth:`App.spec` for ``spec`` (its ``identifier`` is the ``task``)."""
    options = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    options["task"] = options.pop("identifier")
    return options


@dataclasses.dataclass(frozen=True)
class SyncApp:
    """Synchronous facade of :class:`App` (``app.sync``); not for use inside an event loop."""

    app: App

    @contextlib.contextmanager
    def _client(self, conn: psycopg.Connection[Any] | None) -> Iterator[Client]:
        if conn is not None:
            self._declare(conn)
            yield Client(conn)
            return
        with Client.connect(connect.conninfo(self.app.dsn)) as client:
            self._declare(client.conn)
            yield client

    def _declare(self, conn: psycopg.Connection[Any]) -> None:
        if not self.app._declared:
            written = settings.declare_sync(conn, self.app.registry)
            self.app._send_defaults = written is None
            self.app._declared = conn.autocommit or written is None

    def declare_settings(self, *, conn: psycopg.Connection[Any] | None = None) -> int | None:
        """App.declare_settings for synchronous code."""
        if conn is not None:
            written = settings.declare_sync(conn, self.app.registry)
            self.app._declared = conn.autocommit or written is None
        else:
            with Client.connect(connect.conninfo(self.app.dsn)) as client:
                written = settings.declare_sync(client.conn, self.app.registry)
            self.app._declared = True
        self.app._send_defaults = written is None
        return written

    def later(
        self,
        task: TaskRef,
        payload: Any = None,
        *,
        conn: psycopg.Connection[Any] | None = None,
        delay: timedelta | float | None = None,
        job_key_mode: str | None = None,
        depends_on: Iterable[int | Job] | None = None,
        **options: Any,
    ) -> Job:
        """App.later for synchronous code; ``conn`` is a (sync) psycopg connection."""
        spec = self.app.spec(task, payload, **options)
        with self._client(conn) as client:
            spec = self.app._with_defaults(spec)
            return client.add_job(
                spec.identifier, spec.payload, database_id=spec.database_id, job_key=spec.job_key,
                queue=spec.queue, run_at=spec.run_at, delay=delay,
                max_attempts=spec.max_attempts, priority=spec.priority, timeout=spec.timeout,
                correlation_id=spec.correlation_id, backoff=spec.backoff,
                job_key_mode=job_key_mode, depends_on=_job_ids(depends_on),
            )  # fmt: skip

    def later_many(
        self,
        task: TaskRef,
        payloads: Iterable[Any],
        *,
        conn: psycopg.Connection[Any] | None = None,
        job_key_mode: str | None = None,
        depends_on: Iterable[int | Job] | None = None,
        **options: Any,
    ) -> list[Job]:
        """App.later_many for synchronous code."""
        specs = [self.app.spec(task, payload, **options) for payload in payloads]
        with self._client(conn) as client:
            specs = [self.app._with_defaults(spec) for spec in specs]
            return client.add_jobs(
                specs, job_key_mode=job_key_mode, depends_on=_each(specs, depends_on)
            )

    def run_now(self, task: TaskRef, payload: Any = None, **options: Any) -> Any:
        return asyncio.run(self.app.run_now(task, payload, **options))

    def run_batch(self, task: TaskRef, payloads: Sequence[Any], **options: Any) -> list[Outcome]:
        return asyncio.run(self.app.run_batch(task, payloads, **options))

    def run_job(self, job_id: int) -> Any:
        return asyncio.run(self.app.run_job(job_id))

    def drain(self, **options: Any) -> WorkerSummary:
        return asyncio.run(self.app.drain(**options))
