"""``pgjobs worker``: run the handlers of an app."""

from __future__ import annotations

import argparse

from pgjobs.cli.common import CommandError, Subparsers, common_options, load_app

__all__ = ["add_worker"]


def _run_worker(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import timedelta

    app = load_app(args.app)
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
    from pgjobs.install.compat import SchemaVersionError

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


def add_worker(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        parents=[common_options(top_level=False)],
        help="run the handlers of an app on queued jobs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run a worker for the tasks of APP (MODULE or MODULE:ATTRIBUTE, imported from the\n"
            "current directory; the attribute defaults to `app`, a pgjobs.App). It claims\n"
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
