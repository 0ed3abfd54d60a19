"""Upgrades: a database at an older release, holding queued, running and scheduled jobs, is
upgraded by ``pgjobs deploy`` and by ``ALTER EXTENSION pgjobs UPDATE`` without losing any; a
worker keeps running across the upgrade; workers refuse a schema newer than they understand;
``pgjobs deploy --dry-run`` and ``pgjobs sql export``.

The older release is built from the plan itself (``pgjobs.plan.write_tree``: the tree as of
its tag), so nothing here names a change of 0.1.0: the tests follow wherever the tag moves.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from install_support import (
    REPO,
    SQL_DIR,
    TestDatabase,
    assert_matches_snapshot,
    psql_file,
    run_pgjobs,
    subprocess_env,
)
from psycopg import sql

from pgjobs.install.compat import SchemaVersionError
from pgjobs.install.deploy import DeployError, deploy, dry_run
from pgjobs.runtime.app import App
from pgjobs.runtime.registry import JobContext
from pgjobs.sqltree.bundle import control_version
from pgjobs.sqltree.export import INDEX, export
from pgjobs.sqltree.plan import Plan, Tag, load_plan, write_tree

PLAN = load_plan(SQL_DIR)
VERSION = control_version(REPO / "control")
FIRST = PLAN.tags[0]  # the oldest release: every upgrade test starts there
GUARD = 30.0  # seconds before a wait counts as "never happened"; nothing asserts speed


@pytest.fixture
def old_tree(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """The SQL tree as of the first release tag."""
    return write_tree(PLAN, tmp_path_factory.mktemp("old") / "sql", until=FIRST.name)


@pytest.fixture
def sql_tree(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point in-process ``deploy`` (and the worker's compat check) at a SQL tree."""

    def use(top: Path) -> None:
        monkeypatch.setenv("PGJOBS_SQL_DIR", str(top))

    use(SQL_DIR)
    yield use


def new_ids(since: Tag = FIRST) -> list[str]:
    return [change.id for change in PLAN.between(since, None)]


#: Every earlier release: each must upgrade to the current one (the newest tag too while
#: changes after it await their release: main upgrades every release, the last one included).
EARLIER = PLAN.tags if PLAN.unreleased() else PLAN.tags[:-1]


@pytest.fixture(params=EARLIER, ids=[tag.version for tag in EARLIER])
def release(request: pytest.FixtureRequest) -> Tag:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def release_tree(tmp_path_factory: pytest.TempPathFactory, release: Tag) -> Plan:
    """The SQL tree as of an earlier release's tag."""
    return write_tree(PLAN, tmp_path_factory.mktemp("release") / "sql", until=release.name)


# --- the release tree ---------------------------------------------------------------------------


def test_the_old_tree_is_the_plan_as_of_its_tag(old_tree: Plan) -> None:
    assert [c.id for c in old_tree] == [c.id for c in PLAN.until(FIRST)]
    assert [t.name for t in old_tree.tags] == [FIRST.name]
    for old, now in zip(old_tree, PLAN.until(FIRST), strict=True):
        assert not old.is_reworked  # no rework yet: every change in its own files
        for kind in ("deploy", "revert", "verify"):
            assert old.script(old_tree.top_dir, kind).read_bytes() == (
                PLAN.script(now, kind).read_bytes()  # the tagged copy, for a reworked one
            )
    assert not list(old_tree.top_dir.rglob("*@*"))


# --- live jobs across an upgrade ------------------------------------------------------------------


def fill_live_queue(db: TestDatabase) -> list[int]:
    """Queued, delayed, keyed, serial (one running, one parked), running jobs held under a
    worker's lease, and a schedule. Returns the ids of the running jobs (held by w1)."""
    with db.connect() as conn:
        conn.execute("SELECT app_jobs.heartbeat('w1', interval '1 hour')")
        conn.execute("SELECT app_jobs.add_job(NULL, 'run_me', '{\"n\": 1}')")
        conn.execute("SELECT app_jobs.add_job(NULL, 'run_me', '{\"n\": 2}')")
        claim = "SELECT id FROM app_jobs.get_job('w1')"
        running = [int(conn.execute(claim).fetchone()[0]) for _ in range(2)]  # type: ignore[index]
        conn.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name => 'q')")
        conn.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name => 'q')")
        running.append(int(conn.execute(claim).fetchone()[0]))  # type: ignore[index]
        conn.execute("SELECT app_jobs.add_job(NULL, 'queued', '{\"n\": 3}', job_key => 'k')")
        conn.execute("SELECT app_jobs.add_job(NULL, 'queued', '{\"n\": 4}')")
        conn.execute("SELECT app_jobs.add_job(NULL, 'later', run_at => now() + interval '1 day')")
        conn.execute(
            "SELECT app_jobs.add_scheduled_job(NULL, 'nightly', schedule_info => %s, "
            "job_key => 'nightly')",
            ['{"hour": [2], "minute": [0]}'],
        )
    return running


