"""Acting on jobs through raw SQL: cancel_job (waiting, and running: cooperative),
cancel_jobs by filter, rerun_job, reclaim_stuck_jobs, cleanup_jobs (retention by dropping
partitions), per-job and per-task backoff, queue_stats."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from helpers import OTHER_TENANT, TENANT, Conn, Row, add_job, get_job
from psycopg import sql


def find(db: Conn, job_id: int, attempts: bool = False) -> Row | None:
    return db.execute(
        "SELECT * FROM app_jobs.find_job(%s, with_attempts := %s)", (job_id, attempts)
    ).fetchone()


def fail(db: Conn, worker: str, job_id: int, message: str = "boom", **kw: Any) -> Row | None:
    args = "".join(f", {name} := %({name})s" for name in kw)
    return db.execute(
        f"SELECT * FROM app_jobs.fail_job(%(w)s, %(id)s, %(m)s{args})",
        {"w": worker, "id": job_id, "m": message, **kw},
    ).fetchone()


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_job_cancels_a_waiting_job_at_once(db: Conn) -> None:
    job = add_job(db, "a", queue_name="q")
    row = db.execute("SELECT * FROM app_jobs.cancel_job(%s)", (job["id"],)).fetchone()
    assert row is not None and (row["id"], row["status"]) == (job["id"], "cancelled")
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 0}
    assert db.execute("SELECT * FROM app_jobs.cancel_job(%s)", (job["id"],)).fetchall() == []
    assert db.execute("SELECT * FROM app_jobs.cancel_job(-1)").fetchall() == []


def test_cancelling_a_running_job_asks_its_worker(db: Conn, connect: Any) -> None:
    job = add_job(db, "a", queue_name="q")
    add_job(db, "a", queue_name="q")
    worker = connect()
    worker.execute('LISTEN "jobs:cancel"')
    assert get_job(worker, "w") is not None
    assert worker.execute("SELECT app_jobs.heartbeat('w') AS held").fetchone() == {
        "held": [job["id"]]
    }
    row = db.execute("SELECT * FROM app_jobs.cancel_job(%s)", (job["id"],)).fetchone()
    assert row is not None and row["status"] == "running"
    assert row["cancel_requested_at"] is not None
    assert [n.payload for n in worker.notifies(timeout=1, stop_after=1)] == [str(job["id"])]
    # The heartbeat no longer lists it, so a worker that missed the NOTIFY learns of it too.
    assert worker.execute("SELECT app_jobs.heartbeat('w') AS held").fetchone() == {"held": []}
    # The worker stops the handler and reports it: recorded cancelled, never retried.
    fail(worker, "w", job["id"], "cancelled on request")
    done = find(db, job["id"], attempts=True)
    assert done is not None and (done["status"], done["last_error"]) == (
        "cancelled",
        "cancelled on request",
    )
    assert [a["outcome"] for a in done["attempt_log"]] == ["cancelled"]
    # Its serial queue moves on.
    assert get_job(db, "w2") is not None


def test_a_running_job_whose_worker_ignores_the_request_completes(db: Conn) -> None:
    job = add_job(db, "a")
    assert get_job(db, "w") is not None
    db.execute("SELECT app_jobs.cancel_job(%s)", (job["id"],))
    db.execute("SELECT app_jobs.complete_job('w', %s)", (job["id"],))
    done = find(db, job["id"])
    assert done is not None and done["status"] == "completed"


def test_a_cancel_requested_job_of_a_dead_worker_is_recorded_cancelled(db: Conn) -> None:
    job = add_job(db, "a")
    assert get_job(db, "dead") is not None
    db.execute("SELECT app_jobs.cancel_job(%s)", (job["id"],))
    db.execute("UPDATE app_jobs.jobs SET locked_at = now() - interval '1 hour'")
    assert db.execute(
        "SELECT app_jobs.reclaim_stuck_jobs(interval '10 minutes') AS n"
    ).fetchone() == {"n": 1}
    done = find(db, job["id"])
    assert done is not None and done["status"] == "cancelled"
    # The same when the worker gives it back on stop.
    other = add_job(db, "a")
    assert get_job(db, "w") is not None
    db.execute("SELECT app_jobs.cancel_job(%s)", (other["id"],))
    db.execute("SELECT app_jobs.release_jobs('w')")
    done = find(db, other["id"])
    assert done is not None and done["status"] == "cancelled"


FILTERS = {
    "task": "'t1'",
    "priority": "1",
    "run_at": "'2999-01-01T00:00:00Z'::timestamptz",
    "queue": "'q1'",
    "db_id": f"'{OTHER_TENANT}'::uuid",
}


def seed_grid(db: Conn) -> list[Row]:
    """One waiting job for every combination of (task, priority, run_at, queue, tenant)."""
    jobs = []
    for task, priority, run_at, queue, tenant in itertools.product(
        ("t1", "t2"), (1, 2), ("2999-01-01T00:00:00Z", "2998-01-01T00:00:00Z"),
        ("q1", None), (OTHER_TENANT, TENANT),
    ):  # fmt: skip
        jobs.append(
            add_job(db, task, db_id=tenant, priority=priority, run_at=run_at, queue_name=queue)
        )
    return jobs


def matches(job: Row, chosen: tuple[str, ...]) -> bool:
    wanted = {
        "task": job["task_identifier"] == "t1",
        "priority": job["priority"] == 1,
        "run_at": job["run_at"].year == 2999,
        "queue": job["queue_name"] == "q1",
        "db_id": str(job["database_id"]) == OTHER_TENANT,
    }
    return all(wanted[name] for name in chosen)


@pytest.mark.parametrize(
    "chosen",
    [c for n in range(0, 6) for c in itertools.combinations(FILTERS, n)],
    ids=lambda c: "+".join(c) or "none",
)
def test_cancel_jobs_counts_each_filter_and_combination(db: Conn, chosen: tuple[str, ...]) -> None:
    jobs = seed_grid(db)
    running = add_job(db, "t1", db_id=OTHER_TENANT, priority=1, queue_name="q1")
    db.execute("SELECT app_jobs.claim_job('w', %s)", (running["id"],))
    # Without a tenant, every tenant's jobs are cancelled only when all_tenants says so.
    scope = [] if "db_id" in chosen else ["all_tenants := true"]
    args = ", ".join([f"{name} := {FILTERS[name]}" for name in chosen] + scope)
    count = db.execute(f"SELECT app_jobs.cancel_jobs({args}) AS n").fetchone()
    expected = {job["id"] for job in jobs if matches(job, chosen)}
    assert count == {"n": len(expected)}
    cancelled = db.execute(
        "SELECT array_agg(id ORDER BY id) AS ids FROM app_jobs.job_history"
        " WHERE status = 'cancelled'"
    ).fetchone()
    assert set((cancelled or {}).get("ids") or []) == expected
    left = db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()
    assert left == {"n": len(jobs) - len(expected) + 1}  # the running job is never touched


# --- rerun ------------------------------------------------------------------------------------


def test_rerun_job_enqueues_a_fresh_copy_linked_to_the_original(db: Conn) -> None:
    job = add_job(
        db, "a", queue_name="q", priority=3, max_attempts=1, correlation_id="c",
        backoff='{"strategy": "fixed", "base": 5}', job_key="k", payload='{"x": 1}',
    )  # fmt: skip
    assert get_job(db, "w") is not None
    fail(db, "w", job["id"], "broken")
    rerun = db.execute("SELECT * FROM app_jobs.rerun_job(%s)", (job["id"],)).fetchone()
    assert rerun is not None
    assert rerun["id"] != job["id"] and rerun["uid"] != job["uid"]
    assert (rerun["status"], rerun["rerun_of"], rerun["attempts"], rerun["key"]) == (
        "pending",
        job["id"],
        0,
        None,
    )
    kept = (
        "task_identifier",
        "queue_name",
        "priority",
        "max_attempts",
        "correlation_id",
        "payload",
    )
    assert {k: rerun[k] for k in kept} == {k: job[k] for k in kept}
    original = find(db, job["id"])
    assert original is not None and original["status"] == "failed"
    claimed = get_job(db, "w")
    assert claimed is not None and claimed["id"] == rerun["id"]
    db.execute("SELECT app_jobs.complete_job('w', %s)", (rerun["id"],))
    again = db.execute("SELECT * FROM app_jobs.rerun_job(%s)", (rerun["id"],)).fetchone()
    assert again is not None and again["rerun_of"] == rerun["id"]


# --- reclaim ----------------------------------------------------------------------------------


def test_reclaim_stuck_jobs_takes_back_only_unleased_old_locks(db: Conn) -> None:
    old = add_job(db, "a")
    leased = add_job(db, "a")
    young = add_job(db, "a")
    last = add_job(db, "a", max_attempts=1)
    for worker, job in (("dead", old), ("alive", leased), ("dead2", young), ("dead3", last)):
        db.execute("SELECT app_jobs.claim_job(%s, %s)", (worker, job["id"]))
        # Started (its handler ran): a reclaim counts the attempt (a claim never started would
        # go back refunded: test_start_settle.py).
        db.execute("SELECT app_jobs.start_jobs(%s, ARRAY[%s]::bigint[])", (worker, job["id"]))
    db.execute("SELECT app_jobs.heartbeat('alive', interval '1 hour')")
    db.execute(
        "UPDATE app_jobs.jobs SET locked_at = now() - interval '20 minutes' WHERE id <> %s",
        (young["id"],),
    )
    n = db.execute("SELECT app_jobs.reclaim_stuck_jobs(interval '10 minutes') AS n").fetchone()
    assert n == {"n": 2}
    statuses = {
        j["id"]: (find(db, j["id"]) or {}).get("status") for j in (old, leased, young, last)
    }
    assert statuses == {
        old["id"]: "retrying",
        leased["id"]: "running",
        young["id"]: "running",
        last["id"]: "failed",
    }
    log = (find(db, old["id"], attempts=True) or {})["attempt_log"]
    assert [(a["worker_id"], a["outcome"]) for a in log] == [("dead", "lost")]
    assert "reclaimed" in log[0]["error_message"]


# --- cleanup ----------------------------------------------------------------------------------

HISTORY_ROW = (
    "INSERT INTO app_jobs.job_history (id, database_id, task_identifier, payload, priority,"
    " run_at, attempts, max_attempts, status, created_at, finished_at)"
    " VALUES (%s, %s, 't', '{}', 0, now(), 1, 1, %s, now(), now() - %s::interval)"
)


def partition_names(db: Conn) -> set[str]:
    rows = db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'app_jobs.job_history'::regclass"
    ).fetchall()
    return {r["relname"] for r in rows}


def add_old_days(db: Conn, days: int) -> None:
    """Day partitions for the last `days` days, each holding one job of every status."""
    for day in range(1, days + 1):
        row = db.execute(
            "SELECT 'job_history_p' || to_char(d, 'YYYYMMDD') AS name,"
            " d::timestamp AT TIME ZONE 'UTC' AS lo, (d + 1)::timestamp AT TIME ZONE 'UTC' AS hi"
            " FROM (SELECT (now() AT TIME ZONE 'UTC')::date - %s AS d) AS t",
            (day,),
        ).fetchone()
        assert row is not None
        db.execute(
            sql.SQL(
                "CREATE TABLE app_jobs.{} PARTITION OF app_jobs.job_history"
                " FOR VALUES FROM ({}) TO ({})"
            ).format(sql.Identifier(row["name"]), sql.Literal(row["lo"]), sql.Literal(row["hi"]))
        )
    n = 0
    for day in range(1, days + 1):
        for status in ("completed", "failed", "cancelled"):
            n += 1
            db.execute(
                HISTORY_ROW,
                (n, TENANT, status, f"{day} days"),
            )


def test_cleanup_drops_whole_old_partitions_and_deletes_only_at_the_boundary(db: Conn) -> None:
    db.execute(
        "SELECT app_jobs.create_history_partitions(0)"
    )  # today exists already; old days next
    add_old_days(db, 5)
    db.execute(
        "UPDATE app_jobs.job_history"
        " SET finished_at = now() - (id / 3 + 1) * interval '1 day' + interval '1 minute'"
    )
    before = partition_names(db)
    result = db.execute(
        "SELECT * FROM app_jobs.cleanup_jobs(interval '2 days 12 hours')"
    ).fetchone()
    assert result is not None
    remaining = db.execute(
        "SELECT finished_at > now() - interval '2 days 12 hours' AS kept, count(*) AS n"
        " FROM app_jobs.job_history GROUP BY 1"
    ).fetchall()
    assert [r["kept"] for r in remaining] == [True]
    dropped = before - partition_names(db)
    assert len(dropped) == result["dropped_partitions"] >= 2
    assert result["deleted_jobs"] == 15 - remaining[0]["n"]


def test_cleanup_with_some_statuses_deletes_rows_and_keeps_partitions(db: Conn) -> None:
    add_old_days(db, 3)
    db.execute(
        "UPDATE app_jobs.job_history"
        " SET finished_at = date_trunc('day', finished_at) + interval '12 hours'"
    )
    before = partition_names(db)
    result = db.execute(
        "SELECT * FROM app_jobs.cleanup_jobs(interval '1 hour', ARRAY['completed', 'cancelled'])"
    ).fetchone()
    assert result == {"dropped_partitions": 0, "deleted_jobs": 6, "deleted_attempts": 0}
    assert partition_names(db) == before
    left = db.execute("SELECT DISTINCT status FROM app_jobs.job_history").fetchall()
    assert left == [{"status": "failed"}]


def test_cleanup_removes_old_attempts_of_removed_jobs_only(db: Conn) -> None:
    gone = add_job(db, "a", max_attempts=1)
    waiting = add_job(db, "a", max_attempts=5)
    for job in (gone, waiting):
        db.execute("SELECT app_jobs.claim_job('w', %s)", (job["id"],))
        fail(db, "w", job["id"])
    db.execute("UPDATE app_jobs.job_attempts SET finished_at = now() - interval '30 days'")
    db.execute("UPDATE app_jobs.job_history SET finished_at = finished_at")  # stays today
    result = db.execute("SELECT * FROM app_jobs.cleanup_jobs(interval '7 days')").fetchone()
    assert result is not None and result["deleted_attempts"] == 0  # its job is kept
    db.execute("DELETE FROM app_jobs.job_history")
    result = db.execute("SELECT * FROM app_jobs.cleanup_jobs(interval '7 days')").fetchone()
    assert result is not None and result["deleted_attempts"] == 1
    left = db.execute("SELECT job_id FROM app_jobs.job_attempts").fetchall()
    assert left == [{"job_id": waiting["id"]}]


#: A cut-off at today's midnight (UTC): every earlier day partition can go whole.
SINCE_MIDNIGHT = "now() - (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


def test_a_busy_history_makes_cleanup_skip_the_drop_instead_of_waiting(
    db: Conn, connect: Any
) -> None:
    add_old_days(db, 3)
    holder = connect(autocommit=False)
    holder.execute("SELECT count(*) FROM app_jobs.job_history")  # holds ACCESS SHARE
    result = db.execute(f"SELECT * FROM app_jobs.cleanup_jobs({SINCE_MIDNIGHT})").fetchone()
    holder.rollback()
    assert result is not None and result["dropped_partitions"] == 0
    result = db.execute(f"SELECT * FROM app_jobs.cleanup_jobs({SINCE_MIDNIGHT})").fetchone()
    assert result is not None and result["dropped_partitions"] == 3


# --- backoff ----------------------------------------------------------------------------------


def delay_after_failure(
    db: Conn, attempts: int, job_backoff: str | None, task_backoff: str | None
) -> float:
    job = add_job(db, "b", backoff=job_backoff, max_attempts=100)
    db.execute("UPDATE app_jobs.jobs SET attempts = %s WHERE id = %s", (attempts - 1, job["id"]))
    db.execute("SELECT app_jobs.claim_job('w', %s)", (job["id"],))
    row = db.execute(
        "SELECT extract(epoch FROM j.run_at - now()) AS s FROM app_jobs.fail_job('w', %s, 'e',"
        " backoff := %s) AS j",
        (job["id"], task_backoff),
    ).fetchone()
    assert row is not None
    return float(row["s"])


@pytest.mark.parametrize(
    ("backoff", "attempts", "expected"),
    [
        (None, 1, 2.718281828),
        (None, 12, 22026.4657948),  # exp(min(attempts, 10))
        ('{"strategy": "exponential", "base": 2}', 1, 2),
        ('{"strategy": "exponential", "base": 2}', 4, 16),
        ('{"strategy": "exponential", "base": 2, "cap": 10}', 4, 10),
        ('{"strategy": "exponential"}', 3, 4),
        ('{"strategy": "exponential"}', 30, 21600),  # default cap 6 hours
        ('{"strategy": "linear", "base": 3}', 4, 12),
        ('{"strategy": "fixed", "base": 7}', 9, 7),
        ('{"strategy": "none"}', 5, 0),
        ('{"base": 5}', 2, 10),  # exponential by default
    ],
)
def test_backoff_strategies(db: Conn, backoff: str | None, attempts: int, expected: float) -> None:
    assert delay_after_failure(db, attempts, backoff, None) == pytest.approx(expected, abs=1e-3)


def test_the_jobs_backoff_wins_over_the_tasks(db: Conn) -> None:
    job_only = delay_after_failure(db, 2, '{"strategy": "fixed", "base": 30}', None)
    task_only = delay_after_failure(db, 2, None, '{"strategy": "fixed", "base": 60}')
    both = delay_after_failure(
        db, 2, '{"strategy": "fixed", "base": 30}', '{"strategy": "fixed", "base": 60}'
    )
    assert (job_only, task_only, both) == pytest.approx((30, 60, 30), abs=1e-3)


def test_jitter_spreads_delays_within_bounds(db: Conn) -> None:
    rows = db.execute(
        'SELECT extract(epoch FROM app_jobs._retry_delay(\'{"strategy": "fixed",'
        ' "base": 100, "jitter": 0.2}\', 3)) AS s FROM generate_series(1, 200)'
    ).fetchall()
    delays = [float(r["s"]) for r in rows]
    assert all(80 <= d <= 120 for d in delays)
    assert len({round(d, 3) for d in delays}) > 50  # actually spread


# --- queue_stats ------------------------------------------------------------------------------


def test_queue_stats_per_task_and_queue(db: Conn) -> None:
    add_job(db, "a")
    add_job(db, "a")
    add_job(db, "a", run_at="2999-01-01T00:00:00Z")
    add_job(db, "b", queue_name="q")
    retrying = add_job(db, "b", queue_name="q")
    db.execute("SELECT app_jobs.claim_job('w', %s)", (retrying["id"],))
    fail(db, "w", retrying["id"])
    running = add_job(db, "a")
    db.execute("SELECT app_jobs.claim_job('w', %s)", (running["id"],))
    for outcome in ("complete", "complete", "fail"):
        job = add_job(db, "a", max_attempts=1)
        db.execute("SELECT app_jobs.claim_job('w', %s)", (job["id"],))
        if outcome == "complete":
            db.execute("SELECT app_jobs.complete_job('w', %s)", (job["id"],))
        else:
            fail(db, "w", job["id"])
    db.execute(
        "UPDATE app_jobs.jobs SET run_at = now() - interval '10 minutes'"
        " WHERE task_identifier = 'a' AND state = 'ready'"
    )
    db.execute(
        "UPDATE app_jobs.job_history SET locked_at = finished_at - interval '2 seconds'"
        " WHERE status = 'completed'"
    )
    old = add_job(db, "c")
    db.execute("SELECT app_jobs.claim_job('w', %s)", (old["id"],))
    db.execute("SELECT app_jobs.complete_job('w', %s)", (old["id"],))
    db.execute(
        "UPDATE app_jobs.job_history SET finished_at = now() - interval '2 hours' WHERE id = %s",
        (old["id"],),
    )

    stats = {
        (r["task_identifier"], r["queue_name"]): r
        for r in db.execute("SELECT * FROM app_jobs.queue_stats()")
    }
    assert set(stats) == {("a", None), ("b", "q")}  # c finished more than an hour ago
    a = stats[("a", None)]
    assert (a["queued"], a["scheduled"], a["running"], a["retrying"], a["total"]) == (2, 1, 1, 0, 4)
    assert (a["completed_last_hour"], a["failed_last_hour"], a["cancelled_last_hour"]) == (2, 1, 0)
    assert a["failure_rate"] == pytest.approx(1 / 3)
    assert a["avg_duration"].total_seconds() == pytest.approx(2)
    assert 599 <= a["oldest_queued_age"].total_seconds() <= 660
    b = stats[("b", "q")]
    assert (b["queued"], b["retrying"], b["total"], b["failure_rate"]) == (1, 1, 2, None)
