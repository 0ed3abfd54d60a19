"""``pgjobs add``, ``jobs list|show|cancel|rerun`` and ``cleanup``: one job at a time."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from pgjobs.cli.common import (
    CommandError,
    Subparsers,
    client,
    common_options,
    job_ref,
    json_payload,
    seconds,
    table,
    tenant,
    timestamp,
)
from pgjobs.cli.tasks import duration
from pgjobs.db.rows import JOB_STATUSES

__all__ = ["add_add", "add_cleanup", "add_jobs"]


def _run_add(args: argparse.Namespace) -> int:
    with client(args) as connected:
        job = connected.add_job(
            args.task, args.payload, database_id=args.tenant, job_key=args.key,
            queue=args.queue, run_at=args.run_at, delay=args.delay,
            max_attempts=args.max_attempts, priority=args.priority,
            correlation_id=args.correlation_id, backoff=args.backoff, timeout=args.timeout,
            job_key_mode=args.key_mode, depends_on=args.depends_on,
        )  # fmt: skip
        # The public status (find_job's), not the row's internal state.
        info = connected.find_job(job.id)
    status = info.status if info is not None else "gone"
    extras = "".join(
        f", {label} {value}"
        for label, value in (("key", job.key), ("queue", job.queue_name))
        if value is not None
    )
    print(
        f"job {job.id} added: task {job.task_identifier}, status {status}, "
        f"priority {job.priority}, runs at {job.run_at.isoformat()}{extras}"
    )
    return 0


def add_add(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "add",
        parents=[common_options(top_level=False)],
        help="enqueue one job (app_jobs.add_job)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Enqueue a job for TASK with the JSON payload, through app_jobs.add_job: the same\n"
            "call any language makes. A worker with a handler for TASK runs it. Prints the\n"
            "new job's id and status (pending, or scheduled when it runs later). Bad input is\n"
            "refused with a message and writes nothing."
        ),
        epilog=(
            "examples:\n"
            """  pgjobs add send_email '{"to": "ann@example.com"}'\n"""
            """  pgjobs add report '{"month": "2030-01"}' --delay 3600 --priority -5\n"""
            """  pgjobs add sync_user '{"id": 42}' --key user:42 --queue users\n"""
            "\n"
            "A lower priority number runs first (default 0). What is left out takes the task's\n"
            "settings (`pgjobs tasks`)."
        ),
    )
    parser.add_argument("task", metavar="TASK", help="task name, e.g. send_email")
    parser.add_argument(
        "payload",
        metavar="JSON",
        nargs="?",
        default="{}",
        type=json_payload,
        help="the job's arguments as JSON (default: {})",
    )
    parser.add_argument(
        "--tenant",
        metavar="UUID",
        type=tenant,
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
        type=seconds,
        help="run no sooner than this many seconds from now (by the database's clock)",
    )
    when.add_argument(
        "--run-at",
        metavar="TIME",
        type=timestamp,
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
        help="attempts in all before the job fails for good (default: the task's setting, "
        "else 25; 1 = no retry)",
    )
    parser.add_argument(
        "--correlation-id", metavar="ID", help="an id tying related jobs together (list_jobs)"
    )
    parser.add_argument(
        "--backoff", metavar="JSON", type=json_payload,
        help="""retry delays, e.g. '{"strategy": "fixed", "base": 30}' (default: the task's)""",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", metavar="DURATION", type=duration,
        help="longest run of one attempt, e.g. 30s, 5m (default: the task's setting)",
    )  # fmt: skip
    parser.add_argument(
        "--key-mode", metavar="MODE", choices=("replace", "preserve_run_at", "unsafe_dedupe"),
        help="when a job holds --key: replace it (default), replace it but keep its run time "
        "(preserve_run_at), or keep it untouched (unsafe_dedupe)",
    )  # fmt: skip
    parser.add_argument(
        "--depends-on", metavar="ID", type=int, action="append",
        help="run only once job ID has completed (repeatable); cancelled if it fails",
    )  # fmt: skip
    parser.set_defaults(handler=_run_add)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _job_json(job: Any, edges: list[Any] | None = None) -> str:
    import dataclasses

    fields = dataclasses.asdict(job)
    if edges is not None:  # jobs show: the dependency edges (0.5.0)
        fields["dependencies"] = [dataclasses.asdict(e) for e in edges]
    return json.dumps(fields, default=str, sort_keys=True)


