"""The ``pgjobs`` command line (also ``python -m pgjobs``).

Each command group is a module of this package with ``add_<name>`` functions that register
their parsers and set ``handler``; add new ones to :data:`_SUBCOMMANDS`. Handlers import what
they need lazily, so ``pgjobs --help`` stays fast. Shared steps (connect, errors, tables) are in
:mod:`pgjobs.cli.common`. No SQL here: the client calls app_jobs functions.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Final

from pgjobs import __version__
from pgjobs.cli.common import CommandError, Subparsers, common_options
from pgjobs.cli.dashboard import add_dashboard
from pgjobs.cli.database import add_dsn, add_psql
from pgjobs.cli.install import add_deploy, add_revert, add_sql, add_verify
from pgjobs.cli.jobs import add_add, add_cleanup, add_jobs
from pgjobs.cli.limits import add_limits
from pgjobs.cli.pauses import add_pauses
from pgjobs.cli.schedules import add_schedules
from pgjobs.cli.status import add_status
from pgjobs.cli.tasks import add_tasks
from pgjobs.cli.worker import add_worker

__all__ = ["build_parser", "main"]

_Handler = Callable[[argparse.Namespace], int]


_SUBCOMMANDS: Final[
    tuple[Callable[[Subparsers[argparse.ArgumentParser]], None], ...]
] = (
    add_deploy, add_revert, add_verify, add_add, add_status, add_worker, add_schedules,
    add_jobs, add_cleanup, add_sql, add_dashboard, add_dsn, add_psql, add_tasks, add_pauses,
    add_limits,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pgjobs`` command."""
    parser = argparse.ArgumentParser(
        prog="pgjobs",
        parents=[common_options(top_level=True)],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "pgjobs: a PostgreSQL job queue whose whole logic lives in SQL (schema app_jobs).\n"
            "\n"
            "With no database configured (no --dsn, PGJOBS_DSN, DATABASE_URL or PG* variable)\n"
            "every command uses an embedded PostgreSQL 18 kept in ./.pgjobs (or $PGJOBS_HOME),\n"
            "started on demand and stopped when the last pgjobs process using it exits."
        ),
        epilog=(
            "first steps:\n"
            """  pgjobs add send_email '{"to": "ann@example.com"}'   enqueue a job\n"""
            "  pgjobs status                                       which database, deployed?\n"
            "  pgjobs worker myapp:app                             run handlers on the jobs\n"
            "  pgjobs COMMAND --help                               options of a command"
        ),
    )
    parser.add_argument("--version", action="version", version=f"pgjobs {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="pgjobs: %(message)s", stream=sys.stderr)
    if args.verbose:
        logging.getLogger("pgjobs").setLevel(logging.INFO)
    handler: _Handler = args.handler
    from pgjobs.embedded import EmbeddedError
    from pgjobs.install.deploy import DeployError

    try:
        return handler(args)
    except (CommandError, DeployError, EmbeddedError) as exc:
        print(f"pgjobs: error: {exc}", file=sys.stderr)
        return 1
