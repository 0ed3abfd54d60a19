"""``pgjobs worker``: run the handlers of an app."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from pgjobs.cli.common import CommandError, Subparsers, common_options, load_app

__all__ = ["add_worker", "setup_logging"]


class _JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the job's fields, traceback."""

    FIELDS = ("job_id", "task", "queue", "attempt", "outcome", "duration", "worker_id")

    def format(self, record: logging.LogRecord) -> str:
        import json
        from datetime import UTC, datetime

        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in self.FIELDS:
            if hasattr(record, field):
                out[field] = getattr(record, field)
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str, fmt: str) -> None:
    """The worker's own log handler on stderr (the pgjobs logger, not the root's). ``fmt``:
    text, json, rich (colours, rich tracebacks: pgjobs.cli.output) or auto (rich when stderr
    is a terminal, text otherwise)."""
    from pgjobs.cli.output import TerminalFormatter, rich_wanted

    handler = logging.StreamHandler(sys.stderr)
    if fmt == "auto":
        fmt = "rich" if rich_wanted(sys.stderr) else "text"
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    elif fmt == "rich":
        handler.setFormatter(TerminalFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    logger = logging.getLogger("pgjobs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(level.upper())


def _preflight(resolved: Any, startup_timeout: float = 0.0) -> str:
    """Check, with a short connect timeout, that the database answers and app_jobs is
    deployed at a version this worker can use; its release. A server that cannot be reached
    (not started yet, restarting) is tried again for up to ``startup_timeout`` seconds, with a
    WARNING each time; errors are one clear line."""
    import psycopg

    from pgjobs import config
    from pgjobs.db.client import Client
    from pgjobs.install.compat import SchemaVersionError, check_schema

    where = config.describe(resolved.conninfo)
    deadline = time.monotonic() + max(startup_timeout, 0.0)
    pause = 0.5
    attempt = 0
    while attempt < 3:
        try:
            conn = psycopg.connect(resolved.conninfo, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            if time.monotonic() + pause < deadline:
                logging.getLogger("pgjobs.worker").warning(
                    "PostgreSQL at %s is unreachable (%s); trying again in %.1fs "
                    "(--startup-timeout)",
                    where,
                    first,
                    pause,
                )
                time.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            raise CommandError(
                f"the worker did not start: PostgreSQL at {where} (from {resolved.source}) is "
                f"unreachable: {first}. Check that it runs, or pass --dsn / set PGJOBS_DSN."
            ) from exc
        with conn:
            try:
                version = Client(conn).schema_version()  # 0.1.0 with no such function
                break
            except psycopg.errors.InvalidSchemaName as exc:  # no schema app_jobs at all
                raise CommandError(
                    f"the worker did not start: app_jobs is not deployed in {where} "
                    f"(from {resolved.source}): run `pgjobs deploy` first."
                ) from exc
            except psycopg.OperationalError as exc:  # the connection was lost: try again
                if attempt == 2:
                    first = (str(exc).strip().splitlines() or [""])[0]
                    raise CommandError(
                        f"the worker did not start: the connection to PostgreSQL at {where} "
                        f"was lost three times while checking the schema: {first}"
                    ) from exc
        attempt += 1
        time.sleep(0.5 * attempt)
    try:
        check_schema(version)
    except SchemaVersionError as exc:
        raise CommandError(f"the worker did not start: {exc}") from exc
    return version


def _banner(worker: Any, resolved: Any, version: str, args: argparse.Namespace) -> None:
    from pgjobs import config

    log = logging.getLogger("pgjobs.worker")
    if resolved.embedded_home is not None:
        database = f"the embedded PostgreSQL in {config.display_path(resolved.embedded_home)}"
    else:
        database = config.describe(resolved.conninfo)
    tasks = ", ".join(sorted(worker.registry.names()))
    log.info(
        "pgjobs worker %s starting: database %s, schema app_jobs %s, tasks %s, concurrency %d"
        " in %d lane%s%s",
        worker.worker_id, database, version, tasks, worker.concurrency, worker.lanes,
        "" if worker.lanes == 1 else "s", " (--once)" if args.once else "",
        extra={"worker_id": worker.worker_id},
    )  # fmt: skip


def _metrics(args: argparse.Namespace, conninfo: str) -> Any:
    """The worker's Prometheus metrics served on --metrics-port, or None."""
    if args.metrics_port is None:
        return None
    try:
        from pgjobs.dashboard.metrics import WorkerMetrics
    except ImportError as exc:
        raise CommandError(
            f"--metrics-port needs prometheus-client ({exc.name or exc} is missing): "
            "pip install 'pgjobs-queue[dashboard]'"
        ) from exc
    metrics = WorkerMetrics(per_queue=args.metrics_per_queue)
    try:
        metrics.serve(args.metrics_port, host=args.metrics_host, dsn=conninfo)
    except OSError as exc:
        raise CommandError(
            f"cannot serve metrics on {args.metrics_host}:{args.metrics_port}: {exc}"
        ) from exc
    logging.getLogger("pgjobs.worker").info(
        "metrics on http://%s:%d/metrics", args.metrics_host, args.metrics_port
    )
    return metrics


def _pooler_mode(args: argparse.Namespace) -> None:
    """--pooler and --listen-dsn, as the environment pgjobs.db.pooler reads (so the handlers'
    own clients in this process follow them too)."""
    import os

    from pgjobs.db import pooler

    if args.pooler:
        os.environ[pooler.MODE_ENV] = "transaction"
    if args.listen_dsn:
        os.environ[pooler.LISTEN_ENV] = args.listen_dsn


def _run_worker(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import timedelta

    from pgjobs import connect

    setup_logging("info" if args.verbose else args.log_level, args.log_format)
    _pooler_mode(args)
    app = load_app(args.app)
    if args.dsn is not None:
        app.dsn = args.dsn
    resolved = connect.target(app.dsn)
    version = _preflight(resolved, args.startup_timeout)
    app.dsn = resolved.conninfo
    hooks = _metrics(args, resolved.conninfo)
    worker = app.worker(
        concurrency=args.concurrency,
        poll_interval=args.poll_interval,
        lease=timedelta(seconds=args.lease),
        shutdown_timeout=args.shutdown_timeout,
        worker_id=args.worker_id,
        orphans=args.orphans,
        scheduler=args.scheduler,
        schedule_interval=args.schedule_interval,
        hooks=hooks,
        buffer=args.buffer,
        prepared_statements=args.prepared_statements,
        lanes=args.lanes,
    )
    from pgjobs.db.errors import WorkerIdInUse
    from pgjobs.install.compat import SchemaVersionError

    _banner(worker, resolved, version, args)
    try:
        if args.once:
            summary = asyncio.run(worker.run(once=True, batch_size=args.batch_size))
        else:
            summary = asyncio.run(app.serve(worker))
    except SchemaVersionError as exc:
        raise CommandError(f"the worker did not start: {exc}") from exc
    except WorkerIdInUse as exc:
        raise CommandError(f"the worker stopped: {exc.message}") from exc
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
        default=8.0,  # pgjobs.runtime.worker.DEFAULT_LEASE
        metavar="SECONDS",
        help="how long this worker's jobs stay protected without a heartbeat, renewed every "
        "quarter lease; a killed worker's jobs run again about a lease later (default 8)",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long a worker started before its database is reachable (starting, "
        "restarting) keeps trying to connect before it gives up (default 30; 0: at once)",
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
        "--buffer",
        type=int,
        default=None,
        metavar="N",
        help="claimed jobs kept ready beyond the running ones (not started until a slot frees;"
        " default: as many as --concurrency; 0: claim only what runs)",
    )
    parser.add_argument(
        "--lanes",
        type=int,
        default=None,
        metavar="N",
        help="claim rounds in flight at once, each on its own connection (1-8; default: 2 from"
        " --concurrency 64, else 1)",
    )
    parser.add_argument(
        "--no-prepared-statements",
        dest="prepared_statements",
        action="store_false",
        help="no prepared statements (behind a transaction-mode pooler such as PgBouncer)",
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
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="info (default): a start banner, one line per finished job, the traceback of a "
        "failed attempt, stop signals; warning: jobs failed for good and problems only",
    )
    parser.add_argument(
        "--log-format",
        choices=("auto", "text", "rich", "json"),
        default="auto",
        help="auto (default): rich in a terminal (colours, rich tracebacks), text otherwise; "
        "text lines; rich; or one JSON object a line (for log shippers)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics (needs the dashboard extra)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address the metrics are served on (default 127.0.0.1)",
    )
    parser.add_argument(
        "--pooler",
        action="store_true",
        help="the DSN goes through a transaction pooler (PgBouncer pool_mode = transaction): no "
        "server-side prepared statements; LISTEN only on --listen-dsn, else poll "
        "(env PGJOBS_POOLER=transaction)",
    )
    parser.add_argument(
        "--listen-dsn",
        metavar="DSN",
        help="with --pooler: a direct connection (not through the pooler) for LISTEN, so "
        "wake-ups and cancellations arrive at once (env PGJOBS_LISTEN_DSN)",
    )
    parser.add_argument(
        "--metrics-per-queue",
        action="store_true",
        help="label the job metrics with the queue too (queue names may be unbounded)",
    )
    parser.set_defaults(handler=_run_worker)
