"""The read functions the dashboard and the metrics exporters use: search_jobs (payload filter
over live jobs and a bounded window of history), job_throughput (finished jobs per minute),
list_workers (leases and running jobs) and queue_gauges (ready jobs, recounted at most once
per max_age by one caller, the others never waiting)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from helpers import Conn, add_job, complete_job, get_job


def search(db: Conn, **filters: Any) -> list[int]:
    args = ", ".join(f"{name} := %({name})s" for name in filters)
    rows = db.execute(f"SELECT id FROM app_jobs.search_jobs({args})", filters).fetchall()
    return [row["id"] for row in rows]


def finish(db: Conn, task: str, payload: str) -> int:
    job = add_job(db, task, payload=payload)
    claimed = db.execute("SELECT id FROM app_jobs.claim_job('w', %s)", (job["id"],)).fetchone()
    assert claimed is not None
    assert complete_job(db, "w", job["id"]) is not None
    return int(job["id"])


def test_search_jobs_by_containment_over_live_jobs_and_recent_history(db: Conn) -> None:
    live = add_job(db, "mail", payload='{"user": 7, "kind": "welcome"}')["id"]
    add_job(db, "mail", payload='{"user": 8}')
    recent = finish(db, "mail", '{"user": 7}')
    old = finish(db, "mail", '{"user": 7, "old": true}')
    # Finished two days ago: outside the default one-day window, inside a 3-day one.
    db.execute(
        "UPDATE app_jobs.job_history SET finished_at = now() - interval '2 days' WHERE id = %s",
        (old,),
    )
    assert search(db, payload_contains='{"user": 7}') == [live, recent]
    assert search(db, payload_contains='{"user": 7}', history_window="3 days") == [
        live,
        recent,
        old,
    ]
    assert search(db, payload_contains='{"user": 7}', status=["completed"]) == [recent]
    assert search(db, payload_contains='{"kind": "welcome"}', task="other") == []


def test_search_jobs_by_text_escapes_like_wildcards(db: Conn) -> None:
    underscore = add_job(db, "t", payload='{"name": "Ann_Lee"}')["id"]
    add_job(db, "t", payload='{"name": "AnnXLee"}')
    assert search(db, payload_text="ann_") == [underscore]
    assert search(db, payload_text="100%") == []


def test_job_throughput_counts_finished_jobs_per_minute_and_task(db: Conn) -> None:
    finish(db, "a", "{}")
    finish(db, "a", "{}")
    finish(db, "b", "{}")
    job = add_job(db, "c")
    db.execute("SELECT app_jobs.cancel_job(%s)", (job["id"],))
    rows = db.execute(
        "SELECT task_identifier, sum(completed) AS completed, sum(failed) AS failed,"
        " sum(cancelled) AS cancelled FROM app_jobs.job_throughput() GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [tuple(r.values()) for r in rows] == [("a", 2, 0, 0), ("b", 1, 0, 0), ("c", 0, 0, 1)]
    minutes = db.execute("SELECT DISTINCT minute FROM app_jobs.job_throughput()").fetchall()
    assert all(m["minute"].second == 0 for m in minutes)


def test_list_workers_shows_liveness_and_running_jobs(db: Conn) -> None:
    db.execute("SELECT app_jobs.heartbeat('alive')")
    add_job(db, "t")
    assert get_job(db, "alive") is not None
    # A lapsed lease (get_job's sweep would clear it, so it lapses after the claim).
    db.execute("SELECT app_jobs.heartbeat('gone')")
    db.execute(
        "UPDATE app_jobs.workers SET lease_expires_at = now() - interval '1 minute'"
        " WHERE worker_id = 'gone'"
    )
    rows = db.execute("SELECT worker_id, alive, running_jobs FROM app_jobs.list_workers()")
    assert [tuple(r.values()) for r in rows.fetchall()] == [("alive", True, 1), ("gone", False, 0)]


def gauges(db: Conn, max_age: str = "15 seconds") -> dict[Any, int]:
    rows = db.execute(
        "SELECT task_identifier, queue_name, ready FROM app_jobs.queue_gauges(%s)", (max_age,)
    ).fetchall()
    return {(r["task_identifier"], r["queue_name"]): r["ready"] for r in rows}


def test_queue_gauges_counts_ready_jobs_and_keeps_them_for_max_age(db: Conn) -> None:
    assert gauges(db) == {(None, None): 0}  # the total row exists with nothing ready
    add_job(db, "a")
    add_job(db, "a", queue_name="q")
    add_job(db, "b", run_at="2999-01-01T00:00:00Z")  # scheduled: not ready
    # Fresh figures (younger than max_age) are returned as they are: the new jobs do not show.
    assert gauges(db) == {(None, None): 0}
    db.execute("UPDATE app_jobs.queue_gauges_cache SET computed_at = now() - interval '1 hour'")
    assert gauges(db) == {(None, None): 2, ("a", None): 1, ("a", "q"): 1}


def test_queue_gauges_refresh_is_done_by_one_caller_and_others_never_wait(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    gauges(db)
    add_job(db, "a")
    db.execute("UPDATE app_jobs.queue_gauges_cache SET computed_at = now() - interval '1 hour'")
    refresher = connect(autocommit=False)
    other = connect(options="-c lock_timeout=5s -c statement_timeout=5s")
    # The refresher recounts and holds the election lock until it commits.
    assert gauges(refresher) == {(None, None): 1, ("a", None): 1}
    # Meanwhile another caller finds the figures stale, loses the election, and returns the
    # previous figures at once (a wait would hit its timeouts and raise).
    assert gauges(other) == {(None, None): 0}
    refresher.commit()
    assert gauges(other) == {(None, None): 1, ("a", None): 1}
    refresher.close()


def test_racing_callers_of_stale_gauges_recount_once(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    """Eight callers find the figures stale at once, each in its own open transaction: one
    recounts (and holds the election lock until it commits), the seven others return the
    previous figures."""
    import threading

    gauges(db)
    add_job(db, "a")
    db.execute("UPDATE app_jobs.queue_gauges_cache SET computed_at = now() - interval '1 hour'")
    callers = [connect(autocommit=False) for _ in range(8)]
    barrier = threading.Barrier(len(callers))
    answers: list[dict[Any, int]] = []

    def call(conn: Conn) -> None:
        barrier.wait()
        answers.append(gauges(conn))

    threads = [threading.Thread(target=call, args=(conn,)) for conn in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for conn in callers:
        conn.commit()
    fresh = {(None, None): 1, ("a", None): 1}
    assert sorted(answers, key=len) == [{(None, None): 0}] * 7 + [fresh]
    assert gauges(db) == fresh
