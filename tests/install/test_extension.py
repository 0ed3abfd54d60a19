"""``CREATE EXTENSION pgjobs``: the files ``make install`` puts into the server's sharedir.

Needs ``make install`` (or ``sudo make install``) against the test server's PostgreSQL; the
database tests skip when ``pgjobs.control`` is not in its sharedir. Each test makes its own
databases (``install_support.create_database``), so xdist workers never share one.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from install_support import REPO, SQL_DIR, TestDatabase

from pgjobs.install.deploy import DeployError, deploy
from pgjobs.sqltree.bundle import (
    GUARD,
    build,
    control_version,
    install_script_name,
    update_script_name,
)
from pgjobs.sqltree.plan import Change, load_plan

PG_BINDIR = Path(os.environ.get("PGJOBS_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
VERSION = control_version(REPO / "control")
TENANT = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(autouse=True)
def _real_sql_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process ``deploy`` reads the checkout's sql/."""
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(SQL_DIR))


def pg_binary(name: str) -> str:
    path = PG_BINDIR / name
    if not path.is_file():
        pytest.skip(f"{path} not found (set PGJOBS_PG_BINDIR to PostgreSQL 15's bin directory)")
    return str(path)


# --- the generated files -----------------------------------------------------------------------


def sections(script: str) -> list[str]:
    """The deploy script paths a generated extension script is made of, in order."""
    return re.findall(r"^-- pgjobs change \S+ \((\S+)\)$", script, re.MULTILINE)


def test_every_release_gets_an_install_script_and_each_step_an_update_script(
    tmp_path: Path,
) -> None:
    plan = load_plan(SQL_DIR)
    paths = build(tmp_path / "ext", top_dir=SQL_DIR, control=REPO / "control")
    releases = [tag.version for tag in plan.tags]
    steps = list(itertools.pairwise(releases))
    if plan.unreleased():
        # A release in preparation: its install script (the whole plan) and the update to it
        # from the newest tag come with the released ones.
        assert releases[-1] != VERSION
        preparing = [install_script_name(VERSION), update_script_name(releases[-1], VERSION)]
    else:
        assert releases[-1] == VERSION
        preparing = []
    assert sorted(p.name for p in paths) == sorted(
        [
            *(install_script_name(v) for v in releases),
            *(update_script_name(a, b) for a, b in steps),
            *preparing,
            "pgjobs.control",
        ]
    )
    assert paths[-1].name == "pgjobs.control"
    assert paths[-1].read_bytes() == (REPO / "control").read_bytes()
    texts = {p.name: p.read_text(encoding="utf-8") for p in paths[:-1]}
    for name, script in texts.items():
        guard = script.splitlines()[0]
        assert guard.startswith("\\echo Use ") and guard.endswith(" to load this file. \\quit")
        framing = [
            line for line in script.splitlines() if line.strip().upper() in {"BEGIN;", "COMMIT;"}
        ]
        assert framing == [], name
    assert texts[install_script_name(VERSION)].splitlines()[0] == GUARD

    def stems(changes: tuple[Change, ...]) -> list[str]:
        return [f"deploy/{c.file_stem}.sql" for c in changes]

    # Each release installs its changes as of its tag (a change reworked later runs its
    # tagged copy); each update script holds the changes between two tags, in plan order.
    for tag in plan.tags:
        assert sections(texts[install_script_name(tag.version)]) == stems(plan.until(tag))
    for old, new in zip(plan.tags, plan.tags[1:], strict=False):
        update = texts[update_script_name(old.version, new.version)]
        assert sections(update) == stems(plan.between(old, new))
    # The newest install script is every change instance of the plan.
    assert sections(texts[install_script_name(VERSION)]) == stems(plan.changes)


def test_installed_files_match_the_checkout(sharedir: str, database: TestDatabase) -> None:
    """The sharedir fixture compared the scripts; the control file is ours too."""
    control = database.scalar(
        "SELECT pg_catalog.pg_read_file(%s)", [f"{sharedir}/extension/pgjobs.control"]
    )
    assert control == (REPO / "control").read_text(encoding="utf-8")
    default = database.scalar(
        "SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = 'pgjobs'"
    )
    assert default == VERSION


# --- CREATE / DROP EXTENSION -------------------------------------------------------------------


