"""Tenant isolation: roles mode (the login role bound to a tenant in app_jobs.tenant_roles)
and application mode (SET app_jobs.tenant), through the one guard app_jobs._tenant.

Roles mode holds against hostile SQL: a tenant's login that sets app_jobs.tenant to another
tenant, or passes another tenant's db_id or job ids, still cannot read, replace, cancel,
rerun or list that tenant's jobs, schedules or history, through any function or table.
Application mode only protects against application bugs: any session can RESET it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from helpers import OTHER_TENANT, TENANT, Conn, add_job, complete_job, get_job, unique_name
from psycopg import sql
from psycopg.rows import dict_row
from test_roles import drop_roles

A, B = TENANT, OTHER_TENANT


@dataclass
class Tenants:
    a: Conn  # the login of tenant A
    b_jobs: dict[str, int]  # B's jobs: waiting, keyed, running, finished
    b_uid: str
    group: str  # the producer role the login is a member of


def seed_b(db: Conn) -> tuple[dict[str, int], str]:
    waiting = add_job(db, "send", db_id=B)
    keyed = add_job(db, "send", db_id=B, job_key="k", payload='{"who": "B"}')
    running = add_job(db, "run", db_id=B)
    assert get_job(db, "w-b", ["run"]) is not None
    done = add_job(db, "done", db_id=B)
    assert get_job(db, "w-b", ["done"]) is not None
    assert complete_job(db, "w-b", done["id"]) is not None
    db.execute(
        "SELECT app_jobs.add_scheduled_job(%s, 'nightly', cron := '0 3 * * *', job_key := 'n')",
        [B],
    )
    ids = {"waiting": waiting["id"], "keyed": keyed["id"], "running": running["id"]}
    return {**ids, "finished": done["id"]}, str(waiting["uid"])


@pytest.fixture
def tenants(db: Conn, dsn: str) -> Iterator[Tenants]:
    names = {kind: unique_name(f"pj_{kind}") for kind in ("producer", "worker", "admin")}
    login = f"{names['producer']}_a"
    opened: list[Conn] = []
    try:
        db.execute("SELECT * FROM app_jobs.grant_roles(%(producer)s, %(worker)s, %(admin)s)", names)
        db.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(login), sql.Literal(login), sql.Identifier(names["producer"])
            )
        )
        db.execute(
            "INSERT INTO app_jobs.tenant_roles (role_name, db_id) VALUES (%s, %s)", [login, A]
        )
        b_jobs, b_uid = seed_b(db)
        conn = psycopg.connect(
            dsn, user=login, password=login, autocommit=True, row_factory=dict_row
        )
        opened.append(conn)
        conn.execute("SELECT set_config('app_jobs.tenant', %s, false)", [B])  # the attack
        yield Tenants(conn, b_jobs, b_uid, names["producer"])
    finally:
        for conn in opened:
            conn.close()
        drop_roles(db, [login, *names.values()])


def refused(conn: Conn, statement: str, *params: object) -> None:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(statement, params or None)
    assert caught.value.sqlstate == "PJ167", caught.value
    assert caught.value.diag.message_hint


def b_state(db: Conn) -> list[dict[str, object]]:
    return db.execute(
        "SELECT id, key, state, payload::text AS payload, cancel_requested_at, watched"
        " FROM app_jobs.jobs WHERE database_id = %s ORDER BY id",
        [B],
    ).fetchall()


def test_a_tenant_cannot_read_the_other_tenants_jobs(db: Conn, tenants: Tenants) -> None:
    a, b = tenants.a, tenants.b_jobs
    for job in b.values():
        refused(a, "SELECT * FROM app_jobs.find_job(%s)", job)
        refused(a, "SELECT * FROM app_jobs.watch_job(%s)", job)
    refused(a, "SELECT * FROM app_jobs.find_job(job_uid := %s)", tenants.b_uid)
    refused(a, "SELECT * FROM app_jobs.list_jobs(db_id := %s)", B)
    assert a.execute("SELECT * FROM app_jobs.list_jobs()").fetchall() == []  # A has none yet
    mine = a.execute("SELECT id, database_id FROM app_jobs.add_job(NULL, 'send')").fetchone()
    assert mine is not None and str(mine["database_id"]) == A
    listed = a.execute("SELECT id FROM app_jobs.list_jobs()").fetchall()
    assert listed == [{"id": mine["id"]}]
    [found] = a.execute("SELECT id FROM app_jobs.find_job(%s)", [mine["id"]]).fetchall()
    assert found == {"id": mine["id"]}


def test_a_tenant_cannot_replace_cancel_or_remove_the_other_tenants_jobs(
    db: Conn, tenants: Tenants
) -> None:
    a, b = tenants.a, tenants.b_jobs
    before = b_state(db)
    refused(a, "SELECT * FROM app_jobs.add_job(%s, 'send', '{}', job_key := 'k')", B)
    refused(
        a,
        "SELECT * FROM app_jobs.add_jobs(ARRAY(SELECT json_populate_record("
        "NULL::app_jobs.job_spec, json_build_object('db_id', %s::uuid, 'identifier', 'send',"
        " 'job_key', 'k'))))",
        B,
    )
    for job in b.values():
        refused(a, "SELECT * FROM app_jobs.cancel_job(%s)", job)
    refused(a, "SELECT * FROM app_jobs.remove_job('k', %s)", B)
    assert b_state(db) == before
    # The same key with no db_id is A's own key: B's keyed job is untouched.
    [own] = a.execute("SELECT database_id FROM app_jobs.add_job(NULL, 'send', job_key := 'k')")
    assert str(own["database_id"]) == A
    bulk = a.execute(
        "SELECT database_id FROM app_jobs.add_jobs(ARRAY(SELECT json_populate_record("
        "NULL::app_jobs.job_spec, json_build_object('identifier', 'send'))))"
    ).fetchall()
    assert [str(r["database_id"]) for r in bulk] == [A]
    assert a.execute("SELECT id FROM app_jobs.remove_job('k', NULL)").fetchall() != []
    assert b_state(db) == before


def test_rerun_schedules_history_and_tables_are_closed_to_a_tenant(
    db: Conn, tenants: Tenants
) -> None:
    a, b = tenants.a, tenants.b_jobs
    closed = [
        f"SELECT * FROM app_jobs.rerun_job({b['finished']})",
        f"SELECT app_jobs.cancel_jobs(db_id := '{B}')",
        f"SELECT * FROM app_jobs.list_scheduled_jobs('{B}')",
        f"SELECT * FROM app_jobs.find_scheduled_job('n', '{B}')",
        "SELECT * FROM app_jobs.recent_jobs()",
        "SELECT * FROM app_jobs.search_jobs(payload_text := 'B')",
        "SELECT * FROM app_jobs.queue_stats()",
        f"SELECT * FROM app_jobs.reschedule_jobs(ARRAY[{b['waiting']}]::bigint[])",
        "SELECT * FROM app_jobs.run_due_schedules()",
        "SELECT * FROM app_jobs.get_jobs('thief', NULL)",
        "SELECT * FROM app_jobs._finished_job_info(NULL::app_jobs.job_history)",
        "DELETE FROM app_jobs.tenant_roles",
    ]
    closed += [
        f"SELECT * FROM app_jobs.{table}"
        for table in ("jobs", "job_history", "job_attempts", "scheduled_jobs", "job_queues",
                      "tenant_roles", "workers")
    ]  # fmt: skip
    for statement in closed:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute(statement)
    # SET ROLE to its group role does not change the tenant: session_user is what is bound.
    a.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(tenants.group)))
    refused(a, "SELECT * FROM app_jobs.find_job(%s)", b["waiting"])
    refused(a, "SELECT * FROM app_jobs.list_jobs(db_id := %s)", B)


def test_application_mode_scopes_a_session_but_any_session_can_leave_it(db: Conn) -> None:
    b_jobs, _ = seed_b(db)
    db.execute(sql.SQL("SET app_jobs.tenant = {}").format(sql.Literal(A)))
    try:
        refused(db, "SELECT * FROM app_jobs.find_job(%s)", b_jobs["waiting"])
        refused(db, "SELECT * FROM app_jobs.cancel_job(%s)", b_jobs["waiting"])
        refused(db, "SELECT * FROM app_jobs.add_job(%s, 'x')", B)
        [row] = db.execute("SELECT database_id FROM app_jobs.add_job(NULL, 'x')").fetchall()
        assert str(row["database_id"]) == A
        assert db.execute("SELECT count(*) AS n FROM app_jobs.list_jobs()").fetchone() == {"n": 1}
        # A dependency on B's job: as if it did not exist (PJ211), so no id of B leaks.
        with pytest.raises(psycopg.Error) as caught:
            db.execute(
                "SELECT app_jobs.add_job(NULL, 'y', depends_on := ARRAY[%s]::bigint[])",
                [b_jobs["waiting"]],
            )
        assert caught.value.sqlstate == "PJ211"
        db.execute("SET app_jobs.tenant = 'not-a-uuid'")
        with pytest.raises(psycopg.Error) as caught:
            db.execute("SELECT * FROM app_jobs.list_jobs()")
        assert caught.value.sqlstate == "PJ168"
    finally:
        db.execute("RESET app_jobs.tenant")
    # The threat model: nothing stops a session from leaving application mode.
    assert db.execute("SELECT count(*) AS n FROM app_jobs.list_jobs()").fetchone() == {"n": 5}


def test_without_a_tenant_nothing_changes(db: Conn) -> None:
    b_jobs, _ = seed_b(db)
    assert db.execute("SELECT id FROM app_jobs.find_job(%s)", [b_jobs["waiting"]]).fetchall() == [
        {"id": b_jobs["waiting"]}
    ]
    row = db.execute("SELECT database_id FROM app_jobs.add_job(NULL, 'x')").fetchone()
    assert row is not None and str(row["database_id"]) == "00000000-0000-0000-0000-000000000000"


def test_the_roles_mode_block_of_docs_operations_md(db: Conn, dsn: str) -> None:
    """docs/operations.md's roles-mode block, with unique role names (roles are
    cluster-wide): the login it binds acts for that tenant only."""
    text = (Path(__file__).resolve().parents[2] / "docs/operations.md").read_text()
    start = text.index("```sql\nSELECT * FROM app_jobs.grant_roles();")
    block = text[start + len("```sql\n") : text.index("```", start + 6)]
    names = {kind: unique_name(f"pj_{kind}") for kind in ("producer", "worker", "admin")}
    login = f"{names['producer']}_acme"
    adapted = (
        block.replace(
            "grant_roles()", "grant_roles(%(producer)s, %(worker)s, %(admin)s)" % {
                k: sql.Literal(v).as_string(db) for k, v in names.items()
            }
        )
        .replace("tenant_acme", login)
        .replace("app_jobs_producer", names["producer"])
    )  # fmt: skip
    try:
        for statement in filter(str.strip, adapted.split(";")):
            db.execute(statement.replace("'" + login + "'", sql.Literal(login).as_string(db)))
        b_jobs, _ = seed_b(db)
        with psycopg.connect(dsn, user=login, password="secret", autocommit=True) as acme:
            refused(acme, "SELECT * FROM app_jobs.find_job(%s)", b_jobs["waiting"])
            row = acme.execute("SELECT database_id FROM app_jobs.add_job(NULL, 'x')").fetchone()
            assert row is not None and str(row[0]) == A
    finally:
        drop_roles(db, [login, *names.values()])


# --- Row level security: direct reads of the tables (issue 15 item 2, roles mode) -----------

#: Every table holding tenant data, and the view over two of them.
POLICED = ("jobs", "job_history", "job_history_default", "job_attempts", "scheduled_jobs",
           "task_settings", "job_queue_locks", "job_queue_wakes", "job_pauses",
           "job_limits", "job_dependencies")  # fmt: skip


def seed_b_more(db: Conn) -> None:
    """B's rows in the tables seed_b leaves empty: an attempt, a queue lock, a setting, a
    pause, a limit."""
    failing = add_job(db, "flaky", db_id=B, max_attempts=3)
    assert get_job(db, "w-b", ["flaky"]) is not None
    db.execute("SELECT app_jobs.fail_job('w-b', %s, 'boom')", [failing["id"]])
    add_job(db, "serial", db_id=B, queue_name="b-queue")
    assert get_job(db, "w-b", ["serial"]) is not None
    db.execute("SELECT app_jobs.set_task_settings('flaky', db_id := %s, max_attempts := 5)", [B])
    db.execute("SELECT app_jobs.pause_jobs(task := 'b-only', db_id := %s)", [B])
    db.execute(
        "SELECT app_jobs.set_job_limit(task := 'b-only', db_id := %s, max_running := 2)", [B]
    )
    add_job(db, "after-serial", db_id=B, depends_on=[failing["id"]])  # a dependency edge


def direct_rows(conn: Conn) -> dict[str, list[dict[str, object]]]:
    rows = {}
    for table in (*POLICED, "job_queues"):
        column = "job_id" if table == "job_attempts" else "database_id"
        rows[table] = conn.execute(f"SELECT {column} AS owner FROM app_jobs.{table}").fetchall()
    for partition in conn.execute(
        "SELECT inhrelid::regclass::text AS name FROM pg_inherits"
        " WHERE inhparent = 'app_jobs.job_history'::regclass"
    ).fetchall():
        name = str(partition["name"])
        rows[name] = conn.execute(f"SELECT database_id AS owner FROM {name}").fetchall()
    return rows


def test_a_tenant_granted_the_tables_reads_only_its_own_rows(db: Conn, tenants: Tenants) -> None:
    """An admin grants the tenant's login SELECT on every table (for reporting, say); the
    login sets app_jobs.tenant to B, even SETs ROLE: it still reads none of B's rows, in any
    table, partition or the job_queues view, while a login bound to no tenant reads them all."""
    a = tenants.a
    seed_b_more(db)
    db.execute("SELECT app_jobs.create_history_partitions(1)")  # day partitions, made later
    done = add_job(db, "done", db_id=B)
    assert get_job(db, "w-b", ["done"]) is not None
    assert complete_job(db, "w-b", done["id"]) is not None  # into today's partition
    login = a.execute("SELECT session_user AS u").fetchone()
    assert login is not None
    db.execute(  # to the login, and to its group role for the SET ROLE below
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA app_jobs TO {}, {}").format(
            sql.Identifier(str(login["u"])), sql.Identifier(tenants.group)
        )
    )
    mine = a.execute("SELECT id FROM app_jobs.add_job(NULL, 'send')").fetchone()
    assert mine is not None
    # What the superuser (every row) and the tenant's login see, table by table.
    everything = direct_rows(db)
    for table in ("jobs", "job_history", "job_attempts", "scheduled_jobs", "task_settings",
                  "job_queue_locks", "job_queues", "job_dependencies"):  # fmt: skip
        assert everything[table], f"the seed left {table} empty: the check would prove nothing"
    for attempt in (lambda: None, lambda: a.execute(
            sql.SQL("SET ROLE {}").format(sql.Identifier(tenants.group)))):  # fmt: skip
        attempt()
        assert a.execute("SHOW app_jobs.tenant").fetchone() == {"app_jobs.tenant": B}
        seen = direct_rows(a)
        assert seen.keys() == everything.keys()
        for table, rows in seen.items():
            owners = {str(r["owner"]) for r in rows}
            if table == "job_attempts":
                assert owners == set(), table  # B's failed attempt; A has none
            elif table == "jobs":
                assert owners == {A}, table  # A's own job only
            else:
                assert owners <= {A}, (table, owners)
        a.execute("RESET ROLE")
    # Writes are policed as well: the login cannot move or remove B's rows it was granted.
    db.execute(
        sql.SQL("GRANT UPDATE, DELETE ON app_jobs.jobs TO {}").format(
            sql.Identifier(str(login["u"]))
        )
    )
    assert a.execute("DELETE FROM app_jobs.jobs WHERE database_id = %s", [B]).rowcount == 0
    assert (
        a.execute("UPDATE app_jobs.jobs SET priority = 9 WHERE database_id = %s", [B]).rowcount == 0
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a row moved to B is refused
        a.execute("UPDATE app_jobs.jobs SET database_id = %s WHERE id = %s", [B, mine["id"]])
    assert direct_rows(db) == everything


def test_a_login_bound_to_no_tenant_still_reads_every_row(db: Conn, dsn: str) -> None:
    """Row level security changes nothing for a role granted a table whose login is bound to
    no tenant (a reporting role): it reads every row, as before."""
    seed_b(db)
    seed_b_more(db)
    login = unique_name("pj_report")
    try:
        db.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(login), sql.Literal(login)
            )
        )
        db.execute(sql.SQL("GRANT USAGE ON SCHEMA app_jobs TO {}").format(sql.Identifier(login)))
        db.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA app_jobs TO {}").format(
                sql.Identifier(login)
            )
        )
        with psycopg.connect(
            dsn, user=login, password=login, autocommit=True, row_factory=dict_row
        ) as report:
            assert direct_rows(report) == direct_rows(db)
    finally:
        drop_roles(db, [login])


def test_every_table_with_tenant_data_forces_row_level_security(db: Conn) -> None:
    """Every table of app_jobs with a database_id or job_id column, partitions included,
    has row level security enabled and forced, with the two policies: a table added later
    without them fails here."""
    db.execute("SELECT app_jobs.create_history_partitions(1)")
    rows = db.execute(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
        "       array(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid"
        "             ORDER BY 1) AS policies"
        "  FROM pg_class c"
        " WHERE c.relnamespace = 'app_jobs'::regnamespace AND c.relkind IN ('r', 'p')"
        "   AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid"
        "                AND a.attname IN ('database_id', 'job_id') AND NOT a.attisdropped)"
    ).fetchall()
    names = {r["relname"] for r in rows}
    assert set(POLICED) <= names and any(n.startswith("job_history_p") for n in names)
    for row in rows:
        assert row["relrowsecurity"] and row["relforcerowsecurity"], row["relname"]
        assert row["policies"] == ["pgjobs_owner", "pgjobs_tenant"], row["relname"]
    [view] = db.execute("SELECT pg_get_viewdef('app_jobs.job_queues'::regclass) AS v").fetchall()
    assert str(view["v"]).count("_row_tenant()") == 4  # both branches filter by tenant


# --- The guard's cost when isolation is unused (issue 15: a constant the planner folds) ------


def used(db: Conn) -> str:
    row = db.execute(
        "SELECT btrim(prosrc) AS body FROM pg_proc"
        " WHERE oid = 'app_jobs._tenant_roles_used()'::regprocedure"
    ).fetchone()
    assert row is not None
    return str(row["body"])


def test_the_guard_constant_follows_tenant_roles_in_the_changing_transaction(db: Conn) -> None:
    assert used(db) == "SELECT false"  # a fresh install: no tenant roles
    db.execute("INSERT INTO app_jobs.tenant_roles (role_name, db_id) VALUES ('nobody', %s)", [A])
    assert used(db) == "SELECT true"
    db.execute("UPDATE app_jobs.tenant_roles SET db_id = %s", [B])
    assert used(db) == "SELECT true"
    db.execute("DELETE FROM app_jobs.tenant_roles")
    assert used(db) == "SELECT false"
    with db.transaction():  # rolled back with the change
        db.execute("INSERT INTO app_jobs.tenant_roles (role_name, db_id) VALUES ('x', %s)", [A])
        assert used(db) == "SELECT true"
        raise psycopg.Rollback
    assert used(db) == "SELECT false"
    db.execute("TRUNCATE app_jobs.tenant_roles")
    assert used(db) == "SELECT false"
    # Under REPEATABLE READ the snapshot may miss another session's row: it stays true.
    with db.transaction():
        db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        db.execute("DELETE FROM app_jobs.tenant_roles")
    assert used(db) == "SELECT true"
    assert db.execute("SELECT app_jobs._tenant_roles_refresh() AS u").fetchone() == {"u": False}
    assert used(db) == "SELECT false"


def test_a_login_bound_while_connected_is_guarded_from_its_next_call(db: Conn, dsn: str) -> None:
    """A connected login's cached plans inlined the guard's constant (false: no tenant roles);
    binding that login to a tenant replaces the constant, which invalidates those plans: its
    next call is guarded."""
    names = {kind: unique_name(f"pj_{kind}") for kind in ("producer", "worker", "admin")}
    login = f"{names['producer']}_late"
    try:
        db.execute("SELECT * FROM app_jobs.grant_roles(%(producer)s, %(worker)s, %(admin)s)", names)
        db.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(login), sql.Literal(login), sql.Identifier(names["producer"])
            )
        )
        with psycopg.connect(
            dsn, user=login, password=login, autocommit=True, row_factory=dict_row
        ) as conn:
            for _ in range(8):  # past plpgsql's and the plan cache's first executions
                row = conn.execute("SELECT database_id FROM app_jobs.add_job(%s, 'x')", [B])
                assert str(row.fetchone()["database_id"]) == B  # type: ignore[index]
                conn.execute("SELECT count(*) FROM app_jobs.list_jobs(db_id := %s)", [B])
            db.execute(
                "INSERT INTO app_jobs.tenant_roles (role_name, db_id) VALUES (%s, %s)", [login, A]
            )
            refused(conn, "SELECT * FROM app_jobs.add_job(%s, 'x')", B)
            refused(conn, "SELECT * FROM app_jobs.list_jobs(db_id := %s)", B)
            row = conn.execute("SELECT database_id FROM app_jobs.add_job(NULL, 'x')").fetchone()
            assert row is not None and str(row["database_id"]) == A
            db.execute("DELETE FROM app_jobs.tenant_roles WHERE role_name = %s", [login])
            row = conn.execute("SELECT database_id FROM app_jobs.add_job(%s, 'x')", [B]).fetchone()
            assert row is not None and str(row["database_id"]) == B
    finally:
        drop_roles(db, [login, *names.values()])


def test_police_table_refuses_a_table_without_tenant_data(db: Conn) -> None:
    for table in ("app_jobs.workers", "pg_catalog.pg_class"):
        with pytest.raises(psycopg.Error) as caught:
            db.execute("SELECT app_jobs._police_table(%s::regclass)", [table])
        assert caught.value.sqlstate == "PJ169", table
        assert caught.value.diag.message_hint
    flags = db.execute(
        "SELECT relrowsecurity FROM pg_class WHERE oid = 'app_jobs.workers'::regclass"
    ).fetchone()
    assert flags == {"relrowsecurity": False}
