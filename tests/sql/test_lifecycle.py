"""The job lifecycle through raw SQL: one status vocabulary for live and finished jobs, uid and
correlation id, find_job (by id or uid, with its attempt log), list_jobs filters and paging,
results, the attempt log with error details, progress, and watch_job."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from helpers import TENANT, Conn, Row, add_job, get_job, nested_plans, sweep_due


def find(db: Conn, job_id: int | None = None, uid: Any = None, attempts: bool = False) -> Row:
    row = db.execute(
        "SELECT * FROM app_jobs.find_job(%s, %s, %s)", (job_id, uid, attempts)
    ).fetchone()
    assert row is not None
    return dict(row)


def status(db: Conn, job_id: int) -> str:
    return str(find(db, job_id)["status"])


def listed(db: Conn, **filters: Any) -> list[int]:
    args = ", ".join(f"{name} := %({name})s" for name in filters)
    rows = db.execute(f"SELECT id FROM app_jobs.list_jobs({args})", filters).fetchall()
    return [row["id"] for row in rows]


def fail(db: Conn, worker: str, job_id: int, message: str = "boom", **kw: Any) -> Row | None:
    args = "".join(f", {name} := %({name})s" for name in kw)
    return db.execute(
        f"SELECT * FROM app_jobs.fail_job(%(w)s, %(id)s, %(m)s{args})",
        {"w": worker, "id": job_id, "m": message, **kw},
    ).fetchone()


def test_every_status_of_the_vocabulary(db: Conn) -> None:
    pending = add_job(db, "a")
    scheduled = add_job(db, "a", run_at="2999-01-01T00:00:00Z")
    assert status(db, pending["id"]) == "pending"
    assert status(db, scheduled["id"]) == "scheduled"

    running = get_job(db, "w")
    assert running is not None and running["id"] == pending["id"]
    assert status(db, pending["id"]) == "running"

    fail(db, "w", pending["id"])
    assert status(db, pending["id"]) == "retrying"  # failed once, waits out its backoff
    db.execute("UPDATE app_jobs.jobs SET run_at = now() - interval '1 second'")
    sweep_due(db)
    assert status(db, pending["id"]) == "retrying"  # due again: still a retry, not pending

    db.execute(
        "SELECT app_jobs.reschedule_jobs(ARRAY[%s]::bigint[], run_at := now())", (scheduled["id"],)
    )
    again = get_job(db, "w")
    assert again is not None
    db.execute("SELECT app_jobs.complete_job('w', %s)", (again["id"],))
    assert status(db, again["id"]) == "completed"

    other = get_job(db, "w")
    assert other is not None
    db.execute("UPDATE app_jobs.jobs SET max_attempts = attempts WHERE id = %s", (other["id"],))
    fail(db, "w", other["id"], "final")
    assert status(db, other["id"]) == "failed"

    cancelled = add_job(db, "a")
    db.execute("SELECT app_jobs.cancel_job(%s)", (cancelled["id"],))
    assert status(db, cancelled["id"]) == "cancelled"


def test_uid_and_correlation_id_are_kept_into_history(db: Conn) -> None:
    job = add_job(db, "a", correlation_id="req-42")
    assert job["uid"] is not None and job["correlation_id"] == "req-42"
    by_uid = find(db, uid=job["uid"])
    assert (by_uid["id"], by_uid["status"]) == (job["id"], "pending")
    assert get_job(db, "w") is not None
    # Running: no longer in jobs_uid_idx (0.6.0), found through jobs_running_idx.
    running = find(db, uid=job["uid"])
    assert (running["id"], running["status"], running["worker_id"]) == (job["id"], "running", "w")
    db.execute("SELECT app_jobs.complete_job('w', %s)", (job["id"],))
    done = find(db, uid=job["uid"])
    assert (done["id"], done["status"], done["correlation_id"]) == (
        job["id"],
        "completed",
        "req-42",
    )
    assert done["first_started_at"] is not None and done["finished_at"] is not None
    assert done["duration"] is not None and done["worker_id"] == "w"
    # Both keys must agree when both are given.
    none = db.execute(
        "SELECT * FROM app_jobs.find_job(%s, gen_random_uuid())", (job["id"],)
    ).fetchall()
    assert none == []
    assert db.execute("SELECT * FROM app_jobs.find_job(-1)").fetchall() == []


def test_a_job_key_replacement_takes_the_new_correlation_id(db: Conn) -> None:
    add_job(db, "a", job_key="k", correlation_id="first")
    job = add_job(db, "a", job_key="k", correlation_id="second")
    assert find(db, job["id"])["correlation_id"] == "second"
    assert listed(db, correlation_id="first") == []


def test_results_round_trip_and_the_contract_call_still_works(db: Conn) -> None:
    first = add_job(db, "a")
    second = add_job(db, "a")
    assert get_job(db, "w") is not None and get_job(db, "w") is not None
    db.execute("SELECT app_jobs.complete_job(worker_id := 'w', job_id := %s)", (first["id"],))
    result = {"rows": 3, "names": ["x", "é"], "nested": {"ok": True}}
    done = db.execute(
        "SELECT * FROM app_jobs.complete_job('w', %s, result := %s::jsonb)",
        (second["id"], json.dumps(result)),
    ).fetchone()
    assert done is not None and done["id"] == second["id"]
    assert find(db, first["id"])["result"] is None
    assert find(db, second["id"])["result"] == result
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_attempts").fetchone() == {"n": 0}


def test_the_attempt_log_keeps_every_failure_with_its_details(db: Conn) -> None:
    job = add_job(db, "a", max_attempts=3)
    details = {
        "type": "ValueError",
        "traceback": 'Traceback (most recent call last):\n  File "x.py", line 3\nValueError: no',
        "frames": [{"file": "x.py", "line": 3, "function": "handler", "code": "raise"}],
    }
    for attempt in (1, 2):
        claimed = get_job(db, f"w{attempt}")
        assert claimed is not None and claimed["attempts"] == attempt
        fail(db, f"w{attempt}", job["id"], f"error {attempt}", error_details=json.dumps(details))
        db.execute("UPDATE app_jobs.jobs SET run_at = now() WHERE id = %s", (job["id"],))
        sweep_due(db)
    assert get_job(db, "w3") is not None
    db.execute("SELECT app_jobs.set_progress('w3', %s, 50, 'half')", (job["id"],))
    running = find(db, job["id"], attempts=True)
    log = running["attempt_log"]
    assert [(a["attempt"], a["worker_id"], a["outcome"]) for a in log] == [
        (1, "w1", "failed"),
        (2, "w2", "failed"),
        (3, "w3", "running"),
    ]
    assert log[0]["error_message"] == "error 1" and log[0]["error_details"] == details
    assert log[0]["started_at"] is not None and log[0]["finished_at"] is not None
    db.execute("SELECT app_jobs.complete_job('w3', %s, '\"ok\"')", (job["id"],))
    done = find(db, job["id"], attempts=True)
    assert [(a["attempt"], a["outcome"]) for a in done["attempt_log"]] == [
        (1, "failed"),
        (2, "failed"),
        (3, "completed"),
    ]
    assert done["result"] == "ok" and done["attempts"] == 3
    assert find(db, job["id"])["attempt_log"] is None  # only on request


def test_a_final_failure_keeps_its_error_and_attempts(db: Conn) -> None:
    job = add_job(db, "a", max_attempts=1)
    assert get_job(db, "w") is not None
    fail(db, "w", job["id"], "gave up", error_details='{"traceback": "tb"}')
    done = find(db, job["id"], attempts=True)
    assert (done["status"], done["last_error"]) == ("failed", "gave up")
    assert [(a["attempt"], a["outcome"], a["error_details"]) for a in done["attempt_log"]] == [
        (1, "failed", {"traceback": "tb"})
    ]


def test_a_lost_attempt_is_logged(db: Conn) -> None:
    job = add_job(db, "a")
    assert get_job(db, "dead") is not None
    db.execute("UPDATE app_jobs.jobs SET locked_at = now() - interval '5 hours'")
    sweep_due(db)
    again = get_job(db, "alive")
    assert again is not None and again["attempts"] == 2
    log = find(db, job["id"], attempts=True)["attempt_log"]
    assert [(a["attempt"], a["worker_id"], a["outcome"]) for a in log] == [
        (1, "dead", "lost"),
        (2, "alive", "running"),
    ]
    assert "lock expired" in log[0]["error_message"]


def test_a_released_attempt_is_given_back_and_not_logged(db: Conn) -> None:
    job = add_job(db, "a")
    assert get_job(db, "w") is not None
    db.execute("SELECT app_jobs.release_jobs('w')")
    assert find(db, job["id"], attempts=True)["attempt_log"] == []


def test_progress_is_visible_while_running_and_only_for_the_holder(db: Conn, connect: Any) -> None:
    job = add_job(db, "a")
    assert get_job(db, "w") is not None
    ok = db.execute("SELECT app_jobs.set_progress('w', %s, 40, 'step 2 of 5') AS ok", (job["id"],))
    assert ok.fetchone() == {"ok": True}
    other = connect()
    seen = find(other, job["id"])
    assert (seen["status"], seen["progress"], seen["progress_message"]) == (
        "running",
        40,
        "step 2 of 5",
    )
    assert other.execute(
        "SELECT app_jobs.set_progress('x', %s, 90) AS ok", (job["id"],)
    ).fetchone() == {"ok": False}
    db.execute("SELECT app_jobs.set_progress('w', %s, NULL, 'message only')", (job["id"],))
    seen = find(other, job["id"])
    assert (seen["progress"], seen["progress_message"]) == (40, "message only")
    fail(db, "w", job["id"])
    assert find(db, job["id"])["progress"] is None  # a retry starts from scratch


def test_list_jobs_pages_newest_first_across_live_and_finished(db: Conn) -> None:
    ids = [add_job(db, "a")["id"] for _ in range(7)]
    # Finish the three oldest, in the order 2, 0, 1 (finished_at increases).
    for index in (2, 0, 1):
        db.execute("SELECT app_jobs.claim_job('w', %s)", (ids[index],))
        db.execute("SELECT app_jobs.complete_job('w', %s)", (ids[index],))
    db.execute(
        "UPDATE app_jobs.job_history SET finished_at = finished_at"
        " + (CASE id WHEN %s THEN 1 WHEN %s THEN 2 ELSE 3 END) * interval '1 second'",
        (ids[2], ids[0]),
    )
    expected = [ids[6], ids[5], ids[4], ids[3], ids[1], ids[0], ids[2]]
    assert listed(db) == expected
    pages = [listed(db, row_limit=3, row_offset=offset) for offset in (0, 3, 6, 9)]
    assert pages == [expected[0:3], expected[3:6], expected[6:], []]


def test_list_jobs_filters_and_their_combinations(db: Conn) -> None:
    a1 = add_job(db, "a", queue_name="q1", correlation_id="c1")
    a2 = add_job(db, "a", db_id=None)
    b1 = add_job(db, "b", queue_name="q1")
    b2 = add_job(db, "b", run_at="2999-01-01T00:00:00Z", correlation_id="c1")
    running = db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (a2["id"],)).fetchone()
    assert running is not None
    done = add_job(db, "b", queue_name="q1", correlation_id="c1")
    db.execute("SELECT app_jobs.claim_job('w', %s)", (done["id"],))
    db.execute("SELECT app_jobs.complete_job('w', %s)", (done["id"],))

    assert listed(db, task="a") == [a2["id"], a1["id"]]
    assert listed(db, queue="q1") == [b1["id"], a1["id"], done["id"]]
    assert listed(db, db_id=TENANT) == [b2["id"], b1["id"], a1["id"], done["id"]]
    assert listed(db, correlation_id="c1") == [b2["id"], a1["id"], done["id"]]
    assert listed(db, status=["running"]) == [a2["id"]]
    assert listed(db, status=["scheduled"]) == [b2["id"]]
    assert listed(db, status=["pending"]) == [b1["id"], a1["id"]]
    assert listed(db, status=["completed"]) == [done["id"]]
    assert listed(db, status=["completed", "scheduled"]) == [b2["id"], done["id"]]
    assert listed(db, task="b", queue="q1") == [b1["id"], done["id"]]
    assert listed(db, task="b", queue="q1", status=["completed"]) == [done["id"]]
    assert listed(db, task="b", correlation_id="c1", db_id=TENANT) == [b2["id"], done["id"]]
    assert listed(db, task="nope") == []
    row = db.execute("SELECT * FROM app_jobs.list_jobs(row_limit := 1)").fetchone()
    assert row is not None and row["attempt_log"] is None and row["id"] == b2["id"]


def test_recent_jobs_is_list_jobs_without_filters(db: Conn) -> None:
    ids = [add_job(db, "a")["id"] for _ in range(5)]
    rows = db.execute("SELECT id FROM app_jobs.recent_jobs(3)").fetchall()
    assert [r["id"] for r in rows] == ids[::-1][:3]


def test_watch_job_marks_a_live_job_and_returns_a_finished_one(db: Conn, connect: Any) -> None:
    job = add_job(db, "a")
    listener = connect()
    listener.execute('LISTEN "jobs:finished"')
    watched = listener.execute("SELECT * FROM app_jobs.watch_job(%s)", (job["id"],)).fetchone()
    assert watched is not None and watched["status"] == "pending"
    other = add_job(db, "a")  # not watched: finishes without a notification
    for claimed in (get_job(db, "w"), get_job(db, "w")):
        assert claimed is not None
        db.execute("SELECT app_jobs.complete_job('w', %s, '1')", (claimed["id"],))
    payloads = [n.payload for n in listener.notifies(timeout=1, stop_after=2)]
    assert payloads == [str(job["id"])]
    done = listener.execute("SELECT * FROM app_jobs.watch_job(%s)", (job["id"],)).fetchone()
    assert done is not None and (done["status"], done["result"]) == ("completed", 1)
    assert listener.execute("SELECT * FROM app_jobs.watch_job(-5)").fetchall() == []
    assert other["id"] != job["id"]


def test_a_completion_racing_watch_job_is_never_lost(db: Conn, connect: Any) -> None:
    """watch_job's UPDATE and complete_job's DELETE take the same row lock: whichever commits
    first, the waiter sees the final state either in watch_job's answer or as a NOTIFY."""
    job = add_job(db, "a")
    assert get_job(db, "w") is not None
    completer = connect(autocommit=False)
    completer.execute("SELECT app_jobs.complete_job('w', %s, '\"r\"')", (job["id"],))
    # The completion is in flight (its row lock held); the waiter subscribes now.
    listener = connect()
    listener.execute('LISTEN "jobs:finished"')
    watcher = connect()
    import threading

    answer: list[Row | None] = []
    thread = threading.Thread(
        target=lambda: answer.append(
            watcher.execute("SELECT * FROM app_jobs.watch_job(%s)", (job["id"],)).fetchone()
        )
    )
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "watch_job must wait for the in-flight completion's row lock"
    completer.commit()
    thread.join(10)
    assert answer and answer[0] is not None
    assert (answer[0]["status"], answer[0]["result"]) == ("completed", "r")


