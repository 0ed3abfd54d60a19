"""``pgjobs schedules tick | list | enable | disable | run-now``: the scheduler from the shell.

``tick`` runs ``app_jobs.run_due_schedules()`` once (for system cron or a serverless timer);
the others manage the schedules workers declared. A schedule is named by its id or its key
(``--tenant`` picks the tenant of a key). No SQL here: the client calls app_jobs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pgjobs.cli.common import CommandError, Subparsers, client, common_options, table, tenant

__all__ = ["add_schedules"]


def _resolve(connected: Any, name: str, tenant: Any) -> int:
    """The id of the schedule named by id or by key (app_jobs.find_scheduled_job)."""
    if name.isdigit():
        return int(name)
    found = connected.find_scheduled_job(name, tenant)
    if len(found) == 1:
        return int(found[0].id)
    if not found:
        raise CommandError(
            f"no schedule has the key {name!r}"
            + (f" for tenant {tenant}" if tenant else "")
            + ": `pgjobs schedules list` shows them"
        )
    raise CommandError(f"{len(found)} tenants have a schedule {name!r}: pass --tenant UUID")


def _when(moment: Any) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


def _describe(schedule: Any) -> str:
    info = schedule.schedule_info
    if isinstance(info, dict) and set(info) <= {"cron", "rule", "tz"}:
        text = str(info.get("cron") or info.get("rule"))
        return text + (f" ({info['tz']})" if info.get("tz") else "")
    return json.dumps(info, separators=(",", ":"))


def _run_tick(args: argparse.Namespace) -> int:
    with client(args) as connected:
        jobs = connected.run_due_schedules()
    for job in jobs:
        print(
            f"job {job.id}: task {job.task_identifier} for {_when(job.fire_time)} "
            f"(schedule {job.scheduled_job_id})"
        )
    print(f"{len(jobs)} job(s) enqueued")
    return 0


def _run_list(args: argparse.Namespace) -> int:
    with client(args) as connected:
        rows = connected.list_scheduled_jobs(args.tenant)
    if not rows:
        print("no schedules")
        return 0
    header = ("id", "key", "task", "schedule", "on", "next run", "last run", "missed runs")
    rows_out: list[tuple[str, ...]] = [header]
    for s in rows:
        policy = s.missed_runs
        if s.backfill_limit is not None:
            policy += f" limit {s.backfill_limit}"
        if s.backfill_window is not None:
            policy += f" window {s.backfill_window}"
        rows_out.append(
            (
                str(s.id),
                s.key or "-",
                s.task_identifier,
                _describe(s),
                "yes" if s.enabled else "no",
                _when(s.next_run_at),
                _when(s.last_run_at),
                policy,
            )
        )
    for line in table(rows_out):
        print(line)
    return 0


def _run_enable(args: argparse.Namespace) -> int:
    with client(args) as connected:
        scheduled_job_id = _resolve(connected, args.schedule, args.tenant)
        row = connected.enable_scheduled_job(scheduled_job_id, args.enable)
    state = f"enabled, next run {_when(row.next_run_at)}" if row.enabled else "disabled"
    print(f"schedule {row.id} ({row.key or row.task_identifier}): {state}")
    return 0


def _run_now(args: argparse.Namespace) -> int:
    with client(args) as connected:
        job = connected.run_scheduled_job(_resolve(connected, args.schedule, args.tenant))
    print(f"job {job.id} added: task {job.task_identifier} (schedule {job.scheduled_job_id})")
    return 0


def add_schedules(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    """Register ``pgjobs schedules`` and its subcommands."""
    parser = subparsers.add_parser(
        "schedules",
        parents=[common_options(top_level=False)],
        help="run due schedules once, list, enable, disable or run a schedule now",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Schedules live in app_jobs.scheduled_jobs and are evaluated in SQL. Workers run\n"
            "app_jobs.run_due_schedules() every second by default; `tick` runs it once, for a\n"
            "system cron or a serverless timer. Each fire time is enqueued once, however many\n"
            "callers tick."
        ),
        epilog=(
            "examples:\n"
            "  * * * * * pgjobs schedules tick        (a crontab line: tick every minute)\n"
            "  pgjobs schedules list\n"
            "  pgjobs schedules disable generate_report\n"
            "  pgjobs schedules run-now 3"
        ),
    )
    commands = parser.add_subparsers(dest="schedules_command", metavar="COMMAND", required=True)
    common = [common_options(top_level=False)]

    tick = commands.add_parser(
        "tick", parents=common, help="enqueue every due fire time now (run_due_schedules)"
    )
    tick.set_defaults(handler=_run_tick)

    listing = commands.add_parser("list", parents=common, help="list the schedules")
    listing.add_argument("--tenant", metavar="UUID", type=tenant, help="only this tenant's")
    listing.set_defaults(handler=_run_list)

    for name, enable, text in (
        ("enable", True, "enable a schedule (it resumes at its next fire time after now)"),
        ("disable", False, "disable a schedule (it enqueues nothing until enabled)"),
        ("run-now", None, "enqueue one job from a schedule now (run_scheduled_job)"),
    ):
        command = commands.add_parser(name, parents=common, help=text, description=text)
        command.add_argument("schedule", metavar="ID|KEY", help="the schedule's id or key")
        command.add_argument(
            "--tenant", metavar="UUID", type=tenant, help="the tenant of a KEY (default: any)"
        )
        if enable is None:
            command.set_defaults(handler=_run_now)
        else:
            command.set_defaults(handler=_run_enable, enable=enable)
