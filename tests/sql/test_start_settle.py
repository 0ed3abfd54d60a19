"""Buffered is not started: get_jobs(..., started := false) claims into a worker's buffer,
start_jobs records the jobs whose handlers start, and giving a job back (settle_jobs, or the
sweep after a lapsed lease) uses a started job's attempt (logged lost) but refunds a job that
never started."""

from __future__ import annotations

from helpers import Conn, add_job, sweep_due


def claim(db: Conn, worker: str, n: int, *, started: bool) -> list[int]:
    rows = db.execute(
        "SELECT id FROM app_jobs.get_jobs(%s, batch_size := %s, started := %s)",
        (worker, n, started),
    ).fetchall()
    return [row["id"] for row in rows]


def start(db: Conn, worker: str, ids: list[int]) -> list[int]:
    row = db.execute("SELECT app_jobs.start_jobs(%s, %s) AS s", (worker, ids)).fetchone()
    return list(row["s"])


def settle(db: Conn, worker: str, ids: list[int] | None = None) -> dict[int, str]:
    rows = db.execute("SELECT * FROM app_jobs.settle_jobs(%s, %s)", (worker, ids)).fetchall()
    return {row["job_id"]: row["outcome"] for row in rows}


def job(db: Conn, job_id: int) -> dict[str, object] | None:
    return db.execute(
        "SELECT state, attempts, locked_by, started_attempt FROM app_jobs.jobs WHERE id = %s",
        (job_id,),
    ).fetchone()


def attempt_log(db: Conn, job_id: int) -> list[str]:
    rows = db.execute(
        "SELECT outcome FROM app_jobs.job_attempts WHERE job_id = %s ORDER BY attempt", (job_id,)
    ).fetchall()
    return [row["outcome"] for row in rows]


def test_start_jobs_marks_only_held_jobs(db: Conn) -> None:
    for _ in range(3):
        add_job(db, "t")
    ids = claim(db, "w", 3, started=False)
    assert [job(db, i)["started_attempt"] for i in ids] == [None, None, None]
    assert start(db, "w", [ids[0], ids[1]]) == [ids[0], ids[1]]
    assert start(db, "other", [ids[2]]) == []  # not held by this worker: left out
    assert [job(db, i)["started_attempt"] for i in ids] == [1, 1, None]


def test_get_job_and_default_get_jobs_claims_are_started(db: Conn) -> None:
    add_job(db, "t")
    add_job(db, "t")
    one = db.execute("SELECT id FROM app_jobs.get_job('w')").fetchone()["id"]
    [two] = claim(db, "w", 1, started=True)
    assert job(db, one)["started_attempt"] == 1 and job(db, two)["started_attempt"] == 1


def test_settle_refunds_buffered_and_uses_started_attempts(db: Conn) -> None:
    for _ in range(3):
        add_job(db, "t", max_attempts=1)
    add_job(db, "t", max_attempts=3)
    ids = claim(db, "w", 4, started=False)
    start(db, "w", ids[1:])
    out = settle(db, "w")
    assert out == {ids[0]: "refunded", ids[1]: "failed", ids[2]: "failed", ids[3]: "lost"}
    assert job(db, ids[0]) == {
        "state": "ready", "attempts": 0, "locked_by": None, "started_attempt": None
    }  # fmt: skip
    assert attempt_log(db, ids[0]) == []
    assert job(db, ids[1]) is None and attempt_log(db, ids[1]) == ["lost"]
    status = db.execute("SELECT status FROM app_jobs.job_history WHERE id = %s", (ids[1],))
    assert status.fetchone()["status"] == "failed"
    assert job(db, ids[3])["state"] == "ready" and job(db, ids[3])["attempts"] == 1
    assert attempt_log(db, ids[3]) == ["lost"]


def test_a_job_that_kills_its_worker_runs_out_of_attempts(db: Conn) -> None:
    # Issue 13 item 7: the same worker id restarts after each crash and settles its past.
    job_id = add_job(db, "t", max_attempts=2)["id"]
    for _ in range(2):
        [claimed] = claim(db, "w", 1, started=False)
        assert claimed == job_id
        start(db, "w", [claimed])
        settle(db, "w")  # the next life of "w"
    assert job(db, job_id) is None
    assert attempt_log(db, job_id) == ["lost", "lost"]


