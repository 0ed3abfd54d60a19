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


def test_the_claim_rules_stay_check_constraints(db: Conn) -> None:
    """What the claim and the finish write is still guarded by the table itself."""
    names = {
        r["conname"]
        for r in db.execute(
            "SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'app_jobs.jobs'::regclass AND contype = 'c'"
        )
    }
    assert names == {
        "jobs_state_check",
        "jobs_lock_check",
        "jobs_attempts_check",
        "jobs_pending_dependencies_check",
        "jobs_waiting_check",
    }
    job_id = db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier) VALUES ('t') RETURNING id"
    ).fetchone()["id"]
    with pytest.raises(psycopg.errors.CheckViolation) as error:
        db.execute("UPDATE app_jobs.jobs SET state = 'running' WHERE id = %s", (job_id,))
    assert error.value.diag.constraint_name == "jobs_lock_check"