def test_create_extension_round_trip(ext_db: TestDatabase) -> None:
    assert ext_db.scalar("SELECT extversion FROM pg_extension WHERE extname = 'pgjobs'") == VERSION
    with ext_db.connect() as conn:
        job_id = conn.execute(
            "SELECT id FROM app_jobs.add_job(NULL, 'send_email', '{\"to\": \"a@b.c\"}')"
        ).fetchone()[0]  # type: ignore[index]
        claimed = conn.execute("SELECT id, attempts FROM app_jobs.get_job('w1')").fetchall()
        assert claimed == [(job_id, 1)]
        done = conn.execute("SELECT id FROM app_jobs.complete_job('w1', %s)", [job_id]).fetchall()
        assert done == [(job_id,)]
        assert conn.execute("SELECT count(*) FROM app_jobs.jobs").fetchone() == (0,)
        history = conn.execute(
            "SELECT id, task_identifier, status, payload::text FROM app_jobs.job_history"
        ).fetchall()
    assert history == [(job_id, "send_email", "completed", '{"to": "a@b.c"}')]


def app_jobs_objects(db: TestDatabase) -> list[tuple[Any, ...]]:
    """Every schema, relation, function and type named app_jobs or living in it."""
    return db.rows(
        """
        WITH n AS (SELECT oid FROM pg_namespace WHERE nspname = 'app_jobs')
        SELECT 'schema', 'app_jobs' FROM n
        UNION ALL SELECT 'class', oid::regclass::text FROM pg_class
          WHERE relnamespace IN (SELECT oid FROM n)
        UNION ALL SELECT 'function', oid::regprocedure::text FROM pg_proc
          WHERE pronamespace IN (SELECT oid FROM n)
        UNION ALL SELECT 'type', oid::regtype::text FROM pg_type
          WHERE typnamespace IN (SELECT oid FROM n)
        UNION ALL SELECT 'class', relname FROM pg_class WHERE relname LIKE 'job_history%'
        """,
    )


def test_drop_extension_removes_everything(ext_db: TestDatabase) -> None:
    with ext_db.connect() as conn:
        conn.execute("SELECT app_jobs.add_job(NULL, 'a')")
        conn.execute(
            "SELECT app_jobs.add_scheduled_job(NULL, 's', schedule_info => %s)", ['{"minute": [0]}']
        )
        # Partitions (made after the install, by maintenance) are not extension members;
        # the parent's drop takes them along all the same.
        assert conn.execute("SELECT app_jobs.create_history_partitions(10)").fetchone() == (11,)
    assert len(app_jobs_objects(ext_db)) > 50
    with ext_db.connect() as conn:
        conn.execute("DROP EXTENSION pgjobs")
    assert app_jobs_objects(ext_db) == []
    assert ext_db.scalar("SELECT count(*) FROM pg_extension WHERE extname = 'pgjobs'") == 0


def test_pgjobs_deploy_refuses_an_extension_install(ext_db: TestDatabase) -> None:
    with pytest.raises(DeployError, match=r"pgjobs is installed as an extension \(version "):
        deploy(ext_db.dsn)
    assert ext_db.scalar("SELECT to_regnamespace('pgjobs_migrations') IS NULL")


def test_create_extension_refuses_a_deployed_schema(sharedir: str, database: TestDatabase) -> None:
    deploy(database.dsn)
    with database.connect() as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("CREATE EXTENSION pgjobs")
    # The schema change's first statement names the installer and says what to do.
    assert caught.value.sqlstate == "PJ501"
    assert caught.value.diag.message_primary == (
        "CREATE EXTENSION pgjobs: schema app_jobs already exists, installed by pgjobs deploy "
        "(its record is in schema pgjobs_migrations)"
    )
    assert "Keep upgrading it with pgjobs deploy" in str(caught.value.diag.message_hint)
    assert database.scalar("SELECT count(*) FROM pg_extension WHERE extname = 'pgjobs'") == 0
    assert database.scalar("SELECT count(*) FROM pgjobs_migrations._yoyo_migration") == len(
        load_plan(SQL_DIR)
    )


@pytest.mark.pg15only
@pytest.mark.skipif(shutil.which("sqitch") is None, reason="sqitch is not installed")
def test_create_extension_refuses_a_sqitch_install(sharedir: str, database: TestDatabase) -> None:
    subprocess.run(
        ["sqitch", "deploy", database.sqitch_target],
        cwd=SQL_DIR,
        check=True,
        capture_output=True,
        timeout=300,
    )
    with database.connect() as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("CREATE EXTENSION pgjobs VERSION '0.1.0'")
    assert caught.value.sqlstate == "PJ501"
    assert "installed by sqitch (its record is in sqitch.changes)" in str(caught.value)


