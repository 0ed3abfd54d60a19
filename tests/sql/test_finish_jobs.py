"""finish_jobs: a worker's batch of completions and failures in one call, with the holder
checks of complete_job and fail_job; an element that cannot be recorded fails alone."""

from __future__ import annotations

from helpers import TENANT, Conn, add_job


def claim(db: Conn, worker: str, n: int, tasks: list[str] | None = None) -> list[int]:
    rows = db.execute(
        "SELECT id FROM app_jobs.get_jobs(%s, %s, batch_size := %s)", (worker, tasks, n)
    ).fetchall()
    return [row["id"] for row in rows]


def finish(db: Conn, worker: str, ids: list[int], **arrays: object) -> dict[int, str]:
    rows = db.execute(
        "SELECT * FROM app_jobs.finish_jobs(%(w)s, %(ids)s, %(results)s::json[],"
        " %(errors)s::text[], %(details)s::json[], %(permanent)s::boolean[], %(backoffs)s::json[])",
        {
            "w": worker,
            "ids": ids,
            "results": arrays.get("results"),
            "errors": arrays.get("errors"),
            "details": arrays.get("details"),
            "permanent": arrays.get("permanent"),
            "backoffs": arrays.get("backoffs"),
        },
    ).fetchall()
    return {row["job_id"]: row["status"] for row in rows}


def test_completions_and_failures_in_one_call(db: Conn) -> None:
    for i in range(4):
        add_job(db, "t", payload=f'{{"i": {i}}}', max_attempts=2 if i == 3 else 25)
    ids = claim(db, "w", 10)
    assert len(ids) == 4
    out = finish(
        db,
        "w",
        ids,
        results=['{"ok": 1}', None, None, None],
        errors=[None, None, "boom", "final"],
        permanent=[None, None, None, True],
    )
    assert out == {ids[0]: "completed", ids[1]: "completed", ids[2]: "scheduled", ids[3]: "failed"}
    history = {
        r["id"]: r
        for r in db.execute("SELECT id, status, result, worker_id FROM app_jobs.job_history")
    }
    assert history[ids[0]]["result"] == {"ok": 1}
    assert history[ids[1]]["status"] == "completed" and history[ids[1]]["result"] is None
    assert history[ids[3]]["status"] == "failed"
    assert {r["worker_id"] for r in history.values()} == {"w"}
    attempts = db.execute("SELECT job_id, error_message FROM app_jobs.job_attempts ORDER BY job_id")
    assert [(r["job_id"], r["error_message"]) for r in attempts] == [
        (ids[2], "boom"),
        (ids[3], "final"),
    ]


def test_a_retried_flush_changes_nothing(db: Conn) -> None:
    add_job(db, "t")
    add_job(db, "t")
    ids = claim(db, "w", 2)
    assert finish(db, "w", ids, errors=[None, "boom"]) == {ids[0]: "completed", ids[1]: "scheduled"}
    before = db.execute("SELECT count(*) AS n FROM app_jobs.job_attempts").fetchone()
    assert finish(db, "w", ids, errors=[None, "boom"]) == {}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_attempts").fetchone() == before
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_history").fetchone() == {"n": 1}


def test_only_the_holder_finishes(db: Conn) -> None:
    add_job(db, "t")
    add_job(db, "t")
    mine = claim(db, "w", 1)
    theirs = claim(db, "other", 1)
    assert finish(db, "w", mine + theirs) == {mine[0]: "completed"}
    row = db.execute("SELECT locked_by FROM app_jobs.jobs WHERE id = %s", (theirs[0],)).fetchone()
    assert row == {"locked_by": "other"}


def test_an_element_that_cannot_be_recorded_fails_alone(db: Conn) -> None:
    for _ in range(3):
        add_job(db, "t")
    ids = claim(db, "w", 3)
    out = finish(
        db,
        "w",
        ids,
        results=[None, '{"s": "\\u0000"}', None],
        errors=[None, None, "bad backoff"],
        backoffs=[None, None, '{"base": "x"}'],
    )
    assert out == {ids[0]: "completed", ids[1]: "scheduled", ids[2]: "scheduled"}
    errors = {
        r["id"]: r["last_error"]
        for r in db.execute("SELECT id, last_error FROM app_jobs.jobs WHERE id <> %s", (ids[0],))
    }
    assert "result could not be recorded" in errors[ids[1]]
    assert errors[ids[2]].startswith("bad backoff [the failure could not be recorded as given")


def test_a_completion_frees_its_serial_queue(db: Conn) -> None:
    first = add_job(db, "t", queue_name="q")
    second = add_job(db, "t", queue_name="q")
    assert claim(db, "w", 5) == [first["id"]]
    assert claim(db, "w2", 5) == []
    assert finish(db, "w", [first["id"]]) == {first["id"]: "completed"}
    assert claim(db, "w2", 5) == [second["id"]]


def test_batch_claim_takes_one_job_per_queue_in_order(db: Conn) -> None:
    a1 = add_job(db, "t", queue_name="qa", priority=1)
    a0 = add_job(db, "t", queue_name="qa", priority=0)
    b = add_job(db, "t", queue_name="qb")
    free = [add_job(db, "t", priority=2)["id"] for _ in range(3)]
    other = add_job(db, "t", db_id=None, queue_name="qa")
    got = claim(db, "w", 10)
    assert sorted(got) == sorted([a0["id"], b["id"], other["id"], *free])
    assert a1["id"] not in got
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queue_locks").fetchone() == {"n": 3}
    assert TENANT  # the default tenant's "qa" is another queue than TENANT's
