"""Prometheus metrics for pgjobs: what a worker did (in-process counters fed by hooks) and how
deep the queues are (figures from the database, counted by at most one process every 15 s).

Worker hooks (the interface is :class:`pgjobs.runtime.hooks.WorkerHooks`, so the worker never
imports this module or prometheus-client): a worker given a :class:`WorkerMetrics` calls, for
each attempt::

    metrics.job_started(task, queue)                     # when the handler starts
    metrics.job_completed(task, queue, duration)         # complete_job recorded it
    metrics.job_retried(task, queue, duration)           # fail_job: attempts left, will retry
    metrics.job_failed(task, queue, duration)            # fail_job: failed for good
    metrics.job_cancelled(task, queue, duration)         # stopped on request, recorded cancelled
    metrics.job_lost(task, queue, duration)              # taken back by the database meanwhile
    metrics.heartbeat()                                  # after each successful app_jobs.heartbeat

``duration`` is in seconds (the handler's run time); ``queue`` may be None. Every hook is
cheap (a few counter increments) and never raises. Labels are per task; the queue becomes a
label only with ``per_queue=True``, since queue names can be unbounded. ``serve(port)`` exposes
them (plus the database figures when given a DSN) on ``http://HOST:PORT/metrics``.

Database figures (:class:`DatabaseCollector`): ``app_jobs.queue_gauges()`` returns ready jobs
and the oldest ready job's age per task and queue; the hot table is recounted at most once per
``max_age`` (15 s) whichever processes scrape, by the one that wins an advisory lock, the
others reading the previous figures without waiting. ``app_jobs.list_workers()`` gives
worker liveness from the leases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg.rows import dict_row

from pgjobs.db import dashboard_queries as queries

__all__ = ["DatabaseCollector", "WorkerMetrics", "database_metric_families"]

#: Handler durations: 5 ms to 10 min.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class WorkerMetrics:
    """A worker's counters, in their own registry (one per worker, so tests and several
    workers in a process never clash)."""

    def __init__(
        self, *, per_queue: bool = False, registry: CollectorRegistry | None = None
    ) -> None:
        self.per_queue = per_queue
        self.registry = registry or CollectorRegistry()
        labels = ["task", "queue"] if per_queue else ["task"]
        r = self.registry
        self.started = Counter(
            "pgjobs_jobs_started", "Attempts started by this worker.", labels, registry=r
        )
        self.completed = Counter(
            "pgjobs_jobs_completed", "Jobs this worker completed.", labels, registry=r
        )
        self.retried = Counter(
            "pgjobs_jobs_retried",
            "Attempts that failed with attempts left (the job will be retried).",
            labels,
            registry=r,
        )
        self.failed = Counter(
            "pgjobs_jobs_failed", "Jobs that failed for good in this worker.", labels, registry=r
        )
        self.cancelled = Counter(
            "pgjobs_jobs_cancelled",
            "Running jobs this worker stopped on request (cancel_job).",
            labels,
            registry=r,
        )
        self.lost = Counter(
            "pgjobs_jobs_lost",
            "Jobs the database took back (lease lapsed) before this worker recorded them.",
            labels,
            registry=r,
        )
        self.duration = Histogram(
            "pgjobs_job_duration_seconds",
            "Handler run time of finished attempts, by outcome.",
            [*labels, "outcome"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.running = Gauge(
            "pgjobs_worker_running_jobs", "Jobs this worker is running now.", registry=r
        )
        self.up = Gauge("pgjobs_worker_up", "1 while this worker process runs.", registry=r)
        self.last_heartbeat = Gauge(
            "pgjobs_worker_last_heartbeat_timestamp_seconds",
            "Unix time of this worker's latest successful lease renewal (app_jobs.heartbeat).",
            registry=r,
        )
        self.up.set(1)

    def _labels(self, task: str, queue: str | None) -> tuple[str, ...]:
        return (task, queue or "") if self.per_queue else (task,)

    def job_started(self, task: str, queue: str | None = None) -> None:
        self.started.labels(*self._labels(task, queue)).inc()
        self.running.inc()

    def _finished(
        self, counter: Counter, outcome: str, task: str, queue: str | None, duration: float
    ) -> None:
        labels = self._labels(task, queue)
        counter.labels(*labels).inc()
        self.duration.labels(*labels, outcome).observe(max(0.0, duration))
        self.running.dec()

    def job_completed(self, task: str, queue: str | None, duration: float) -> None:
        self._finished(self.completed, "completed", task, queue, duration)

    def job_retried(self, task: str, queue: str | None, duration: float) -> None:
        self._finished(self.retried, "retried", task, queue, duration)

    def job_failed(self, task: str, queue: str | None, duration: float) -> None:
        self._finished(self.failed, "failed", task, queue, duration)

    def job_cancelled(self, task: str, queue: str | None, duration: float) -> None:
        self._finished(self.cancelled, "cancelled", task, queue, duration)

    def job_lost(self, task: str, queue: str | None, duration: float) -> None:
        self._finished(self.lost, "lost", task, queue, duration)

    def heartbeat(self) -> None:
        self.last_heartbeat.set(time.time())

    def serve(
        self, port: int, host: str = "127.0.0.1", dsn: str | None = None
    ) -> tuple[Any, threading.Thread]:
        """Serve ``/metrics`` on HOST:PORT from a daemon thread (prometheus_client's server);
        with a DSN, the database figures too. Returns (server, thread): ``server.shutdown()``
        stops it."""
        if dsn is not None:
            self.registry.register(DatabaseCollector(dsn, per_queue=self.per_queue))
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return server, thread


def database_metric_families(
    gauges: Iterable[dict[str, Any]], workers: Iterable[dict[str, Any]], *, per_queue: bool
) -> list[GaugeMetricFamily]:
    """The metric families of app_jobs.queue_gauges() and app_jobs.list_workers() rows."""
    labels = ["task", "queue"] if per_queue else ["task"]
    ready = GaugeMetricFamily(
        "pgjobs_queue_ready_jobs", "Jobs due and claimable now (app_jobs.queue_gauges).", None,
        labels,
    )  # fmt: skip
    oldest = GaugeMetricFamily(
        "pgjobs_queue_oldest_ready_age_seconds",
        "How long the oldest ready job has been due.",
        labels=labels,
    )
    computed = GaugeMetricFamily(
        "pgjobs_queue_gauges_computed_timestamp_seconds",
        "Unix time the queue figures were counted (at most every 15 s, by one process).",
    )
    exact = GaugeMetricFamily(
        "pgjobs_queue_gauges_exact", "0 when the count stopped at its row cap (a lower bound)."
    )
    per_key: dict[tuple[str, ...], list[float]] = {}
    for row in gauges:
        if row["task_identifier"] is None:  # the total row
            computed.add_metric([], row["computed_at"].timestamp())
            exact.add_metric([], 1.0 if row["exact"] else 0.0)
            continue
        key = (row["task_identifier"], row["queue_name"] or "")[: len(labels)]
        age = row["oldest_ready_age"]
        seconds = age.total_seconds() if isinstance(age, timedelta) else 0.0
        count, worst = per_key.get(key, [0.0, 0.0])
        per_key[key] = [count + row["ready"], max(worst, seconds)]
    for key, (count, worst) in sorted(per_key.items()):
        ready.add_metric(list(key), count)
        oldest.add_metric(list(key), worst)
    alive = GaugeMetricFamily(
        "pgjobs_workers", "Workers with a lease row, by liveness.", labels=["state"]
    )
    rows = list(workers)
    alive.add_metric(["alive"], sum(1 for w in rows if w["alive"]))
    alive.add_metric(["lapsed"], sum(1 for w in rows if not w["alive"]))
    running = GaugeMetricFamily(
        "pgjobs_workers_running_jobs", "Jobs held by live workers now (from their leases)."
    )
    running.add_metric([], sum(w["running_jobs"] for w in rows if w["alive"]))
    return [ready, oldest, computed, exact, alive, running]


class DatabaseCollector(Collector):
    """Queue depth and worker liveness from the database, at each scrape, over one kept
    connection (re-opened after an error). A scrape that cannot reach the database exports
    ``pgjobs_database_up 0`` instead of failing."""

    def __init__(
        self, dsn: str, *, per_queue: bool = False, max_age: timedelta = timedelta(seconds=15)
    ) -> None:
        self.dsn = dsn
        self.per_queue = per_queue
        self.max_age = max_age
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[dict[str, Any]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.dsn,
                autocommit=True,
                row_factory=dict_row,
                options="-c statement_timeout=10000 -c application_name=pgjobs-metrics",
            )
        return self._conn

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("pgjobs_database_up", "1 when the last scrape read the database.")
        with self._lock:
            try:
                conn = self._connection()
                gauges = conn.execute(queries.QUEUE_GAUGES, {"max_age": self.max_age}).fetchall()
                workers = conn.execute(queries.LIST_WORKERS).fetchall()
            except psycopg.Error:
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                up.add_metric([], 0.0)
                yield up
                return
        up.add_metric([], 1.0)
        yield up
        yield from database_metric_families(gauges, workers, per_queue=self.per_queue)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
