"""The ``pgjobs`` command line: one module per command group, shared steps in one place."""

from __future__ import annotations

from pgjobs.cli.main import main

__all__ = ["main"]
