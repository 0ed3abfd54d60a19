"""Which tasks the live workers serve: declare_worker_tasks (a worker's declaration at start,
replacing its previous one; the declarations of workers that are gone deleted) and task_coverage
(per task: waiting and running jobs, and the workers with a live lease that serve it). Rolling
deploys, crashed and stopped workers, many racing declarations, tenants."""

from __future__ import annotations

import threading
from collections.abc import Callable

from helpers import OTHER_TENANT, TENANT, Conn, add_job, get_job


def declare(db: Conn, worker_id: str, *tasks: str) -> int:
    row = db.execute(
        "SELECT app_jobs.declare_worker_tasks(%s, %s) AS n", (worker_id, list(tasks))
    ).fetchone()
    assert row is not None
    return int(row["n"])


def coverage(db: Conn, db_id: str | None = None) -> dict[str, tuple[int, int, int, int]]:
    """task -> (queued, scheduled, running, live_workers)."""
    rows = db.execute(
        "SELECT task_identifier, queued, scheduled, running, live_workers"
        " FROM app_jobs.task_coverage(%s)",
        (db_id,),
    ).fetchall()
    return {
        r["task_identifier"]: (r["queued"], r["scheduled"], r["running"], r["live_workers"])
        for r in rows
    }


def declared(db: Conn) -> list[tuple[str, str]]:
    rows = db.execute("SELECT worker_id, task_identifier FROM app_jobs.worker_tasks ORDER BY 1, 2")
    return [(r["worker_id"], r["task_identifier"]) for r in rows.fetchall()]


def test_a_task_with_jobs_and_no_declared_worker_is_served_by_none(db: Conn) -> None:
    add_job(db, "mail")
    add_job(db, "mail")
    add_job(db, "later", run_at="2099-01-01T00:00:00Z")
    db.execute("SELECT app_jobs.heartbeat('undeclared')")  # a live worker that said nothing
    assert coverage(db) == {"later": (0, 1, 0, 0), "mail": (2, 0, 0, 0)}


def test_a_declaration_counts_while_the_lease_is_live(db: Conn) -> None:
    add_job(db, "mail")
    assert declare(db, "w1", "mail", "resize", "mail") == 2  # duplicates count once
    # Declared but no heartbeat yet: not a live worker.
    assert coverage(db) == {"mail": (1, 0, 0, 0)}
    db.execute("SELECT app_jobs.heartbeat('w1')")
    assert coverage(db) == {"mail": (1, 0, 0, 1), "resize": (0, 0, 0, 1)}
    assert get_job(db, "w1", ["mail"]) is not None
    assert coverage(db)["mail"] == (0, 0, 1, 1)
    # The lease lapses (a crashed worker): its declaration stops counting with no write.
    db.execute(
        "UPDATE app_jobs.workers SET lease_expires_at = now() - interval '1 second'"
        " WHERE worker_id = 'w1'"
    )
    assert coverage(db) == {"mail": (0, 0, 1, 0)}


def test_a_rolling_deploy_two_versions_serving_different_tasks(db: Conn) -> None:
    add_job(db, "a")
    add_job(db, "b")
    add_job(db, "c")
    declare(db, "old", "a", "b")
    db.execute("SELECT app_jobs.heartbeat('old')")
    assert {t: c[3] for t, c in coverage(db).items()} == {"a": 1, "b": 1, "c": 0}
    declare(db, "new", "a", "c")  # the new version dropped task b and added c
    db.execute("SELECT app_jobs.heartbeat('new')")
    assert {t: c[3] for t, c in coverage(db).items()} == {"a": 2, "b": 1, "c": 1}
    # The old version stops: release_jobs forgets its lease; b is left with nobody.
    db.execute("SELECT * FROM app_jobs.release_jobs('old')").fetchall()
    assert {t: c[3] for t, c in coverage(db).items()} == {"a": 1, "b": 0, "c": 1}


def test_a_new_declaration_replaces_the_previous_one(db: Conn) -> None:
    declare(db, "w", "a", "b")
    declare(db, "w", "b", "c")
    assert declared(db) == [("w", "b"), ("w", "c")]


def test_declarations_of_workers_that_are_gone_are_deleted_by_the_next_one(db: Conn) -> None:
    declare(db, "stopped", "a")  # no lease row (release_jobs forgot it), declared long ago
    declare(db, "lapsed", "a")  # a lease row whose lease lapsed: kept (it may come back)
    db.execute(
        "INSERT INTO app_jobs.workers (worker_id, lease_expires_at)"
        " VALUES ('lapsed', now() - interval '1 hour')"
    )
    declare(db, "starting", "a")  # declared a moment ago, no heartbeat yet: kept (grace)
    db.execute(
        "UPDATE app_jobs.worker_tasks SET declared_at = now() - interval '11 minutes'"
        " WHERE worker_id IN ('stopped', 'lapsed')"
    )
    declare(db, "next", "b")
    assert declared(db) == [("lapsed", "a"), ("next", "b"), ("starting", "a")]


def test_job_counts_narrow_to_one_tenant_workers_serve_all(db: Conn) -> None:
    add_job(db, "mail", db_id=TENANT)
    add_job(db, "mail", db_id=OTHER_TENANT)
    add_job(db, "mail", db_id=OTHER_TENANT)
    add_job(db, "other", db_id=OTHER_TENANT)
    declare(db, "w", "mail")
    db.execute("SELECT app_jobs.heartbeat('w')")
    assert coverage(db, TENANT) == {"mail": (1, 0, 0, 1)}
    assert coverage(db, OTHER_TENANT) == {"mail": (2, 0, 0, 1), "other": (1, 0, 0, 0)}
    assert coverage(db)["mail"] == (3, 0, 0, 1)


def test_many_workers_declaring_at_once_never_deadlock_and_leave_bounded_rows(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    # 8 connections, each a series of worker lives declaring 20 tasks (in varied orders)
    # while the gone ones' rows are deleted: no error, and only the live ones' rows remain.
    tasks = [f"t{i:02d}" for i in range(20)]
    db.execute(
        "INSERT INTO app_jobs.worker_tasks (worker_id, task_identifier, declared_at)"
        " SELECT 'gone' || g, t, now() - interval '1 hour'"
        " FROM generate_series(1, 50) AS g, unnest(%s::text[]) AS t",
        (tasks,),
    )
    conns = [connect() for _ in range(8)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(conns))

    def lives(i: int, conn: Conn) -> None:
        try:
            barrier.wait()
            for life in range(5):
                worker_id = f"w{i}-{life}"
                ordered = tasks[i:] + tasks[:i] if life % 2 else list(reversed(tasks))
                declare(conn, worker_id, *ordered)
                conn.execute("SELECT app_jobs.heartbeat(%s)", (worker_id,))
                if life < 4:  # every life but the last stops cleanly
                    conn.execute("SELECT * FROM app_jobs.release_jobs(%s)", (worker_id,))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=lives, args=(i, c)) for i, c in enumerate(conns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {t: c[3] for t, c in coverage(db).items()} == {t: 8 for t in tasks}
    remaining = db.execute(
        "SELECT count(*) AS n FROM app_jobs.worker_tasks WHERE worker_id LIKE 'gone%'"
    )
    assert remaining.fetchone() == {"n": 0}


def test_task_coverage_writes_nothing(db: Conn) -> None:
    declare(db, "w", "a")
    before = declared(db)
    coverage(db)
    assert declared(db) == before