def live_state(db: TestDatabase) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "jobs": db.rows(
            "SELECT id, task_identifier, payload::text, state, attempts, locked_by, locked_at, "
            "key, queue_name, run_at FROM app_jobs.jobs ORDER BY id",
        ),
        "queues": db.rows(
            "SELECT queue_name, job_count, locked_by FROM app_jobs.job_queues ORDER BY 1"
        ),
        "schedules": db.rows(
            "SELECT id, task_identifier, schedule_info::text, key FROM app_jobs.scheduled_jobs"
        ),
        "workers": db.rows("SELECT worker_id FROM app_jobs.workers ORDER BY 1"),
    }


def finish_after_upgrade(db: TestDatabase, running: list[int]) -> None:
    """The worker that held jobs before the upgrade completes them after it; the parked
    serial job then runs; the upgraded functions answer."""
    with db.connect() as conn:
        for job_id in running:
            done = conn.execute("SELECT id FROM app_jobs.complete_job('w1', %s)", [job_id])
            assert done.fetchall() == [(job_id,)]
        claimed = conn.execute(
            "SELECT task_identifier FROM app_jobs.get_job('w2', ARRAY['serial'])"
        ).fetchall()
        assert claimed == [("serial",)]
        assert conn.execute("SELECT app_jobs.schema_version()").fetchone() == (VERSION,)
        history = conn.execute(
            "SELECT id, status FROM app_jobs.job_history WHERE id = ANY(%s) ORDER BY id",
            [running],
        ).fetchall()
    assert history == [(job_id, "completed") for job_id in sorted(running)]


def test_pgjobs_deploy_upgrades_a_live_queue(
    database: TestDatabase, release: Tag, release_tree: Plan, sql_tree: Any
) -> None:
    sql_tree(release_tree.top_dir)
    assert deploy(database.dsn) == [c.id for c in PLAN.until(release)]
    running = fill_live_queue(database)
    before = live_state(database)
    assert {row[3] for row in before["jobs"]} == {"running", "ready", "blocked", "scheduled"}

    sql_tree(SQL_DIR)
    assert deploy(database.dsn) == new_ids(release)

    assert live_state(database) == before
    finish_after_upgrade(database, running)
    assert deploy(database.dsn) == []


def test_alter_extension_update_upgrades_a_live_queue(
    sharedir: str, database: TestDatabase, release: Tag
) -> None:
    with database.connect() as conn:
        conn.execute(f"CREATE EXTENSION pgjobs VERSION '{release.version}'")
    running = fill_live_queue(database)
    before = live_state(database)

    with database.connect() as conn:
        conn.execute("ALTER EXTENSION pgjobs UPDATE")

    assert database.scalar("SELECT extversion FROM pg_extension WHERE extname = 'pgjobs'") == (
        VERSION
    )
    assert live_state(database) == before
    finish_after_upgrade(database, running)


def test_a_worker_keeps_running_across_the_upgrade(
    database: TestDatabase, old_tree: Plan, sql_tree: Any
) -> None:
    """Rolling upgrade: the new package's worker starts on the old schema (no
    schema_version() there), holds a job while pgjobs deploy upgrades, then completes it and
    goes on with jobs enqueued after the upgrade."""
    sql_tree(old_tree.top_dir)
    deploy(database.dsn)
    with database.connect() as conn:
        assert conn.execute("SELECT to_regproc('app_jobs.schema_version')").fetchone() == (None,)
        held = conn.execute("SELECT id FROM app_jobs.add_job(NULL, 'slow')").fetchone()[0]  # type: ignore[index]
    sql_tree(SQL_DIR)
    app = App(database.dsn)

    async def scenario() -> tuple[Any, list[str]]:
        started, release, after = asyncio.Event(), asyncio.Event(), asyncio.Event()

        @app.task("slow")
        async def slow(payload: Any, ctx: JobContext) -> None:
            started.set()
            await release.wait()

        @app.task("after")
        async def after_upgrade(payload: Any, ctx: JobContext) -> None:
            after.set()

        worker = app.worker(concurrency=2, poll_interval=0.2)
        running = asyncio.create_task(worker.run())
        await asyncio.wait_for(started.wait(), GUARD)
        applied = await asyncio.to_thread(deploy, database.dsn)
        release.set()
        await asyncio.to_thread(database.scalar, "SELECT id FROM app_jobs.add_job(NULL, 'after')")
        await asyncio.wait_for(after.wait(), GUARD)
        worker.stop()
        return await asyncio.wait_for(running, GUARD), applied

    summary, applied = asyncio.run(scenario())

    assert applied == new_ids()
    assert (summary.claimed, summary.completed, summary.failed, summary.lost) == (2, 2, 0, 0)
    assert database.rows("SELECT id, status FROM app_jobs.job_history WHERE id = %s", [held]) == [
        (held, "completed")
    ]
    assert database.scalar("SELECT app_jobs.schema_version()") == VERSION


