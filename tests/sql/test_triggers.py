"""The enqueue trigger functions: app_jobs.tg_add_job_with_row_id / _with_row / _with_fields.

Each test builds its own table, attaches a trigger and checks the jobs it enqueues (tenant,
task, payload) for INSERT, UPDATE and DELETE, and how misuse is refused.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from helpers import TENANT, Conn, Row
from psycopg import sql

TASK = "process_record"
OPS = ("INSERT", "UPDATE", "DELETE")


def make_table(db: Conn, name: str = "items") -> None:
    db.execute(
        sql.SQL(
            "CREATE TABLE {} (id serial PRIMARY KEY, name text NOT NULL, qty integer, note text)"
        ).format(sql.Identifier(name))
    )


def attach(
    db: Conn,
    function: str,
    *args: str,
    table: str = "items",
    timing: str = "AFTER",
    level: str = "ROW",
    name: str = "enqueue",
) -> None:
    """CREATE TRIGGER <name> <timing> INSERT OR UPDATE OR DELETE ... app_jobs.<function>(args)."""
    db.execute(
        sql.SQL(
            "CREATE TRIGGER {name} " + timing + " INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH " + level + " EXECUTE FUNCTION app_jobs.{function}({args})"
        ).format(
            name=sql.Identifier(name),
            table=sql.Identifier(table),
            function=sql.Identifier(function),
            args=sql.SQL(", ").join(sql.Literal(arg) for arg in args),
        )
    )


def jobs(db: Conn) -> list[Row]:
    return db.execute(
        "SELECT database_id::text AS tenant, task_identifier AS task, payload, state"
        " FROM app_jobs.jobs ORDER BY id"
    ).fetchall()


def write(db: Conn, op: str) -> Row:
    """Run one INSERT, UPDATE or DELETE on items and return the row it wrote (the OLD row for
    DELETE). UPDATE and DELETE first get a row to work on, written with the trigger disabled
    so that only the statement under test enqueues."""
    if op != "INSERT":
        db.execute("ALTER TABLE items DISABLE TRIGGER enqueue")
        db.execute("INSERT INTO items (name, qty, note) VALUES ('before', 1, 'n')")
        db.execute("ALTER TABLE items ENABLE TRIGGER enqueue")
    statement = {
        "INSERT": "INSERT INTO items (name, qty) VALUES ('widget', 3) RETURNING *",
        "UPDATE": "UPDATE items SET name = 'after', qty = 7 RETURNING *",
        "DELETE": "DELETE FROM items RETURNING *",
    }[op]
    row = db.execute(statement).fetchone()
    assert row is not None
    return dict(row)


def expect_error(db: Conn, statement: str, sqlstate: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        db.execute(statement)
    assert caught.value.diag.sqlstate == sqlstate, caught.value
    assert caught.value.diag.message_hint
    return caught.value


# --- payloads ------------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
def test_with_row_id_enqueues_the_id(db: Conn, op: str) -> None:
    make_table(db)
    attach(db, "tg_add_job_with_row_id", TENANT, TASK)
    row = write(db, op)
    assert jobs(db) == [
        {"tenant": TENANT, "task": TASK, "payload": {"id": row["id"]}, "state": "ready"}
    ]


@pytest.mark.parametrize("op", OPS)
def test_with_row_id_enqueues_another_named_field(db: Conn, op: str) -> None:
    make_table(db)
    attach(db, "tg_add_job_with_row_id", TENANT, TASK, "name")
    row = write(db, op)
    assert [job["payload"] for job in jobs(db)] == [{"name": row["name"]}]


@pytest.mark.parametrize("op", OPS)
def test_with_row_enqueues_the_whole_row(db: Conn, op: str) -> None:
    make_table(db)
    attach(db, "tg_add_job_with_row", TENANT, TASK)
    row = write(db, op)
    assert jobs(db) == [{"tenant": TENANT, "task": TASK, "payload": row, "state": "ready"}]


@pytest.mark.parametrize("op", OPS)
def test_with_fields_enqueues_exactly_the_named_fields(db: Conn, op: str) -> None:
    make_table(db)
    attach(db, "tg_add_job_with_fields", TENANT, TASK, "qty", "name")
    row = write(db, op)
    payload = {"qty": row["qty"], "name": row["name"]}
    assert jobs(db) == [{"tenant": TENANT, "task": TASK, "payload": payload, "state": "ready"}]


def test_with_fields_keeps_sql_nulls_as_json_nulls(db: Conn) -> None:
    make_table(db)
    attach(db, "tg_add_job_with_fields", TENANT, TASK, "note")
    db.execute("INSERT INTO items (name) VALUES ('x')")
    assert [job["payload"] for job in jobs(db)] == [{"note": None}]


def test_with_fields_without_fields_enqueues_an_empty_object(db: Conn) -> None:
    make_table(db)
    attach(db, "tg_add_job_with_fields", TENANT, TASK)
    db.execute("INSERT INTO items (name) VALUES ('x')")
    assert [job["payload"] for job in jobs(db)] == [{}]


@pytest.mark.parametrize("function", ["tg_add_job_with_row_id", "tg_add_job_with_row"])
def test_one_job_per_row_and_the_default_tenant(db: Conn, function: str) -> None:
    make_table(db)
    attach(db, function, "00000000-0000-0000-0000-000000000000", "bulk")
    db.execute("INSERT INTO items (name) SELECT 'n' || g FROM generate_series(1, 5) AS g")
    rows = jobs(db)
    assert len(rows) == 5
    assert {(job["tenant"], job["task"]) for job in rows} == {
        ("00000000-0000-0000-0000-000000000000", "bulk")
    }
    assert sorted(job["payload"]["id"] for job in rows) == [1, 2, 3, 4, 5]


# --- BEFORE triggers let the row through ----------------------------------------------------


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("tg_add_job_with_row_id", ()),
        ("tg_add_job_with_row", ()),
        ("tg_add_job_with_fields", ("name",)),
    ],
)
def test_before_triggers_return_the_row(db: Conn, function: str, args: tuple[str, ...]) -> None:
    make_table(db)
    attach(db, function, TENANT, TASK, *args, timing="BEFORE")

    db.execute("INSERT INTO items (name, qty) VALUES ('widget', 3)")
    db.execute("UPDATE items SET qty = 4")
    assert db.execute("SELECT name, qty FROM items").fetchall() == [{"name": "widget", "qty": 4}]
    db.execute("DELETE FROM items")
    assert db.execute("SELECT count(*) AS n FROM items").fetchone() == {"n": 0}
    assert len(jobs(db)) == 3


# --- misuse ---------------------------------------------------------------------------------

FUNCTIONS = ("tg_add_job_with_row_id", "tg_add_job_with_row", "tg_add_job_with_fields")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_tenant_that_is_not_a_uuid_is_refused_and_nothing_is_written(
    db: Conn, function: str
) -> None:
    make_table(db, "my table")
    attach(db, function, "database-uuid", TASK, table="my table", name="auto_process")
    error = expect_error(db, """INSERT INTO "my table" (name) VALUES ('x')""", "PJ201")
    message = error.diag.message_primary or ""
    assert "auto_process" in message
    assert 'public."my table"' in message
    assert "database-uuid" in message and function in message
    assert db.execute('SELECT count(*) AS n FROM "my table"').fetchone() == {"n": 0}
    assert jobs(db) == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_statement_level_triggers_are_refused(db: Conn, function: str) -> None:
    make_table(db)
    attach(db, function, TENANT, TASK, level="STATEMENT")
    error = expect_error(db, "INSERT INTO items (name) VALUES ('x')", "PJ202")
    assert "FOR EACH ROW" in (error.diag.message_primary or "")
    assert db.execute("SELECT count(*) AS n FROM items").fetchone() == {"n": 0}
    assert jobs(db) == []


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("tg_add_job_with_row_id", ()),
        ("tg_add_job_with_row_id", (TENANT,)),
        ("tg_add_job_with_row_id", (TENANT, "")),
        ("tg_add_job_with_row_id", (TENANT, TASK, "id", "extra")),
        ("tg_add_job_with_row", ()),
        ("tg_add_job_with_row", (TENANT,)),
        ("tg_add_job_with_row", (TENANT, TASK, "id")),
        ("tg_add_job_with_fields", ()),
        ("tg_add_job_with_fields", (TENANT,)),
    ],
)
def test_missing_or_extra_arguments_are_refused(
    db: Conn, function: str, args: tuple[str, ...]
) -> None:
    make_table(db)
    attach(db, function, *args)
    error = expect_error(db, "INSERT INTO items (name) VALUES ('x')", "PJ202")
    message = error.diag.message_primary or ""
    assert "enqueue" in message and "public.items" in message
    assert db.execute("SELECT count(*) AS n FROM items").fetchone() == {"n": 0}
    assert jobs(db) == []


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("tg_add_job_with_row_id", ("missing",)),
        ("tg_add_job_with_fields", ("name", "missing")),
    ],
)
def test_a_field_that_is_not_a_column_is_refused(
    db: Conn, function: str, args: tuple[str, ...]
) -> None:
    make_table(db)
    attach(db, function, TENANT, TASK, *args)
    error = expect_error(db, "INSERT INTO items (name) VALUES ('x')", "PJ203")
    message = error.diag.message_primary or ""
    assert "missing" in message and "public.items" in message and "enqueue" in message
    assert db.execute("SELECT count(*) AS n FROM items").fetchone() == {"n": 0}
    assert jobs(db) == []


# --- hostile names --------------------------------------------------------------------------

HOSTILE = ["it's", "with space", "semi;colon", '"; DROP TABLE victim; --', "Mixed\tCase", "é"]


def hostile_table(db: Conn) -> dict[str, Any]:
    """A table whose columns have hostile names (and a victim table that must survive);
    returns values to insert, one per hostile column."""
    db.execute("CREATE TABLE victim (id integer)")
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in HOSTILE)
    db.execute(
        sql.SQL("CREATE TABLE {} (id serial, {})").format(sql.Identifier("odd;table"), columns)
    )
    return {column: f"value of {column}" for column in HOSTILE}


def insert_hostile(db: Conn, values: dict[str, Any]) -> None:
    db.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier("odd;table"),
            sql.SQL(", ").join(sql.Identifier(c) for c in values),
            sql.SQL(", ").join(sql.Literal(v) for v in values.values()),
        )
    )


def test_with_fields_handles_hostile_column_names(db: Conn) -> None:
    values = hostile_table(db)
    attach(db, "tg_add_job_with_fields", TENANT, TASK, *HOSTILE, table="odd;table")
    insert_hostile(db, values)
    assert [job["payload"] for job in jobs(db)] == [values]
    assert db.execute("SELECT to_regclass('public.victim') IS NOT NULL AS ok").fetchone() == {
        "ok": True
    }


def test_with_row_id_handles_hostile_column_names(db: Conn) -> None:
    values = hostile_table(db)
    for column in HOSTILE:
        attach(db, "tg_add_job_with_row_id", TENANT, TASK, column, table="odd;table")
        insert_hostile(db, values)
        db.execute('DROP TRIGGER enqueue ON "odd;table"')
    assert [job["payload"] for job in jobs(db)] == [{c: values[c]} for c in HOSTILE]
    assert db.execute("SELECT to_regclass('public.victim') IS NOT NULL AS ok").fetchone() == {
        "ok": True
    }


def test_with_row_handles_hostile_column_names(db: Conn) -> None:
    values = hostile_table(db)
    attach(db, "tg_add_job_with_row", TENANT, TASK, table="odd;table")
    insert_hostile(db, values)
    assert [job["payload"] for job in jobs(db)] == [{"id": 1, **values}]


@pytest.mark.parametrize("function", ["tg_add_job_with_row_id", "tg_add_job_with_fields"])
def test_a_hostile_missing_field_is_named_safely(db: Conn, function: str) -> None:
    hostile_table(db)
    field = "nope'); DROP TABLE victim; --"
    attach(db, function, TENANT, TASK, field, table="odd;table")
    error = expect_error(db, """INSERT INTO "odd;table" DEFAULT VALUES""", "PJ203")
    assert '"nope\'); DROP TABLE victim; --"' in (error.diag.message_primary or "")
    assert db.execute("SELECT to_regclass('public.victim') IS NOT NULL AS ok").fetchone() == {
        "ok": True
    }
    assert jobs(db) == []


@pytest.mark.parametrize(
    ("tenant", "valid"),
    [
        ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", True),
        ("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", True),
        ("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", True),
        ("a0eebc999c0b4ef8bb6d6bb9bd380a11", True),
        ("a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", True),
        ("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", False),
        ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", False),
        ("a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11", False),
        ("", False),
    ],
)
def test_the_tenant_check_accepts_exactly_what_postgresql_reads_as_a_uuid(
    db: Conn, tenant: str, valid: bool
) -> None:
    make_table(db)
    attach(db, "tg_add_job_with_row_id", tenant, TASK)
    statement = "INSERT INTO items (name) VALUES ('x')"
    if valid:
        db.execute(statement)
        [job] = jobs(db)
        expected = db.execute("SELECT %s::uuid::text AS u", (tenant,)).fetchone()
        assert expected is not None and job["tenant"] == expected["u"]
    else:
        expect_error(db, statement, "PJ201")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            db.execute("SELECT %s::uuid", (tenant,))
