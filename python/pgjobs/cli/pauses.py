"""``pgjobs pause``, ``pgjobs resume`` and ``pgjobs pauses``: hold back and release the
waiting jobs of a task, a named queue and/or a tenant (app_jobs.pause_jobs, resume_jobs,
list_pauses). Running jobs finish; no worker starts a paused job once ``pause`` returns.
No SQL here: the client calls app_jobs.
"""

from __future__ import annotations

import argparse

from pgjobs.cli.common import CommandError, Subparsers, client, common_options, table, tenant

__all__ = ["add_pauses"]


def _what(args: argparse.Namespace) -> str:
    parts = [f"task {args.task}" if args.task else "", f"queue {args.queue}" if args.queue else ""]
    scope = f"tenant {args.tenant}" if args.tenant else "every tenant"
    return ", ".join(p for p in parts if p) + (" of " if any(parts) else "jobs of ") + scope


def _keys(args: argparse.Namespace) -> None:
    if args.task is None and args.queue is None and args.tenant is None:
        raise CommandError("name what to pause: --task, --queue and/or --tenant")


def _run_pause(args: argparse.Namespace) -> int:
    _keys(args)
    with client(args) as connected:
        connected.pause_jobs(
            task=args.task, queue=args.queue, database_id=args.tenant, reason=args.reason
        )
        print(f"paused: {_what(args)} (`pgjobs resume` with the same options undoes it)")
        if args.park:
            # Park the backlog now, in short transactions, rather than in the workers' claims.
            parked = 0
            while batch := connected.park_paused_jobs():
                parked += batch
                print(f"parked {parked} paused jobs so far", flush=True)
            print(f"backlog parked: {parked} jobs")
    return 0


def _run_resume(args: argparse.Namespace) -> int:
    _keys(args)
    with client(args) as connected:
        resumed = connected.resume_jobs(task=args.task, queue=args.queue, database_id=args.tenant)
    if resumed is None:
        print(f"no pause of {_what(args)}: nothing to resume (`pgjobs pauses` lists them)")
        return 1
    print(f"resumed: {_what(args)} ({resumed} held-back jobs claimable again)")
    return 0


def _run_list(args: argparse.Namespace) -> int:
    with client(args) as connected:
        pauses = connected.list_pauses(args.tenant)
    if not pauses:
        print("no pause in force")
        return 0
    lines: list[tuple[str, ...]] = [("tenant", "queue", "task", "paused at", "by", "reason")]
    lines += [
        (
            str(p.database_id) if p.database_id else "(all)",
            p.queue_name or "(any)",
            p.task_identifier or "(any)",
            p.paused_at.isoformat(timespec="seconds"),
            p.paused_by,
            p.reason or "",
        )
        for p in pauses
    ]
    for line in table(lines):
        print(line)
    return 0


def _key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", metavar="TASK", help="the jobs of this task")
    parser.add_argument("--queue", metavar="NAME", help="the jobs of this named queue")
    parser.add_argument(
        "--tenant", metavar="UUID", type=tenant, help="the jobs of this tenant (default: all)"
    )


def add_pauses(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    """Register ``pgjobs pause``, ``pgjobs resume`` and ``pgjobs pauses``."""
    common = [common_options(top_level=False)]
    pausing = subparsers.add_parser(
        "pause",
        parents=common,
        help="hold back the waiting jobs of a task, queue and/or tenant",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Pause the waiting jobs matching every option given (at least one): no worker\n"
            "starts one of them once this returns; running jobs finish. A paused head of a\n"
            "named queue holds back its queue. The pause writes one row, whatever the backlog;\n"
            "then the paused backlog is parked out of the claim's way, 10,000 jobs per short\n"
            "transaction (--no-park leaves that to the workers' claims)."
        ),
        epilog=(
            "examples:\n"
            "  pgjobs pause --task send_email --reason 'SMTP provider down'\n"
            "  pgjobs pause --queue billing\n"
            "  pgjobs pause --tenant 7f1c7a52-..."
        ),
    )
    _key_options(pausing)
    pausing.add_argument("--reason", metavar="TEXT", help="why (shown by `pgjobs pauses`)")
    pausing.add_argument(
        "--no-park", dest="park", action="store_false",
        help="return at once; the workers' claims park the paused backlog as they meet it",
    )  # fmt: skip
    pausing.set_defaults(handler=_run_pause)

    resuming = subparsers.add_parser(
        "resume",
        parents=common,
        help="remove a pause (same options as the pause)",
        description=(
            "Remove the pause made with exactly these options; its jobs run again in order,\n"
            "unless another pause still holds them. Exit status 1 when there was no such pause."
        ),
    )
    _key_options(resuming)
    resuming.set_defaults(handler=_run_resume)

    listing = subparsers.add_parser("pauses", parents=common, help="list the pauses in force")
    listing.add_argument(
        "--tenant", metavar="UUID", type=tenant, help="those holding back this tenant's jobs"
    )
    listing.set_defaults(handler=_run_list)