def test_a_watched_job_that_fails_for_good_or_is_cancelled_notifies(db: Conn, connect: Any) -> None:
    failing = add_job(db, "a", max_attempts=1)
    waiting = add_job(db, "a")
    listener = connect()
    listener.execute('LISTEN "jobs:finished"')
    for job in (failing, waiting):
        listener.execute("SELECT app_jobs.watch_job(%s)", (job["id"],))
    assert db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (failing["id"],)).fetchone()
    fail(db, "w", failing["id"])
    db.execute("SELECT app_jobs.cancel_job(%s)", (waiting["id"],))
    payloads = sorted(int(n.payload) for n in listener.notifies(timeout=1, stop_after=2))
    assert payloads == sorted([failing["id"], waiting["id"]])


def test_a_retry_does_not_notify_a_watcher(db: Conn, connect: Any) -> None:
    job = add_job(db, "a", max_attempts=2)
    listener = connect()
    listener.execute('LISTEN "jobs:finished"')
    listener.execute("SELECT app_jobs.watch_job(%s)", (job["id"],))
    assert get_job(db, "w") is not None
    fail(db, "w", job["id"])
    assert list(listener.notifies(timeout=0.3)) == []


def test_unknown_statuses_are_refused(db: Conn) -> None:
    try:
        db.execute("SELECT * FROM app_jobs.list_jobs('{done}')")
    except psycopg.Error as error:
        assert error.diag.sqlstate == "PJ115"
    else:
        raise AssertionError("list_jobs accepted an unknown status")