# --- pg_dump / pg_restore ----------------------------------------------------------------------


def dump_and_restore(
    source: TestDatabase,
    make_database: Callable[[], TestDatabase],
    tmp_path: Path,
    *,
    disable_triggers: bool,
) -> tuple[TestDatabase, int, str]:
    """pg_dump -Fc ``source``, pg_restore it into a new database; (database, rc, stderr).

    ``disable_triggers``: restore in three steps, the data with --disable-triggers, so the
    extension's triggers on app_jobs.jobs (created by CREATE EXTENSION, before the data) do
    not fire on the restored rows. Otherwise one plain pg_restore. Errors do not stop it.
    """
    dump = tmp_path / "pgjobs.dump"
    subprocess.run(
        [pg_binary("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={source.dsn}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    target = make_database()
    steps = (
        [["--section=pre-data"], ["--data-only", "--disable-triggers"], ["--section=post-data"]]
        if disable_triggers
        else [[]]
    )
    returncode, stderr = 0, ""
    for options in steps:
        restored = subprocess.run(
            [pg_binary("pg_restore"), *options, f"--dbname={target.dsn}", str(dump)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        returncode = returncode or restored.returncode
        stderr += restored.stderr
    return target, returncode, stderr


def queue_state(db: TestDatabase) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "jobs": db.rows(
            "SELECT id, task_identifier, payload::text, state, attempts, locked_by, key "
            "FROM app_jobs.jobs ORDER BY id",
        ),
        "scheduled_jobs": db.rows(
            "SELECT id, task_identifier, schedule_info::text, key "
            "FROM app_jobs.scheduled_jobs ORDER BY id",
        ),
        "job_history": db.rows(
            "SELECT id, task_identifier, status, finished_at, tableoid::regclass::text "
            "FROM app_jobs.job_history ORDER BY id",
        ),
        "job_queues": db.rows(
            "SELECT queue_name, job_count, locked_by, locked_at FROM app_jobs.job_queues "
            "ORDER BY 1",
        ),
        "job_queue_locks": db.rows(
            "SELECT queue_name, locked_by, locked_at FROM app_jobs.job_queue_locks ORDER BY 1"
        ),
    }


def fill_queue(db: TestDatabase) -> int:
    """Waiting, running, serial-queue, scheduled and finished jobs; returns the largest job id."""
    with db.connect() as conn:
        for n in range(5):
            conn.execute(
                "SELECT app_jobs.add_job(NULL, 'task', %s, job_key => %s)",
                [f'{{"n": {n}}}', f"k{n}"],
            )
        conn.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name => 'q1')")
        done = conn.execute("SELECT id FROM app_jobs.get_job('w1')").fetchone()
        conn.execute("SELECT app_jobs.complete_job('w1', %s)", [done[0]])  # type: ignore[index]
        conn.execute("SELECT app_jobs.get_job('w2')")  # one running job
        # A held serial queue: one job running under the queue lock, one parked behind it.
        conn.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name => 'q1')")
        conn.execute("SELECT app_jobs.get_job('w3', ARRAY['serial'])")
        conn.execute(
            "SELECT app_jobs.add_scheduled_job(NULL, 'nightly', schedule_info => %s, "
            "job_key => 'nightly')",
            ['{"hour": [2], "minute": [0]}'],
        )
        # Burn ids: the sequence is ahead of the largest id still in a table.
        failed = conn.execute("SELECT id FROM app_jobs.add_job(NULL, 'gone')").fetchone()
        conn.execute("SELECT app_jobs.permanently_fail_jobs(ARRAY[%s]::bigint[])", [failed[0]])  # type: ignore[index]
        conn.execute("SELECT app_jobs.add_job(NULL, 'x') FROM generate_series(1, 3)")
        conn.execute("DELETE FROM app_jobs.jobs WHERE task_identifier = 'x'")
        return int(conn.execute("SELECT last_value FROM app_jobs.jobs_id_seq").fetchone()[0])  # type: ignore[index]


def test_dump_restore_keeps_jobs(
    ext_db: TestDatabase, make_database: Callable[[], TestDatabase], tmp_path: Path
) -> None:
    """pre-data, data with --disable-triggers, post-data: an exact copy of the queue."""
    last_id = fill_queue(ext_db)
    before = queue_state(ext_db)
    assert before["job_history"] and before["scheduled_jobs"] and before["job_queues"]
    assert before["job_queue_locks"] == [("q1", "w3", before["job_queue_locks"][0][2])]
    assert {row[3] for row in before["jobs"]} >= {"ready", "running", "blocked"}

    restored, returncode, stderr = dump_and_restore(
        ext_db, make_database, tmp_path, disable_triggers=True
    )

    assert returncode == 0, stderr
    assert queue_state(restored) == before
    assert (
        restored.scalar("SELECT extversion FROM pg_extension WHERE extname = 'pgjobs'") == VERSION
    )
    # The identity sequences come back at their position, not at the largest id left.
    new_id = restored.scalar("SELECT id FROM app_jobs.add_job(NULL, 'after_restore')")
    assert new_id > last_id
    new_schedule = restored.scalar(
        "SELECT id FROM app_jobs.add_scheduled_job(NULL, 'again', "
        "schedule_info => '{\"minute\": [5]}')"
    )
    assert new_schedule > max(row[0] for row in before["scheduled_jobs"])


def test_a_plain_pg_restore_is_exact_and_the_queue_goes_on(
    ext_db: TestDatabase, make_database: Callable[[], TestDatabase], tmp_path: Path
) -> None:
    """A one-step pg_restore (the extension's triggers fire as the jobs are loaded) gives the
    same queue: job_count is counted from the jobs, never stored, so nothing is counted
    twice; the serial-queue lock comes back with its running job; the queue then goes on."""
    fill_queue(ext_db)
    before = queue_state(ext_db)

    restored, returncode, stderr = dump_and_restore(
        ext_db, make_database, tmp_path, disable_triggers=False
    )

    assert returncode == 0, stderr
    assert queue_state(restored) == before
    with restored.connect() as conn:
        held = conn.execute("SELECT id FROM app_jobs.jobs WHERE locked_by = 'w3'").fetchone()
        assert held is not None
        waiting = conn.execute("SELECT id FROM app_jobs.get_job('w4', ARRAY['serial'])")
        assert waiting.fetchone() is None  # the restored lock still holds the queue
        conn.execute("SELECT app_jobs.complete_job('w3', %s)", [held[0]])
        nxt = conn.execute(
            "SELECT queue_name FROM app_jobs.get_job('w4', ARRAY['serial'])"
        ).fetchone()
        assert nxt == ("q1",)
        queues = conn.execute(
            "SELECT queue_name, job_count, locked_by FROM app_jobs.job_queues"
        ).fetchall()
        assert queues == [("q1", 1, "w4")]


def test_dump_restore_with_partitions_made_after_install(
    ext_db: TestDatabase, make_database: Callable[[], TestDatabase], tmp_path: Path
) -> None:
    """Day partitions are made by maintenance, after CREATE EXTENSION: ordinary tables to
    pg_dump, restored (table, ATTACH, their own primary key) next to the parent the restored
    CREATE EXTENSION makes. No install script makes one, so a restore on another day finds
    nothing in the way either; and the parent has no key, so no key is made twice."""
    with ext_db.connect() as conn:
        assert conn.execute("SELECT app_jobs.create_history_partitions(10)").fetchone() == (11,)
    fill_queue(ext_db)
    before = queue_state(ext_db)
    assert any("_p" in row[4] for row in before["job_history"])  # in a day partition
    partitions = (
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid),"
        " (SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k"
        "   WHERE k.conrelid = c.oid AND k.contype = 'p')"
        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'app_jobs.job_history'::regclass ORDER BY 1"
    )
    layout = ext_db.rows(partitions)
    assert len(layout) == 12

    restored, returncode, stderr = dump_and_restore(
        ext_db, make_database, tmp_path, disable_triggers=True
    )

    assert returncode == 0, stderr
    assert queue_state(restored) == before
    assert restored.rows(partitions) == layout
    with restored.connect() as conn:  # maintenance goes on where it left off
        assert conn.execute("SELECT app_jobs.create_history_partitions(10)").fetchone() == (0,)


def test_status_of_an_extension_install(ext_db: TestDatabase) -> None:
    """pgjobs status knows an extension install: its release and its queues, no deploy record."""
    from install_support import run_pgjobs

    with ext_db.connect() as conn:
        conn.execute("SELECT app_jobs.add_job(NULL, 'resize', '{}')")
    done = run_pgjobs("status", "--dsn", ext_db.dsn)
    assert done.returncode == 0, done.stderr
    assert "schema app_jobs: installed by CREATE EXTENSION pgjobs" in done.stdout
    assert f"release: {VERSION} (app_jobs.schema_version())" in done.stdout
    assert re.search(r"^  resize\s+-\s+1\s+0\s+0\s+0\b", done.stdout, re.M), done.stdout
