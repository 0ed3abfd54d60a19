"""``pgjobs status``: which database, whether app_jobs is deployed, the queues, the workers and
the tasks no live worker serves; once, or refreshed with ``--watch``; text, rich or JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pgjobs.cli.common import (
    CommandError,
    Subparsers,
    common_options,
    connect_error,
    seconds,
    table,
    target,
)
from pgjobs.cli.output import rich_wanted

__all__ = ["add_status"]

#: How status connects (its sessions are named in pg_stat_activity).
_CONNECT: dict[str, Any] = {"autocommit": True, "application_name": "pgjobs status"}
#: At most this many task names in a line (the rest are counted).
_NAMES = 8


@dataclasses.dataclass
class _Snapshot:
    """Everything one look at the database found (what each output format renders)."""

    taken_at: datetime
    database: str
    embedded_dsn: str | None = None
    installed_by: str | None = None
    schema: str | None = None  # the schema line (deployed, pending changes...)
    pending: list[str] | None = None
    release: str | None = None
    stats: list[Any] = dataclasses.field(default_factory=list)
    coverage: list[Any] | None = None  # None: the schema has no task_coverage (before 0.4.0)
    workers: list[Any] | None = None  # None: the schema has no list_workers
    error: str | None = None  # watching: the database stopped answering

    @property
    def served(self) -> dict[str, int]:
        return {row.task_identifier: row.live_workers for row in self.coverage or ()}

    @property
    def unserved(self) -> list[Any]:
        return [row for row in self.coverage or () if row.unserved]


# -- looking -----------------------------------------------------------------------------------


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


def _optional(conn: Any, read: Any) -> Any:
    """``read()``, or None when the schema predates the function it calls."""
    import psycopg

    try:
        with conn.transaction():  # a savepoint: a missing function leaves the session usable
            return read()
    except psycopg.errors.UndefinedFunction:
        return None


def _look(conn: Any, resolved: Any, schema_cache: dict[str, Any]) -> _Snapshot:
    """One look at the database. ``schema_cache`` keeps the (slower) pending-changes check
    between looks of a watch while the release stays the same."""
    from pgjobs.db.client import Client
    from pgjobs.install import deploy

    snap = _Snapshot(datetime.now(UTC), _database_line(resolved, conn.info.server_version))
    if resolved.embedded_home is not None:
        snap.embedded_dsn = resolved.conninfo
    snap.installed_by = deploy.installed_by(conn)
    if snap.installed_by is None:
        return snap
    client = Client(conn)
    snap.release = client.schema_version()
    if snap.installed_by == "pgjobs deploy":
        if schema_cache.get("release") != snap.release:
            changes = deploy.status(resolved.conninfo)  # raises DeployError naming the database
            schema_cache.update(
                release=snap.release,
                line=_schema_line(changes),
                pending=[change_id for change_id, done in changes if not done],
            )
        snap.schema, snap.pending = schema_cache["line"], schema_cache["pending"]
    else:
        snap.schema = f"installed by {snap.installed_by}"
    snap.stats = client.queue_stats()
    snap.coverage = _optional(conn, client.task_coverage)
    snap.workers = _optional(conn, client.list_workers)
    return snap


# -- text --------------------------------------------------------------------------------------


def _age(age: timedelta | None) -> str:
    return "" if age is None else str(age).split(".")[0]


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMES])
    return shown + (f" and {len(names) - _NAMES} more" if len(names) > _NAMES else "")


def _workers_line(snap: _Snapshot) -> str | None:
    if snap.workers is None:
        return None
    live = [w for w in snap.workers if w.alive]
    lapsed = len(snap.workers) - len(live)
    line = f"{len(live)} live" if live else "none live: no worker holds a lease (is one running?)"
    if live:
        running = sum(w.running_jobs for w in live)
        line += f", running {running} job{'s' * (running != 1)}"
        served = sorted(task for task, n in snap.served.items() if n)
        if served:
            line += f", serving {_names(served)}"
    if lapsed:
        line += f"; {lapsed} with a lapsed lease (stopped or crashed; their jobs go back)"
    return line


def _unserved_line(row: Any) -> str:
    waiting = f"{row.queued} queued" if row.queued else f"{row.scheduled} scheduled"
    if row.queued and row.oldest_queued_age is not None:
        waiting += f", oldest waiting {_age(row.oldest_queued_age)}"
    return f"{row.task_identifier} ({waiting})"


def _unserved_lines(snap: _Snapshot) -> list[str]:
    unserved = snap.unserved
    if not unserved:
        return []
    return [
        f"no live worker serves {len(unserved)} task{'s' * (len(unserved) != 1)} with jobs "
        "waiting: "
        + "; ".join(_unserved_line(row) for row in unserved[:_NAMES])
        + (f"; and {len(unserved) - _NAMES} more" if len(unserved) > _NAMES else ""),
        "  start a worker whose app has handlers for them (pgjobs worker APP); workers of "
        "pgjobs before 0.4.0 do not say which tasks they serve",
    ]


_HEADER = ("task", "queue", "queued", "sched.", "running", "retrying", "done/1h", "failed/1h")


def _queue_rows(snap: _Snapshot) -> list[tuple[str, ...]]:
    served = snap.served
    rows: list[tuple[str, ...]] = []
    for row in snap.stats:
        cells: tuple[str, ...] = (
            row.task_identifier[:24], (row.queue_name or "-")[:12], str(row.queued),
            str(row.scheduled), str(row.running), str(row.retrying),
            str(row.completed_last_hour), str(row.failed_last_hour),
        )  # fmt: skip
        if snap.coverage is not None:
            workers = served.get(row.task_identifier, 0)
            cells += (str(workers) if workers else "none",)
        rows.append((*cells, _age(row.oldest_queued_age)))
    return rows


def _header(snap: _Snapshot) -> tuple[str, ...]:
    workers = ("workers",) if snap.coverage is not None else ()
    return (*_HEADER, *workers, "oldest queued")


def _plain_lines(snap: _Snapshot) -> list[str]:
    lines = [f"database: {snap.database}"]
    if snap.embedded_dsn is not None:
        lines += [
            f"  socket DSN: {snap.embedded_dsn}",
            "  (it stops when the last pgjobs process using it exits; a running worker keeps "
            "it up)",
        ]
    if snap.error is not None:
        return [*lines, f"error: {snap.error}"]
    if snap.installed_by is None:
        return [
            *lines,
            "schema app_jobs: not deployed: run `pgjobs deploy` (or CREATE EXTENSION pgjobs)",
        ]
    lines += [
        f"schema app_jobs: {snap.schema}",
        f"release: {snap.release} (app_jobs.schema_version())",
    ]
    workers = _workers_line(snap)
    if workers is not None:
        lines.append(f"workers: {workers}")
    if not snap.stats:
        lines.append("queues: empty (no waiting, running or recently finished job)")
    else:
        align = "<<>>>>>>" + (">" if snap.coverage is not None else "") + "<"
        lines.append("queues (app_jobs.queue_stats()):")
        lines += ["  " + line for line in table([_header(snap), *_queue_rows(snap)], align)]
    return lines + _unserved_lines(snap)


# -- rich (a terminal) ---------------------------------------------------------------------


def _rich(snap: _Snapshot, footer: str | None = None) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [Text.assemble(("database: ", "bold"), snap.database)]
    if snap.embedded_dsn is not None:
        parts.append(Text(f"  socket DSN: {snap.embedded_dsn}", style="dim"))
    if snap.error is not None:
        parts.append(Text.assemble(("error: ", "bold red"), snap.error))
    elif snap.installed_by is None:
        parts.append(
            Text.assemble(
                ("schema app_jobs: ", "bold"),
                ("not deployed", "bold red"),
                ": run `pgjobs deploy` (or CREATE EXTENSION pgjobs)",
            )
        )
    else:
        style = "green" if snap.schema and "up to date" in snap.schema else "yellow"
        if snap.installed_by != "pgjobs deploy":
            style = ""
        parts.append(Text.assemble(("schema app_jobs: ", "bold"), (snap.schema or "", style)))
        parts.append(Text.assemble(("release: ", "bold"), snap.release or ""))
        workers = _workers_line(snap)
        if workers is not None:
            live = any(w.alive for w in snap.workers or ())
            parts.append(Text.assemble(("workers: ", "bold"), (workers, "" if live else "yellow")))
        if not snap.stats:
            parts.append(Text("queues: empty (no waiting, running or recently finished job)"))
        else:
            grid = Table(title="queues", title_justify="left", header_style="bold", box=None)
            for i, name in enumerate(_header(snap)):
                grid.add_column(name, justify="left" if i in (0, 1) else "right")
            for cells in _queue_rows(snap):
                unserved = snap.coverage is not None and cells[8] == "none"
                grid.add_row(*cells, style="red" if unserved else None)
            parts.append(grid)
        for i, line in enumerate(_unserved_lines(snap)):
            parts.append(Text(line, style="bold red" if i == 0 else "red"))
    if footer:
        parts.append(Text(footer, style="dim"))
    return Group(*parts)


# -- JSON --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _record(row: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(row, f.name)) for f in dataclasses.fields(row)}


def _json(snap: _Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "time": snap.taken_at.isoformat(),
        "database": snap.database,
        "embedded_dsn": snap.embedded_dsn,
        "error": snap.error,
        "schema": {
            "deployed": snap.installed_by is not None,
            "installed_by": snap.installed_by,
            "release": snap.release,
            "pending_changes": snap.pending,
        },
        "queues": [_record(row) for row in snap.stats],
        "tasks": None
        if snap.coverage is None
        else [{**_record(row), "unserved": row.unserved} for row in snap.coverage],
        "workers": None if snap.workers is None else [_record(w) for w in snap.workers],
    }
    return out


# -- the command -------------------------------------------------------------------------------


def _connect(resolved: Any) -> Any:
    import psycopg

    try:
        return psycopg.connect(resolved.conninfo, **_CONNECT, connect_timeout=10)
    except psycopg.Error as exc:
        raise connect_error(resolved, exc) from exc


def _looks(args: argparse.Namespace, resolved: Any) -> Iterator[_Snapshot]:
    """One snapshot (or, watching, one per interval until Ctrl-C). Watching, a database that
    stops answering is shown as an error and connected to again at the next refresh."""
    import psycopg

    conn = _connect(resolved)  # the first connection fails the command
    cache: dict[str, Any] = {}
    try:
        while True:
            try:
                if conn is None:
                    conn = psycopg.connect(resolved.conninfo, **_CONNECT, connect_timeout=5)
                yield _look(conn, resolved, cache)
            except psycopg.OperationalError as exc:
                if not args.watch:
                    raise connect_error(resolved, exc) from exc
                if conn is not None:
                    conn.close()
                conn = None
                first = (str(exc).strip().splitlines() or [""])[0]
                yield _Snapshot(
                    datetime.now(UTC),
                    _database_line_unreached(resolved),
                    error=f"the database does not answer: {first} (trying again every "
                    f"{args.interval:g}s)",
                )
            if not args.watch:
                return
            time.sleep(args.interval)
    finally:
        if conn is not None:
            conn.close()


def _database_line_unreached(resolved: Any) -> str:
    from pgjobs import config

    if resolved.embedded_home is not None:
        return f"embedded PostgreSQL in {config.display_path(resolved.embedded_home)}"
    return f"{config.describe(resolved.conninfo)} (from {resolved.source})"


def _footer(snap: _Snapshot, args: argparse.Namespace) -> str:
    when = snap.taken_at.astimezone().strftime("%H:%M:%S")
    return f"at {when}, every {args.interval:g}s; Ctrl-C stops"


def _run_status(args: argparse.Namespace) -> int:
    import psycopg

    from pgjobs.db.errors import PgJobsError

    if args.interval <= 0:
        raise CommandError("--interval must be more than 0 seconds")
    resolved = target(args)
    fancy = not args.json and rich_wanted(sys.stdout)
    try:
        if args.watch and fancy:
            _watch_live(args, resolved)
        else:
            for i, snap in enumerate(_looks(args, resolved)):
                if args.json:
                    print(json.dumps(_json(snap), sort_keys=True), flush=True)
                    continue
                if args.watch and i:
                    print()
                lines = _plain_lines(snap)
                if fancy:
                    from rich.console import Console

                    Console().print(_rich(snap))
                else:
                    print("\n".join(lines), flush=True)
                if args.watch:
                    print(f"-- {_footer(snap, args)} --", flush=True)
    except KeyboardInterrupt:
        print("pgjobs status: stopped watching (Ctrl-C)", file=sys.stderr)
        return 0
    except (PgJobsError, psycopg.Error) as exc:
        raise CommandError(f"pgjobs status failed: {exc}") from exc
    return 0


def _watch_live(args: argparse.Namespace, resolved: Any) -> None:
    """A terminal: the status redrawn in place every interval (rich Live)."""
    from rich.console import Console
    from rich.live import Live

    console = Console()
    looks = _looks(args, resolved)
    first = next(looks)
    with Live(_rich(first, _footer(first, args)), console=console, auto_refresh=False) as live:
        for snap in looks:
            live.update(_rich(snap, _footer(snap, args)), refresh=True)


def add_status(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        parents=[common_options(top_level=False)],
        help="say which database pgjobs uses, whether app_jobs is deployed, queues and workers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Print the database pgjobs would use (password masked; with nothing configured,\n"
            "the embedded PostgreSQL in ./.pgjobs, which this starts) and the state of the\n"
            "app_jobs schema there: deployed and up to date, deployed with changes pending\n"
            "(run pgjobs deploy to upgrade), or not deployed. Then the live workers, the\n"
            "jobs per task and queue (app_jobs.queue_stats()) with how many live workers\n"
            "serve each task, and the tasks with waiting jobs that no live worker serves\n"
            "(app_jobs.task_coverage()). Changes nothing. In a terminal the output is in\n"
            "colour (rich); --watch redraws it every --interval seconds until Ctrl-C."
        ),
        epilog=(
            "examples:\n"
            "  pgjobs status\n"
            "  pgjobs status --watch --interval 5\n"
            "  pgjobs status --json | jq '.tasks[] | select(.unserved)'\n"
            "  pgjobs status --dsn postgresql://app:secret@db.example.com:5432/app"
        ),
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="refresh until Ctrl-C: redrawn in place in a terminal, printed again otherwise",
    )
    parser.add_argument(
        "--interval",
        type=seconds,
        default=2.0,
        metavar="SECONDS",
        help="with --watch: seconds between refreshes (default 2)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object (with --watch, one a line per refresh) for scripts",
    )
    parser.set_defaults(handler=_run_status)
