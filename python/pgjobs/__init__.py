"""pgjobs: a PostgreSQL job queue whose whole logic lives in SQL (schema ``app_jobs``).

This package is the thin client: it installs the SQL (``pgjobs deploy``) and, later, runs
workers that only call ``app_jobs.*`` functions.

Nothing here imports psycopg or yoyo eagerly, so ``python -m pgjobs.bundle`` (the extension
build run by ``make``) works on a bare standard-library Python. Import the submodules you
need: ``pgjobs.deploy``, ``pgjobs.config``, ``pgjobs.plan``, ``pgjobs.sqlfiles``.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

__all__ = ["__version__"]


def _version_from_control() -> str:
    """Read ``default_version`` from the checkout's ``control`` file (the one true version)."""
    control = Path(__file__).resolve().parent.parent.parent / "control"
    try:
        text = control.read_text(encoding="utf-8")
    except OSError:
        return "0+unknown"
    match = re.search(r"^\s*default_version\s*=\s*'([^']+)'", text, re.MULTILINE)
    return match.group(1) if match else "0+unknown"


def _version() -> str:
    try:
        return metadata.version("pgjobs")
    except metadata.PackageNotFoundError:
        return _version_from_control()


__version__: str = _version()
