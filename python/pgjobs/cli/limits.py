"""``pgjobs limit``, ``pgjobs unlimit``, ``pgjobs limits`` and ``pgjobs fairness``: concurrency
and rate limits of a task, a tenant or a task within a tenant (app_jobs.set_job_limit,
remove_job_limit, list_job_limits), and tenant fairness (app_jobs.set_tenant_fairness).
No SQL here: the client calls app_jobs.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

from pgjobs.cli.common import CommandError, Subparsers, client, common_options, table, tenant

__all__ = ["add_limits"]

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def rate(text: str) -> tuple[int, timedelta]:
    """``N/PERIOD``: N starts per PERIOD, a number with a unit (ms, s, m, h, d; default s),
    e.g. ``100/1m``, ``5/s``, ``1000/1h``."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rate: give N/PERIOD, e.g. 100/1m, 5/s, 1000/1h"
        )
    count, amount, unit = match.groups()
    seconds = float(amount or 1) * _UNITS[unit or "s"]
    return int(count), timedelta(seconds=seconds)


def _what(args: argparse.Namespace) -> str:
    task = f"task {args.task}" if args.task else "every task"
    scope = f"tenant {args.tenant}" if args.tenant else "every tenant"
    return f"{task} of {scope}"


def _keys(args: argparse.Namespace) -> None:
    if args.task is None and args.tenant is None:
        raise CommandError("name what to limit: --task and/or --tenant")


def _period(period: timedelta) -> str:
    seconds = period.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _run_limit(args: argparse.Namespace) -> int:
    _keys(args)
    if args.max_running is None and args.rate is None:
        raise CommandError("give --max-running N, --rate N/PERIOD, or both")
    max_starts, per_period = args.rate if args.rate else (None, None)
    with client(args) as connected:
        connected.set_job_limit(
            task=args.task,
            database_id=args.tenant,
            max_running=args.max_running,
            max_starts=max_starts,
            per_period=per_period,
        )
    limits = []
    if args.max_running is not None:
        limits.append(f"at most {args.max_running} running")
    if per_period is not None:
        limits.append(f"at most {max_starts} starts per {_period(per_period)}")
    print(f"limited: {_what(args)}: {', '.join(limits)} (`pgjobs unlimit` lifts it)")
    return 0


def _run_unlimit(args: argparse.Namespace) -> int:
    _keys(args)
    with client(args) as connected:
        removed = connected.remove_job_limit(task=args.task, database_id=args.tenant)
    if not removed:
        print(f"no limit of {_what(args)}: nothing to lift (`pgjobs limits` lists them)")
        return 1
    print(f"limit lifted: {_what(args)}")
    return 0


def _run_list(args: argparse.Namespace) -> int:
    with client(args) as connected:
        limits = connected.list_job_limits(args.tenant)
    if not limits:
        print("no limit in force")
        return 0
    lines: list[tuple[str, ...]] = [("task", "tenant", "running", "rate", "starts left", "by")]
    lines += [
        (
            lim.task_identifier or "(any)",
            str(lim.database_id) if lim.database_id else "(all)",
            f"{lim.running}/{lim.max_running}" if lim.max_running is not None else "-",
            f"{lim.max_starts}/{_period(lim.per_period)}" if lim.per_period is not None else "-",
            f"{lim.starts_left:.1f}" if lim.starts_left is not None else "-",
            lim.set_by,
        )
        for lim in limits
    ]
    for line in table(lines):
        print(line)
    return 0


def _run_fairness(args: argparse.Namespace) -> int:
    with client(args) as connected:
        connected.set_tenant_fairness(args.state == "on")
    if args.state == "on":
        print("tenant fairness on: claims rotate across tenants among jobs of equal priority")
    else:
        print("tenant fairness off: claims take the oldest jobs first")
    return 0


def _key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", metavar="TASK", help="the jobs of this task (default: all)")
    parser.add_argument(
        "--tenant", metavar="UUID", type=tenant, help="the jobs of this tenant (default: all)"
    )


def add_limits(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    """Register ``pgjobs limit``, ``unlimit``, ``limits`` and ``fairness``."""
    common = [common_options(top_level=False)]
    limiting = subparsers.add_parser(
        "limit",
        parents=common,
        help="cap the running jobs and/or the starts per period of a task and/or tenant",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Limit the jobs of --task, of --tenant, or of a task within a tenant (at least\n"
            "one): at most --max-running of them running at once across every worker (jobs\n"
            "claimed into a worker's buffer count), and/or at most N starts per PERIOD\n"
            "(--rate, a token bucket). Jobs over a limit wait, claimable, and start as soon as\n"
            "the limit has room; a limited head of a named queue holds back its queue. Setting\n"
            "again replaces both limits of the same task and tenant."
        ),
        epilog=(
            "examples:\n"
            "  pgjobs limit --task send_email --max-running 5\n"
            "  pgjobs limit --task call_api --rate 100/1m\n"
            "  pgjobs limit --tenant 7f1c7a52-... --max-running 20 --rate 1000/1h"
        ),
    )
    _key_options(limiting)
    limiting.add_argument(
        "--max-running", metavar="N", type=int, help="at most N running at once (0: none)"
    )
    limiting.add_argument(
        "--rate", metavar="N/PERIOD", type=rate, help="at most N starts per PERIOD, e.g. 100/1m"
    )
    limiting.set_defaults(handler=_run_limit)

    lifting = subparsers.add_parser(
        "unlimit",
        parents=common,
        help="lift a limit (same --task and --tenant as the limit)",
        description=(
            "Lift the limit set with exactly these options. Exit status 1 when there was none."
        ),
    )
    _key_options(lifting)
    lifting.set_defaults(handler=_run_unlimit)

    listing = subparsers.add_parser(
        "limits", parents=common, help="list the limits in force, with their running jobs"
    )
    listing.add_argument(
        "--tenant", metavar="UUID", type=tenant, help="those that apply to this tenant's jobs"
    )
    listing.set_defaults(handler=_run_list)

    fairness = subparsers.add_parser(
        "fairness",
        parents=common,
        help="turn tenant fairness on or off",
        description=(
            "on: every claim rotates across tenants among the jobs of equal priority, so a\n"
            "tenant with a large backlog does not starve one with a few jobs (builds an index\n"
            "of the claimable jobs: enqueues and claims wait while it is built). off: oldest\n"
            "first again (drops that index)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fairness.add_argument("state", choices=("on", "off"))
    fairness.set_defaults(handler=_run_fairness)
