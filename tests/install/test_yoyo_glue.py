"""One test per yoyo workaround of ``pgjobs.install.yoyo_glue``: each fails if the workaround
is removed or if yoyo changes the behaviour it answers. Real PostgreSQL, real yoyo."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from install_support import TestDatabase

from pgjobs import config
from pgjobs.install import yoyo_glue
from pgjobs.install.yoyo_glue import Migration

SCHEMA = "glue_migrations"

CHAIN = [
    Migration("glue.one", "CREATE TABLE public.one (id int);", "DROP TABLE public.one;"),
    Migration("glue.two", "CREATE TABLE public.two (id int);", "DROP TABLE public.two;"),
]


def url(db: TestDatabase) -> str:
    with db.connect() as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    return config.to_yoyo_url(db.dsn, schema=SCHEMA)


def exists(db: TestDatabase, name: str) -> bool:
    return bool(db.scalar("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", [name]))


def records(db: TestDatabase) -> tuple[int, int, int]:
    """yoyo's rows: applied migrations, log rows, lock rows."""
    return tuple(  # type: ignore[return-value]
        int(db.scalar(f"SELECT count(*) FROM {SCHEMA}.{table}"))
        for table in ("_yoyo_migration", "_yoyo_log", "yoyo_lock")
    )


def apply_all(db: TestDatabase, migrations: list[Migration]) -> None:
    with yoyo_glue.opened(url(db), migrations, SCHEMA) as yoyo:
        pending = yoyo.to_apply()
        with yoyo.one_transaction():
            for migration in migrations:
                if migration.id in pending:
                    yoyo.apply(migration.id)


def test_a_whole_script_is_one_step_and_prints_nothing(
    database: TestDatabase, capfd: pytest.CaptureFixture[str]
) -> None:
    """write_migrations: the ``.py`` form runs a script with PL/pgSQL (semicolons inside
    dollar quotes) and SELECTs as one unit; yoyo's ``.sql`` form would split it with sqlparse
    and print the rows of the SELECTs."""
    script = (
        "SELECT 'printed?' AS probe;\n"
        "CREATE FUNCTION public.f() RETURNS int LANGUAGE plpgsql AS $body$\n"
        "DECLARE x int; BEGIN x := 41; RETURN x + 1; END;\n$body$;\n"
        "SELECT public.f();"
    )
    apply_all(database, [Migration("glue.f", script, "DROP FUNCTION public.f();")])
    assert database.scalar("SELECT public.f()") == 42
    assert "printed?" not in capfd.readouterr().out
    assert records(database)[0] == 1


def test_repeated_loads_in_one_process_resolve_to_their_own_migrations(tmp_path: Path) -> None:
    """load_migrations: yoyo's registry is process-wide and resolves ``__depends__`` when a
    migration loads; a list read before another with the same ids must still depend on its
    own objects (read lazily, it would depend on the later list's)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = yoyo_glue.load_migrations(tmp_path / "a", CHAIN)
    second = yoyo_glue.load_migrations(tmp_path / "b", CHAIN)
    assert first[1].depends == {first[0]}
    assert second[1].depends == {second[0]}
    assert first[0] is not second[0]


def test_a_failure_rolls_back_every_earlier_change_and_yoyos_records(
    database: TestDatabase,
) -> None:
    """Yoyo.one_transaction: without it yoyo runs each migration on ``backend.copy()``, a new
    connection that commits on its own, so ``one`` and ``two`` would stay behind."""
    broken = Migration("glue.three", "CREATE TABLE public.three (id nosuchtype);", "SELECT 1;")
    with pytest.raises(psycopg.errors.UndefinedObject):
        apply_all(database, [*CHAIN, broken])
    assert not exists(database, "public.one") and not exists(database, "public.two")
    assert records(database) == (0, 0, 0)
    apply_all(database, CHAIN)
    assert exists(database, "public.two") and records(database)[0] == 2


def test_yoyos_own_tables_are_created_before_the_transaction(database: TestDatabase) -> None:
    """Yoyo.one_transaction calls ``ensure_internal_schema_updated`` first: on a fresh
    database it creates yoyo's tables, commits, and asserts that no transaction is open, so it
    cannot run inside ours (``apply_one`` would call it there). A failed first deploy leaves
    yoyo's (empty) tables, created before it."""
    broken = Migration("glue.bad", "SELECT 1/0;", "SELECT 1;")
    with (
        yoyo_glue.opened(url(database), [*CHAIN, broken], SCHEMA) as yoyo,
        pytest.raises(psycopg.errors.DivisionByZero),
        yoyo.one_transaction(),
    ):
        for migration in (*CHAIN, broken):  # no to_apply() first: nothing made the tables
            yoyo.apply(migration.id)
    assert exists(database, f"{SCHEMA}._yoyo_migration")
    assert not exists(database, "public.one")
    assert records(database) == (0, 0, 0)


