"""What a worker reports about its attempts, for metrics: the hook interface.

The worker takes an object with these methods (``Worker(hooks=...)``) and calls them; it never
imports a metrics library. ``pgjobs.dashboard.metrics.WorkerMetrics`` implements them with
Prometheus counters; :class:`NoWorkerHooks` does nothing. Hooks are called from the worker's
event loop, must be cheap and must not raise. Durations are the handler's run time in
seconds; ``queue`` is the job's queue name or None.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["NoWorkerHooks", "WorkerHooks"]


@runtime_checkable
class WorkerHooks(Protocol):
    def job_started(self, task: str, queue: str | None = None) -> None:
        """The handler of a claimed job starts."""

    def job_completed(self, task: str, queue: str | None, duration: float) -> None:
        """complete_job recorded the job completed."""

    def job_retried(self, task: str, queue: str | None, duration: float) -> None:
        """fail_job recorded a failed attempt with attempts left (the job will run again)."""

    def job_failed(self, task: str, queue: str | None, duration: float) -> None:
        """fail_job recorded the job failed for good."""

    def job_cancelled(self, task: str, queue: str | None, duration: float) -> None:
        """The handler was stopped on request (cancel_job) and the job recorded cancelled."""

    def job_lost(self, task: str, queue: str | None, duration: float) -> None:
        """The database had taken the job back (lease lapsed) before its outcome was recorded."""

    def heartbeat(self) -> None:
        """app_jobs.heartbeat renewed the worker's lease."""


class NoWorkerHooks:
    """The default: report nothing."""

    def job_started(self, task: str, queue: str | None = None) -> None:
        pass

    def job_completed(self, task: str, queue: str | None, duration: float) -> None:
        pass

    def job_retried(self, task: str, queue: str | None, duration: float) -> None:
        pass

    def job_failed(self, task: str, queue: str | None, duration: float) -> None:
        pass

    def job_cancelled(self, task: str, queue: str | None, duration: float) -> None:
        pass

    def job_lost(self, task: str, queue: str | None, duration: float) -> None:
        pass

    def heartbeat(self) -> None:
        pass