def test_a_worker_refuses_a_schema_newer_than_it_understands(database: TestDatabase) -> None:
    deploy(database.dsn)
    with database.connect() as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION app_jobs.schema_version() RETURNS text "
            "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp "
            "AS $$ SELECT '99.0.0'::text $$"
        )
        job = conn.execute("SELECT id FROM app_jobs.add_job(NULL, 'send_email')").fetchone()[0]  # type: ignore[index]
    app = App(database.dsn)

    @app.task("send_email")
    def send_email(payload: Any) -> None:
        raise AssertionError("a refused worker ran a job")

    with pytest.raises(SchemaVersionError) as refused:
        app.process_batch(batch_size=1)
    assert str(refused.value).startswith(
        "the app_jobs schema of this database is pgjobs 99.0.0, newer than this pgjobs package"
    )
    assert f"(schemas 0.1.0 to {VERSION})" in str(refused.value)
    assert database.rows("SELECT id, state, attempts FROM app_jobs.jobs") == [(job, "ready", 0)]

    # The command line says so too, and exits 1.
    result = run_pgjobs(
        "worker", "examples.app", "--once", "--dsn", database.url, env=_env_in_repo()
    )
    assert result.returncode == 1, result.stderr
    assert "the worker did not start: the app_jobs schema of this database is pgjobs 99.0.0" in (
        result.stderr
    )


def _env_in_repo() -> dict[str, str]:
    env = subprocess_env(PGJOBS_SQL_DIR=str(SQL_DIR))
    env["PYTHONPATH"] = f"{REPO}:{env['PYTHONPATH']}"  # examples.app
    return env


# --- pgjobs deploy --dry-run ----------------------------------------------------------------------


def test_dry_run_prints_the_sql_and_changes_nothing(database: TestDatabase, tmp_path: Path) -> None:
    result = run_pgjobs("deploy", "--dry-run", "--dsn", database.url)
    assert result.returncode == 0, result.stderr
    printed = result.stdout
    assert [
        line.split()[2] for line in printed.splitlines() if line.startswith("-- change pgjobs.")
    ] == [c.id for c in PLAN]
    assert "Nothing has been changed." in printed
    assert "all in ONE transaction" in printed
    # One BEGIN; before the first change and one COMMIT; after the last, as deploy runs them.
    lines = printed.splitlines()
    code = [line for line in lines if line and not line.startswith("--")]
    assert code[0] == "BEGIN;" and code[-1] == "COMMIT;"
    assert lines.count("BEGIN;") == 1 and lines.count("COMMIT;") == 1
    changes = [i for i, line in enumerate(lines) if line.startswith("-- change pgjobs.")]
    assert lines.index("BEGIN;") < changes[0] and changes[-1] < lines.index("COMMIT;")
    # Nothing changed: no schema, no bookkeeping.
    assert (
        database.scalar(
            "SELECT count(*) FROM pg_namespace WHERE nspname IN ('app_jobs', 'pgjobs_migrations')"
        )
        == 0
    )
    # What it printed is what deploy would run: psql builds the same schema from it.
    (tmp_path / "plan.sql").write_text(printed, encoding="utf-8")
    psql_file(database, tmp_path / "plan.sql", single_transaction=False)
    assert_matches_snapshot(database, "psql -f <the output of pgjobs deploy --dry-run>")