def test_a_failed_commit_rolls_back_and_frees_yoyos_lock_row(database: TestDatabase) -> None:
    """Yoyo.one_transaction: a deferred trigger raising at COMMIT is CommitFailed, and yoyo's
    in-transaction flag is reset, so ``backend.lock()`` still deletes its lock row."""
    raising = Migration(
        "glue.t",
        "CREATE TABLE public.t (id integer);\n"
        "CREATE FUNCTION public.boom() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN RAISE EXCEPTION 'boom at commit'; END;\n$$;\n"
        "CREATE CONSTRAINT TRIGGER t_boom AFTER INSERT ON public.t "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.boom();\n"
        "INSERT INTO public.t VALUES (1);",
        "DROP TABLE public.t;",
    )
    with pytest.raises(yoyo_glue.CommitFailed, match="boom at commit"):
        apply_all(database, [*CHAIN, raising])
    assert not exists(database, "public.one") and not exists(database, "public.t")
    assert records(database) == (0, 0, 0)


def test_a_yoyo_that_commits_inside_apply_one_is_caught(database: TestDatabase) -> None:
    """Yoyo.apply checks that the transaction is still open after ``apply_one``: a yoyo
    version that commits there (simulated by committing after the real ``apply_one``) is an
    error naming the migration, not a silently half-committed deploy."""
    with yoyo_glue.opened(url(database), CHAIN, SCHEMA) as yoyo:
        real_apply_one = yoyo.backend.apply_one

        def committing_apply_one(migration: object) -> None:
            real_apply_one(migration)
            yoyo.backend.connection.commit()

        yoyo.backend.apply_one = committing_apply_one
        with (
            pytest.raises(yoyo_glue.YoyoGlueError, match=r"ended while running glue\.one"),
            yoyo.one_transaction(),
        ):
            yoyo.apply("glue.one")


def test_a_held_lock_row_is_an_error_saying_how_to_clear_it(database: TestDatabase) -> None:
    """opened: yoyo's LockTimeout, from a lock row a crashed yoyo process left, becomes an
    error naming the row and the DELETE that clears it."""
    apply_all(database, CHAIN)  # creates yoyo's tables
    with database.connect() as conn:
        conn.execute(f"INSERT INTO {SCHEMA}.yoyo_lock (locked, ctime, pid) VALUES (1, now(), 1)")
    with (
        pytest.raises(yoyo_glue.YoyoGlueError, match=rf"DELETE FROM {SCHEMA}\.yoyo_lock"),
        yoyo_glue.opened(url(database), CHAIN, SCHEMA, lock_timeout=0.01),
    ):
        pass
    with database.connect() as conn:
        conn.execute(f"DELETE FROM {SCHEMA}.yoyo_lock")
    with yoyo_glue.opened(url(database), CHAIN, SCHEMA) as yoyo:
        assert yoyo.to_apply() == set()
