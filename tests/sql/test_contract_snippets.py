"""The SQL snippets of our contract's README (@pgpm/jobs) run verbatim and do what it says.

The ```sql blocks are read from the README at test time and identified by their content. A
block this module does not know fails `test_every_snippet_is_handled`, so a new snippet in
the README needs a test here before the suite is green again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from helpers import Conn, Row, get_job

CONTRACT = Path("/work/shared/seeds/001_3c72cd6b2c44c822.txt")
README_TENANT = "5b720132-17d5-424d-9bcb-ee7b17c13d43"
REAL_TENANT = "3f0b5d2e-8c1a-4e6f-9b7d-2a4c6e8f0a1b"

#: Snippet kind -> the text that identifies it. The order matters: the first match wins, so
#: `tg_add_job_with_row(` (no `_id`) is told apart from `tg_add_job_with_row_id(`.
KINDS = {
    "add_job": "app_jobs.add_job(",
    "get_job": "app_jobs.get_job(",
    "complete_job": "app_jobs.complete_job(",
    "fail_job": "app_jobs.fail_job(",
    "scheduled_jobs": "INSERT INTO app_jobs.scheduled_jobs",
    "tg_add_job_with_row_id": "app_jobs.tg_add_job_with_row_id(",
    "tg_add_job_with_row": "app_jobs.tg_add_job_with_row(",
    "tg_add_job_with_fields": "app_jobs.tg_add_job_with_fields(",
}


def sql_blocks() -> list[str]:
    if not CONTRACT.is_file():
        pytest.skip(f"{CONTRACT} (the contract README) is not here")
    return re.findall(r"^```sql\n(.*?)^```", CONTRACT.read_text(encoding="utf-8"), re.M | re.S)


def kinds_of(block: str) -> list[str]:
    return [kind for kind, marker in KINDS.items() if marker in block]


def snippet(kind: str) -> str:
    found = [block for block in sql_blocks() if kinds_of(block) == [kind]]
    assert len(found) == 1, f"expected one {kind} snippet, found {len(found)}"
    return found[0]


def test_every_snippet_is_handled() -> None:
    blocks = sql_blocks()
    unhandled = [block for block in blocks if len(kinds_of(block)) != 1]
    assert unhandled == [], "snippets this module does not test (or cannot tell apart)"
    assert Counter(kind for block in blocks for kind in kinds_of(block)) == dict.fromkeys(KINDS, 1)
    assert len(blocks) == len(KINDS)


def jobs(db: Conn) -> list[Row]:
    return db.execute(
        "SELECT id, database_id::text AS tenant, task_identifier AS task, payload, priority,"
        "       state, locked_by, attempts, last_error, run_at, created_at"
        "  FROM app_jobs.jobs ORDER BY id"
    ).fetchall()


def job_123_held_by_worker_1(db: Conn) -> None:
    """What the complete_job and fail_job snippets presume: job 123, locked by worker-1."""
    db.execute("SELECT setval(pg_get_serial_sequence('app_jobs.jobs', 'id'), 122)")
    db.execute("SELECT app_jobs.add_job(%s, 'send_email', '{\"to\": \"a@b.c\"}')", (README_TENANT,))
    job = get_job(db, "worker-1")
    assert job is not None and job["id"] == 123


def test_add_job_snippet(db: Conn) -> None:
    db.execute(snippet("add_job"))
    simple, delayed = jobs(db)
    assert (simple["tenant"], simple["task"], simple["payload"]) == (
        README_TENANT,
        "send_email",
        {"to": "user@example.com"},
    )
    assert (simple["priority"], simple["state"]) == (0, "ready")
    assert (delayed["tenant"], delayed["task"], delayed["payload"]) == (
        README_TENANT,
        "generate_report",
        {"report_id": 123},
    )
    assert (delayed["priority"], delayed["state"]) == (10, "scheduled")
    # run_at := now() + interval '1 hour', and created_at is now() of the same statement.
    assert (delayed["run_at"] - delayed["created_at"]).total_seconds() == 3600
    # The delayed job is not handed out before its time; the simple one is.
    claimed = get_job(db, "probe")
    assert claimed is not None and claimed["id"] == simple["id"]
    assert get_job(db, "probe") is None


def test_get_job_snippet(db: Conn) -> None:
    db.execute(
        "SELECT app_jobs.add_job(NULL, 'other_task', priority := -5);"
        "SELECT app_jobs.add_job(NULL, 'generate_report', '{\"report_id\": 1}');"
        "SELECT app_jobs.add_job(NULL, 'send_email', '{\"to\": \"x@y.z\"}')"
    )
    job = db.execute(snippet("get_job")).fetchone()
    assert job is not None
    # The most urgent job of those two tasks (other_task, more urgent, is not asked for).
    assert (job["task_identifier"], job["locked_by"], job["attempts"]) == (
        "generate_report",
        "worker-1",
        1,
    )
    assert job["locked_at"] is not None and job["state"] == "running"
    held = db.execute("SELECT task_identifier AS t FROM app_jobs.jobs WHERE locked_by = 'worker-1'")
    assert held.fetchall() == [{"t": "generate_report"}]


def test_complete_job_snippet(db: Conn) -> None:
    job_123_held_by_worker_1(db)
    done = db.execute(snippet("complete_job")).fetchone()
    assert done is not None and done["complete_job"] is not None
    assert jobs(db) == []
    history = db.execute("SELECT id, status, worker_id FROM app_jobs.job_history").fetchall()
    assert history == [{"id": 123, "status": "completed", "worker_id": "worker-1"}]


def test_fail_job_snippet(db: Conn) -> None:
    job_123_held_by_worker_1(db)
    db.execute(snippet("fail_job"))
    (job,) = jobs(db)
    assert job["id"] == 123
    assert (job["last_error"], job["locked_by"], job["attempts"], job["state"]) == (
        "Connection timeout",
        None,
        1,
        "scheduled",
    )
    retry = db.execute("SELECT run_at > now() AS later FROM app_jobs.jobs").fetchone()
    assert retry == {"later": True}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_history").fetchone() == {"n": 0}


def test_scheduled_jobs_snippet(db: Conn) -> None:
    cursor = db.execute(snippet("scheduled_jobs"))
    assert cursor.statusmessage == "INSERT 0 1"
    assert cursor.nextset()  # the result of run_scheduled_job(1)
    enqueued = cursor.fetchall()
    assert [row["task_identifier"] for row in enqueued] == ["cleanup_task"]
    schedule = db.execute(
        "SELECT id, database_id::text AS tenant, schedule_info FROM app_jobs.scheduled_jobs"
    ).fetchall()
    assert schedule == [
        {"id": 1, "tenant": README_TENANT, "schedule_info": {"hour": [2], "minute": [0]}}
    ]
    (job,) = jobs(db)
    assert (job["tenant"], job["task"], job["state"]) == (README_TENANT, "cleanup_task", "ready")
    link = db.execute("SELECT scheduled_job_id FROM app_jobs.jobs").fetchone()
    assert link == {"scheduled_job_id": 1}


@pytest.mark.parametrize(
    ("kind", "payload_of"),
    [
        ("tg_add_job_with_row_id", lambda row: {"id": row["id"]}),
        ("tg_add_job_with_row", lambda row: row),
        ("tg_add_job_with_fields", lambda row: {k: row[k] for k in ("field1", "field2", "field3")}),
    ],
)
def test_trigger_snippet(db: Conn, kind: str, payload_of: Callable[[Row], Row]) -> None:
    text = snippet(kind)
    assert "'database-uuid'" in text
    db.execute(
        "CREATE TABLE my_table (id serial PRIMARY KEY, field1 text, field2 text, field3 text)"
    )
    insert = "INSERT INTO my_table (field1, field2, field3) VALUES ('a', 'b', 'c') RETURNING *"

    # As written, the snippet creates its trigger, but 'database-uuid' is no tenant: every
    # insert is refused, and neither the row nor a job is written.
    db.execute(text)
    with pytest.raises(psycopg.Error) as caught:
        db.execute(insert)
    assert caught.value.diag.sqlstate == "PJ201"
    assert "auto_process" in (caught.value.diag.message_primary or "")
    assert db.execute("SELECT count(*) AS n FROM my_table").fetchone() == {"n": 0}
    assert jobs(db) == []

    # With a real tenant in its place, the same snippet enqueues the documented payload.
    db.execute("DROP TRIGGER auto_process ON my_table")
    db.execute(text.replace("'database-uuid'", f"'{REAL_TENANT}'"))
    row = db.execute(insert).fetchone()
    assert row is not None
    (job,) = jobs(db)
    assert (job["tenant"], job["task"], job["payload"]) == (
        REAL_TENANT,
        "process_record",
        payload_of(dict(row)),
    )