def test_settle_by_ids_leaves_the_others(db: Conn) -> None:
    add_job(db, "t")
    add_job(db, "t")
    a, b = claim(db, "w", 2, started=False)
    assert settle(db, "w", [a]) == {a: "refunded"}
    assert job(db, a)["state"] == "ready" and job(db, b)["locked_by"] == "w"
    assert settle(db, "x", [b]) == {}  # not held by x


def test_a_lapsed_lease_refunds_buffered_jobs_only(db: Conn) -> None:
    add_job(db, "t", max_attempts=1)
    add_job(db, "t", max_attempts=1)
    db.execute("SELECT app_jobs.heartbeat('w', interval '1 second')")
    buffered, started = claim(db, "w", 2, started=False)
    start(db, "w", [started])
    db.execute("UPDATE app_jobs.workers SET lease_expires_at = now() - interval '1 minute'")
    sweep_due(db)
    # The next claim's sweep takes both back from the dead worker.
    db.execute("SELECT * FROM app_jobs.get_jobs('x', ARRAY['none'])")
    assert job(db, buffered)["state"] == "ready" and job(db, buffered)["attempts"] == 0
    assert attempt_log(db, buffered) == []
    assert job(db, started) is None and attempt_log(db, started) == ["lost"]


def test_a_serial_queue_is_freed_by_settle(db: Conn) -> None:
    first = add_job(db, "t", queue_name="q")["id"]
    second = add_job(db, "t", queue_name="q")["id"]
    assert claim(db, "w", 2, started=False) == [first]
    assert settle(db, "w") == {first: "refunded"}
    assert claim(db, "x", 2, started=True) == [first]
    assert job(db, second)["state"] != "running"


def _horizon_holders(db: Conn) -> list[dict[str, object]]:
    """Other sessions of this database whose snapshot or transaction holds back pruning."""
    return db.execute(
        "SELECT pid, backend_type, state, backend_xid::text AS xid, backend_xmin::text AS xmin,"
        " left(query, 60) AS query FROM pg_stat_activity"
        " WHERE pid <> pg_backend_pid() AND (datid IS NULL OR datname = current_database())"
        " AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)"
    ).fetchall()


def test_start_jobs_is_a_hot_update_on_the_jobs_page(db: Conn) -> None:
    """app_jobs.jobs keeps half of each page free (fillfactor 50, storage/hot_tables): the
    versions a batch's claim and start write fit on the jobs' own pages, so start_jobs (an
    unindexed column) can be a HOT update that writes no index entry. The start's version
    fits once the versions the claim replaced are pruned. A running server prunes them on the
    fly (88 to 92 of 100 starts HOT on a quiet server), but a session does so only with the
    horizon it last worked out, which it works out again only when the oldest transaction of
    the whole cluster moves: under the parallel suite other databases' transactions keep it
    still, and then exactly 16, 25 or 15 of 100 starts were HOT, the pages' free space alone.
    So the test prunes with VACUUM (which works out this database's horizon) between the
    claim and the start, once no other session of this database holds a snapshot. Then, batch
    after batch, 92, 94 and 94 starts of 100 were HOT at fillfactor 50, and 20, 59 and 67 at
    the default fillfactor 100 (the claim moves jobs to full pages): each batch must have 85."""
    options = db.execute(
        "SELECT reloptions FROM pg_class WHERE oid = 'app_jobs.jobs'::regclass"
    ).fetchone()["reloptions"]
    assert "fillfactor=50" in options
    # Counts of the session's own transactions, not yet sent to the statistics: the start's
    # are the difference.
    stats = (
        "SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables"
        " WHERE relid = 'app_jobs.jobs'::regclass"
    )
    hot = []
    holders: list[object] = []
    for _ in range(3):
        db.execute(
            "SELECT count(app_jobs.add_job(NULL, 'hot', json_build_object('i', g)))"
            " FROM generate_series(1, 100) AS g"
        )
        ids = claim(db, "w", 100, started=False)
        assert len(ids) == 100
        for _ in range(200):  # autovacuum's ANALYZE of this database holds a snapshot
            if not _horizon_holders(db):
                break
            db.execute("SELECT pg_sleep(0.05)")
        holders.append(_horizon_holders(db))
        db.execute("VACUUM app_jobs.jobs")
        with db.transaction():
            before = db.execute(stats).fetchone()
            assert start(db, "w", ids) == ids
            after = db.execute(stats).fetchone()
        assert after["upd"] - before["upd"] == 100
        hot.append(after["hot"] - before["hot"])
        db.execute("SELECT count(*) FROM app_jobs.finish_jobs('w', %s)", (ids,))
    assert min(hot) >= 85, (hot, holders)
