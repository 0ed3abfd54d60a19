"""The shape rules of a job's input columns (0.6.0: triggers/jobs_check through
app_jobs._job_row_problem, no longer CHECK constraints compiled by every statement that writes
app_jobs.jobs). A write that bypasses the public functions (which refuse such input first with
their own PJ errors) still cannot store a malformed job: check_violation (23514) naming the rule,
and nothing is written."""

from __future__ import annotations

import psycopg
import pytest
from helpers import Conn

BAD = [
    ("task_identifier", "''", "jobs_task_identifier_check"),
    ("task_identifier", "repeat('t', 256)", "jobs_task_identifier_check"),
    ("key", "''", "jobs_key_check"),
    ("key", "repeat('k', 513)", "jobs_key_check"),
    ("queue_name", "''", "jobs_queue_name_check"),
    ("queue_name", "repeat('q', 256)", "jobs_queue_name_check"),
    ("correlation_id", "''", "jobs_correlation_id_check"),
    ("correlation_id", "repeat('c', 256)", "jobs_correlation_id_check"),
    ("progress", "-1", "jobs_progress_check"),
    ("progress", "100.5", "jobs_progress_check"),
    ("max_attempts", "0", "jobs_max_attempts_check"),
    ("timeout", "interval '0'", "jobs_timeout_check"),
    ("timeout", "interval '8 days'", "jobs_timeout_check"),
]


def count(db: Conn) -> int:
    return db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()["n"]


@pytest.mark.parametrize(("column", "value", "rule"), BAD)
def test_a_direct_insert_breaking_a_rule_is_refused(
    db: Conn, column: str, value: str, rule: str
) -> None:
    good = "INSERT INTO app_jobs.jobs (task_identifier) VALUES ('ok')"
    db.execute(good)
    # One statement of three rows, the last one bad: the whole statement is refused.
    if column == "task_identifier":
        statement = f"INSERT INTO app_jobs.jobs (task_identifier) VALUES ('a'), ('b'), ({value})"
    else:
        statement = (
            f"INSERT INTO app_jobs.jobs (task_identifier, {column})"
            f" VALUES ('a', DEFAULT), ('b', DEFAULT), ('c', {value})"
        )
    with pytest.raises(psycopg.errors.CheckViolation) as error:
        db.execute(statement)
    assert error.value.diag.constraint_name == rule
    assert error.value.diag.table_name == "jobs"
    assert rule in str(error.value)
    assert count(db) == 1


@pytest.mark.parametrize(("column", "value", "rule"), BAD)
def test_an_update_breaking_a_rule_is_refused(db: Conn, column: str, value: str, rule: str) -> None:
    job_id = db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier, key) VALUES ('t', 'k1') RETURNING id"
    ).fetchone()["id"]
    before = db.execute("SELECT * FROM app_jobs.jobs WHERE id = %s", (job_id,)).fetchone()
    with pytest.raises(psycopg.errors.CheckViolation) as error:
        db.execute(f"UPDATE app_jobs.jobs SET {column} = {value} WHERE id = %s", (job_id,))
    assert error.value.diag.constraint_name == rule
    assert db.execute("SELECT * FROM app_jobs.jobs WHERE id = %s", (job_id,)).fetchone() == before


def test_rows_keeping_the_rules_are_written(db: Conn) -> None:
    db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier, key, queue_name, correlation_id, progress,"
        " max_attempts, timeout) VALUES (repeat('t', 255), repeat('k', 512), repeat('q', 255),"
        " repeat('c', 255), 100, 1, interval '7 days'), ('t2', NULL, NULL, NULL, 0, 25, NULL)"
    )
    db.execute("UPDATE app_jobs.jobs SET progress = 50, max_attempts = 3")
    assert count(db) == 2


# The rules every row keeps, the claim and the finish included (0.6.0: one CHECK constraint
# calling app_jobs._job_claim_rules instead of five compiled by every claim): each broken rule
# fails the statement with check_violation naming the constraint it replaced.
CLAIM_RULES = [
    ("state = 'done'", "jobs_state_check"),
    ("state = 'running'", "jobs_lock_check"),  # running without a lock
    ("locked_by = 'w'", "jobs_lock_check"),  # a lock on a ready job
    ("state = 'running', locked_by = 'w'", "jobs_lock_check"),  # locked_at missing
    ("attempts = -1", "jobs_attempts_check"),
    ("pending_dependencies = -2", "jobs_pending_dependencies_check"),
    ("state = 'waiting', pending_dependencies = 0", "jobs_waiting_check"),
]


def test_the_claim_rules_are_one_check_constraint(db: Conn) -> None:
    """What the claim and the finish write is still guarded by the table itself."""
    rows = db.execute(
        "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint"
        " WHERE conrelid = 'app_jobs.jobs'::regclass AND contype = 'c'"
    ).fetchall()
    assert [r["conname"] for r in rows] == ["jobs_rules_check"]
    assert "app_jobs._job_claim_rules(id, state, locked_by, locked_at" in rows[0]["def"]


