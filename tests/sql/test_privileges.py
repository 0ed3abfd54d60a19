"""Privileges and catalog hygiene of app_jobs: closed to PUBLIC, SECURITY DEFINER entry points
with a pinned search_path, no overloads, a COMMENT on every table and public function, and an
unprivileged role that can enqueue only through what it was granted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import psycopg
import pytest
from helpers import Conn, Row, unique_name
from psycopg import sql

ADD_JOB = (
    "app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb,"
    " interval, text, bigint[])"
)
PINNED_SEARCH_PATH = "search_path=pg_catalog, pg_temp"


def functions(db: Conn) -> list[Row]:
    return db.execute(
        """
        SELECT p.oid::regprocedure::text AS signature, p.proname AS name,
               p.prosecdef AS definer, coalesce(p.proconfig, '{}') AS config,
               p.proacl IS NULL AS default_acl,
               obj_description(p.oid, 'pg_proc') AS comment,
               ARRAY(SELECT a.privilege_type FROM aclexplode(p.proacl) AS a
                      WHERE a.grantee = 0) AS public_privileges
          FROM pg_proc AS p
         WHERE p.pronamespace = 'app_jobs'::regnamespace
         ORDER BY 1
        """
    ).fetchall()


def public_functions(db: Conn) -> list[Row]:
    return [f for f in functions(db) if not str(f["name"]).startswith("_")]


def test_the_schema_has_functions_to_check(db: Conn) -> None:
    names = {f["name"] for f in functions(db)}
    assert {"add_job", "get_job", "complete_job", "fail_job", "_sweep"} <= names


#: The two functions the tenant policies of row level security call (policies/tenant_rows):
#: a policy runs as the role reading the table, whichever it is, so PUBLIC executes them;
#: each answers for the caller's own tenant only (its tenant; whether a job is its own).
ROW_SECURITY = ["app_jobs._own_job(bigint)", "app_jobs._row_tenant()"]


def test_no_function_is_executable_by_public(db: Conn) -> None:
    # A NULL proacl means the default ACL, which grants EXECUTE to PUBLIC.
    open_to_public = [
        f["signature"] for f in functions(db) if f["default_acl"] or f["public_privileges"]
    ]
    assert sorted(open_to_public) == ROW_SECURITY


#: The enqueue trigger functions run as the writer of the table (see the escalation test).
TRIGGER_FUNCTIONS = {"tg_add_job_with_row_id", "tg_add_job_with_row", "tg_add_job_with_fields"}


def test_public_functions_are_security_definer(db: Conn) -> None:
    entry_points = [f for f in public_functions(db) if f["name"] not in TRIGGER_FUNCTIONS]
    assert [f["signature"] for f in entry_points if not f["definer"]] == []


def test_the_enqueue_trigger_functions_run_as_the_writer(db: Conn) -> None:
    invokers = {f["name"] for f in functions(db) if f["name"] in TRIGGER_FUNCTIONS}
    assert invokers == TRIGGER_FUNCTIONS
    assert [
        f["signature"] for f in functions(db) if f["name"] in TRIGGER_FUNCTIONS and f["definer"]
    ] == []


#: Inlined into their callers (a SET clause would stop the planner from inlining them): the
#: tenant guard and its constant (functions/_tenant.sql says why), and the checks of an
#: enqueue element (functions/_enqueue_problem.sql). Plain SQL, every name schema-qualified,
#: operators included, executable by their SECURITY DEFINER callers only.
INLINED = [
    "app_jobs._enqueue_problem(text,integer,text,text,text,interval,"
    "timestamp with time zone,json,jsonb)",
    "app_jobs._job_row_problem(text,text,text,text,numeric,integer,interval)",
    "app_jobs._tenant(uuid,text)",
    "app_jobs._tenant_roles_used()",
]


#: Called once per row written by a CHECK constraint of a table the owner alone writes (a SET
#: clause would cost each row about 14,000 instructions: functions/_job_claim_rules.sql):
#: PL/pgSQL, IMMUTABLE, not SECURITY DEFINER, reading no table, every type, operator and
#: function in it schema-qualified.
CHECK_FUNCTIONS = [
    "app_jobs._job_claim_rules(bigint,text,text,timestamp with time zone,integer,integer)",
]


def test_every_function_pins_its_search_path(db: Conn) -> None:
    # All of them, internal helpers included: they run inside SECURITY DEFINER callers.
    unpinned = [f["signature"] for f in functions(db) if PINNED_SEARCH_PATH not in f["config"]]
    assert sorted(unpinned) == sorted(INLINED + CHECK_FUNCTIONS)
    checks = db.execute(
        "SELECT p.oid::regprocedure::text AS signature, l.lanname, p.prosecdef, p.provolatile,"
        " p.prosrc, EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_depend d"
        "   ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid"
        "  WHERE c.contype = 'c' AND d.refobjid = p.oid) AS in_check"
        " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
        " WHERE p.oid::regprocedure::text = ANY(%s)",
        [CHECK_FUNCTIONS],
    ).fetchall()
    assert [(r["lanname"], r["prosecdef"], r["provolatile"], r["in_check"]) for r in checks] == [
        ("plpgsql", False, "i", True)
    ] * len(CHECK_FUNCTIONS)
    for r in checks:
        body = r["prosrc"]
        assert "FROM " not in body.upper().replace("FROM PUBLIC", "")  # reads no table
        # Every cast and every comparison names pg_catalog's type or operator.
        assert re.findall(r"::(?!pg_catalog\.)\w+", body) == [], r["signature"]
        options = re.compile(r"^\s*(ERRCODE|MESSAGE|DETAIL|HINT|SCHEMA|TABLE|CONSTRAINT) = ")
        code = [line for line in body.splitlines() if not options.match(line)]
        assert [ln for ln in code if re.search(r"\s(=|<>|>=|<=|>|<)\s", ln)] == [], r["signature"]
    inlined = db.execute(
        "SELECT p.oid::regprocedure::text AS signature, l.lanname, p.prosecdef"
        " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
        " WHERE p.oid::regprocedure::text = ANY(%s)",
        [INLINED],
    ).fetchall()
    assert [(r["lanname"], r["prosecdef"]) for r in inlined] == [("sql", False)] * len(INLINED)


def test_no_overloads(db: Conn) -> None:
    names = [f["name"] for f in functions(db)]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


def test_every_public_function_has_a_comment(db: Conn) -> None:
    assert [f["signature"] for f in public_functions(db) if not f["comment"]] == []


def test_every_table_has_a_comment(db: Conn) -> None:
    # Day partitions of job_history (made by create_history_partitions) are described by
    # their parent's comment; every other table must carry its own.
    rows = db.execute(
        """
        SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment
          FROM pg_class AS c
         WHERE c.relnamespace = 'app_jobs'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           AND NOT (c.relispartition AND c.relname ~ '^job_history_p[0-9]{8}$')
        """
    ).fetchall()
    tables = {"jobs", "job_history", "job_history_default", "job_queues", "scheduled_jobs"}
    tables |= {"job_queue_locks", "job_queue_wakes", "job_attempts"}
    tables |= {"task_settings"}
    tables |= {"job_pauses"}
    tables |= {"job_limits", "job_fairness"}
    assert tables | {"workers"} <= {row["name"] for row in rows}
    assert sorted(row["name"] for row in rows if not row["comment"]) == []


def test_no_table_or_sequence_is_granted_to_anyone_but_its_owner(db: Conn) -> None:
    rows = db.execute(
        """
        SELECT c.oid::regclass::text AS name, a.grantee::regrole::text AS grantee,
               a.privilege_type AS privilege
          FROM pg_class AS c, aclexplode(c.relacl) AS a
         WHERE c.relnamespace = 'app_jobs'::regnamespace
           AND a.grantee <> c.relowner
         ORDER BY 1, 2, 3
        """
    ).fetchall()
    assert rows == []
    schema = db.execute(
        "SELECT count(*) AS n FROM pg_namespace AS n, aclexplode(n.nspacl) AS a"
        " WHERE n.nspname = 'app_jobs' AND a.grantee <> n.nspowner"
    ).fetchone()
    assert schema == {"n": 0}


# --- an unprivileged role -------------------------------------------------------------------


@pytest.fixture
def app_role(db: Conn) -> Iterator[str]:
    """A fresh LOGIN role (cluster-wide, so uniquely named), dropped again afterwards."""
    name = unique_name("pgjobs_app")
    db.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(name))
    )
    try:
        yield name
    finally:
        # Its grants live in this test's database: drop them here, then the role itself.
        db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def connect_as(dsn: str) -> Iterator[Callable[[str], Conn]]:
    opened: list[Conn] = []

    def _connect(role: str) -> Conn:
        conn = psycopg.connect(dsn, user=role, password=role, autocommit=True)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


def denied(conn: Conn, statement: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        conn.execute(statement)
    return str(caught.value)


ENQUEUE = "SELECT id FROM app_jobs.add_job(NULL, 'send_email', '{\"to\": \"a@b.c\"}')"


def test_a_fresh_role_can_do_nothing(
    db: Conn, app_role: str, connect_as: Callable[[str], Conn]
) -> None:
    app = connect_as(app_role)
    assert "schema app_jobs" in denied(app, ENQUEUE)
    assert "schema app_jobs" in denied(app, "SELECT * FROM app_jobs.jobs")
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 0}


def test_a_role_granted_add_job_enqueues_only_through_it(
    db: Conn, app_role: str, connect_as: Callable[[str], Conn]
) -> None:
    role = sql.Identifier(app_role)
    db.execute(sql.SQL("GRANT USAGE ON SCHEMA app_jobs TO {}").format(role))
    app = connect_as(app_role)
    assert "function add_job" in denied(app, ENQUEUE)

    db.execute(sql.SQL("GRANT EXECUTE ON FUNCTION " + ADD_JOB + " TO {}").format(role))
    job = app.execute(ENQUEUE).fetchone()
    assert job is not None
    stored = db.execute("SELECT id, task_identifier FROM app_jobs.jobs").fetchall()
    assert stored == [{"id": job[0], "task_identifier": "send_email"}]

    tables = ("jobs", "job_history", "job_queue_locks", "job_queue_wakes", "scheduled_jobs")
    for table in (*tables, "workers"):
        assert f"table {table}" in denied(app, f"SELECT * FROM app_jobs.{table}")
    assert "view job_queues" in denied(app, "SELECT * FROM app_jobs.job_queues")
    assert "table jobs" in denied(app, "DELETE FROM app_jobs.jobs")
    assert "function get_job" in denied(app, "SELECT * FROM app_jobs.get_job('w')")
    assert "function _sweep" in denied(app, "SELECT app_jobs._sweep('1 hour')")


def test_an_unprivileged_producer_commits_into_a_named_queue(
    db: Conn, app_role: str, connect_as: Callable[[str], Conn]
) -> None:
    # A role that may only call add_job enqueues into a serial queue: nothing on the way
    # (at the call or at COMMIT) needs a right on the queue tables.
    role = sql.Identifier(app_role)
    db.execute(sql.SQL("GRANT USAGE ON SCHEMA app_jobs TO {}").format(role))
    db.execute(sql.SQL("GRANT EXECUTE ON FUNCTION " + ADD_JOB + " TO {}").format(role))
    app = connect_as(app_role)
    with app.transaction():
        for _ in range(2):
            app.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name := 'mailbox')")
    app.execute("SELECT app_jobs.add_job(NULL, 'serial', queue_name := 'mailbox')")
    queue = db.execute("SELECT queue_name, job_count FROM app_jobs.job_queues").fetchall()
    assert queue == [{"queue_name": "mailbox", "job_count": 3}]


def test_a_table_writer_cannot_run_its_casts_as_the_owner_of_app_jobs(
    db: Conn, app_role: str, connect_as: Callable[[str], Conn]
) -> None:
    # Turning a row into JSON calls the casts of its column types. A writer who defines a
    # cast of its own type must not get it run with the rights of app_jobs' owner.
    role = sql.Identifier(app_role)
    db.execute(sql.SQL("GRANT USAGE ON SCHEMA app_jobs TO {}").format(role))
    db.execute(sql.SQL("GRANT EXECUTE ON FUNCTION " + ADD_JOB + " TO {}").format(role))
    db.execute(
        sql.SQL("GRANT EXECUTE ON FUNCTION app_jobs.tg_add_job_with_row() TO {}").format(role)
    )
    db.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(role, role))
    app = connect_as(app_role)
    schema = role.as_string(app)
    try:
        app.execute(f"CREATE TYPE {schema}.mood AS ENUM ('happy', 'sad')")
        app.execute(f"CREATE TABLE {schema}.seen_by (who text)")
        app.execute(
            f"CREATE FUNCTION {schema}.mood_json({schema}.mood) RETURNS json LANGUAGE plpgsql"
            f" AS $$ BEGIN INSERT INTO {schema}.seen_by VALUES (current_user);"
            " RETURN to_json($1::text); END $$"
        )
        app.execute(f"CREATE CAST ({schema}.mood AS json) WITH FUNCTION {schema}.mood_json")
        app.execute(f"CREATE TABLE {schema}.diary (id int PRIMARY KEY, feeling {schema}.mood)")
        app.execute(
            f"CREATE TRIGGER enqueue AFTER INSERT ON {schema}.diary FOR EACH ROW EXECUTE"
            " FUNCTION app_jobs.tg_add_job_with_row('00000000-0000-0000-0000-000000000000',"
            " 'note')"
        )
        app.execute(f"INSERT INTO {schema}.diary VALUES (1, 'happy')")
        who = [row[0] for row in app.execute(f"SELECT who FROM {schema}.seen_by").fetchall()]
        assert who and set(who) == {app_role}, who
        job = db.execute("SELECT task_identifier, payload FROM app_jobs.jobs").fetchone()
        assert job is not None and job["task_identifier"] == "note"
        assert job["payload"] == {"id": 1, "feeling": "happy"}
    finally:
        db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(role))


# --- task settings (0.4.0) ------------------------------------------------------------------


def test_a_producer_gets_the_task_settings_but_cannot_change_them(
    db: Conn, app_role: str, connect_as: Callable[[str], Conn]
) -> None:
    # add_job reads app_jobs.task_settings as its owner: a role granted only add_job gets the
    # operator's settings applied, cannot read or write them, nor call the settings functions.
    role = sql.Identifier(app_role)
    add_job = db.execute("SELECT 'app_jobs.add_job'::regproc::regprocedure::text AS f").fetchone()
    assert add_job is not None
    db.execute(sql.SQL("GRANT USAGE ON SCHEMA app_jobs TO {}").format(role))
    db.execute(sql.SQL("GRANT EXECUTE ON FUNCTION " + add_job["f"] + " TO {}").format(role))
    db.execute("SELECT app_jobs.set_task_settings('send_email', max_attempts := 3)")
    app = connect_as(app_role)
    row = app.execute(ENQUEUE).fetchone()
    assert row is not None
    stored = db.execute("SELECT max_attempts FROM app_jobs.jobs WHERE id = %s", (row[0],))
    assert stored.fetchone() == {"max_attempts": 3}
    assert "table task_settings" in denied(app, "SELECT * FROM app_jobs.task_settings")
    for call in (
        "app_jobs.set_task_settings('send_email', max_attempts := 9)",
        "app_jobs.unset_task_settings('send_email')",
        "app_jobs.declare_task_settings('{}')",
        "app_jobs.list_task_settings()",
    ):
        assert "permission denied for function" in denied(app, f"SELECT * FROM {call}")


# --- which tasks the live workers serve (issue 14) -----------------------------------------


def test_task_coverage_and_declarations_only_for_roles_granted_them(
    db: Conn, app_role: str, connect_as: Callable[[str], Conn]
) -> None:
    # A producer granted add_job cannot declare tasks for a worker nor read the declarations;
    # granted task_coverage (a monitoring role), it reads the coverage and nothing else.
    role = sql.Identifier(app_role)
    db.execute(sql.SQL("GRANT USAGE ON SCHEMA app_jobs TO {}").format(role))
    db.execute(sql.SQL("GRANT EXECUTE ON FUNCTION " + ADD_JOB + " TO {}").format(role))
    app = connect_as(app_role)
    app.execute(ENQUEUE)
    declare = "SELECT app_jobs.declare_worker_tasks('w', '{send_email}')"
    assert "function declare_worker_tasks" in denied(app, declare)
    assert "function task_coverage" in denied(app, "SELECT * FROM app_jobs.task_coverage()")
    assert "table worker_tasks" in denied(app, "SELECT * FROM app_jobs.worker_tasks")
    db.execute(sql.SQL("GRANT EXECUTE ON FUNCTION app_jobs.task_coverage(uuid) TO {}").format(role))
    [row] = app.execute(
        "SELECT task_identifier, queued, live_workers FROM app_jobs.task_coverage()"
    )
    assert tuple(row) == ("send_email", 1, 0)
    assert "function declare_worker_tasks" in denied(app, declare)
    assert db.execute("SELECT count(*) AS n FROM app_jobs.worker_tasks").fetchone() == {"n": 0}
