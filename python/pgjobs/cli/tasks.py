"""``pgjobs tasks [list] | set | unset``: the task settings kept in the database.

Each task's settings (max_attempts, backoff, priority, queue, timeout, retention) apply to
every job of the task enqueued without that value, from any language; a payload schema (a
JSON Schema) is checked against every payload of the task at enqueue. ``list`` shows the
effective value of each and where it comes from (an operator's setting for the tenant, for
every tenant, the application's declared one, or the built-in default); ``set`` and ``unset``
change the operator's. No SQL here: the client calls app_jobs.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import timedelta

from pgjobs.cli.common import Subparsers, client, common_options, json_payload, table, tenant

__all__ = ["add_tasks"]

_SETTINGS = (
    "max_attempts", "backoff", "priority", "queue_name", "timeout", "retention", "payload_schema",
)  # fmt: skip
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """A duration: seconds (``90``), or a number and a unit s, m, h or d (``5m``, ``7d``)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (seconds, or e.g. 30s, 5m, 2h, 7d)"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])


def _run_list(args: argparse.Namespace) -> int:
    with client(args) as connected:
        rows = connected.list_task_settings(args.tenant)
    if not rows:
        print("no task has settings: `pgjobs tasks set TASK --max-attempts 3` sets one")
        return 0
    lines: list[tuple[str, ...]] = [("task", "setting", "value", "from")]
    lines += [(r.task_identifier, r.setting, _shown(r.setting, r.value), r.source) for r in rows]
    for line in table(lines):
        print(line)
    return 0


def _shown(setting: str, value: str | None) -> str:
    """A setting's value as the table shows it: a payload schema by its title and size."""
    if value is None:
        return "-"
    if setting != "payload_schema":
        return value
    schema = json.loads(value)
    title = schema.get("title") if isinstance(schema, dict) else None
    name = f"{title!r}, " if isinstance(title, str) else ""
    return f"JSON Schema ({name}{len(value)} bytes)"


def _run_set(args: argparse.Namespace) -> int:
    with client(args) as connected:
        connected.set_task_settings(
            args.task, database_id=args.tenant, max_attempts=args.max_attempts,
            backoff=args.backoff, priority=args.priority, queue=args.queue,
            timeout=args.timeout, retention=args.retention, payload_schema=args.payload_schema,
        )  # fmt: skip
    scope = f"tenant {args.tenant}" if args.tenant else "every tenant"
    print(f"task {args.task}: settings set for {scope}")
    return 0


def _run_unset(args: argparse.Namespace) -> int:
    with client(args) as connected:
        changed = connected.unset_task_settings(
            args.task, args.setting or None, database_id=args.tenant
        )
    scope = f"tenant {args.tenant}" if args.tenant else "every tenant"
    what = ", ".join(args.setting) if args.setting else "all operator settings"
    done = "removed" if changed else "nothing to remove"
    print(f"task {args.task} ({scope}): {what}: {done}")
    return 0


def add_tasks(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    """Register ``pgjobs tasks`` and its subcommands."""
    common = [common_options(top_level=False)]
    parser = subparsers.add_parser(
        "tasks",
        parents=common,
        help="show, set or unset task settings (max attempts, backoff, payload schema, ...)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Task settings live in app_jobs.task_settings and apply to every job enqueued\n"
            "without that value, from any language. The application declares its own (from\n"
            "@app.task(...), when it starts); an operator's setting wins over them, and a\n"
            "tenant's over the all-tenants one. Without a subcommand: `list`."
        ),
        epilog=(
            "examples:\n"
            "  pgjobs tasks\n"
            "  pgjobs tasks set charge --max-attempts 2 --timeout 30s\n"
            "  pgjobs tasks set charge --priority -5 --tenant 7f1c7a52-...\n"
            '  pgjobs tasks set charge --payload-schema \'{"type": "object"}\'\n'
            "  pgjobs tasks unset charge --setting max_attempts"
        ),
    )
    parser.add_argument("--tenant", metavar="UUID", type=tenant, help=argparse.SUPPRESS)
    parser.set_defaults(handler=_run_list)
    commands = parser.add_subparsers(dest="tasks_command", metavar="COMMAND")

    listing = commands.add_parser(
        "list", parents=common, help="the effective settings of each task and their source"
    )
    listing.add_argument(
        "--tenant", metavar="UUID", type=tenant, help="as they apply to this tenant's jobs"
    )
    listing.set_defaults(handler=_run_list)

    setting = commands.add_parser(
        "set", parents=common, help="set an operator's settings of a task"
    )
    setting.add_argument("task", metavar="TASK")
    setting.add_argument("--tenant", metavar="UUID", type=tenant, help="only for this tenant")
    setting.add_argument("--max-attempts", metavar="N", type=int)
    setting.add_argument(
        "--backoff", metavar="JSON", type=json_payload,
        help="""retry delays, e.g. '{"strategy": "fixed", "base": 30}'""",
    )  # fmt: skip
    setting.add_argument("--priority", metavar="N", type=int, help="lower runs first")
    setting.add_argument("--queue", metavar="NAME", help="serial queue of the task's jobs")
    setting.add_argument("--timeout", metavar="DURATION", type=duration, help="e.g. 30s, 5m")
    setting.add_argument(
        "--retention", metavar="DURATION", type=duration, help="keep finished jobs, e.g. 7d"
    )
    setting.add_argument(
        "--payload-schema", metavar="JSON", type=json_payload,
        help="a JSON Schema every payload of the task must hold (true: none)",
    )  # fmt: skip
    setting.set_defaults(handler=_run_set)

    unsetting = commands.add_parser(
        "unset", parents=common, help="remove an operator's settings of a task"
    )
    unsetting.add_argument("task", metavar="TASK")
    unsetting.add_argument("--tenant", metavar="UUID", type=tenant, help="only this tenant's")
    unsetting.add_argument(
        "--setting", metavar="NAME", action="append", choices=_SETTINGS,
        help="a setting to remove (repeatable; default: all of them)",
    )  # fmt: skip
    unsetting.set_defaults(handler=_run_unset)