@pytest.mark.parametrize(("assignments", "rule"), CLAIM_RULES)
def test_a_write_breaking_a_claim_rule_is_refused(db: Conn, assignments: str, rule: str) -> None:
    job_id = db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier) VALUES ('t') RETURNING id"
    ).fetchone()["id"]
    before = db.execute("SELECT * FROM app_jobs.jobs WHERE id = %s", (job_id,)).fetchone()
    with pytest.raises(psycopg.errors.CheckViolation) as error:
        db.execute(f"UPDATE app_jobs.jobs SET {assignments} WHERE id = %s", (job_id,))
    assert error.value.diag.constraint_name == rule
    assert (error.value.diag.schema_name, error.value.diag.table_name) == ("app_jobs", "jobs")
    assert f"Job {job_id}:" in (error.value.diag.message_detail or "")
    assert db.execute("SELECT * FROM app_jobs.jobs WHERE id = %s", (job_id,)).fetchone() == before
    # An insert breaking it is refused the same way, and writes nothing.
    columns, values = zip(*(a.split(" = ") for a in assignments.split(", ")), strict=True)
    with pytest.raises(psycopg.errors.CheckViolation) as error:
        db.execute(
            f"INSERT INTO app_jobs.jobs (task_identifier, {', '.join(columns)})"
            f" VALUES ('t', {', '.join(values)})"
        )
    assert error.value.diag.constraint_name == rule
    assert count(db) == 1


def test_rows_keeping_the_claim_rules_are_written(db: Conn) -> None:
    db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier, state, locked_by, locked_at, attempts)"
        " VALUES ('t', 'running', 'w', now(), 1)"
    )
    # A rule whose test is NULL passes, as a CHECK's does (waiting, dependencies unknown).
    db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier, state, pending_dependencies)"
        " VALUES ('t', 'waiting', 2), ('t', 'waiting', NULL)"
    )
    assert count(db) == 3


# The rules as the five CHECK constraints of 0.5.0 wrote them, in the order the function tests
# them: the oracle for app_jobs._job_claim_rules over every combination of its inputs' kinds.
RULES_050 = [
    (
        "jobs_state_check",
        "state IN ('ready', 'scheduled', 'blocked', 'running', 'paused', 'waiting')",
    ),
    (
        "jobs_lock_check",
        "(state = 'running') = (locked_by IS NOT NULL)"
        " AND (locked_by IS NULL) = (locked_at IS NULL)",
    ),
    ("jobs_attempts_check", "attempts >= 0"),
    ("jobs_pending_dependencies_check", "pending_dependencies >= 0"),
    ("jobs_waiting_check", "state <> 'waiting' OR pending_dependencies > 0"),
]


def test_the_claim_rules_function_agrees_with_the_050_constraints_everywhere(db: Conn) -> None:
    """Exhaustive over the kinds of input (every state, a bad one and NULL; lock parts set or
    not; attempts and pending dependencies negative, zero, positive or NULL): the function
    passes exactly the rows the five constraints passed, and otherwise names the first rule
    broken. Its fast path for the running and ready rows (0.6.0) is inside this space."""
    oracle = ", ".join(f'({test}) IS FALSE AS "{name}"' for name, test in RULES_050)
    cases = db.execute(
        f"SELECT s.state, b.locked_by, a.locked_at, t.attempts, p.pending_dependencies, {oracle}"
        " FROM unnest(ARRAY['ready', 'scheduled', 'blocked', 'running', 'paused', 'waiting',"
        "                   'done', NULL]) AS s (state)"
        " CROSS JOIN unnest(ARRAY['w', NULL]) AS b (locked_by)"
        " CROSS JOIN unnest(ARRAY[now(), NULL]) AS a (locked_at)"
        " CROSS JOIN unnest(ARRAY[-1, 0, 3, NULL]::int[]) AS t (attempts)"
        " CROSS JOIN unnest(ARRAY[-1, 0, 2, NULL]::int[]) AS p (pending_dependencies)"
    ).fetchall()
    assert len(cases) == 8 * 2 * 2 * 4 * 4
    passed = 0
    for case in cases:
        expected = next((name for name, _ in RULES_050 if case[name]), None)
        try:
            ok = db.execute(
                "SELECT app_jobs._job_claim_rules(7, %(state)s, %(locked_by)s, %(locked_at)s,"
                " %(attempts)s, %(pending_dependencies)s) AS ok",
                case,
            ).fetchone()["ok"]
            got = None if ok else "returned false"
        except psycopg.errors.CheckViolation as error:
            got = error.diag.constraint_name
        assert got == expected, case
        passed += got is None
    assert 0 < passed < len(cases)
