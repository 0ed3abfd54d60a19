"""``pgjobs.App``: a task registry plus the worker that runs it.

app = App("postgresql://localhost/app")

@app.task("send_email")
async def send_email(payload, ctx):
    ...

app.run_worker(concurrency=8)          # until SIGTERM / SIGINT
app.process_batch(batch_size=10)       # serverless / cron: what is due, then return
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any, TypeVar

from pgjobs import config
from pgjobs.registry import Registry
from pgjobs.worker import Worker, WorkerSummary

__all__ = ["App"]

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """Handlers by task name, and a worker to run them against one database."""

    def __init__(self, dsn: str | None = None) -> None:
        self.dsn = dsn
        self.registry = Registry()

    def task(self, name: str | None = None) -> Callable[[F], F]:
        """Register the decorated function (sync or async) as the handler of task ``name``
        (default: the function's name). It is called as ``fn(payload)`` or
        ``fn(payload, ctx)``; sync handlers run in a thread."""

        def register(fn: F) -> F:
            self.registry.register(name or fn.__name__, fn)
            return fn

        return register

    def worker(self, **options: Any) -> Worker:
        """A :class:`~pgjobs.worker.Worker` for this app (options as for Worker)."""
        return Worker(self.registry, config.resolve_dsn(self.dsn), **options)

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

    @staticmethod
    async def serve(worker: Worker) -> WorkerSummary:
        """Run ``worker`` in the running event loop until SIGTERM or SIGINT (see run_worker)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        try:
            return await worker.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
