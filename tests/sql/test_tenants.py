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
