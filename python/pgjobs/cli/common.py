"""What every command shares: options, argument types, the connect step, errors, tables.

:func:`client` is the one place that connects (starting the embedded server when no database
is configured), turns an SQL API refusal into a :class:`CommandError` and says "not deployed".
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pgjobs.config import ResolvedDsn
    from pgjobs.db.client import Client

__all__ = [
    "DSN_HELP",
    "CommandError",
    "Subparsers",
    "client",
    "common_options",
    "connect_error",
    "job_ref",
    "json_payload",
    "load_app",
    "say_which",
    "seconds",
    "table",
    "target",
    "tenant",
    "timestamp",
]

Subparsers = argparse._SubParsersAction  # the type of add_subparsers()'s result


DSN_HELP: Final = (
    "PostgreSQL to use: a URL (postgresql://user:pass@host:5432/db) or a libpq conninfo "
    "string. Default: $PGJOBS_DSN, then $DATABASE_URL, then the libpq PG* variables; with "
    "none of them set, an embedded PostgreSQL 18 kept in ./.pgjobs ($PGJOBS_HOME), started "
    "on demand and deployed on first use."
)


class CommandError(Exception):
    """A command failed for a reason its message explains; exit status 1."""


def common_options(*, top_level: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand name."""
    # Sub-parsers must not reset an option given before the subcommand: SUPPRESS leaves it
    # alone unless it is given again after the subcommand.
    default = None if top_level else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", metavar="DSN", default=default, help=DSN_HELP)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="log each step to stderr",
    )
    return common


def connect_error(target: Any, exc: Exception) -> CommandError:
    from pgjobs import config

    return CommandError(
        f"cannot connect to PostgreSQL at {config.describe(target.conninfo)} "
        f"(from {target.source}): {str(exc).strip()}\n"
        "Pass --dsn, or set PGJOBS_DSN (or DATABASE_URL, or the PG* variables)."
    )


def json_payload(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({exc}): {text!r}. Quote it for your shell, e.g. "
            """'{"to": "ann@example.com"}'"""
        ) from exc


def tenant(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a UUID: {text!r} (e.g. 7f1c7a52-3b7e-4e8e-9a3a-2f0d4c1b9e10)"
        ) from exc


def timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2030-01-31T09:00:00+01:00)"
        ) from exc
    return moment if moment.tzinfo is not None else moment.astimezone()


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from exc
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be zero or more seconds, got {text!r}")
    return value


def job_ref(text: str) -> int | uuid.UUID:
    try:
        return int(text)
    except ValueError:
        return tenant(text)  # a uid


_said_which: set[str] = set()


def say_which(resolved: ResolvedDsn) -> None:
    """Say on stderr, once per process, which embedded database a command uses (its folder)."""
    from pgjobs import config

    if resolved.embedded_home is None:
        return
    folder = config.display_path(resolved.embedded_home)
    if folder not in _said_which:
        _said_which.add(folder)
        print(f"pgjobs: using the embedded PostgreSQL in {folder}", file=sys.stderr)


def target(args: argparse.Namespace) -> ResolvedDsn:
    """The connect step: resolve ``--dsn`` and start the embedded server when it is the one
    (saying so on stderr)."""
    from pgjobs import connect

    resolved = connect.target(args.dsn)
    say_which(resolved)
    return resolved


def _not_deployed(resolved: ResolvedDsn, exc: Any) -> CommandError:
    from pgjobs import config

    return CommandError(
        f"app_jobs is not deployed (or is older than this pgjobs) in "
        f"{config.describe(resolved.conninfo)} (from {resolved.source}): "
        f"{exc.diag.message_primary or exc}\nRun `pgjobs deploy` first."
    )


@contextmanager
def client(args: argparse.Namespace) -> Iterator[Client]:
    """A Client on the configured database; SQL API refusals become CommandErrors."""
    import psycopg

    from pgjobs.db.client import Client
    from pgjobs.db.errors import PgJobsError

    resolved = target(args)
    try:
        connected = Client.connect(resolved.conninfo)
    except psycopg.OperationalError as exc:
        raise connect_error(resolved, exc) from exc
    with connected:
        try:
            yield connected
        except PgJobsError as exc:
            raise CommandError(str(exc)) from exc
        except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as exc:
            raise _not_deployed(resolved, exc) from exc
        except psycopg.Error as exc:
            raise CommandError(
                f"pgjobs {args.command} failed: {exc.diag.message_primary or exc}"
            ) from exc


def load_app(spec: str) -> Any:
    """Import ``module[:attribute]`` (attribute default ``app``) from the current directory."""
    import importlib
    import os

    from pgjobs.runtime.app import App

    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    if not module_name:
        raise CommandError(f"{spec!r}: give the app as MODULE or MODULE:ATTRIBUTE, e.g. myapp:app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CommandError(f"cannot import {module_name!r}: {exc}") from exc
    app = getattr(module, attribute, None)
    if not isinstance(app, App):
        raise CommandError(
            f"{module_name}.{attribute} is not a pgjobs App (got {type(app).__name__}); "
            "create one with `app = pgjobs.App()` and register tasks with @app.task(...)"
        )
    return app


def table(rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """``rows`` (the first is the header) as lines of columns two spaces apart.

    ``align`` holds one ``<`` or ``>`` per column (default ``<``); trailing blanks are cut.
    """
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    aligns = align.ljust(len(widths), "<")
    return [
        "  ".join(
            cell.rjust(width) if side == ">" else cell.ljust(width)
            for cell, width, side in zip(row, widths, aligns, strict=True)
        ).rstrip()
        for row in rows
    ]
