"""app_jobs.grant_roles(): the producer, worker and admin roles, checked call by call from a
LOGIN member of each (the roles are cluster-wide, so every test names its own and drops them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from helpers import TENANT, Conn, add_job, unique_name
from psycopg import sql
from psycopg.rows import dict_row

#: What each kind may execute (the lists in sql/deploy/functions/grant_roles.sql).
PRODUCER = {
    "schema_version", "add_job", "add_jobs", "find_job", "watch_job", "list_jobs",
    "cancel_job", "remove_job", "declare_task_settings",
    "tg_add_job_with_row_id", "tg_add_job_with_row", "tg_add_job_with_fields",
}  # fmt: skip
PRODUCER |= {"validate_payload"}  # payload schemas (issue 19)
PRODUCER |= {"list_job_dependencies"}  # its jobs' dependency edges (0.6.0)
WORKER = {
    "schema_version", "get_job", "get_jobs", "claim_job", "complete_job", "fail_job",
    "finish_jobs", "start_jobs", "settle_jobs", "heartbeat", "unregister_worker",
    "release_jobs", "set_progress", "declare_worker_tasks", "declare_task_settings",
    "add_scheduled_job", "run_due_schedules", "create_history_partitions", "cleanup_jobs",
}  # fmt: skip
WORKER |= {"validate_payload"}  # payload schemas (issue 19)
TABLES = ("jobs", "job_history", "job_attempts", "scheduled_jobs", "workers", "job_queues")


@dataclass
class Logins:
    producer: Conn
    worker: Conn
    admin: Conn
    names: dict[str, str]  # kind -> group role


def drop_roles(db: Conn, names: list[str]) -> None:
    for name in names:
        exists = db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
        if exists:
            db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def logins(db: Conn, dsn: str) -> Iterator[Logins]:
    """The three group roles (unique names) and a LOGIN member of each, connected."""
    names = {kind: unique_name(f"pj_{kind}") for kind in ("producer", "worker", "admin")}
    members = {kind: f"{name}_login" for kind, name in names.items()}
    opened: list[Conn] = []
    try:
        db.execute("SELECT * FROM app_jobs.grant_roles(%(producer)s, %(worker)s, %(admin)s)", names)
        for kind, login in members.items():
            db.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                    sql.Identifier(login), sql.Literal(login), sql.Identifier(names[kind])
                )
            )
        for login in members.values():
            conn = psycopg.connect(
                dsn, user=login, password=login, autocommit=True, row_factory=dict_row
            )
            opened.append(conn)
        yield Logins(*opened, names=names)
    finally:
        for conn in opened:
            conn.close()
        drop_roles(db, [*members.values(), *names.values()])


def allowed(conn: Conn, statement: str, params: object = None) -> list[dict[str, object]]:
    return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]


def denied(conn: Conn, statement: str) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
        conn.execute(statement)
    return str(caught.value)


#: Executable by PUBLIC by design: the tenant policies of row level security call them as
#: whichever role reads a table (test_privileges.ROW_SECURITY says why).
ROW_SECURITY = {"_row_tenant", "_own_job"}


def executable(db: Conn, role: str) -> set[str]:
    """What role may execute beyond the row-level-security functions every role may."""
    rows = db.execute(
        """
        SELECT p.proname AS name FROM pg_proc AS p
         WHERE p.pronamespace = 'app_jobs'::regnamespace
           AND has_function_privilege(%s, p.oid, 'EXECUTE')
        """,
        [role],
    ).fetchall()
    return {row["name"] for row in rows} - ROW_SECURITY


def test_every_function_the_lists_name_exists(db: Conn) -> None:
    names = {
        row["name"]
        for row in db.execute(
            "SELECT proname AS name FROM pg_proc WHERE pronamespace = 'app_jobs'::regnamespace"
        )
    }
    assert (PRODUCER | WORKER) - names == set()


def test_each_login_may_execute_exactly_its_set(db: Conn, logins: Logins) -> None:
    public = {
        row["name"]
        for row in db.execute(
            "SELECT proname AS name FROM pg_proc WHERE pronamespace = 'app_jobs'::regnamespace"
            " AND proname !~ '^_'"
        )
    }
    for kind, expected in (("producer", PRODUCER), ("worker", WORKER)):
        assert executable(db, f"{logins.names[kind]}_login") == expected, kind
    assert executable(db, f"{logins.names['admin']}_login") == public - {"grant_roles"}
    # The group roles cannot log in; nothing private is executable by any of them.
    rows = db.execute(
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)",
        [list(logins.names.values())],
    ).fetchall()
    assert sorted(row["rolcanlogin"] for row in rows) == [False, False, False]


def test_the_producer_enqueues_reads_and_cancels_but_cannot_claim(db: Conn, logins: Logins) -> None:
    p = logins.producer
    [job] = allowed(p, "SELECT * FROM app_jobs.add_job(%s, 'send', '{}')", [TENANT])
    bulk = allowed(
        p,
        "SELECT id FROM app_jobs.add_jobs(ARRAY(SELECT json_populate_record("
        "NULL::app_jobs.job_spec, json_build_object('db_id', %s::uuid, 'identifier', 'send'))))",
        [TENANT],
    )
    assert len(bulk) == 1
    assert allowed(p, "SELECT id FROM app_jobs.find_job(%s)", [job["id"]]) == [{"id": job["id"]}]
    assert allowed(p, "SELECT id FROM app_jobs.watch_job(%s)", [job["id"]]) == [{"id": job["id"]}]
    assert len(allowed(p, "SELECT * FROM app_jobs.list_jobs(db_id := %s)", [TENANT])) == 2
    assert "function get_job" in denied(p, "SELECT * FROM app_jobs.get_job('w')")
    assert "function get_jobs" in denied(p, "SELECT * FROM app_jobs.get_jobs('w', NULL)")
    assert "function claim_job" in denied(p, f"SELECT * FROM app_jobs.claim_job('w', {job['id']})")
    assert "function complete_job" in denied(
        p, f"SELECT * FROM app_jobs.complete_job('w', {job['id']})"
    )
    assert "function heartbeat" in denied(p, "SELECT app_jobs.heartbeat('w')")
    assert "function cancel_jobs" in denied(p, "SELECT app_jobs.cancel_jobs(all_tenants := true)")
    assert "function rerun_job" in denied(p, f"SELECT * FROM app_jobs.rerun_job({job['id']})")
    assert "function grant_roles" in denied(p, "SELECT * FROM app_jobs.grant_roles()")
    [cancelled] = allowed(p, "SELECT status FROM app_jobs.cancel_job(%s)", [job["id"]])
    assert cancelled["status"] == "cancelled"
    add_job(db, "keyed", job_key="k1")
    assert allowed(p, "SELECT id FROM app_jobs.remove_job('k1', %s)", [TENANT]) != []
    for table in TABLES:
        assert "permission denied" in denied(p, f"SELECT * FROM app_jobs.{table}")


def test_the_worker_claims_and_finishes_but_cannot_enqueue_or_administer(
    db: Conn, logins: Logins
) -> None:
    w = logins.worker
    first = add_job(db, "send")
    second = add_job(db, "send")
    assert allowed(w, "SELECT app_jobs.schema_version() AS v") != []
    assert allowed(w, "SELECT app_jobs.heartbeat('w1', '30 seconds') AS held") == [{"held": []}]
    claimed = allowed(w, "SELECT id FROM app_jobs.get_jobs('w1', NULL, batch_size := 1)")
    assert claimed == [{"id": first["id"]}]
    [taken] = allowed(w, "SELECT id FROM app_jobs.get_job('w1')")
    assert taken == {"id": second["id"]}
    assert allowed(w, "SELECT app_jobs.set_progress('w1', %s, 50) AS held", [taken["id"]]) == [
        {"held": True}
    ]
    finished = allowed(
        w, "SELECT * FROM app_jobs.finish_jobs('w1', ARRAY[%s]::bigint[])", [first["id"]]
    )
    assert len(finished) == 1
    assert allowed(w, "SELECT id FROM app_jobs.fail_job('w1', %s, 'boom')", [taken["id"]]) != []
    assert allowed(w, "SELECT * FROM app_jobs.release_jobs('w1')") == []
    allowed(
        w,
        "SELECT id FROM app_jobs.add_scheduled_job(%s, 'tick', '{}', cron := '* * * * *',"
        " job_key := 'tick')",
        [TENANT],
    )
    allowed(w, "SELECT * FROM app_jobs.run_due_schedules()")
    allowed(w, "SELECT app_jobs.create_history_partitions(1)")
    allowed(w, "SELECT * FROM app_jobs.cleanup_jobs('30 days')")
    assert "function add_job" in denied(w, "SELECT * FROM app_jobs.add_job(NULL, 'x', '{}')")
    assert "function cancel_job" in denied(w, "SELECT * FROM app_jobs.cancel_job(1)")
    assert "function list_jobs" in denied(w, "SELECT * FROM app_jobs.list_jobs()")
    assert "function reclaim_stuck_jobs" in denied(
        w, "SELECT app_jobs.reclaim_stuck_jobs('1 hour')"
    )
    assert "function _sweep" in denied(w, "SELECT app_jobs._sweep('1 hour')")
    for table in TABLES:
        verb = "SELECT * FROM" if table == "job_queues" else "DELETE FROM"  # a view
        assert "permission denied" in denied(w, f"{verb} app_jobs.{table}")


def test_the_admin_runs_the_admin_calls_but_not_grant_roles(db: Conn, logins: Logins) -> None:
    a = logins.admin
    job = add_job(db, "send")
    assert allowed(a, "SELECT app_jobs.cancel_jobs(all_tenants := true) AS n") == [{"n": 1}]
    assert allowed(a, "SELECT id FROM app_jobs.rerun_job(%s)", [job["id"]]) != []
    assert allowed(a, "SELECT * FROM app_jobs.queue_stats()") != []
    allowed(a, "SELECT app_jobs.reclaim_stuck_jobs('1 hour')")
    assert "function grant_roles" in denied(a, "SELECT * FROM app_jobs.grant_roles()")
    assert "function _sweep" in denied(a, "SELECT app_jobs._sweep('1 hour')")


def test_running_it_again_takes_back_what_was_granted_beyond_the_set(
    db: Conn, logins: Logins
) -> None:
    worker = logins.names["worker"]
    db.execute(
        sql.SQL(
            "GRANT EXECUTE ON FUNCTION app_jobs.cancel_jobs(text, integer, timestamptz,"
            " text, uuid, boolean) TO {}"
        ).format(sql.Identifier(worker))
    )
    assert "cancel_jobs" in executable(db, worker)
    rows = db.execute(
        "SELECT * FROM app_jobs.grant_roles(%(producer)s, %(worker)s, %(admin)s)", logins.names
    ).fetchall()
    assert [(r["kind"], r["created"]) for r in rows] == [
        ("producer", False), ("worker", False), ("admin", False)
    ]  # fmt: skip
    assert executable(db, worker) == WORKER


def test_an_existing_role_is_granted_to_not_recreated(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    names = {kind: unique_name(f"pj_{kind}") for kind in ("producer", "worker", "admin")}
    db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(names["worker"])))
    try:
        rows = db.execute(
            "SELECT * FROM app_jobs.grant_roles(%(producer)s, %(worker)s, %(admin)s)", names
        ).fetchall()
        assert {r["kind"]: r["created"] for r in rows} == {
            "producer": True, "worker": False, "admin": True
        }  # fmt: skip
        login = db.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", [names["worker"]]
        ).fetchone()
        assert login == {"rolcanlogin": True}  # left as it was
        assert executable(db, names["worker"]) == WORKER
    finally:
        drop_roles(db, list(names.values()))


@pytest.mark.parametrize(
    ("producer", "worker", "admin", "sqlstate"),
    [
        (None, "w", "a", "PJ165"),
        ("", "w", "a", "PJ165"),
        ("x" * 64, "w", "a", "PJ165"),
        ("pg_jobs", "w", "a", "PJ165"),
        ("public", "w", "a", "PJ165"),
        ("postgres", "w", "a", "PJ165"),  # the owner of app_jobs (the test server's superuser)
        ("same", "same", "a", "PJ166"),
        ("p", "w", "p", "PJ166"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_created(
    db: Conn, producer: str | None, worker: str, admin: str, sqlstate: str
) -> None:
    count = "SELECT count(*) AS n FROM pg_roles WHERE rolname IN ('w', 'a', 'p', 'same')"
    assert db.execute(count).fetchone() == {"n": 0}
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT * FROM app_jobs.grant_roles(%s, %s, %s)", [producer, worker, admin])
    assert caught.value.sqlstate == sqlstate
    assert caught.value.diag.message_hint
    assert db.execute(count).fetchone() == {"n": 0}
