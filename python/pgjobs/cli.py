"""The ``pgjobs`` command line (also ``python -m pgjobs``).

Each subcommand lives in a small ``_add_<name>`` function that registers its parser and sets
``handler``; add new ones (worker, add, status, ...) to :data:`_SUBCOMMANDS`. Handlers import
what they need lazily, so ``pgjobs --help`` stays fast. No SQL here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Final

from pgjobs import __version__

__all__ = ["build_parser", "main"]

_Handler = Callable[[argparse.Namespace], int]

_DSN_HELP: Final = (
    "PostgreSQL to use: a URL (postgresql://user:pass@host:5432/db) or a libpq conninfo "
    "string. Default: $PGJOBS_DSN, then $DATABASE_URL, then the libpq PG* variables."
)


def _common_options(*, top_level: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand name."""
    # Sub-parsers must not reset an option given before the subcommand: SUPPRESS leaves it
    # alone unless it is given again after the subcommand.
    default = None if top_level else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", metavar="DSN", default=default, help=_DSN_HELP)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="log each step to stderr",
    )
    return common


def _run_deploy(args: argparse.Namespace) -> int:
    from pgjobs import deploy

    applied = deploy.deploy(args.dsn, verify=args.verify)
    for change_id in applied:
        print(f"applied {change_id}")
    checked = " and verified" if args.verify else ""
    if applied:
        print(f"pgjobs deployed{checked}: {len(applied)} change(s) applied")
    else:
        print(f"pgjobs is up to date{checked}: nothing to apply")
    return 0


def _run_revert(args: argparse.Namespace) -> int:
    from pgjobs import deploy

    reverted = deploy.revert(args.dsn, drop_triggers=args.drop_triggers)
    for change_id in reverted:
        print(f"reverted {change_id}")
    if reverted:
        print(f"pgjobs reverted: {len(reverted)} change(s) rolled back; schema app_jobs is gone")
    else:
        print("nothing to revert: pgjobs deploy has not installed anything in this database")
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    from pgjobs import deploy

    deploy.verify(args.dsn)
    print("pgjobs verified: every change checks out")
    return 0


def _add_deploy(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "deploy",
        parents=[_common_options(top_level=False)],
        help="install or upgrade the app_jobs schema",
        description=(
            "Apply every pending change of pgjobs' SQL plan to the database, then run every "
            "verify script. Installs schema app_jobs on first use and upgrades it later; "
            "bookkeeping goes to schema pgjobs_migrations. Running it again is a no-op, and "
            "concurrent runs (say, every worker at start-up) take turns."
        ),
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip the verify scripts after applying",
    )
    parser.set_defaults(handler=_run_deploy)


def _add_revert(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "revert",
        parents=[_common_options(top_level=False)],
        help="remove the app_jobs schema (and every job in it)",
        description=(
            "Roll back every applied pgjobs change, newest first, until schema app_jobs is gone. "
            "This deletes all queued jobs and their history. Refuses while triggers on your own "
            "tables execute app_jobs functions (it lists them) unless --drop-triggers is given."
        ),
    )
    parser.add_argument(
        "--drop-triggers",
        action="store_true",
        help="drop triggers on your tables that execute app_jobs functions, then revert",
    )
    parser.set_defaults(handler=_run_revert)


def _add_verify(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        parents=[_common_options(top_level=False)],
        help="check that every pgjobs object is in place",
        description=(
            "Run every verify script of pgjobs' SQL plan inside a transaction that is rolled "
            "back, and report each change whose objects are missing or wrong. Changes nothing."
        ),
    )
    parser.set_defaults(handler=_run_verify)


_SUBCOMMANDS: Final[
    tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...]
] = (_add_deploy, _add_revert, _add_verify)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pgjobs`` command."""
    parser = argparse.ArgumentParser(
        prog="pgjobs",
        parents=[_common_options(top_level=True)],
        description=(
            "pgjobs: a PostgreSQL job queue whose whole logic lives in SQL (schema app_jobs)."
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
    from pgjobs.deploy import DeployError

    try:
        return handler(args)
    except DeployError as exc:
        print(f"pgjobs: error: {exc}", file=sys.stderr)
        return 1
