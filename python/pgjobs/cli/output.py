"""Terminal output: whether to use rich, and the worker's log lines in colour.

``rich`` is a default dependency, but every command works without it (plain text). It is used
only when the output is a terminal, ``NO_COLOR`` is unset and ``TERM`` is not ``dumb``.

The worker's job lines must stay cheap (one a job, at thousands of jobs a second), so they are
not rendered by rich's logging handler (about 2.4 ms a line, measured on the 2-core dev
machine: 60 times a plain line): :class:`TerminalFormatter` adds ANSI colours to the plain
line (the level, the outcome), at the cost of a plain line. rich renders what is rare and read
closely: the traceback of a failed attempt, at most one every 0.2 s (a failure storm gets
plain tracebacks, so rendering never slows the worker down).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import time
from typing import Any, TextIO

__all__ = ["TerminalFormatter", "rich_available", "rich_wanted"]


def rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def rich_wanted(stream: TextIO) -> bool:
    """Colour and tables on ``stream``: a terminal, colour not refused, rich installed."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    if not tty or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return rich_available()


_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_LEVELS = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[1;31m",
    "CRITICAL": "\x1b[1;31m",
}
_OUTCOMES = {
    "completed": "\x1b[32m",
    "retrying": "\x1b[33m",
    "failed": "\x1b[1;31m",
    "lost": "\x1b[35m",
    "cancelled": "\x1b[35m",
}
#: The shortest gap between two tracebacks rendered by rich (the others are plain text).
RICH_TRACEBACK_GAP = 0.2


class TerminalFormatter(logging.Formatter):
    """The plain line (time, level, message) with ANSI colours; rich tracebacks."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
        self._last_rich_traceback = 0.0
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:  # one strftime a second, not one a line
            self._second, self._stamp = second, super().formatTime(record, datefmt)
        return self._stamp

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        outcome = getattr(record, "outcome", None)
        colour = _OUTCOMES.get(outcome) if isinstance(outcome, str) else None
        if colour is not None:
            message = message.replace(f" {outcome} ", f" {colour}{outcome}{_RESET} ", 1)
        level = record.levelname
        line = (
            f"{_DIM}{self.formatTime(record, self.datefmt)}{_RESET} "
            f"{_LEVELS.get(level, '')}{level}{_RESET} {message}"
        )
        if record.exc_info:
            line += "\n" + self._traceback(record.exc_info)
        return line

    def _traceback(self, exc_info: Any) -> str:
        now = time.monotonic()
        if now - self._last_rich_traceback < RICH_TRACEBACK_GAP or not rich_available():
            return self.formatException(exc_info)
        self._last_rich_traceback = now
        import asyncio
        import concurrent.futures

        from rich.console import Console
        from rich.traceback import Traceback

        import pgjobs

        out = io.StringIO()
        width = shutil.get_terminal_size((100, 24)).columns
        console = Console(file=out, force_terminal=True, width=width)
        # The handler's frames in full; the worker's and asyncio's as one line each.
        suppress = (asyncio, concurrent.futures, pgjobs)
        console.print(
            Traceback.from_exception(*exc_info, width=width, max_frames=20, suppress=suppress)
        )
        return out.getvalue().rstrip("\n")
