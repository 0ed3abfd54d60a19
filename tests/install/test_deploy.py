"""``pgjobs deploy`` / ``revert`` / ``verify`` against real PostgreSQL databases."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from install_support import (
    SQL_DIR,
    TestDatabase,
    run_pgjobs,
    subprocess_env,
    write_answer_tree,
    write_scripts,
)
from schema_snapshot import render_dsn

from pgjobs import config
from pgjobs.install.deploy import DeployError, deploy, revert, status, verify
from pgjobs.sqltree.plan import load_plan, write_tree

PLAN = load_plan(SQL_DIR)
PLAN_IDS = [change.id for change in PLAN]
GUARD = 60.0  # seconds before a wait counts as "never happened"; nothing asserts speed


@pytest.fixture(autouse=True)
def _real_sql_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process calls read the checkout's sql/ unless a test points elsewhere."""
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(SQL_DIR))


def schema_exists(db: TestDatabase, schema: str) -> bool:
    return bool(db.scalar("SELECT pg_catalog.to_regnamespace(%s) IS NOT NULL", [schema]))


def yoyo_count(db: TestDatabase, where: str = "true") -> int:
    return int(db.scalar(f"SELECT count(*) FROM pgjobs_migrations._yoyo_migration WHERE {where}"))


def yoyo_records(db: TestDatabase) -> tuple[list[str], list[tuple[str, str]], int]:
    """yoyo's whole record: applied ids, (operation, id) of every log row, lock rows."""
    with db.connect() as conn:
        applied = conn.execute(
            "SELECT migration_id FROM pgjobs_migrations._yoyo_migration ORDER BY 1"
        ).fetchall()
        logged = conn.execute(
            "SELECT operation, migration_id FROM pgjobs_migrations._yoyo_log ORDER BY 1, 2"
        ).fetchall()
        locks = conn.execute("SELECT count(*) FROM pgjobs_migrations.yoyo_lock").fetchone()
    return [row[0] for row in applied], [(row[0], row[1]) for row in logged], int(locks[0])  # type: ignore[index]


def with_extra_change(source: Path, dest: Path, name: str, deploy_sql: str) -> Path:
    """A copy of the SQL tree ``source`` with one more change, ``name [schema]``, at its end."""
    shutil.copytree(source, dest)
    plan = dest / "sqitch.plan"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(
        text.rstrip("\n") + f"\n{name} [schema] 2026-12-31T00:00:00Z T <t@example.com> # Test.\n",
        encoding="utf-8",
    )
    write_scripts(dest, name, deploy=deploy_sql, revert="SELECT 1;", verify="SELECT 1;")
    return dest


# --- the real tree ---------------------------------------------------------------------------


def test_deploy_verify_revert_deploy(database: TestDatabase) -> None:
    assert status(database.dsn) == [(change_id, False) for change_id in PLAN_IDS]

    assert deploy(database.dsn) == PLAN_IDS
    verify(database.dsn)
    assert schema_exists(database, "app_jobs")
    assert status(database.dsn) == [(change_id, True) for change_id in PLAN_IDS]
    # yoyo stores sha256(id): the ids are the contract with already-deployed databases.
    assert yoyo_count(database) == len(PLAN_IDS)
    hashes = {hashlib.sha256(i.encode()).hexdigest() for i in PLAN_IDS}
    with database.connect() as conn:
        rows = conn.execute("SELECT migration_hash FROM pgjobs_migrations._yoyo_migration")
        assert {row[0] for row in rows} == hashes

    assert deploy(database.dsn) == []  # already current: a no-op

    assert revert(database.dsn) == list(reversed(PLAN_IDS))
    assert not schema_exists(database, "app_jobs")
    assert yoyo_count(database) == 0
    assert database.scalar("SELECT pg_catalog.to_regclass('pgjobs_migrations._yoyo_log')")
    assert revert(database.dsn) == []

    assert deploy(database.dsn, verify=False) == PLAN_IDS
    verify(database.dsn)


