"""The ``pgjobs`` command line (also ``python -m pgjobs``).

Each subcommand lives in a small ``_add_<name>`` function that registers its parser and sets
``handler``; add new ones (worker, ...) to :data:`_SUBCOMMANDS`. Handlers import what they need
lazily, so ``pgjobs --help`` stays fast. No SQL here: the client calls app_jobs functions.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from pgjobs import __version__
from pgjobs.cli_schedules import add_schedules
from pgjobs.dashboard.cli import add_parser as add_dashboard

__all__ = ["build_parser", "main"]

_Handler = Callable[[argparse.Namespace], int]

_DSN_HELP: Final = (
    "PostgreSQL to use: a URL (postgresql://user:pass@host:5432/db) or a libpq conninfo "
    "string. Default: $PGJOBS_DSN, then $DATABASE_URL, then the libpq PG* variables; with "
    "none of them set, an embedded PostgreSQL 18 kept in ./.pgjobs ($PGJOBS_HOME), started "
    "on demand and deployed on first use."
)


class CommandError(Exception):
    """A command failed for a reason its message explains; exit status 1."""


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

    if args.dry_run:
        sys.stdout.write(deploy.dry_run(args.dsn))
        return 0
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
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the SQL of every pending change instead of running it; changes nothing",
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


def _run_sql_export(args: argparse.Namespace) -> int:
    from pgjobs.export import INDEX, export
    from pgjobs.plan import PlanError
    from pgjobs.sqlfiles import SqlFileError

    try:
        exported = export(args.directory)
    except (PlanError, SqlFileError) as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(f"cannot write into {args.directory}: {exc.strerror}") from exc
    releases = sorted({f.release for f in exported}, key=lambda r: (r == "unreleased", r))
    print(
        f"wrote {len(exported)} migrations to {args.directory} (releases {', '.join(releases)}), "
        f"their reverts to {args.directory / 'revert'}, and the list to "
        f"{args.directory / INDEX}"
    )
    return 0


def _add_sql(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sql",
        help="pgjobs' SQL for other tools (sql export DIR)",
        description="pgjobs' SQL migrations for your own migration tool.",
    )
    commands = parser.add_subparsers(dest="sql_command", metavar="COMMAND", required=True)
    export = commands.add_parser(
        "export",
        help="write the migrations as numbered SQL files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Write every change of pgjobs' plan into DIRECTORY as a plain SQL file, numbered\n"
            "in plan order (0001_schema.sql, ...), without transaction statements: run each\n"
            "one in a transaction with your own migration tool. A reworked change appears\n"
            "again, later, as ..._rework1.sql, so released numbers never change and an\n"
            "upgrade runs only the new files. revert/ holds the matching revert scripts,\n"
            "migrations.txt lists number, file, release and change. Needs no database."
        ),
        epilog="example:\n  pgjobs sql export db/migrations/pgjobs",
    )
    export.add_argument("directory", metavar="DIRECTORY", type=Path, help="where to write")
    export.set_defaults(handler=_run_sql_export)


def _connect_error(target: Any, exc: Exception) -> CommandError:
    from pgjobs import config

    return CommandError(
        f"cannot connect to PostgreSQL at {config.describe(target.conninfo)} "
        f"(from {target.source}): {str(exc).strip()}\n"
        "Pass --dsn, or set PGJOBS_DSN (or DATABASE_URL, or the PG* variables)."
    )


def _database_line(target: Any, server_version: int) -> str:
    from pgjobs import config, embedded

    version = f"PostgreSQL {server_version // 10000}.{server_version % 10000}"
    if target.embedded_home is not None:
        return f"embedded {version} in {embedded.display_path(target.embedded_home)}"
    return f"{config.describe(target.conninfo)} (from {target.source}), {version}"


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
    header = (
        f"  {'task':<24} {'queue':<12} {'queued':>7} {'sched.':>7} {'running':>7} "
        f"{'retrying':>8} {'done/1h':>8} {'failed/1h':>9}  oldest queued"
    )
    lines = ["queues (app_jobs.queue_stats()):", header]
    for row in stats:
        age = "" if row.oldest_queued_age is None else str(row.oldest_queued_age).split(".")[0]
        lines.append(
            f"  {row.task_identifier[:24]:<24} {(row.queue_name or '-')[:12]:<12} "
            f"{row.queued:>7} {row.scheduled:>7} {row.running:>7} {row.retrying:>8} "
            f"{row.completed_last_hour:>8} {row.failed_last_hour:>9}  {age}"
        )
    return lines


def _run_status(args: argparse.Namespace) -> int:
    import psycopg

    from pgjobs import config, deploy
    from pgjobs.client import Client

    target = config.resolve(args.dsn)
    try:
        with psycopg.connect(target.conninfo, autocommit=True) as conn:
            server_version = conn.info.server_version
            installed_by = deploy.installed_by(conn)
            client = Client(conn)
            version = client.schema_version() if installed_by else None
            stats = client.queue_stats() if installed_by else []
    except psycopg.Error as exc:
        raise _connect_error(target, exc) from exc
    print(f"database: {_database_line(target, server_version)}")
    if target.embedded_home is not None:
        print(
            f"  socket DSN: {target.conninfo}\n"
            "  (it stops when the last pgjobs process using it exits; a running worker keeps it up)"
        )
    if installed_by is None:
        print("schema app_jobs: not deployed: run `pgjobs deploy` (or CREATE EXTENSION pgjobs)")
        return 0
    if installed_by == "pgjobs deploy":
        changes = deploy.status(target.conninfo)  # raises DeployError naming the database
        print(f"schema app_jobs: {_schema_line(changes)}")
    else:
        print(f"schema app_jobs: installed by {installed_by}")
    print(f"release: {version} (app_jobs.schema_version())")
    for line in _stats_lines(stats):
        print(line)
    return 0


def _add_status(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        parents=[_common_options(top_level=False)],
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


def _json_payload(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({exc}): {text!r}. Quote it for your shell, e.g. "
            """'{"to": "ann@example.com"}'"""
        ) from exc


def _tenant(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a UUID: {text!r} (e.g. 7f1c7a52-3b7e-4e8e-9a3a-2f0d4c1b9e10)"
        ) from exc


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2030-01-31T09:00:00+01:00)"
        ) from exc
    return moment if moment.tzinfo is not None else moment.astimezone()


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from exc
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be zero or more seconds, got {text!r}")
    return value


def _run_add(args: argparse.Namespace) -> int:
    import psycopg

    from pgjobs import config
    from pgjobs.client import Client
    from pgjobs.errors import PgJobsError

    target = config.resolve(args.dsn)
    try:
        client = Client.connect(target.conninfo)
    except psycopg.OperationalError as exc:
        raise _connect_error(target, exc) from exc
    with client:
        try:
            job = client.add_job(
                args.task, args.payload, tenant=args.tenant, job_key=args.key,
                queue=args.queue, run_at=args.run_at, delay=args.delay,
                max_attempts=args.max_attempts, priority=args.priority,
            )  # fmt: skip
        except PgJobsError as exc:
            raise CommandError(str(exc)) from exc
        except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as exc:
            raise CommandError(
                f"app_jobs is not deployed in {config.describe(target.conninfo)} "
                f"(from {target.source}): {exc.diag.message_primary or exc}\n"
                "Run `pgjobs deploy` first."
            ) from exc
        except psycopg.Error as exc:
            raise CommandError(f"pgjobs add failed: {exc.diag.message_primary or exc}") from exc
    extras = "".join(
        f", {label} {value}"
        for label, value in (("key", job.key), ("queue", job.queue_name))
        if value is not None
    )
    print(
        f"job {job.id} added: task {job.task_identifier}, state {job.state}, "
        f"priority {job.priority}, runs at {job.run_at.isoformat()}{extras}"
    )
    return 0


def _add_add(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "add",
        parents=[_common_options(top_level=False)],
        help="enqueue one job (app_jobs.add_job)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Enqueue a job for TASK with the JSON payload, through app_jobs.add_job: the same\n"
            "call any language makes. A worker with a handler for TASK runs it. Prints the\n"
            "new job's id and state (ready, or scheduled when it runs later). Bad input is\n"
            "refused with a message and writes nothing."
        ),
        epilog=(
            "examples:\n"
            """  pgjobs add send_email '{"to": "ann@example.com"}'\n"""
            """  pgjobs add report '{"month": "2030-01"}' --delay 3600 --priority -5\n"""
            """  pgjobs add sync_user '{"id": 42}' --key user:42 --queue users\n"""
            "\n"
            "A lower priority number runs first (default 0)."
        ),
    )
    parser.add_argument("task", metavar="TASK", help="task name, e.g. send_email")
    parser.add_argument(
        "payload",
        metavar="JSON",
        nargs="?",
        default="{}",
        type=_json_payload,
        help="the job's arguments as JSON (default: {})",
    )
    parser.add_argument(
        "--tenant",
        metavar="UUID",
        type=_tenant,
        help="tenant (database_id) the job belongs to (default: the nil uuid, the default tenant)",
    )
    parser.add_argument(
        "--key",
        metavar="KEY",
        help="job key, unique per tenant: a waiting job with the same key is replaced in place",
    )
    parser.add_argument(
        "--queue",
        metavar="NAME",
        help="serial queue: jobs of one queue run one at a time, in order",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--delay",
        metavar="SECONDS",
        type=_seconds,
        help="run no sooner than this many seconds from now (by the database's clock)",
    )
    when.add_argument(
        "--run-at",
        metavar="TIME",
        type=_timestamp,
        help="run no sooner than this ISO 8601 time (without an offset: this machine's local time)",
    )
    parser.add_argument(
        "--priority",
        metavar="N",
        type=int,
        help="lower numbers run first (default 0; negative numbers are allowed)",
    )
    parser.add_argument(
        "--max-attempts",
        metavar="N",
        type=int,
        help="attempts in all before the job fails for good (default 25; 1 = no retry)",
    )
    parser.set_defaults(handler=_run_add)


def _load_app(spec: str) -> Any:
    """Import ``module[:attribute]`` (attribute default ``app``) from the current directory."""
    import importlib
    import os

    from pgjobs.app import App

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
            "create one with `app = pgjobs.app.App()` and register tasks with @app.task(...)"
        )
    return app


def _run_worker(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import timedelta

    app = _load_app(args.app)
    if args.dsn is not None:
        app.dsn = args.dsn
    worker = app.worker(
        concurrency=args.concurrency,
        poll_interval=args.poll_interval,
        lease=timedelta(seconds=args.lease),
        shutdown_timeout=args.shutdown_timeout,
        worker_id=args.worker_id,
        orphans=args.orphans,
        scheduler=args.scheduler,
        schedule_interval=args.schedule_interval,
    )
    from pgjobs.compat import SchemaVersionError

    try:
        if args.once:
            summary = asyncio.run(worker.run(once=True, batch_size=args.batch_size))
        else:
            summary = asyncio.run(app.serve(worker))
    except SchemaVersionError as exc:
        raise CommandError(f"the worker did not start: {exc}") from exc
    print(
        f"worker {worker.worker_id}: claimed {summary.claimed}, completed {summary.completed}, "
        f"failed {summary.failed}, lost {summary.lost}, released {summary.released}"
    )
    return 0


def _add_worker(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        parents=[_common_options(top_level=False)],
        help="run the handlers of an app on queued jobs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run a worker for the tasks of APP (MODULE or MODULE:ATTRIBUTE, imported from the\n"
            "current directory; the attribute defaults to `app`, a pgjobs.app.App). It claims\n"
            "only tasks APP has handlers for, wakes on NOTIFY with a poll fallback, keeps a\n"
            "lease alive, and stops on SIGTERM/SIGINT: running jobs finish (up to\n"
            "--shutdown-timeout), a second signal stops at once, unfinished jobs go back.\n"
            "With --once it processes what is due (up to --batch-size) and exits: for cron\n"
            "jobs and serverless functions. It declares APP's schedules and, unless\n"
            "--no-scheduler, enqueues their due fire times (every --schedule-interval)."
        ),
        epilog=(
            "examples:\n"
            "  pgjobs worker myapp:app --concurrency 8\n"
            "  pgjobs worker myapp --once --batch-size 10 --concurrency 3"
        ),
    )
    parser.add_argument("app", metavar="APP", help="MODULE[:ATTRIBUTE] holding the pgjobs App")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs at once (default 4)")
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="longest sleep between looks for due jobs when no NOTIFY arrives (default 2)",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long this worker's jobs stay protected without a heartbeat (default 30)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long a stop waits for running jobs before giving them back (default 30)",
    )
    parser.add_argument(
        "--worker-id",
        metavar="ID",
        help="a stable id (e.g. host name): at start, what an earlier life under it left "
        "locked is released for retry, or failed with --orphans fail (default: host:pid:random)",
    )
    parser.add_argument(
        "--orphans",
        choices=("release", "fail"),
        default="release",
        help="what to do at start with jobs an earlier life of --worker-id left locked: "
        "release them for retry (default) or fail them for good",
    )
    parser.add_argument(
        "--no-scheduler",
        dest="scheduler",
        action="store_false",
        help="do not run app_jobs.run_due_schedules() (the app's schedules are still declared)",
    )
    parser.add_argument(
        "--schedule-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often the scheduler looks for due schedules (default 1)",
    )
    parser.add_argument("--once", action="store_true", help="process what is due, then exit")
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="with --once: claim at most N jobs (default: all that are due)",
    )
    parser.set_defaults(handler=_run_worker)


# -- pgjobs jobs list|show|cancel|rerun, pgjobs cleanup -----------------------------------------


@contextmanager
def _lifecycle_client(args: argparse.Namespace) -> Iterator[Any]:
    """A Client on the configured database; SQL API refusals become CommandErrors."""
    import psycopg

    from pgjobs import config
    from pgjobs.client import Client
    from pgjobs.errors import PgJobsError

    target = config.resolve(args.dsn)
    try:
        client = Client.connect(target.conninfo)
    except psycopg.OperationalError as exc:
        raise _connect_error(target, exc) from exc
    with client:
        try:
            yield client
        except PgJobsError as exc:
            raise CommandError(str(exc)) from exc
        except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as exc:
            raise CommandError(
                f"app_jobs is not deployed (or is older than this pgjobs) in "
                f"{config.describe(target.conninfo)}: {exc.diag.message_primary or exc}\n"
                "Run `pgjobs deploy` first."
            ) from exc


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _job_json(job: Any) -> str:
    import dataclasses

    return json.dumps(dataclasses.asdict(job), default=str, sort_keys=True)


def _run_jobs_list(args: argparse.Namespace) -> int:
    with _lifecycle_client(args) as client:
        jobs = client.list_jobs(
            args.status or None, task=args.task, queue=args.queue, tenant=args.tenant,
            correlation_id=args.correlation_id, limit=args.limit, offset=args.offset,
        )  # fmt: skip
    if args.json:
        for job in jobs:
            print(_job_json(job))
        return 0
    print(
        f"{'ID':>10}  {'STATUS':<9}  {'TASK':<24}  {'QUEUE':<12}  {'TRIES':>5}  {'WHEN':<19}  ERROR"
    )
    for job in jobs:
        error = (job.last_error or "").splitlines()[0][:60] if job.last_error else ""
        print(
            f"{job.id:>10}  {job.status:<9}  {job.task_identifier[:24]:<24}  "
            f"{(job.queue_name or '-')[:12]:<12}  {job.attempts:>2}/{job.max_attempts:<2}  "
            f"{_when(job.finished_at or job.run_at):<19}  {error}"
        )
    if not jobs:
        print("(no jobs)")
    return 0


def _job_ref(text: str) -> int | uuid.UUID:
    try:
        return int(text)
    except ValueError:
        return _tenant(text)  # a uid


def _run_jobs_show(args: argparse.Namespace) -> int:
    with _lifecycle_client(args) as client:
        job = client.find_job(args.job, with_attempts=True)
    if job is None:
        raise CommandError(f"there is no job {args.job} (it may have been cleaned up)")
    if args.json:
        print(_job_json(job))
        return 0
    for name in (
        "id", "uid", "status", "task_identifier", "queue_name", "key", "correlation_id",
        "database_id", "priority", "attempts", "max_attempts", "run_at", "created_at",
        "first_started_at", "locked_at", "finished_at", "duration", "worker_id", "progress",
        "progress_message", "cancel_requested_at", "rerun_of", "last_error",
    ):  # fmt: skip
        value = getattr(job, name)
        if value is not None:
            print(f"{name + ':':<21}{value}")
    print(f"{'payload:':<21}{json.dumps(job.payload)}")
    if job.result is not None:
        print(f"{'result:':<21}{json.dumps(job.result)}")
    for attempt in job.attempt_log or []:
        print(
            f"attempt {attempt['attempt']}: {attempt['outcome']} on {attempt['worker_id']}, "
            f"{attempt['started_at']} .. {attempt['finished_at']}"
        )
        details = attempt.get("error_details") or {}
        text = details.get("traceback") or attempt.get("error_message")
        if text:
            print("  " + str(text).rstrip().replace("\n", "\n  "))
    return 0


def _run_jobs_cancel(args: argparse.Namespace) -> int:
    with _lifecycle_client(args) as client:
        job = client.cancel_job(args.job)
    if job is None:
        raise CommandError(f"job {args.job} is finished or unknown: nothing to cancel")
    if job.status == "cancelled":
        print(f"job {job.id} cancelled")
    else:
        print(f"job {job.id} is running: its worker was asked to stop it")
    return 0


def _run_jobs_rerun(args: argparse.Namespace) -> int:
    with _lifecycle_client(args) as client:
        job = client.rerun_job(args.job)
    print(f"job {job.id} enqueued: a rerun of job {args.job} ({job.task_identifier})")
    return 0


def _add_jobs(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "jobs",
        parents=[_common_options(top_level=False)],
        help="list, show, cancel or rerun jobs (live and finished)",
        description="Look at jobs and act on them, through the app_jobs lifecycle functions.",
    )
    commands = parser.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    common = _common_options(top_level=False)

    listing = commands.add_parser(
        "list",
        parents=[common],
        help="jobs newest first (app_jobs.list_jobs)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  pgjobs jobs list --status failed --status retrying\n"
            "  pgjobs jobs list --task send_email --limit 20 --offset 20 --json"
        ),
    )
    listing.add_argument(
        "--status",
        action="append",
        choices=("pending", "scheduled", "running", "retrying", "completed", "failed", "cancelled"),
        help="only jobs with this status (repeatable)",
    )
    listing.add_argument("--task", help="only jobs of this task")
    listing.add_argument("--queue", help="only jobs of this named queue")
    listing.add_argument("--tenant", type=_tenant, help="only jobs of this tenant (db_id)")
    listing.add_argument("--correlation-id", help="only jobs with this correlation id")
    listing.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")
    listing.add_argument("--offset", type=int, default=0, help="rows to skip (default 0)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=_run_jobs_list)

    show = commands.add_parser(
        "show", parents=[common], help="one job with its attempts (app_jobs.find_job)"
    )
    show.add_argument("job", metavar="ID|UID", type=_job_ref, help="job id or uid")
    show.add_argument("--json", action="store_true", help="as one JSON object")
    show.set_defaults(handler=_run_jobs_show)

    cancel = commands.add_parser(
        "cancel",
        parents=[common],
        help="cancel a waiting job, or stop a running one (app_jobs.cancel_job)",
    )
    cancel.add_argument("job", metavar="ID", type=int, help="job id")
    cancel.set_defaults(handler=_run_jobs_cancel)

    rerun = commands.add_parser(
        "rerun",
        parents=[common],
        help="enqueue a fresh copy of a finished job (app_jobs.rerun_job)",
    )
    rerun.add_argument("job", metavar="ID", type=int, help="id of a finished job")
    rerun.set_defaults(handler=_run_jobs_rerun)


def _run_cleanup(args: argparse.Namespace) -> int:
    from datetime import timedelta

    with _lifecycle_client(args) as client:
        result = client.cleanup_jobs(timedelta(days=args.days), args.status or None)
    print(
        f"removed {result.deleted_jobs} finished job(s) older than {args.days:g} day(s) "
        f"({result.dropped_partitions} day partition(s) dropped whole) and "
        f"{result.deleted_attempts} attempt log row(s)"
    )
    return 0


def _add_cleanup(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cleanup",
        parents=[_common_options(top_level=False)],
        help="remove old finished jobs (app_jobs.cleanup_jobs)",
        description=(
            "Remove finished jobs older than --days, dropping whole day partitions of the\n"
            "history where it can. Workers do this every hour with their retention (14 days\n"
            "by default)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--days", type=float, default=14.0, help="keep this many days (default 14)")
    parser.add_argument(
        "--status",
        action="append",
        choices=("completed", "failed", "cancelled"),
        help="only remove jobs with this status (repeatable; default all three)",
    )
    parser.set_defaults(handler=_run_cleanup)


_SUBCOMMANDS: Final[
    tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...]
] = (
    _add_deploy, _add_revert, _add_verify, _add_add, _add_status, _add_worker, add_schedules,
    _add_jobs, _add_cleanup, _add_sql, add_dashboard,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pgjobs`` command."""
    parser = argparse.ArgumentParser(
        prog="pgjobs",
        parents=[_common_options(top_level=True)],
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
    from pgjobs.deploy import DeployError
    from pgjobs.embedded import EmbeddedError

    try:
        return handler(args)
    except (CommandError, DeployError, EmbeddedError) as exc:
        print(f"pgjobs: error: {exc}", file=sys.stderr)
        return 1