def test_dry_run_on_an_old_release_lists_only_the_upgrade(
    database: TestDatabase, old_tree: Plan, sql_tree: Any
) -> None:
    sql_tree(old_tree.top_dir)
    deploy(database.dsn)
    sql_tree(SQL_DIR)
    before = database.rows("SELECT migration_id FROM pgjobs_migrations._yoyo_migration")
    printed = dry_run(database.dsn)
    listed = [
        line.split()[2] for line in printed.splitlines() if line.startswith("-- change pgjobs.")
    ]
    assert listed == new_ids()
    assert database.rows("SELECT migration_id FROM pgjobs_migrations._yoyo_migration") == before
    deploy(database.dsn)
    assert "is up to date; nothing would run" in dry_run(database.dsn)


def test_dry_run_refuses_what_deploy_refuses(sharedir: str, database: TestDatabase) -> None:
    with database.connect() as conn:
        conn.execute("CREATE EXTENSION pgjobs")
    with pytest.raises(DeployError, match=r"pgjobs is installed as an extension \(version "):
        dry_run(database.dsn)


# --- pgjobs sql export ----------------------------------------------------------------------------


def test_exported_files_build_the_schema_and_upgrade_it(
    database: TestDatabase, tmp_path: Path
) -> None:
    out = tmp_path / "migrations"
    result = run_pgjobs("sql", "export", str(out))
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in out.glob("*.sql"))
    assert files == [e.name for e in export(tmp_path / "again")]
    assert len(files) == len(PLAN)
    assert sorted(p.name for p in (out / "revert").glob("*.sql")) == files
    listed = [line.split() for line in (out / INDEX).read_text().splitlines()[2:]]
    assert [(f, c) for _, f, _, c in listed] == list(zip(files, [c.id for c in PLAN], strict=True))
    reworked = [c for c in PLAN if c.instance > 1]
    assert reworked, "the plan has a rework"
    for change in reworked:
        assert files[change.index].endswith(f"_rework{change.instance - 1}.sql")
    text = (out / files[0]).read_text()
    assert "BEGIN;" not in text.splitlines() and "COMMIT;" not in text.splitlines()

    # A user's migration tool: the first release's files, then (an upgrade) the rest.
    first_release = [f for _, f, release, _ in listed if release == FIRST.version]
    assert len(first_release) == len(PLAN.until(FIRST))
    for name in first_release:
        psql_file(database, out / name)
    assert database.scalar("SELECT to_regproc('app_jobs.schema_version')") is None
    for name in files[len(first_release) :]:
        psql_file(database, out / name)
    assert_matches_snapshot(database, "psql -f on every file of pgjobs sql export")

    # The revert files, newest first, take everything away again.
    for name in reversed(files):
        psql_file(database, out / "revert" / name)
    assert database.scalar("SELECT to_regnamespace('app_jobs')") is None


def test_export_needs_no_database_and_says_what_failed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_pgjobs("sql", "export", str(blocker / "sub"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"pgjobs: error: cannot write into {blocker / 'sub'}")


# --- the 0.3.0 move of the serial-queue lock ------------------------------------------------------

HOLDS_Q = "SELECT queue_name, locked_by FROM app_jobs.job_queue_locks ORDER BY 1"


def hold_queue_q(db: TestDatabase) -> int:
    """Queue q held by w1 (its first job running), two jobs parked behind it; the running id."""
    with db.connect() as conn:
        conn.execute("SELECT app_jobs.heartbeat('w1', interval '1 hour')")
        for _ in range(3):
            conn.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name => 'q')")
        held = conn.execute("SELECT id FROM app_jobs.get_job('w1')").fetchone()
        assert held is not None
        conn.execute("SELECT id FROM app_jobs.get_job('w2')")  # parks the other two
    return int(held[0])


