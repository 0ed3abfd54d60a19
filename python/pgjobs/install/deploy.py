"""``pgjobs deploy``: install, check and remove the ``app_jobs`` schema with yoyo.

Source of truth is ``sql/sqitch.plan`` and its scripts; this module derives one yoyo migration
per change instance of the plan and lets yoyo record what is applied.

yoyo is used through its documented Python API; the few places where pgjobs bends it (the
generated ``.py`` migration form, yoyo's process-wide registry, one transaction for a whole
deploy, its lock row) are confined to :mod:`pgjobs.install.yoyo_glue`, each with a test.
What this module decides:

* **Each change is one migration** whose apply / rollback run the whole frame-stripped deploy /
  revert script at once, exactly as sqitch runs the file; the migrations form a linear chain.
* **A deploy is all or nothing: every pending change runs in ONE transaction**, as
  ``ALTER EXTENSION pgjobs UPDATE`` runs an update script. Other sessions (live workers during
  an upgrade) see the schema before the deploy until it commits, then all of it, never a
  half-upgraded one; a failing change rolls back the changes before it in the same deploy, and
  yoyo's records of them (``_yoyo_migration``, ``_yoyo_log``), which are written in that
  transaction too. ``revert`` is the same (with the triggers ``--drop-triggers`` drops). The
  cost is that of any transactional DDL: the locks a change takes (``ACCESS EXCLUSIVE`` on a
  table it alters) are held until the whole deploy commits, and a statement that cannot run in
  a transaction block could not be a change (the update scripts of the extension have the same
  rule). On a first deploy, ``pgjobs_migrations`` and yoyo's empty tables are created (and
  committed) before it.
* **Ids come from the plan**, never from file names: ``pgjobs.functions.get_job`` and
  ``pgjobs.functions.get_job~2`` for a rework (:mod:`pgjobs.plan`). yoyo keys what is applied
  by ``sha256(id)``, so ids never change once released.
* **yoyo's tables live in schema ``pgjobs_migrations``** (``?schema=pgjobs_migrations``), created
  first. Never in ``app_jobs``: it does not exist before the first change, and revert drops it.
* **One deploy at a time per database**: a session-level
  ``pg_advisory_lock(hashtext('pgjobs.deploy'))`` is held on a connection of our own for the
  whole deploy, revert or verify (yoyo's own ``yoyo_lock`` row is taken inside it). Many
  workers may run ``pgjobs deploy`` at start-up: one applies, the others wait and find nothing
  left to do. The lock dies with the connection, so a crash never leaves it behind.
* **Verify**: yoyo has none. After applying, and on demand (:func:`verify`), every live verify
  script runs in a transaction that is rolled back. As in ``sqitch verify``, the earlier
  instances of reworked changes are not verified (their objects were replaced).
* **Refusals**: pgjobs installed as an extension (``pg_extension``), or deployed by sqitch
  (``sqitch.changes`` has project ``pgjobs``), or ``app_jobs`` present with no yoyo record, or
  a database deployed by a newer pgjobs (applied ids this plan does not know).
* **Upgrades** are just deploys: a database at an older release has the ids of that release
  applied, so only the later change instances (reworks included) run, in one transaction.
  :func:`dry_run` runs the same refusals and returns the SQL of what is pending (one
  ``BEGIN;`` ... ``COMMIT;`` around it all) instead of running it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql

from pgjobs import config, embedded
from pgjobs.install import yoyo_glue
from pgjobs.sqltree.plan import Change, PlanError, load_plan
from pgjobs.sqltree.sqlfiles import SqlFileError, read_script

__all__ = [
    "DEFAULT_ROLES",
    "LOCK_NAME",
    "MIGRATIONS_SCHEMA",
    "SCHEMA",
    "DeployError",
    "Roles",
    "deploy",
    "dry_run",
    "grant_roles",
    "revert",
    "status",
    "verify",
]

log = logging.getLogger(__name__)

#: Schema that holds every pgjobs object.
SCHEMA: Final = "app_jobs"
#: Schema that holds yoyo's bookkeeping tables for pgjobs.
MIGRATIONS_SCHEMA: Final = "pgjobs_migrations"
#: Text hashed into the advisory lock key that serialises deploys.
LOCK_NAME: Final = "pgjobs.deploy"

_LOCK_TRY: Final = f"SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('{LOCK_NAME}'))"
_LOCK_WAIT: Final = f"SELECT pg_catalog.pg_advisory_lock(pg_catalog.hashtext('{LOCK_NAME}'))"

Target = str | config.ResolvedDsn | None
"""A DSN (resolved by :func:`pgjobs.config.resolve`), or a target the connect step resolved."""


def _target(dsn: Target) -> config.ResolvedDsn:
    """Where to install; an embedded server named by it is started (its first deploy is ours)."""
    target = dsn if isinstance(dsn, config.ResolvedDsn) else config.resolve(dsn)
    return embedded.started(target)


class DeployError(Exception):
    """Deploy, revert or verify cannot go on; the message says what happened and what to do."""


@dataclass(frozen=True)
class Roles:
    """The names of pgjobs' three roles (``app_jobs.grant_roles``): created when missing."""

    producer: str = "app_jobs_producer"
    worker: str = "app_jobs_worker"
    admin: str = "app_jobs_admin"


