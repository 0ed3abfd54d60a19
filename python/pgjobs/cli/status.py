"""``pgjobs status``: which database, whether app_jobs is deployed, and the queues."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from pgjobs.cli.common import Subparsers, common_options, connect_error, table, target

__all__ = ["add_status"]


def _database_line(resolved: Any, server_version: int) -> str:
    from pgjobs import config

    version = f"PostgreSQL {server_version // 10000}.{server_version % 10000}"
    if resolved.embedded_home is not None:
        return f"embedded {version} in {config.display_path(resolved.embedded_home)}"
    return f"{config.describe(resolved.conninfo)} (from {resolved.source}), {version}"


def _schema_line(changes: Sequence[tuple[str, bool]]) -> str:
    applied = [change_id for change_id, done in changes if done]
    pending = [change_id for change_id, done in changes if not done]
    if not applied:
        return (
            "not deployed (pgjobs deploy has recorded no change in this database): "
            "run `pgjobs deploy`"
        )
    if not pending:
        return f"deployed, up to date ({len(applied)} changes)"
    return (
        f"deployed, {len(pending)} of {len(changes)} changes pending "
        f"({', '.join(pending)}): run `pgjobs deploy` to upgrade"
    )


def _stats_lines(stats: Sequence[Any]) -> list[str]:
    if not stats:
        return ["queues: empty (no waiting, running or recently finished job)"]
    rows = [
        ("task", "queue", "queued", "sched.", "running", "retrying", "done/1h", "failed/1h"),
        *(
            (
                row.task_identifier[:24], (row.queue_name or "-")[:12], str(row.queued),
                str(row.scheduled), str(row.running), str(row.retrying),
                str(row.completed_last_hour), str(row.failed_last_hour),
                "" if row.oldest_queued_age is None else str(row.oldest_queued_age).split(".")[0],
            )
            for row in stats
        ),
    ]  # fmt: skip
    rows[0] = (*rows[0], "oldest queued")
    lines = table(rows, "<<>>>>>><")
    return ["queues (app_jobs.queue_stats()):", *("  " + line for line in lines)]


def _run_status(args: argparse.Namespace) -> int:
    import psycopg

    from pgjobs.db.client import Client
    from pgjobs.install import deploy

    resolved = target(args)
    try:
        with psycopg.connect(resolved.conninfo, autocommit=True) as conn:
            server_version = conn.info.server_version
            installed_by = deploy.installed_by(conn)
            client = Client(conn)
            version = client.schema_version() if installed_by else None
            stats = client.queue_stats() if installed_by else []
    except psycopg.Error as exc:
        raise connect_error(resolved, exc) from exc
    print(f"database: {_database_line(resolved, server_version)}")
    if resolved.embedded_home is not None:
        print(
            f"  socket DSN: {resolved.conninfo}\n"
            "  (it stops when the last pgjobs process using it exits; a running worker keeps it up)"
        )
    if installed_by is None:
        print("schema app_jobs: not deployed: run `pgjobs deploy` (or CREATE EXTENSION pgjobs)")
        return 0
    if installed_by == "pgjobs deploy":
        changes = deploy.status(resolved.conninfo)  # raises DeployError naming the database
        print(f"schema app_jobs: {_schema_line(changes)}")
    else:
        print(f"schema app_jobs: installed by {installed_by}")
    print(f"release: {version} (app_jobs.schema_version())")
    for line in _stats_lines(stats):
        print(line)
    return 0


def add_status(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        parents=[common_options(top_level=False)],
        help="say which database pgjobs uses and whether app_jobs is deployed there",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Print the database pgjobs would use (password masked; with nothing configured,\n"
            "the embedded PostgreSQL in ./.pgjobs, which this starts) and the state of the\n"
            "app_jobs schema there: deployed and up to date, deployed with changes pending\n"
            "(run pgjobs deploy to upgrade), or not deployed. Changes nothing."
        ),
        epilog=(
            "examples:\n"
            "  pgjobs status\n"
            "  pgjobs status --dsn postgresql://app:secret@db.example.com:5432/app"
        ),
    )
    parser.set_defaults(handler=_run_status)