def _run_jobs_list(args: argparse.Namespace) -> int:
    with client(args) as connected:
        jobs = connected.list_jobs(
            args.status or None, task=args.task, queue=args.queue, database_id=args.tenant,
            correlation_id=args.correlation_id, limit=args.limit, offset=args.offset,
        )  # fmt: skip
    if args.json:
        for job in jobs:
            print(_job_json(job))
        return 0
    rows = [("ID", "STATUS", "TASK", "QUEUE", "TRIES", "WHEN", "ERROR")]
    for job in jobs:
        error = (job.last_error or "").splitlines()[0][:60] if job.last_error else ""
        rows.append(
            (
                str(job.id), job.status, job.task_identifier[:24], (job.queue_name or "-")[:12],
                f"{job.attempts}/{job.max_attempts}", _when(job.finished_at or job.run_at), error,
            )
        )  # fmt: skip
    for line in table(rows, ">"):
        print(line)
    if not jobs:
        print("(no jobs)")
    return 0


def _run_jobs_show(args: argparse.Namespace) -> int:
    with client(args) as connected:
        job = connected.find_job(args.job, with_attempts=True)
        edges = [] if job is None else connected.job_dependencies(job.id)
    if job is None:
        raise CommandError(f"there is no job {args.job} (it may have been cleaned up)")
    if args.json:
        print(_job_json(job, edges))
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
    for edge in edges:  # job dependencies (0.5.0): both ways, with the other job's status
        label = "waits for:" if edge.relation == "dependency" else "needed by:"
        other = f"job {edge.id} ({edge.task_identifier or '?'}) {edge.status or 'cleaned up'}"
        print(f"{label:<21}{other}")
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
    with client(args) as connected:
        job = connected.cancel_job(args.job)
    if job is None:
        raise CommandError(f"job {args.job} is finished or unknown: nothing to cancel")
    if job.status == "cancelled":
        print(f"job {job.id} cancelled")
    else:
        print(f"job {job.id} is running: its worker was asked to stop it")
    return 0


def _run_jobs_rerun(args: argparse.Namespace) -> int:
    with client(args) as connected:
        job = connected.rerun_job(args.job)
    print(f"job {job.id} enqueued: a rerun of job {args.job} ({job.task_identifier})")
    return 0


def add_jobs(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "jobs",
        parents=[common_options(top_level=False)],
        help="list, show, cancel or rerun jobs (live and finished)",
        description="Look at jobs and act on them, through the app_jobs lifecycle functions.",
    )
    commands = parser.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    common = common_options(top_level=False)

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
        choices=JOB_STATUSES,
        help="only jobs with this status (repeatable)",
    )
    listing.add_argument("--task", help="only jobs of this task")
    listing.add_argument("--queue", help="only jobs of this named queue")
    listing.add_argument("--tenant", type=tenant, help="only jobs of this tenant (db_id)")
    listing.add_argument("--correlation-id", help="only jobs with this correlation id")
    listing.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")
    listing.add_argument("--offset", type=int, default=0, help="rows to skip (default 0)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=_run_jobs_list)

    show = commands.add_parser(
        "show", parents=[common], help="one job with its attempts (app_jobs.find_job)"
    )
    show.add_argument("job", metavar="ID|UID", type=job_ref, help="job id or uid")
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

    with client(args) as connected:
        result = connected.cleanup_jobs(timedelta(days=args.days), args.status or None)
    print(
        f"removed {result.deleted_jobs} finished job(s) older than {args.days:g} day(s) "
        f"({result.dropped_partitions} day partition(s) dropped whole) and "
        f"{result.deleted_attempts} attempt log row(s)"
    )
    return 0


def add_cleanup(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cleanup",
        parents=[common_options(top_level=False)],
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