DEFAULT_ROLES: Final = Roles()


def _yoyo_hash(migration_id: str) -> str:
    """yoyo's key for a migration: ``sha256`` of its id."""
    return hashlib.sha256(migration_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Script:
    """One change instance with its frame-stripped SQL."""

    change: Change
    deploy_sql: str
    revert_sql: str
    verify_sql: str

    @property
    def id(self) -> str:
        return self.change.id

    @property
    def hash(self) -> str:
        return _yoyo_hash(self.id)

    def path(self, kind: str) -> str:
        """Script path relative to the SQL tree, e.g. ``deploy/functions/get_job.sql``."""
        return f"{kind}/{self.change.file_stem}.sql"

    @property
    def migration(self) -> yoyo_glue.Migration:
        return yoyo_glue.Migration(
            self.id, self.deploy_sql, self.revert_sql, self.path("deploy"), self.path("revert")
        )


def _load_scripts() -> list[_Script]:
    """Read the plan and every script, before touching the database."""
    try:
        plan = load_plan()
        return [
            _Script(
                change=change,
                deploy_sql=read_script(plan.script(change, "deploy"), "deploy"),
                revert_sql=read_script(plan.script(change, "revert"), "revert"),
                verify_sql=read_script(plan.script(change, "verify"), "verify"),
            )
            for change in plan
        ]
    except (PlanError, SqlFileError) as exc:
        raise DeployError(str(exc)) from exc


def _line_of(text: str, position: str | None) -> int | None:
    if not position or not position.isdigit():
        return None
    return text.count("\n", 0, max(int(position) - 1, 0)) + 1


def _pg_error(exc: psycopg.Error, text: str | None = None) -> str:
    """PostgreSQL's error with its detail, hint, context and line in the script."""
    diag = exc.diag
    first = diag.message_primary or str(exc).strip()
    if diag.sqlstate:
        first += f" (SQLSTATE {diag.sqlstate})"
    lines = [first]
    line = _line_of(text, diag.statement_position) if text is not None else None
    if line is not None:
        lines.append(f"at line {line}")
    for label, value in (
        ("DETAIL", diag.message_detail),
        ("HINT", diag.message_hint),
        ("CONTEXT", diag.context),
    ):
        if value:
            lines.append(f"{label}: {value.strip()}")
    return "\n    ".join(lines)


@contextmanager
def _session(target: config.ResolvedDsn, *, lock: bool) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection, holding the deploy advisory lock when ``lock`` is true."""
    try:
        conn = psycopg.connect(target.conninfo, autocommit=True)
    except psycopg.Error as exc:
        raise DeployError(
            f"cannot connect to PostgreSQL at {config.describe(target.conninfo)} "
            f"(from {target.source}): {str(exc).strip()}\n"
            "Pass --dsn, or set PGJOBS_DSN (or DATABASE_URL, or the PG* variables) to a "
            "database you may create schemas in."
        ) from exc
    try:
        if lock:
            _refuse_transaction_pooler(target, conn)
            row = conn.execute(_LOCK_TRY).fetchone()
            if not (row and row[0]):
                log.info("waiting for another pgjobs deploy/revert on this database to finish")
                conn.execute(_LOCK_WAIT)
        yield conn
    finally:
        conn.close()  # ends the session, which releases the advisory lock


_BACKEND: Final = "SELECT pg_catalog.pg_backend_pid()"


def _refuse_transaction_pooler(target: config.ResolvedDsn, conn: psycopg.Connection[Any]) -> None:
    """Refuse a connection through a transaction pooler (PgBouncer pool_mode = transaction).

    A deploy holds a session advisory lock and yoyo's lock row across transactions; through a
    transaction pooler each transaction may run on another server session. Seen as: a second
    client, inside a transaction, is given the very backend the first one just used, or the
    first client's next transaction runs on another backend. Direct connections and session
    pools never show either."""
    first = conn.execute(_BACKEND).fetchone()
    with psycopg.connect(target.conninfo, autocommit=True) as other, other.transaction():
        seen = other.execute(_BACKEND).fetchone()
        again = conn.execute(_BACKEND).fetchone()
    pids = {row[0] for row in (first, seen, again) if row is not None}
    if first and seen and again and first[0] == again[0] and seen[0] != first[0]:
        return
    raise DeployError(
        f"{config.describe(target.conninfo)} (from {target.source}) goes through a transaction "
        f"pooler: consecutive transactions ran on different server sessions "
        f"(pg_backend_pid() {', '.join(str(p) for p in sorted(pids))}). pgjobs deploy holds a "
        "session lock across transactions, which such a pooler cannot keep. Deploy through a "
        "direct connection to PostgreSQL (the pooler's upstream host and port), or a "
        "session-mode pool; workers and clients can then use the pooler (see docs/operations.md, "
        "PgBouncer)."
    )


def _refuse_other_installers(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute(
        "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pgjobs'"
    ).fetchone()
    if row:
        raise DeployError(
            f"pgjobs is installed as an extension (version {row[0]}); use ALTER EXTENSION / "
            "DROP EXTENSION: ALTER EXTENSION pgjobs UPDATE to upgrade, DROP EXTENSION pgjobs to "
            "remove it. pgjobs deploy and revert only manage installs they made."
        )
    row = conn.execute("SELECT pg_catalog.to_regclass('sqitch.changes') IS NOT NULL").fetchone()
    if row and row[0]:
        count = conn.execute(
            "SELECT pg_catalog.count(*) FROM sqitch.changes WHERE project = 'pgjobs'"
        ).fetchone()
        if count and count[0]:
            raise DeployError(
                f"pgjobs is deployed by sqitch ({count[0]} pgjobs changes recorded in "
                "sqitch.changes); keep managing it with sqitch (sqitch deploy / revert / verify), "
                "or remove it with `sqitch revert` before switching to pgjobs deploy."
            )


def installed_by(conn: psycopg.Connection[Any]) -> str | None:
    """What installed the app_jobs schema of this database (for pgjobs status): 'pgjobs
    deploy', 'sqitch', 'CREATE EXTENSION pgjobs', 'another tool'; None when it is absent."""
    row = conn.execute("SELECT pg_catalog.to_regnamespace(%s) IS NOT NULL", [SCHEMA]).fetchone()
    if not (row and row[0]):
        return None
    if conn.execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs'").fetchone():
        return "CREATE EXTENSION pgjobs"
    if _applied(conn):
        return "pgjobs deploy"
    row = conn.execute("SELECT pg_catalog.to_regclass('sqitch.changes') IS NOT NULL").fetchone()
    if row and row[0]:
        return "sqitch"
    return "another tool"


def _applied(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """yoyo's record of applied migrations in pgjobs_migrations: hash -> id."""
    table = f"{MIGRATIONS_SCHEMA}._yoyo_migration"
    row = conn.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", [table]).fetchone()
    if not (row and row[0]):
        return {}
    rows = conn.execute(
        sql.SQL("SELECT migration_hash, migration_id FROM {}").format(
            sql.Identifier(MIGRATIONS_SCHEMA, "_yoyo_migration")
        )
    ).fetchall()
    return {str(hash_): str(id_) for hash_, id_ in rows}


def _refuse_unknown(applied: dict[str, str], scripts: Sequence[_Script]) -> None:
    known = {script.hash for script in scripts}
    unknown = sorted(id_ for hash_, id_ in applied.items() if hash_ not in known)
    if unknown:
        raise DeployError(
            "this database has pgjobs changes applied that this pgjobs version does not know: "
            f"{', '.join(unknown)}. It was deployed by a newer pgjobs: upgrade the pgjobs "
            "package, or revert with the version that deployed it."
        )


def _refuse_foreign_schema(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT pg_catalog.to_regnamespace(%s) IS NOT NULL", [SCHEMA]).fetchone()
    if row and row[0]:
        raise DeployError(
            f"schema {SCHEMA} already exists, but {MIGRATIONS_SCHEMA} records no pgjobs change: "
            "it was installed some other way (psql, a copy of the scripts). Keep using that "
            f"way, or drop it (DROP SCHEMA {SCHEMA} CASCADE deletes every job) and run pgjobs "
            "deploy again."
        )


@contextmanager
def _yoyo(target: config.ResolvedDsn, scripts: Sequence[_Script]) -> Iterator[yoyo_glue.Yoyo]:
    """yoyo's backend on ``target`` (its lock row held), with one migration per script."""
    url = config.to_yoyo_url(target.conninfo, schema=MIGRATIONS_SCHEMA)
    migrations = [script.migration for script in scripts]
    try:
        with yoyo_glue.opened(url, migrations, MIGRATIONS_SCHEMA) as yoyo:
            yield yoyo
    except yoyo_glue.YoyoGlueError as exc:
        raise DeployError(str(exc)) from exc


@contextmanager
def _one_transaction(yoyo: yoyo_glue.Yoyo, command: str) -> Iterator[None]:
    """The whole deploy or revert in one transaction; a failed COMMIT named as such."""
    try:
        with yoyo.one_transaction():
            yield
    except yoyo_glue.CommitFailed as exc:
        raise DeployError(
            f"pgjobs {command} failed at COMMIT:\n    {_pg_error(exc.error)}\n"
            f"Nothing of this {command} was {'applied' if command == 'deploy' else 'done'}: "
            "it runs in one transaction, which was rolled back."
        ) from exc


def _apply_all(target: config.ResolvedDsn, scripts: Sequence[_Script]) -> list[str]:
    with _yoyo(target, scripts) as yoyo:
        pending_ids = yoyo.to_apply()
        pending = [script for script in scripts if script.id in pending_ids]
        done: list[str] = []
        with _one_transaction(yoyo, "deploy"):
            for script in pending:
                log.info("applying %s", script.id)
                try:
                    yoyo.apply(script.id)
                except psycopg.Error as exc:
                    raise DeployError(
                        f"applying {script.id} ({script.path('deploy')}) failed:\n"
                        f"    {_pg_error(exc, script.deploy_sql)}\n"
                        "Nothing of this deploy was applied: it runs its "
                        f"{_count(pending, 'pending')} in one transaction, which was rolled back"
                        + (f" (with {', '.join(done)}, which had run before it)" if done else "")
                        + f", so {SCHEMA} is as it was before the deploy and none of them is "
                        "recorded as applied. Fix the script and run pgjobs deploy again."
                    ) from exc
                except yoyo_glue.YoyoGlueError as exc:
                    raise DeployError(str(exc)) from exc
                done.append(script.id)
        return done


def _rollback_all(
    target: config.ResolvedDsn, scripts: Sequence[_Script], drop_triggers: bool
) -> list[str]:
    with _yoyo(target, scripts) as yoyo:
        applied_ids = yoyo.to_rollback()
        applied = [script for script in reversed(scripts) if script.id in applied_ids]
        done: list[str] = []
        with _one_transaction(yoyo, "revert"):
            if drop_triggers:
                _drop_triggers(yoyo.connection)
            for script in applied:
                log.info("reverting %s", script.id)
                try:
                    yoyo.rollback(script.id)
                except psycopg.Error as exc:
                    raise DeployError(
                        f"reverting {script.id} ({script.path('revert')}) failed:\n"
                        f"    {_pg_error(exc, script.revert_sql)}\n"
                        "Nothing of this revert was done: it reverts its "
                        f"{_count(applied, 'applied')} in one transaction, which was rolled back"
                        + (f" (with {', '.join(done)}, which had run before it)" if done else "")
                        + ", so every change is still applied"
                        + (" and no trigger was dropped" if drop_triggers else "")
                        + ". Remove whatever depends on it (the error names it) and run pgjobs "
                        "revert again."
                    ) from exc
                except yoyo_glue.YoyoGlueError as exc:
                    raise DeployError(str(exc)) from exc
                done.append(script.id)
        return done


def _count(scripts: Sequence[_Script], state: str) -> str:
    return f"1 {state} change" if len(scripts) == 1 else f"{len(scripts)} {state} changes"


def _run_verifies(
    conn: psycopg.Connection[Any], scripts: Sequence[_Script], applied: set[str]
) -> None:
    failures: list[str] = []
    for script in scripts:
        if script.change.is_reworked:
            continue  # replaced by a later instance; sqitch verify skips these too
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(script.verify_sql, prepare=False)
        except psycopg.Error as exc:
            state = "" if script.hash in applied else " [not applied]"
            failures.append(
                f"{script.id}{state} ({script.path('verify')}):\n"
                f"    {_pg_error(exc, script.verify_sql)}"
            )
    if failures:
        raise DeployError(
            f"verify failed for {len(failures)} change(s):\n  "
            + "\n  ".join(failures)
            + "\nChanges marked [not applied] need pgjobs deploy. Otherwise the database has "
            "drifted from the scripts (an object was changed or dropped by hand): restore it, "
            "or pgjobs revert and pgjobs deploy (which loses the queued jobs)."
        )


def _user_triggers(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str, str]]:
    """Triggers on tables outside app_jobs that execute an app_jobs function."""
    rows = conn.execute(
        """
        SELECT tn.nspname, c.relname, t.tgname, p.proname
          FROM pg_catalog.pg_trigger t
          JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
          JOIN pg_catalog.pg_namespace tn ON tn.oid = c.relnamespace
          JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
          JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
         WHERE pn.nspname = %s AND tn.nspname <> %s AND NOT t.tgisinternal
         ORDER BY 1, 2, 3
        """,
        [SCHEMA, SCHEMA],
    ).fetchall()
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]


def _listing(triggers: Sequence[tuple[str, str, str, str]]) -> str:
    return "\n".join(
        f"  {schema}.{table}: {name} (executes {SCHEMA}.{function})"
        for schema, table, name, function in triggers
    )


def _refuse_triggers(conn: psycopg.Connection[Any]) -> None:
    triggers = _user_triggers(conn)
    if triggers:
        raise DeployError(
            "pgjobs revert would drop functions that these triggers on your tables execute:\n"
            f"{_listing(triggers)}\n"
            "Drop them first (DROP TRIGGER name ON table), or run pgjobs revert "
            "--drop-triggers to drop them along with pgjobs."
        )


def _drop_triggers(conn: psycopg.Connection[Any]) -> None:
    """Drop those triggers, in the transaction open on ``conn`` (the revert's)."""
    for schema, table, name, _ in _user_triggers(conn):
        log.info("dropping trigger %s on %s.%s", name, schema, table)
        conn.execute(
            sql.SQL("DROP TRIGGER {} ON {}").format(
                sql.Identifier(name), sql.Identifier(schema, table)
            )
        )


def _failed(action: str, exc: psycopg.Error) -> DeployError:
    return DeployError(f"pgjobs {action} failed: {_pg_error(exc)}")


def _pending(conn: psycopg.Connection[Any], scripts: Sequence[_Script]) -> list[_Script]:
    """The guards every deploy runs, then the scripts not applied yet, in plan order."""
    _refuse_other_installers(conn)
    applied = _applied(conn)
    _refuse_unknown(applied, scripts)
    if not applied:
        _refuse_foreign_schema(conn)
    return [script for script in scripts if script.hash not in applied]


def deploy(dsn: Target = None, *, verify: bool = True) -> list[str]:
    """Apply every pending change of the plan, then (by default) run every verify script.

    The changes run in one transaction: all of them are applied and recorded, or (when one
    fails, raising :class:`DeployError`) none is. Returns the ids applied, in plan order; ``[]``
    when the database was already current. Safe to run from many processes at once: they take
    turns.
    """
    scripts = _load_scripts()
    target = _target(dsn)
    try:
        with _session(target, lock=True) as conn:
            done: list[str] = []
            if _pending(conn, scripts):
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(MIGRATIONS_SCHEMA)
                    )
                )
                done = _apply_all(target, scripts)
            if verify:
                _run_verifies(conn, scripts, set(_applied(conn)))
            return done
    except psycopg.Error as exc:
        raise _failed("deploy", exc) from exc