def test_concurrent_deploys_apply_one_set(database: TestDatabase) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "pgjobs", "deploy", "--dsn", database.dsn],
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    applied_lines = [
        line for out, _ in outputs for line in out.splitlines() if line.startswith("applied ")
    ]
    assert sorted(applied_lines) == sorted(f"applied {i}" for i in PLAN_IDS)
    assert yoyo_count(database) == len(PLAN_IDS)
    applies = database.scalar(
        "SELECT count(*) FROM pgjobs_migrations._yoyo_log WHERE operation = 'apply'"
    )
    assert applies == len(PLAN_IDS)
    verify(database.dsn)


def test_revert_refuses_while_user_triggers_use_app_jobs(database: TestDatabase) -> None:
    deploy(database.dsn)
    with database.connect() as conn:
        conn.execute("CREATE TABLE public.things (id integer PRIMARY KEY)")
        conn.execute(
            "CREATE TRIGGER things_enqueue AFTER INSERT ON public.things FOR EACH ROW "
            "EXECUTE FUNCTION app_jobs.tg_add_job_with_row_id('process_thing')"
        )
        conn.execute('CREATE SCHEMA "Shop"')
        conn.execute('CREATE TABLE "Shop"."Order Lines" (id integer PRIMARY KEY)')
        conn.execute(
            'CREATE TRIGGER "Enqueue Line" AFTER INSERT ON "Shop"."Order Lines" FOR EACH ROW '
            "EXECUTE FUNCTION app_jobs.tg_add_job_with_row_id('process_line')"
        )

    with pytest.raises(DeployError) as refused:
        revert(database.dsn)
    message = str(refused.value)
    assert "public.things: things_enqueue" in message
    assert "Shop.Order Lines: Enqueue Line" in message
    assert "--drop-triggers" in message
    assert schema_exists(database, "app_jobs")
    assert all(applied for _, applied in status(database.dsn))

    cli = run_pgjobs("revert", "--dsn", database.dsn)
    assert cli.returncode == 1
    assert "public.things: things_enqueue" in cli.stderr

    assert revert(database.dsn, drop_triggers=True) == list(reversed(PLAN_IDS))
    assert not schema_exists(database, "app_jobs")
    assert database.scalar("SELECT count(*) FROM pg_catalog.pg_trigger WHERE NOT tgisinternal") == 0
    assert database.scalar('SELECT pg_catalog.to_regclass(\'"Shop"."Order Lines"\')')


@pytest.mark.pg15only
@pytest.mark.skipif(shutil.which("sqitch") is None, reason="sqitch is not installed")
def test_refuses_a_database_deployed_by_sqitch(database: TestDatabase) -> None:
    def sqitch(*args: str) -> None:
        subprocess.run(
            ["sqitch", *args, database.sqitch_target],
            cwd=SQL_DIR,
            check=True,
            capture_output=True,
            timeout=120,
        )

    sqitch("deploy", "--to", "schema")
    with pytest.raises(DeployError, match="deployed by sqitch"):
        deploy(database.dsn)
    with pytest.raises(DeployError, match="deployed by sqitch"):
        revert(database.dsn)
    assert not schema_exists(database, "pgjobs_migrations")  # refused before touching anything

    sqitch("revert", "-y")
    assert deploy(database.dsn) == PLAN_IDS


def test_verify_detects_a_dropped_function(database: TestDatabase) -> None:
    deploy(database.dsn)
    with database.connect() as conn:
        signatures = conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p "
            "WHERE p.pronamespace = 'app_jobs'::regnamespace AND p.proname = 'get_job'"
        ).fetchall()
        assert signatures
        for (signature,) in signatures:
            conn.execute(f"DROP FUNCTION {signature}")

    with pytest.raises(
        DeployError, match=r"pgjobs\.functions\.get_job(~\d+)? \(verify/functions/get_job"
    ):
        verify(database.dsn)
    cli = run_pgjobs("verify", "--dsn", database.dsn)
    assert cli.returncode == 1
    assert "pgjobs.functions.get_job" in cli.stderr
    assert "verify failed for 1 change(s)" in cli.stderr
    assert cli.stdout == ""


