"""One history maintainer at a time: cleanup_jobs and create_history_partitions, run by every
worker on a timer, used to run side by side and could deadlock on the history's partitions
(a WARNING in the chaos tests' logs). Each now takes one transaction-level advisory lock
first, so a second caller waits until the first transaction ends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from helpers import Conn

CALLS = {
    "create_history_partitions": "SELECT app_jobs.create_history_partitions(2)",
    "cleanup_jobs": "SELECT * FROM app_jobs.cleanup_jobs(interval '30 days')",
}


def waiting_on_advisory(db: Conn, pid: int) -> bool:
    row = db.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = 'advisory'"
        " AND NOT granted) AS waiting",
        [pid],
    ).fetchone()
    assert row is not None
    return bool(row["waiting"])


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("create_history_partitions", "cleanup_jobs"),
        ("cleanup_jobs", "create_history_partitions"),
        ("cleanup_jobs", "cleanup_jobs"),
    ],
)
def test_a_second_maintainer_waits_for_the_first_to_end(
    db: Conn, connect: Callable[..., Conn], first: str, second: str
) -> None:
    holder = connect(autocommit=False)
    holder.execute(CALLS[first]).fetchall()  # its transaction stays open: the lock is held
    other = connect()
    pid_row = other.execute("SELECT pg_backend_pid() AS pid").fetchone()
    assert pid_row is not None
    done = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            other.execute(CALLS[second]).fetchall()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    # Wait (on the server's own lock table, not on time) until the second call is blocked on
    # the maintainers' advisory lock; it must not finish while the first transaction is open.
    while not waiting_on_advisory(db, int(pid_row["pid"])):
        assert not done.is_set(), f"{second} ran beside an open {first}: {errors}"
        threading.Event().wait(0.01)
    assert not done.is_set()
    holder.commit()
    thread.join(timeout=60)
    assert done.is_set() and not errors, errors


def test_maintainers_racing_never_deadlock(connect: Callable[..., Conn]) -> None:
    """Four connections run both maintenance calls in turn, as four workers' timers would:
    every call succeeds (a deadlock would raise 40P01 in one of them)."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(4)

    def maintain(conn: Conn, n: int) -> None:
        barrier.wait()
        for i in range(6):
            try:
                for name in (("cleanup_jobs", "create_history_partitions") if (i + n) % 2
                             else ("create_history_partitions", "cleanup_jobs")):  # fmt: skip
                    conn.execute(CALLS[name]).fetchall()
            except psycopg.Error as error:
                failures.append(error)

    conns: list[Any] = [connect() for _ in range(4)]
    threads = [threading.Thread(target=maintain, args=(c, n)) for n, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
