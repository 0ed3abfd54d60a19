"""How a dashboard runs: the ``pgjobs dashboard`` options, shared by the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pgjobs.dashboard.security import Auth

__all__ = ["Settings"]


@dataclass
class Settings:
    """How a dashboard runs (the ``pgjobs dashboard`` options)."""

    conninfo: str
    auth: Auth = field(default_factory=Auth)
    read_only: bool = False
    api_secret: str | None = None
    worker_app: Any = None
    """A pgjobs App whose handlers ``POST /api/process-batch`` runs (``--app``)."""
    metrics_per_queue: bool = False
    statement_timeout: timedelta = timedelta(seconds=5)
    history_window: timedelta = timedelta(days=1)
    refresh_seconds: float = 3.0
