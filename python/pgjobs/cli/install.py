"""``pgjobs deploy``, ``revert``, ``verify`` and ``sql export``: installing the schema."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pgjobs.cli.common import CommandError, Subparsers, common_options, target

__all__ = ["add_deploy", "add_revert", "add_sql", "add_verify"]


def _run_deploy(args: argparse.Namespace) -> int:
    from pgjobs.install import deploy

    if args.dry_run:
        sys.stdout.write(deploy.dry_run(target(args)))
        return 0
    resolved = target(args)
    applied = deploy.deploy(resolved, verify=args.verify)
    for change_id in applied:
        print(f"applied {change_id}")
    checked = " and verified" if args.verify else ""
    if applied:
        print(f"pgjobs deployed{checked}: {len(applied)} change(s) applied")
    else:
        print(f"pgjobs is up to date{checked}: nothing to apply")
    if args.roles:
        names = deploy.Roles(
            args.producer_role or deploy.DEFAULT_ROLES.producer,
            args.worker_role or deploy.DEFAULT_ROLES.worker,
            args.admin_role or deploy.DEFAULT_ROLES.admin,
        )
        for role, kind, created, functions in deploy.grant_roles(resolved, names):
            made = "created" if created else "existing"
            print(f"{kind} role {role} ({made}): may execute {functions} app_jobs functions")
    return 0


def add_deploy(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "deploy",
        parents=[common_options(top_level=False)],
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
    roles = parser.add_argument_group(
        "roles",
        "--roles runs app_jobs.grant_roles(): the three NOLOGIN group roles are created when "
        "missing and each gets exactly its set of functions (run it again after an upgrade); "
        "make your logins members: GRANT app_jobs_worker TO my_worker_login.",
    )
    roles.add_argument(
        "--roles",
        action="store_true",
        help="create (or grant to) the producer, worker and admin roles after deploying",
    )
    for kind in ("producer", "worker", "admin"):
        roles.add_argument(
            f"--{kind}-role",
            metavar="NAME",
            help=f"name of the {kind} role (default: app_jobs_{kind})",
        )
    parser.set_defaults(handler=_run_deploy)


def _run_revert(args: argparse.Namespace) -> int:
    from pgjobs.install import deploy

    reverted = deploy.revert(target(args), drop_triggers=args.drop_triggers)
    for change_id in reverted:
        print(f"reverted {change_id}")
    if reverted:
        print(f"pgjobs reverted: {len(reverted)} change(s) rolled back; schema app_jobs is gone")
    else:
        print("nothing to revert: pgjobs deploy has not installed anything in this database")
    return 0


def add_revert(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "revert",
        parents=[common_options(top_level=False)],
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


def _run_verify(args: argparse.Namespace) -> int:
    from pgjobs.install import deploy

    deploy.verify(target(args))
    print("pgjobs verified: every change checks out")
    return 0


def add_verify(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        parents=[common_options(top_level=False)],
        help="check that every pgjobs object is in place",
        description=(
            "Run every verify script of pgjobs' SQL plan inside a transaction that is rolled "
            "back, and report each change whose objects are missing or wrong. Changes nothing."
        ),
    )
    parser.set_defaults(handler=_run_verify)


def _run_sql_export(args: argparse.Namespace) -> int:
    from pgjobs.sqltree.export import INDEX, export
    from pgjobs.sqltree.plan import PlanError
    from pgjobs.sqltree.sqlfiles import SqlFileError

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


def add_sql(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
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