_GRANT_ROLES: Final = """
SELECT role_name, kind, created, functions
  FROM app_jobs.grant_roles(producer := %(producer)s, worker := %(worker)s, admin := %(admin)s)
"""


def grant_roles(
    dsn: Target = None, roles: Roles = DEFAULT_ROLES
) -> list[tuple[str, str, bool, int]]:
    """Create pgjobs' producer, worker and admin roles when missing and set each one's rights
    on app_jobs to exactly its set (``app_jobs.grant_roles``). Returns (role, kind, created,
    functions it may execute) per role."""
    target = _target(dsn)
    try:
        with _session(target, lock=True) as conn:
            params = {"producer": roles.producer, "worker": roles.worker, "admin": roles.admin}
            rows = conn.execute(_GRANT_ROLES, params).fetchall()
    except psycopg.Error as exc:
        raise _failed("deploy --roles", exc) from exc
    return [(str(r[0]), str(r[1]), bool(r[2]), int(r[3])) for r in rows]


def dry_run(dsn: Target = None) -> str:
    """The SQL ``deploy`` would run on this database now, as one psql-runnable text.

    Runs the same guards as :func:`deploy` (so it refuses what deploy refuses) and changes
    nothing: it only reads the catalog and yoyo's record. The pending changes appear in plan
    order, each as its deploy script after a ``-- change <id> (...)`` comment, all inside one
    ``BEGIN;`` ... ``COMMIT;``: the one transaction deploy runs them in. yoyo's own bookkeeping
    (schema ``pgjobs_migrations``) is named in a comment, not spelt out. An up-to-date database
    gives a text with comments only.
    """
    scripts = _load_scripts()
    target = _target(dsn)
    try:
        with _session(target, lock=False) as conn:
            pending = _pending(conn, scripts)
    except psycopg.Error as exc:
        raise _failed("deploy --dry-run", exc) from exc
    where = config.describe(target.conninfo)
    if not pending:
        return f"-- pgjobs deploy --dry-run: {where} is up to date; nothing would run.\n"
    out = [
        f"-- pgjobs deploy --dry-run: {len(pending)} change(s) would be applied to {where},\n"
        "-- in this order, all in ONE transaction (BEGIN; ... COMMIT; below), as pgjobs deploy\n"
        "-- runs them: all of them are applied, or none is. yoyo records each one in schema\n"
        f"-- {MIGRATIONS_SCHEMA} (created first if missing), in the same transaction.\n"
        "-- Nothing has been changed.\n",
        "BEGIN;\n",
    ]
    for script in pending:
        release = script.change.release or "unreleased"
        release = release.removeprefix("v")
        out.append(
            f"-- change {script.id} ({script.path('deploy')}, release {release})\n"
            f"{script.deploy_sql.strip(chr(10))}\n"
        )
    out.append("COMMIT;\n")
    return "\n".join(out)