@pytest.mark.parametrize("how", ["pgjobs deploy", "ALTER EXTENSION"])
def test_a_release_committing_during_the_upgrade_is_not_lost(
    sharedir: str, database: TestDatabase, release: Tag, release_tree: Plan, sql_tree: Any, how: str
) -> None:
    """A worker of the old release completes its serial job while the upgrade starts: the
    upgrade waits for that commit, so the queue is not left locked by a lock copied before
    the release, and the next job of the queue runs."""
    if how == "pgjobs deploy":
        sql_tree(release_tree.top_dir)
        deploy(database.dsn)
        sql_tree(SQL_DIR)
    else:
        with database.connect() as conn:
            conn.execute(f"CREATE EXTENSION pgjobs VERSION '{release.version}'")
    # Only an upgrade that moves the lock into the table (from before 0.3.0) must wait for the
    # open release; from a later release nothing it changes touches what the release holds.
    moves_lock = (
        database.scalar("SELECT relkind FROM pg_class WHERE oid = 'app_jobs.job_queues'::regclass")
        != "v"
    )
    held = hold_queue_q(database)

    completer = database.connect()
    completer.autocommit = False
    completer.execute("SELECT app_jobs.complete_job('w1', %s)", [held])  # not committed yet
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            if how == "pgjobs deploy":
                deploy(database.dsn)
            else:
                with database.connect() as conn:
                    conn.execute("ALTER EXTENSION pgjobs UPDATE")
        except BaseException as exc:  # reported below
            errors.append(exc)

    upgrading = threading.Thread(target=upgrade)
    upgrading.start()
    try:
        blocked_pid = None
        limit = time.monotonic() + GUARD
        while moves_lock and blocked_pid is None and upgrading.is_alive():
            assert time.monotonic() < limit, "the upgrade never waited for the open release"
            blocked_pid = database.scalar(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() AND pid <> pg_backend_pid() LIMIT 1"
            )
            time.sleep(0.02)
        if moves_lock:
            assert blocked_pid is not None, "the upgrade did not wait for the release in flight"
        else:
            upgrading.join(GUARD)  # it need not wait: the release commits after it
    finally:
        completer.commit()
        completer.close()
        upgrading.join(GUARD)
    assert not upgrading.is_alive() and errors == []
    assert database.scalar("SELECT app_jobs.schema_version()") == VERSION

    assert database.rows(HOLDS_Q) == []  # w1's release was not undone by the upgrade
    nxt = database.rows("SELECT queue_name FROM app_jobs.get_job('w2')")
    assert nxt == [("q",)]
    assert database.rows(HOLDS_Q) == [("q", "w2")]


def test_the_upgrade_reconciles_locks_with_running_jobs_and_keeps_grants(
    database: TestDatabase, release: Tag, release_tree: Plan, sql_tree: Any
) -> None:
    """What a change-by-change (sqitch) upgrade may leave in the old lock table, repaired:
    a lock without its running job goes, a running job's queue gets its lock, a free queue
    with parked jobs is woken; a grant on the old table is kept on the view."""
    sql_tree(release_tree.top_dir)
    deploy(database.dsn)
    if (
        database.scalar("SELECT relkind FROM pg_class WHERE oid = 'app_jobs.job_queues'::regclass")
        == "v"
    ):
        pytest.skip(
            f"{release.version} has the lock table already (job_queues is a view):"
            " nothing to reconcile"
        )
    hold_queue_q(database)
    role = database.name + "_monitor"
    with database.connect() as conn:
        for _ in range(2):
            conn.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name => 'r')")
        conn.execute("SELECT id FROM app_jobs.get_job('w3', ARRAY['serial'])")  # r held by w3
        conn.execute("SELECT id FROM app_jobs.get_job('w4', ARRAY['serial'])")  # parks r's next
        for _ in range(2):
            conn.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name => 's')")
        # Locks out of step with the running jobs, as old-release claims and releases
        # committing between two sqitch changes could leave them: q's lock names a ghost while
        # w1 runs q's job, r's lock is gone while w3 runs r's job, and free queue s has only
        # parked jobs.
        conn.execute("UPDATE app_jobs.job_queues SET locked_by = 'ghost' WHERE queue_name = 'q'")
        conn.execute(
            "UPDATE app_jobs.job_queues SET locked_by = NULL, locked_at = NULL"
            " WHERE queue_name = 'r'"
        )
        conn.execute("UPDATE app_jobs.jobs SET state = 'blocked' WHERE queue_name = 's'")
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    try:
        with database.connect() as conn:
            conn.execute(
                sql.SQL("GRANT USAGE ON SCHEMA app_jobs TO {}").format(sql.Identifier(role))
            )
            conn.execute(
                sql.SQL("GRANT SELECT ON app_jobs.job_queues TO {}").format(sql.Identifier(role))
            )
        sql_tree(SQL_DIR)
        deploy(database.dsn)

        # q: its lock is w1's again (w1 runs q's job); r: w3 runs r's job, so w3 holds it.
        assert database.rows(HOLDS_Q) == [("q", "w1"), ("r", "w3")]
        with database.connect() as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            seen = conn.execute(
                "SELECT queue_name, job_count, locked_by FROM app_jobs.job_queues ORDER BY 1"
            ).fetchall()
        assert seen == [("q", 3, "w1"), ("r", 2, "w3"), ("s", 2, None)]
        # s is woken: the next claim runs one of its jobs.
        assert database.rows("SELECT queue_name FROM app_jobs.get_job('w5')") == [("s",)]
    finally:
        with database.connect() as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
