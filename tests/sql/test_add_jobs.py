"""add_jobs: bulk enqueue with add_job's semantics per element, all or nothing."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

Conn = psycopg.Connection[Any]
T1 = "11111111-1111-1111-1111-111111111111"
SPEC = "ROW(%s, %s, %s, %s, %s, %s, %s, %s)"


def add_jobs(db: Conn, specs: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Call add_jobs with one ROW(...) per spec (db_id, identifier, payload, job_key,
    queue_name, run_at, max_attempts, priority)."""
    rows = ", ".join(SPEC for _ in specs)
    params = [value for spec in specs for value in spec]
    return db.execute(
        f"SELECT * FROM app_jobs.add_jobs(ARRAY[{rows}]::app_jobs.job_spec[])", params
    ).fetchall()


def spec(identifier: str, **kw: Any) -> tuple[Any, ...]:
    payload = kw.get("payload")
    return (
        kw.get("db_id", T1),
        identifier,
        None if payload is None else json.dumps(payload),
        kw.get("job_key"),
        kw.get("queue_name"),
        kw.get("run_at"),
        kw.get("max_attempts"),
        kw.get("priority"),
    )


def count(db: Conn, table: str = "jobs") -> int:
    row = db.execute(f"SELECT count(*) AS n FROM app_jobs.{table}").fetchone()
    assert row is not None
    return int(row["n"])


def test_a_thousand_jobs_in_one_call_come_back_in_order(db: Conn) -> None:
    rows = add_jobs(db, [spec("t", payload={"i": i}) for i in range(1000)])
    assert [r["payload"]["i"] for r in rows] == list(range(1000))
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert count(db) == 1000
    # Claimed in insertion order, like single add_job calls.
    first = db.execute("SELECT * FROM app_jobs.get_job('w')").fetchone()
    assert first is not None and first["id"] == ids[0]


def test_defaults_are_add_jobs_defaults(db: Conn) -> None:
    [row] = add_jobs(db, [spec("t", db_id=None)])
    assert str(row["database_id"]) == "00000000-0000-0000-0000-000000000000"
    assert (row["payload"], row["max_attempts"], row["priority"], row["state"]) == (
        {},
        25,
        0,
        "ready",
    )


def test_keys_behave_as_in_add_job_even_within_one_batch(db: Conn) -> None:
    existing = db.execute(
        "SELECT * FROM app_jobs.add_job(%s, 'old', job_key := 'k1')", (T1,)
    ).fetchone()
    assert existing is not None
    rows = add_jobs(
        db,
        [
            spec("a", job_key="k1", payload={"v": 1}),  # replaces the existing job in place
            spec("b", payload={"v": 2}),
            spec("c", job_key="k2", payload={"v": 3}),
            spec("d", job_key="k2", payload={"v": 4}, queue_name="q"),  # replaces c's job
            spec("e", run_at="2999-01-01T00:00:00Z", priority=3),
        ],
    )
    assert rows[0]["id"] == existing["id"] and rows[0]["task_identifier"] == "a"
    assert rows[3]["id"] == rows[2]["id"] and rows[3]["queue_name"] == "q"
    assert rows[4]["state"] == "scheduled"
    left = db.execute("SELECT task_identifier, key FROM app_jobs.jobs ORDER BY id").fetchall()
    assert left == [
        {"task_identifier": "a", "key": "k1"},
        {"task_identifier": "b", "key": None},
        {"task_identifier": "d", "key": "k2"},
        {"task_identifier": "e", "key": None},
    ]


@pytest.mark.parametrize(
    ("bad", "sqlstate"),
    [
        (spec(""), "PJ101"),
        (spec(None), "PJ101"),  # type: ignore[arg-type]
        (spec("t", max_attempts=0), "PJ104"),
        (spec("t", job_key=""), "PJ106"),
        (spec("t", queue_name=""), "PJ106"),
    ],
)
def test_a_bad_element_names_its_position_and_nothing_is_written(
    db: Conn, bad: tuple[Any, ...], sqlstate: str
) -> None:
    with pytest.raises(psycopg.Error) as err:
        add_jobs(db, [spec("ok"), spec("ok", job_key="k"), bad, spec("ok")])
    assert err.value.sqlstate == sqlstate
    assert "add_jobs: element 3" in (err.value.diag.message_primary or "")
    assert err.value.diag.message_hint
    assert count(db) == 0 and count(db, "job_queues") == 0


def test_empty_and_null_arrays(db: Conn) -> None:
    assert db.execute("SELECT * FROM app_jobs.add_jobs('{}')").fetchall() == []
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT * FROM app_jobs.add_jobs(NULL)")
    assert err.value.sqlstate == "PJ103"


def test_a_batch_sends_one_notification(db: Conn, connect: Any) -> None:
    listener = connect()
    listener.execute('LISTEN "jobs:insert"')
    add_jobs(db, [spec("t") for _ in range(50)] + [spec("k", job_key="k")])
    got = list(listener.notifies(timeout=0.5))
    assert [(n.channel, n.payload) for n in got] == [("jobs:insert", "")]


def test_queue_counts_follow_a_batch(db: Conn) -> None:
    add_jobs(db, [spec("t", queue_name="q") for _ in range(7)])
    rows = db.execute("SELECT queue_name, job_count FROM app_jobs.job_queues").fetchall()
    assert rows == [{"queue_name": "q", "job_count": 7}]


def test_new_jobs_get_time_ordered_version_7_uids(db: Conn) -> None:
    """uid defaults to a version 7 uuid: unique, and in the order jobs were enqueued (at
    millisecond resolution), so new uids land at the end of the uid indexes."""
    rows = db.execute(
        "SELECT uid::text AS uid FROM (SELECT (app_jobs.add_job(NULL, 't')).uid,"
        " pg_sleep(0.002) FROM generate_series(1, 20)) AS s"
    ).fetchall()
    uids = [row["uid"] for row in rows]
    assert len(set(uids)) == 20
    assert all(uid[14] == "7" and uid[19] in "89ab" for uid in uids)
    assert uids == sorted(uids)
