"""``pgjobs dsn`` and ``pgjobs psql``: the database every other command uses, within reach.

Both go through the same connect step as every command (:func:`pgjobs.cli.common.target`), so
with nothing configured they start (or join) the embedded server. ``psql`` runs as a child of
this process, which keeps the embedded server up until psql exits.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from pgjobs.cli.common import CommandError, Subparsers, common_options, target

__all__ = ["add_dsn", "add_psql"]


def _run_dsn(args: argparse.Namespace) -> int:
    resolved = target(args)
    print(resolved.conninfo)
    if resolved.embedded_home is not None:
        print(
            "pgjobs: this socket answers only while a pgjobs process uses the embedded server "
            "(a worker, `pgjobs psql`); `pgjobs psql` opens a prompt on it",
            file=sys.stderr,
        )
    return 0


def _run_psql(args: argparse.Namespace) -> int:
    psql = shutil.which("psql")
    if psql is None:
        raise CommandError(
            "psql is not on PATH: install the PostgreSQL client (Debian: apt-get install "
            "postgresql-client), or use `pgjobs dsn` with another client"
        )
    resolved = target(args)
    # A child, not exec: this process keeps the embedded server up while psql runs.
    extra = args.psql_args[1:] if args.psql_args[:1] == ["--"] else args.psql_args
    return subprocess.run([psql, "--dbname", resolved.conninfo, *extra]).returncode


def add_dsn(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dsn",
        parents=[common_options(top_level=False)],
        help="print the DSN of the database pgjobs uses",
        description="Print the connection string of the database every pgjobs command uses "
        "(starting the embedded server when nothing is configured).",
    )
    parser.set_defaults(handler=_run_dsn)


def add_psql(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "psql",
        parents=[common_options(top_level=False)],
        help="open psql on the database pgjobs uses",
        description="Run psql on the database every pgjobs command uses; the embedded server "
        "stays up while psql runs. Arguments after the options go to psql, e.g. "
        "pgjobs psql -- -f tour.sql.",
    )
    parser.add_argument("psql_args", nargs=argparse.REMAINDER, metavar="PSQL_ARG")
    parser.set_defaults(handler=_run_psql)
