"""The committed schema snapshot (tests/snapshots/schema.txt) is what every install path
builds: ``pgjobs deploy`` (yoyo), ``sqitch deploy``, ``CREATE EXTENSION pgjobs``, and the
upgrades from the first release: ``CREATE EXTENSION pgjobs VERSION '<first>'`` then ``ALTER
EXTENSION pgjobs UPDATE``, ``pgjobs deploy`` of the first release's tree then of today's, and
``sqitch deploy --to @<first tag>`` then ``sqitch deploy``. (Exported files applied with psql
and the SQL ``pgjobs deploy --dry-run`` prints: tests/install/test_upgrade.py.)

What the snapshot compares, and how it is normalised: see schema_snapshot.py.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
from pathlib import Path

import pytest
from install_support import SQL_DIR, TestDatabase, assert_matches_snapshot
from psycopg import sql
from schema_snapshot import render_dsn

from pgjobs.install.deploy import deploy
from pgjobs.sqltree.plan import load_plan, write_tree


@pytest.fixture(autouse=True)
def _real_sql_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process ``deploy`` reads the checkout's sql/."""
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(SQL_DIR))


def test_pgjobs_deploy_matches_the_snapshot(database: TestDatabase) -> None:
    deploy(database.dsn)
    assert_matches_snapshot(database, "pgjobs deploy")


@pytest.mark.pg15only
@pytest.mark.skipif(shutil.which("sqitch") is None, reason="sqitch is not installed")
def test_sqitch_deploy_matches_the_snapshot(database: TestDatabase) -> None:
    subprocess.run(
        ["sqitch", "deploy", database.sqitch_target],
        cwd=SQL_DIR,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert_matches_snapshot(database, "sqitch deploy")


def test_create_extension_matches_the_snapshot(ext_db: TestDatabase) -> None:
    assert_matches_snapshot(ext_db, "CREATE EXTENSION pgjobs")


FIRST = load_plan(SQL_DIR).tags[0]


def test_extension_update_from_the_first_release_matches_the_snapshot(
    sharedir: str, database: TestDatabase
) -> None:
    with database.connect() as conn:
        conn.execute(f"CREATE EXTENSION pgjobs VERSION '{FIRST.version}'")
        conn.execute("ALTER EXTENSION pgjobs UPDATE")
    assert_matches_snapshot(
        database, f"CREATE EXTENSION pgjobs VERSION '{FIRST.version}'; ALTER EXTENSION UPDATE"
    )


def test_pgjobs_deploy_upgrade_from_the_first_release_matches_the_snapshot(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = write_tree(load_plan(SQL_DIR), tmp_path / "sql", until=FIRST.name)
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(old.top_dir))
    deploy(database.dsn)
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(SQL_DIR))
    assert deploy(database.dsn)  # something was upgraded
    assert_matches_snapshot(database, f"pgjobs deploy of {FIRST.name}, then pgjobs deploy")


@pytest.mark.pg15only
@pytest.mark.skipif(shutil.which("sqitch") is None, reason="sqitch is not installed")
def test_sqitch_upgrade_from_the_first_release_matches_the_snapshot(
    database: TestDatabase,
) -> None:
    for args in (["--to", f"@{FIRST.name}"], []):
        subprocess.run(
            ["sqitch", "deploy", *args, database.sqitch_target],
            cwd=SQL_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
    assert_matches_snapshot(database, f"sqitch deploy --to @{FIRST.name}, then sqitch deploy")


_CHOWN_APP_JOBS = """
DO $$
DECLARE r record;
BEGIN
  EXECUTE format('ALTER SCHEMA app_jobs OWNER TO %I', {role});
  FOR r IN SELECT oid::regclass AS name FROM pg_class
           WHERE relnamespace = 'app_jobs'::regnamespace AND relkind IN ('r', 'p') LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO %I', r.name, {role});
  END LOOP;
  FOR r IN SELECT oid::regprocedure AS name FROM pg_proc
           WHERE pronamespace = 'app_jobs'::regnamespace LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO %I', r.name, {role});
  END LOOP;
  EXECUTE format('ALTER TYPE app_jobs.job_spec OWNER TO %I', {role});
END
$$;
{repolice}"""

# After an ownership change, the owner's row-level-security policy is made again for the new
# owner (docs/operations.md, "Direct reads: row level security").
_REPOLICE = """
SELECT count(app_jobs._police_table(p.polrelid::regclass))
  FROM pg_policy AS p WHERE p.polname = 'pgjobs_owner'"""


def test_snapshot_ignores_day_and_owner_but_not_grants_or_comments(
    database: TestDatabase,
) -> None:
    """What the normalisation hides (the day, the owner) and what it must not hide."""
    deploy(database.dsn)
    before = render_dsn(database.dsn)
    role = database.name + "_owner"
    with database.connect() as conn:
        assert conn.execute("SELECT app_jobs.create_history_partitions(10)").fetchone() != (0,)
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        try:
            conn.execute(
                sql.SQL(_CHOWN_APP_JOBS).format(role=sql.Literal(role), repolice=sql.SQL(_REPOLICE))
            )
            assert render_dsn(database.dsn) == before
        finally:
            conn.execute(
                sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(role))
            )
            conn.execute(_REPOLICE)
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

        conn.execute("GRANT EXECUTE ON FUNCTION app_jobs.heartbeat(text, interval, uuid) TO PUBLIC")
        conn.execute("COMMENT ON COLUMN app_jobs.jobs.key IS 'changed'")
    after = render_dsn(database.dsn)
    changed = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert any(line.startswith("+  acl: PUBLIC: EXECUTE") for line in changed), changed
    assert "+    comment: changed" in changed, changed
