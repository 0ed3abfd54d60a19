"""``pgjobs dashboard``: serve the dashboard, its HTTP API and /metrics with uvicorn."""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from typing import Any

from pgjobs.cli.common import CommandError, Subparsers, common_options, load_app, target

__all__ = ["add_dashboard"]


def _basic_auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("give USER:PASSWORD")
    return user, password


def _run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from pgjobs.dashboard.app import create_app
        from pgjobs.dashboard.security import Auth, UnsafeBind, check_bind
        from pgjobs.dashboard.settings import Settings
    except ImportError as exc:
        raise CommandError(
            f"the dashboard needs its extra packages ({exc.name} is missing): "
            "pip install -e '.[dashboard]' in a pgjobs checkout"
        ) from exc

    basic = args.basic_auth or (
        _basic_auth(os.environ["PGJOBS_DASHBOARD_BASIC_AUTH"])
        if os.environ.get("PGJOBS_DASHBOARD_BASIC_AUTH")
        else None
    )
    auth = Auth(
        token=args.token or os.environ.get("PGJOBS_DASHBOARD_TOKEN") or None,
        basic_user=basic[0] if basic else None,
        basic_password=basic[1] if basic else None,
    )
    try:
        check_bind(args.host, auth)
    except UnsafeBind as exc:
        raise CommandError(str(exc)) from exc
    worker_app: Any = None
    if args.app:
        worker_app = load_app(args.app)
        if args.dsn is not None:
            worker_app.dsn = args.dsn
    settings = Settings(
        conninfo=target(args).conninfo,
        auth=auth,
        read_only=args.read_only,
        api_secret=args.api_secret or os.environ.get("PGJOBS_API_SECRET") or None,
        worker_app=worker_app,
        metrics_per_queue=args.metrics_per_queue,
        statement_timeout=timedelta(seconds=args.statement_timeout),
        refresh_seconds=args.refresh,
    )
    print(f"pgjobs dashboard on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )
    return 0


def add_dashboard(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    """Register ``pgjobs dashboard``."""
    parser = subparsers.add_parser(
        "dashboard",
        parents=[common_options(top_level=False)],
        help="serve the web dashboard, the HTTP API and /metrics",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Serve the dashboard (overview, jobs, job pages, schedules, actions), Prometheus\n"
            "metrics on /metrics, and with --api-secret the HTTP API for serverless platforms\n"
            "(POST /api/process-batch, /api/reclaim-stuck, /api/cleanup, /api/run-schedules).\n"
            "It listens on 127.0.0.1 unless --host says otherwise, which needs --token or\n"
            "--basic-auth. Needs pip install -e '.[dashboard]' in a pgjobs checkout."
        ),
        epilog=(
            "examples:\n"
            "  pgjobs dashboard                                   http://127.0.0.1:8080/\n"
            "  pgjobs dashboard --read-only --port 9000\n"
            "  PGJOBS_DASHBOARD_TOKEN=... pgjobs dashboard --host 0.0.0.0\n"
            "  PGJOBS_API_SECRET=... pgjobs dashboard --app myapp:app   the serverless API"
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--token", help="require this token (bearer header or the login form); or "
        "$PGJOBS_DASHBOARD_TOKEN",
    )  # fmt: skip
    parser.add_argument(
        "--basic-auth",
        type=_basic_auth,
        metavar="USER:PASSWORD",
        help="require HTTP basic auth; or $PGJOBS_DASHBOARD_BASIC_AUTH",
    )
    parser.add_argument("--read-only", action="store_true", help="show, never act")
    parser.add_argument(
        "--api-secret",
        help="enable the /api routes behind this bearer secret; or $PGJOBS_API_SECRET",
    )
    parser.add_argument(
        "--app",
        metavar="MODULE[:APP]",
        help="the pgjobs App whose handlers POST /api/process-batch runs",
    )
    parser.add_argument(
        "--metrics-per-queue",
        action="store_true",
        help="label queue metrics by queue too (queue names can be unbounded)",
    )
    parser.add_argument(
        "--statement-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="cut off a dashboard query after this long (default 5)",
    )
    parser.add_argument(
        "--refresh",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="live refresh of the overview and job list (default 3; 0 turns it off)",
    )
    parser.set_defaults(handler=_run)