def revert(dsn: Target = None, *, drop_triggers: bool = False) -> list[str]:
    """Roll back every applied pgjobs change, newest first; ``app_jobs`` is gone afterwards.

    All of it runs in one transaction: every change is reverted, or none is. yoyo's own tables
    in ``pgjobs_migrations`` stay. Refuses while triggers on tables outside ``app_jobs`` execute
    ``app_jobs`` functions, unless ``drop_triggers`` is true, in which case those triggers are
    dropped first, in the same transaction. Returns the ids rolled back, in the order it ran
    them.
    """
    scripts = _load_scripts()
    target = _target(dsn)
    try:
        with _session(target, lock=True) as conn:
            _refuse_other_installers(conn)
            applied = _applied(conn)
            _refuse_unknown(applied, scripts)
            if not applied:
                return []
            if not drop_triggers:
                _refuse_triggers(conn)
            return _rollback_all(target, scripts, drop_triggers)
    except psycopg.Error as exc:
        raise _failed("revert", exc) from exc


def verify(dsn: Target = None) -> None:
    """Run every live verify script in a rolled-back transaction; raise naming each failure."""
    scripts = _load_scripts()
    target = _target(dsn)
    try:
        with _session(target, lock=True) as conn:
            _run_verifies(conn, scripts, set(_applied(conn)))
    except psycopg.Error as exc:
        raise _failed("verify", exc) from exc


def status(dsn: Target = None) -> list[tuple[str, bool]]:
    """Every change instance of the plan, in order, with whether yoyo recorded it applied."""
    try:
        changes = list(load_plan())
    except (PlanError, SqlFileError) as exc:
        raise DeployError(str(exc)) from exc
    target = _target(dsn)
    try:
        with _session(target, lock=False) as conn:
            applied = _applied(conn)
    except psycopg.Error as exc:
        raise _failed("status", exc) from exc
    return [(change.id, _yoyo_hash(change.id) in applied) for change in changes]