# --- machinery, on a tiny fixture tree (independent of the real SQL) -------------------------


def test_repeated_deploys_in_one_process_and_a_rework(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = "SELECT app_jobs.answer()"
    v1 = write_answer_tree(tmp_path / "v1", version=1)
    v2 = write_answer_tree(tmp_path / "v2", version=2)

    monkeypatch.setenv("PGJOBS_SQL_DIR", str(v1))
    assert deploy(database.dsn) == ["pgjobs.schema", "pgjobs.functions.answer"]
    assert database.scalar(answer) == 1
    assert deploy(database.dsn) == []

    monkeypatch.setenv("PGJOBS_SQL_DIR", str(v2))
    assert deploy(database.dsn) == ["pgjobs.functions.answer~2"]
    assert database.scalar(answer) == 2
    verify(database.dsn)  # the reworked instance's verify (answer() = 1) is skipped, as sqitch

    monkeypatch.setenv("PGJOBS_SQL_DIR", str(v1))
    with pytest.raises(DeployError, match=r"pgjobs\.functions\.answer~2.*newer pgjobs"):
        deploy(database.dsn)
    with pytest.raises(DeployError, match="does not know"):
        revert(database.dsn)

    monkeypatch.setenv("PGJOBS_SQL_DIR", str(v2))
    assert revert(database.dsn) == [
        "pgjobs.functions.answer~2",
        "pgjobs.functions.answer",
        "pgjobs.schema",
    ]
    assert not schema_exists(database, "app_jobs")
    for _ in range(2):  # and again, in the same process
        assert deploy(database.dsn) == [
            "pgjobs.schema",
            "pgjobs.functions.answer",
            "pgjobs.functions.answer~2",
        ]
        assert revert(database.dsn)[0] == "pgjobs.functions.answer~2"


def test_a_failing_change_rolls_back_the_whole_deploy(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The changes before the failing one, applied in the same deploy, are undone with it:
    their objects and yoyo's records of them. A good deploy then applies everything."""
    top = write_answer_tree(tmp_path / "tree", version=1)
    with (top / "sqitch.plan").open("a", encoding="utf-8") as plan:
        plan.write("tables/broken [schema] 2026-01-02T00:00:00Z T <t@example.com> # Broken.\n")
    write_scripts(
        top,
        "tables/broken",
        deploy="CREATE TABLE app_jobs.half (id integer);\nCREATE TABLE app_jobs.oops (id nope);",
        revert="DROP TABLE app_jobs.half;",
        verify="SELECT 1;",
    )
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(top))

    with pytest.raises(DeployError) as failed:
        deploy(database.dsn)
    message = str(failed.value)
    assert "applying pgjobs.tables.broken (deploy/tables/broken.sql) failed" in message
    assert 'type "nope" does not exist' in message
    assert "at line 6" in message  # the line in the file, frame included
    assert (
        "Nothing of this deploy was applied: it runs its 3 pending changes in one transaction, "
        "which was rolled back (with pgjobs.schema, pgjobs.functions.answer, which had run "
        "before it), so app_jobs is as it was before the deploy and none of them is recorded "
        "as applied." in message
    )
    # Neither the objects of the earlier changes nor yoyo's records of them.
    assert not schema_exists(database, "app_jobs")
    assert database.scalar("SELECT pg_catalog.to_regprocedure('app_jobs.answer()')") is None
    assert yoyo_records(database) == ([], [], 0)
    assert status(database.dsn) == [
        ("pgjobs.schema", False),
        ("pgjobs.functions.answer", False),
        ("pgjobs.tables.broken", False),
    ]
    cli = run_pgjobs("deploy", "--dsn", database.dsn, env=subprocess_env(PGJOBS_SQL_DIR=str(top)))
    assert cli.returncode == 1
    assert "Nothing of this deploy was applied" in cli.stderr
    assert "applied " not in cli.stdout

    write_scripts(
        top,
        "tables/broken",
        deploy="CREATE TABLE app_jobs.half (id integer);",
        revert="DROP TABLE app_jobs.half;",
        verify="SELECT id FROM app_jobs.half WHERE false;",
    )
    assert deploy(database.dsn) == [
        "pgjobs.schema",
        "pgjobs.functions.answer",
        "pgjobs.tables.broken",
    ]
    assert database.scalar("SELECT app_jobs.answer()") == 1
    assert database.scalar("SELECT pg_catalog.to_regclass('app_jobs.half') IS NOT NULL")
    applied, logged, locks = yoyo_records(database)
    assert applied == ["pgjobs.functions.answer", "pgjobs.schema", "pgjobs.tables.broken"]
    assert [operation for operation, _ in logged] == ["apply"] * 3
    assert locks == 0


def test_a_failing_upgrade_changes_nothing(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at the first release, upgraded with the real plan plus a failing last change:
    none of the release's changes is applied (same catalog, same records), then the real
    upgrade applies them all."""
    first = PLAN.tags[0]
    upgrade_ids = [change.id for change in PLAN.between(first, None)]
    assert upgrade_ids
    old = write_tree(PLAN, tmp_path / "old", until=first.name)
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(old.top_dir))
    deploy(database.dsn)
    catalog = render_dsn(database.dsn)
    records = yoyo_records(database)

    broken = with_extra_change(
        SQL_DIR,
        tmp_path / "broken",
        "tests/broken",
        "CREATE TABLE app_jobs.half (id integer);\nSELECT 1 / 0;",
    )
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(broken))
    with pytest.raises(DeployError) as failed:
        deploy(database.dsn)
    message = str(failed.value)
    assert "applying pgjobs.tests.broken (deploy/tests/broken.sql) failed" in message
    assert "division by zero" in message
    assert f"it runs its {len(upgrade_ids) + 1} pending changes in one transaction" in message
    assert f"(with {', '.join(upgrade_ids)}, which had run before it)" in message
    assert render_dsn(database.dsn) == catalog
    assert yoyo_records(database) == records
    # 0.2.0 added schema_version(): still absent, the database is at the first release.
    assert database.scalar("SELECT pg_catalog.to_regprocedure('app_jobs.schema_version()')") is None

    monkeypatch.setenv("PGJOBS_SQL_DIR", str(SQL_DIR))
    assert deploy(database.dsn) == upgrade_ids
    assert status(database.dsn) == [(change_id, True) for change_id in PLAN_IDS]


def test_a_deploy_in_progress_is_invisible_to_other_sessions(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the last change of a deploy waits on an advisory lock the test holds, every
    earlier change has run in the deploy's transaction (the waiting change checks), yet
    another session sees none of them; once the lock is released it sees them all."""
    key = 424242
    tree = with_extra_change(
        SQL_DIR,
        tmp_path / "sql",
        "tests/wait",
        # Inside the deploy's transaction the earlier changes are there ...
        "SELECT 1 / (pg_catalog.to_regprocedure('app_jobs.schema_version()') IS NOT NULL)::int;\n"
        f"SELECT pg_catalog.pg_advisory_xact_lock({key});",
    )
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(tree))
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["applied"] = deploy(database.dsn)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    with database.connect() as holder, database.connect() as observer:
        holder.execute("SELECT pg_catalog.pg_advisory_lock(%s)", [key])
        deployer = threading.Thread(target=run, daemon=True)
        deployer.start()
        try:
            deadline = time.monotonic() + GUARD
            waiting = (
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_catalog.pg_database "
                "WHERE datname = pg_catalog.current_database()) AND objid = %s AND NOT granted)"
            )
            while not observer.execute(waiting, [key]).fetchone()[0]:  # type: ignore[index]
                assert deployer.is_alive(), f"deploy ended before the waiting change: {outcome}"
                assert time.monotonic() < deadline, "deploy never reached the waiting change"
                time.sleep(0.05)

            # ... and outside it, none of them is.
            seen = observer.execute(
                "SELECT pg_catalog.to_regnamespace('app_jobs'), "
                "pg_catalog.to_regprocedure('app_jobs.schema_version()'), "
                "(SELECT count(*) FROM pgjobs_migrations._yoyo_migration), "
                "(SELECT count(*) FROM pgjobs_migrations._yoyo_log)"
            ).fetchone()
            assert seen == (None, None, 0, 0)
            assert status(database.dsn) == [(change_id, False) for change_id in PLAN_IDS] + [
                ("pgjobs.tests.wait", False)
            ]
        finally:
            holder.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", [key])
            deployer.join(GUARD)
        assert not deployer.is_alive()
        assert "error" not in outcome, outcome
        assert outcome["applied"] == [*PLAN_IDS, "pgjobs.tests.wait"]
        assert observer.execute("SELECT app_jobs.schema_version()").fetchone()
        assert observer.execute(
            "SELECT count(*) FROM pgjobs_migrations._yoyo_migration"
        ).fetchone() == (len(PLAN_IDS) + 1,)


def test_a_failure_at_commit_rolls_back_everything(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deferred trigger that raises fires at the deploy's COMMIT: the deploy is rolled back
    whole and yoyo's lock row is still removed, so the next deploy runs."""
    raising = (
        "CREATE TABLE app_jobs.t (id integer);\n"
        "CREATE FUNCTION app_jobs.boom() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  RAISE EXCEPTION 'boom at commit';\nEND;\n$$;\n"
        "CREATE CONSTRAINT TRIGGER t_boom AFTER INSERT ON app_jobs.t "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app_jobs.boom();\n"
        "INSERT INTO app_jobs.t VALUES (1);"
    )
    top = with_extra_change(
        write_answer_tree(tmp_path / "answer", version=1), tmp_path / "tree", "tables/t", raising
    )
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(top))
    with pytest.raises(DeployError) as failed:
        deploy(database.dsn)
    message = str(failed.value)
    assert "pgjobs deploy failed at COMMIT" in message
    assert "boom at commit" in message
    assert "Nothing of this deploy was applied" in message
    assert not schema_exists(database, "app_jobs")
    assert yoyo_records(database) == ([], [], 0)

    write_scripts(
        top,
        "tables/t",
        deploy="CREATE TABLE app_jobs.t (id integer);",
        revert="DROP TABLE app_jobs.t;",
        verify="SELECT 1;",
    )
    assert deploy(database.dsn) == ["pgjobs.schema", "pgjobs.functions.answer", "pgjobs.tables.t"]


def test_a_failing_revert_reverts_nothing(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """revert --drop-triggers drops the trigger and answer(), then DROP SCHEMA app_jobs fails
    on an object the user put there: the trigger, answer() and the records all stay."""
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(write_answer_tree(tmp_path / "tree", version=1)))
    deploy(database.dsn)
    with database.connect() as conn:
        conn.execute(
            "CREATE FUNCTION app_jobs.mine() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NEW; END; $$"
        )
        conn.execute("CREATE TABLE public.things (id integer)")
        conn.execute(
            "CREATE TRIGGER things_mine AFTER INSERT ON public.things FOR EACH ROW "
            "EXECUTE FUNCTION app_jobs.mine()"
        )
    records = yoyo_records(database)

    with pytest.raises(DeployError) as failed:
        revert(database.dsn, drop_triggers=True)
    message = str(failed.value)
    assert "reverting pgjobs.schema (revert/schema.sql) failed" in message
    assert (
        "Nothing of this revert was done: it reverts its 2 applied changes in one transaction, "
        "which was rolled back (with pgjobs.functions.answer, which had run before it), so "
        "every change is still applied and no trigger was dropped." in message
    )
    assert database.scalar("SELECT app_jobs.answer()") == 1
    assert (
        database.scalar("SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgname = 'things_mine'")
        == 1
    )
    assert yoyo_records(database) == records
    assert status(database.dsn) == [("pgjobs.schema", True), ("pgjobs.functions.answer", True)]

    with database.connect() as conn:
        conn.execute("DROP FUNCTION app_jobs.mine() CASCADE")  # the trigger goes with it
    assert revert(database.dsn) == ["pgjobs.functions.answer", "pgjobs.schema"]
    assert not schema_exists(database, "app_jobs")


def test_refuses_app_jobs_installed_another_way(database: TestDatabase, tmp_path: Path) -> None:
    with database.connect() as conn:
        conn.execute("CREATE SCHEMA app_jobs")
    with pytest.raises(DeployError, match="installed some other way"):
        deploy(database.dsn)
    assert revert(database.dsn) == []


def test_refuses_bad_scripts_before_touching_the_database(
    database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = write_answer_tree(tmp_path / "tree", version=1)
    path = top / "deploy" / "functions" / "answer.sql"
    path.write_text(path.read_text().replace("BEGIN;\n", "BEGIN;\n\\set x 1\n", 1))
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(top))
    with pytest.raises(DeployError, match="meta-command"):
        deploy(database.dsn)
    assert not schema_exists(database, "pgjobs_migrations")


def test_unreachable_database_is_a_clear_error(database: TestDatabase) -> None:
    dsn = psycopg.conninfo.make_conninfo(database.dsn, dbname="deploytest_does_not_exist")
    with pytest.raises(DeployError, match="cannot connect to PostgreSQL") as failed:
        deploy(dsn)
    assert "--dsn" in str(failed.value)
    password = database.params.get("password")
    if password:
        assert f"password={password}" not in str(failed.value)


# --- DSN resolution --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        ("dbname=a", {"PGJOBS_DSN": "dbname=b", "DATABASE_URL": "dbname=c"}, ("dbname=a", "--dsn")),
        (None, {"PGJOBS_DSN": "dbname=b", "DATABASE_URL": "dbname=c"}, ("dbname=b", "PGJOBS_DSN")),
        (None, {"PGJOBS_DSN": "", "DATABASE_URL": "dbname=c"}, ("dbname=c", "DATABASE_URL")),
        (None, {"DATABASE_URL": "dbname=c", "PGDATABASE": "d"}, ("dbname=c", "DATABASE_URL")),
        (None, {"PGDATABASE": "d", "PGHOST": "h"}, ("", "PG* environment variables")),
        # With no PG* variable at all the embedded server is used (tests/python/test_embedded.py).
        ("", {"PGUSER": "u"}, ("", "PG* environment variables")),
    ],
)
def test_dsn_precedence(
    explicit: str | None, env: dict[str, str], expected: tuple[str, str]
) -> None:
    resolved = config.resolve(explicit, env)
    assert resolved.conninfo == expected[0]
    assert resolved.source.startswith(expected[1])
    assert config.resolve_dsn(explicit, env) == expected[0]