def test_find_job_by_uid_reads_indexes_whether_the_job_waits_or_runs(db: Conn) -> None:
    """jobs_uid_idx leaves out running jobs (0.6.0: a claim writes no entry in it); find_job by
    uid still reads an index, never the whole table: the uid index for a waiting job, the
    running jobs' index for a running one (auto_explain shows the plans run inside find_job).
    A uid of no job reads both indexes and finds nothing."""
    db.execute(
        "SELECT count(app_jobs.add_job(NULL, 'bulk', json_build_object('i', g)))"
        " FROM generate_series(1, 5000) AS g"
    )
    db.execute("ANALYZE app_jobs.jobs")
    waiting = add_job(db, "a", priority=5)
    runner = add_job(db, "b", priority=-5)
    claimed = get_job(db, "w", ["b"])
    assert claimed is not None and claimed["id"] == runner["id"]

    def plans(uid: Any) -> tuple[list[Row], str]:
        rows, found = nested_plans(db, "SELECT * FROM app_jobs.find_job(NULL, %s)", (uid,))
        return rows, "\n".join(found)

    rows, plan = plans(waiting["uid"])
    assert [(r["id"], r["status"]) for r in rows] == [(waiting["id"], "pending")]
    assert "jobs_uid_idx" in plan and "Seq Scan on jobs" not in plan, plan
    rows, plan = plans(runner["uid"])
    assert [(r["id"], r["status"]) for r in rows] == [(runner["id"], "running")]
    assert "jobs_running_idx" in plan and "Seq Scan on jobs" not in plan, plan
    rows, plan = plans("00000000-0000-7000-8000-000000000000")
    assert rows == []
    assert "Seq Scan on jobs" not in plan, plan


def test_the_uid_index_still_refuses_a_duplicate_uid_among_waiting_jobs(db: Conn) -> None:
    job = add_job(db, "a")
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute(
            "INSERT INTO app_jobs.jobs (task_identifier, uid) VALUES ('b', %s)", (job["uid"],)
        )