def test_pg_variables_reach_the_connection(
    database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PGJOBS_DSN", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    params = database.params
    for key, var in (
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("password", "PGPASSWORD"),
        ("dbname", "PGDATABASE"),
    ):
        if params.get(key):
            monkeypatch.setenv(var, str(params[key]))
    assert config.resolve_dsn() == ""
    assert status() == [(change_id, False) for change_id in PLAN_IDS]  # reached the database


def test_dsn_precedence_through_the_cli(
    database: TestDatabase, make_database: Callable[[], TestDatabase], tmp_path: Path
) -> None:
    """Each level wins over the ones below it: a wrong lower level would fail the deploy."""
    sql_tree = str(write_answer_tree(tmp_path / "tree", version=1))
    missing = psycopg.conninfo.make_conninfo(database.dsn, dbname="deploytest_missing")
    params = database.params
    pg_vars = {
        var: str(params[key])
        for key, var in (
            ("host", "PGHOST"),
            ("port", "PGPORT"),
            ("user", "PGUSER"),
            ("password", "PGPASSWORD"),
        )
        if params.get(key)
    }
    targets = [make_database() for _ in range(4)]

    def run(target_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        env = subprocess_env(PGJOBS_SQL_DIR=sql_tree, **target_env)
        return run_pgjobs(*args, "deploy", env=env)

    # --dsn beats PGJOBS_DSN, DATABASE_URL and PG*.
    bad = {"PGJOBS_DSN": missing, "DATABASE_URL": missing, **pg_vars, "PGDATABASE": "nope"}
    assert run(bad, "--dsn", targets[0].dsn).returncode == 0
    # PGJOBS_DSN beats DATABASE_URL and PG*.
    env = {"PGJOBS_DSN": targets[1].url, "DATABASE_URL": missing, **pg_vars}
    assert run({**env, "PGDATABASE": "nope"}).returncode == 0
    # DATABASE_URL beats PG*.
    assert run({"DATABASE_URL": targets[2].url, **pg_vars, "PGDATABASE": "nope"}).returncode == 0
    # PG* alone.
    assert run({**pg_vars, "PGDATABASE": targets[3].name}).returncode == 0
    for target in targets:
        assert schema_exists(target, "app_jobs"), target.name
    # And a wrong winner really fails, naming where the DSN came from.
    failed = run({"PGJOBS_DSN": missing, "DATABASE_URL": targets[0].url})
    assert failed.returncode == 1
    assert "from PGJOBS_DSN" in failed.stderr
    assert "deploytest_missing" in failed.stderr


@pytest.mark.parametrize(
    ("conninfo", "url"),
    [
        (
            "postgresql://postgres:p%40ss%3Aw%2Frd@127.0.0.1:5433/db1",
            "postgresql+psycopg://postgres:p%40ss%3Aw%2Frd@127.0.0.1:5433/db1",
        ),
        (
            "host=/var/run/postgresql dbname=app user=me",
            "postgresql+psycopg://me@/app?host=%2Fvar%2Frun%2Fpostgresql",
        ),
        ("host=::1 port=5432 dbname=x", "postgresql+psycopg://[::1]:5432/x"),
        ("dbname='my db' sslmode=require", "postgresql+psycopg://?dbname=my+db&sslmode=require"),
        ("host=a,b port=5432,5433", "postgresql+psycopg://?host=a%2Cb&port=5432%2C5433"),
        ("", "postgresql+psycopg://"),
    ],
)
def test_yoyo_url(conninfo: str, url: str) -> None:
    assert config.to_yoyo_url(conninfo) == url


def test_yoyo_url_round_trips_through_yoyo() -> None:
    from yoyo.connections import parse_uri

    conninfo = "host=db.example.com port=6543 user='al ice' password='p@ss w:rd/%' dbname=jobs"
    parsed = parse_uri(config.to_yoyo_url(conninfo, schema="pgjobs_migrations"))
    assert parsed.scheme == "postgresql+psycopg"
    assert (parsed.username, parsed.password) == ("al ice", "p@ss w:rd/%")
    assert (parsed.hostname, parsed.port, parsed.database) == ("db.example.com", 6543, "jobs")
    assert parsed.args == {"schema": "pgjobs_migrations"}
    socket = parse_uri(config.to_yoyo_url("host=/tmp/pg dbname='a/b'", schema="s"))
    assert socket.hostname is None and socket.database is None
    assert socket.args == {"host": "/tmp/pg", "dbname": "a/b", "schema": "s"}


def test_cli_help_and_usage_errors() -> None:
    helped = run_pgjobs("revert", "--help")
    assert helped.returncode == 0
    assert "--drop-triggers" in helped.stdout and "--dsn" in helped.stdout
    assert run_pgjobs("--help").returncode == 0
    assert run_pgjobs().returncode == 2
    assert run_pgjobs("nonsense").returncode == 2
