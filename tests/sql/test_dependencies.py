"""Job dependencies (issue 19 item 2): add_job's and add_jobs' depends_on; a job waits
(state waiting, status waiting) until all its dependencies completed, then becomes due exactly
once; a dependency that fails for good or is cancelled or removed cancels its dependants,
transitively, with a reason; a waiting head holds back its named queue; bad input is refused
with PJ210-PJ214 and writes nothing. Racing connections for the two races that matter: the last
two dependencies completing at once, and a dependant enqueued while its dependency finishes."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
import pytest
from helpers import OTHER_TENANT, TENANT, Conn, add_job, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Connect = Callable[..., Conn]
T = TypeVar("T")
ROUNDS = 40


def run_threads(count: int, target: Callable[[int, threading.Barrier], T]) -> list[T]:
    barrier = threading.Barrier(count)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(target, index, barrier) for index in range(count)]
        return [future.result() for future in futures]


def claim(db: Conn, tasks: list[str] | None = None, worker: str = "w") -> list[int]:
    rows = db.execute(
        "SELECT id FROM app_jobs.get_jobs(%s, %s, batch_size := 100)", (worker, tasks)
    ).fetchall()
    return [row["id"] for row in rows]


def state(db: Conn, job_id: int) -> str | None:
    row = db.execute("SELECT state FROM app_jobs.jobs WHERE id = %s", (job_id,)).fetchone()
    return None if row is None else str(row["state"])


def status(db: Conn, job_id: int) -> tuple[str, str | None]:
    row = db.execute("SELECT status, last_error FROM app_jobs.find_job(%s)", (job_id,)).fetchone()
    assert row is not None
    return str(row["status"]), row["last_error"]


def complete(db: Conn, job_id: int, worker: str = "w") -> None:
    row = db.execute("SELECT * FROM app_jobs.complete_job(%s, %s)", (worker, job_id)).fetchone()
    assert row is not None, f"{worker} did not hold job {job_id}"


def fail(db: Conn, job_id: int, worker: str = "w") -> str:
    row = db.execute(
        "SELECT state FROM app_jobs.fail_job(%s, %s, 'boom', permanent := true)", (worker, job_id)
    ).fetchone()
    assert row is not None
    return str(row["state"])


def spec(task: str, tenant: str | None = TENANT, queue: str | None = None) -> str:
    return (
        psycopg.sql.SQL("ROW({}, {}, NULL, NULL, {}, NULL, NULL, NULL)::app_jobs.job_spec")
        .format(psycopg.sql.Literal(tenant), psycopg.sql.Literal(task), psycopg.sql.Literal(queue))
        .as_string(None)
    )


def add_jobs(db: Conn, specs: list[str], depends_on: list[Any]) -> list[dict[str, Any]]:
    deps = [None if d is None else json.dumps(d) for d in depends_on]
    rows = db.execute(
        f"SELECT * FROM app_jobs.add_jobs(ARRAY[{', '.join(specs)}], depends_on := %s::jsonb[])",
        (deps,),
    ).fetchall()
    return [dict(row) for row in rows]


def test_a_chain_runs_in_order_and_each_link_waits(db: Conn) -> None:
    a = add_job(db, "extract")["id"]
    b = add_job(db, "transform", depends_on=[a])
    c = add_job(db, "load", depends_on=[b["id"]])
    assert (b["state"], b["pending_dependencies"]) == ("waiting", 1)
    assert status(db, b["id"]) == ("waiting", None) and status(db, c["id"])[0] == "waiting"
    assert claim(db) == [a]  # only the head of the chain is due
    complete(db, a)
    assert state(db, b["id"]) == "ready" and state(db, c["id"]) == "waiting"
    assert claim(db) == [b["id"]]
    complete(db, b["id"])
    assert claim(db) == [c["id"]]
    complete(db, c["id"])
    assert [status(db, i)[0] for i in (a, b["id"], c["id"])] == ["completed"] * 3


def test_fan_in_waits_for_every_dependency_and_fan_out_releases_all(
    db: Conn, connect: Connect
) -> None:
    listener = connect()
    listener.execute('LISTEN "jobs:insert"')
    jobs = add_jobs(
        db,
        [spec("a"), spec("b"), spec("join"), spec("x"), spec("y")],
        [None, None, [{"element": 1}, {"element": 2}], [{"element": 3}], [{"element": 3}]],
    )
    a, b, join, x, y = (j["id"] for j in jobs)
    assert [j["state"] for j in jobs] == ["ready", "ready", "waiting", "waiting", "waiting"]
    assert [j["pending_dependencies"] for j in jobs] == [None, None, 2, 1, 1]
    assert [j["has_dependants"] for j in jobs] == [True, True, True, False, False]
    assert sorted(claim(db)) == [a, b]
    complete(db, a)
    assert state(db, join) == "waiting"
    assert claim(db) == []
    list(listener.notifies(timeout=0.2))  # drain the enqueue's notifications
    db.execute("SELECT * FROM app_jobs.finish_jobs('w', ARRAY[%s]::bigint[])", (b,)).fetchall()
    assert state(db, join) == "ready"
    assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == ["jobs:insert"]
    assert claim(db) == [join]
    complete(db, join)
    assert sorted(claim(db)) == [x, y]  # fan-out: both become due
    edges = db.execute("SELECT * FROM app_jobs.list_job_dependencies(%s)", (join,)).fetchall()
    assert [(e["relation"], e["id"], e["status"]) for e in edges] == [
        ("dependency", a, "completed"),
        ("dependency", b, "completed"),
        ("dependant", x, "running"),
        ("dependant", y, "running"),
    ]


def test_a_permanent_failure_cancels_the_dependants_transitively(db: Conn) -> None:
    a = add_job(db, "a")["id"]
    other = add_job(db, "other")["id"]
    b = add_job(db, "b", depends_on=[a])["id"]
    c = add_job(db, "c", depends_on=[b, other])["id"]
    d = add_job(db, "d", depends_on=[other])["id"]
    assert claim(db, ["a"]) == [a]
    # A failure with attempts left is retried: the dependants keep waiting.
    db.execute("UPDATE app_jobs.jobs SET max_attempts = 2 WHERE id = %s", (a,))
    db.execute("SELECT * FROM app_jobs.fail_job('w', %s, 'first')", (a,)).fetchall()
    assert state(db, b) == "waiting"
    db.execute("SELECT * FROM app_jobs.reschedule_jobs(ARRAY[%s]::bigint[], run_at := now())", (a,))
    assert claim(db, ["a"]) == [a]
    assert fail(db, a) == "failed"
    assert status(db, b) == ("cancelled", f"cancelled: its dependency job {a} (a) failed")
    assert status(db, c) == (
        "cancelled",
        f"cancelled: its dependency job {b} was cancelled because job {a} (a) failed",
    )
    assert state(db, d) == "waiting"  # another branch: untouched
    assert claim(db, ["other"]) == [other]
    complete(db, other)
    assert claim(db) == [d]


@pytest.mark.parametrize("how", ["cancel_job", "cancel_jobs", "remove_job", "complete_jobs"])
def test_cancelling_or_removing_a_dependency_cancels_its_dependants(db: Conn, how: str) -> None:
    a = add_job(db, "a", job_key="key-a")["id"]
    b = add_job(db, "b", depends_on=[a])["id"]
    c = add_job(db, "c", depends_on=[b])["id"]
    if how == "cancel_job":
        db.execute("SELECT * FROM app_jobs.cancel_job(%s)", (a,)).fetchall()
    elif how == "cancel_jobs":
        db.execute("SELECT app_jobs.cancel_jobs(task := 'a', db_id := %s)", (TENANT,))
    elif how == "remove_job":
        db.execute("SELECT * FROM app_jobs.remove_job('key-a', %s)", (TENANT,)).fetchall()
    else:  # completing a waiting job by hand meets its dependants' dependency
        db.execute("SELECT * FROM app_jobs.complete_jobs(ARRAY[%s]::bigint[])", (a,)).fetchall()
        assert state(db, b) == "ready" and state(db, c) == "waiting"
        return
    assert status(db, b) == ("cancelled", f"cancelled: its dependency job {a} (a) was cancelled")
    assert status(db, c)[0] == "cancelled"
    # Cancelling a waiting dependant itself cancels its own dependants too.
    e = add_job(db, "e")["id"]
    f = add_job(db, "f", depends_on=[e])["id"]
    g = add_job(db, "g", depends_on=[f])["id"]
    db.execute("SELECT * FROM app_jobs.cancel_job(%s)", (f,)).fetchall()
    assert status(db, g) == ("cancelled", f"cancelled: its dependency job {f} (f) was cancelled")
    assert state(db, e) == "ready"


def test_a_dependency_already_finished_is_met_or_refused(db: Conn) -> None:
    done = add_job(db, "done")["id"]
    assert claim(db, ["done"]) == [done]
    complete(db, done)
    after = add_job(db, "after", depends_on=[done])
    assert (after["state"], after["pending_dependencies"]) == ("ready", 0)
    failed = add_job(db, "failed", max_attempts=1)["id"]
    assert claim(db, ["failed"]) == [failed]
    fail(db, failed)
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as err:
        add_job(db, "never", depends_on=[failed])
    assert err.value.sqlstate == "PJ213"
    assert f"dependency job {failed} (failed) failed" in str(err.value)
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("depends_on", "code"),
    [
        ([None], "PJ210"),
        ([0], "PJ210"),
        ([-5], "PJ210"),
        (["duplicate"], "PJ210"),
        ([999_999_999], "PJ211"),
    ],
)
def test_bad_dependencies_of_add_job_write_nothing(
    db: Conn, depends_on: list[Any], code: str
) -> None:
    a = add_job(db, "a")["id"]
    if depends_on == ["duplicate"]:
        depends_on = [a, a]
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as err:
        add_job(db, "b", depends_on=depends_on)
    assert err.value.sqlstate == code
    assert err.value.diag.message_hint
    assert snapshot(db) == before


def test_more_than_1000_dependencies_self_and_keys_are_refused(db: Conn) -> None:
    a = add_job(db, "a")["id"]
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as err:
        add_job(db, "b", depends_on=list(range(1, 1002)))
    assert err.value.sqlstate == "PJ210" and "at most 1000" in str(err.value)
    with pytest.raises(psycopg.Error) as err:
        add_job(db, "b", depends_on=[a], job_key="k")
    assert err.value.sqlstate == "PJ214"
    # Its own id (guessed: the next one the sequence gives) does not exist yet: refused, so no
    # job waits for itself (and no cycle can form).
    with pytest.raises(psycopg.Error) as err:
        add_job(db, "b", depends_on=[a + 1])
    assert err.value.sqlstate == "PJ211"
    assert snapshot(db) == before
    assert add_job(db, "b", depends_on=[])["state"] == "ready"  # empty: no dependency


def test_add_jobs_refuses_forward_and_malformed_references(db: Conn) -> None:
    before = snapshot(db)
    cases: list[tuple[list[Any], str]] = [
        ([[{"element": 2}], None], "PJ210"),  # a later element
        ([[{"element": 1}], None], "PJ210"),  # itself
        ([None, {"element": 1}], "PJ210"),  # not an array
        ([None, [{"element": 1, "x": 2}]], "PJ210"),
        ([None, [{"element": "1"}]], "PJ210"),
        ([None, ["12"]], "PJ210"),
        ([None, [1.5]], "PJ210"),
        ([None, [{"element": 1}, {"element": 1}]], "PJ210"),
        ([None], "PJ131"),  # one element per spec
    ]
    for depends_on, code in cases:
        with pytest.raises(psycopg.Error) as err:
            add_jobs(db, [spec("p"), spec("q")], depends_on)
        assert err.value.sqlstate == code, (depends_on, err.value)
    with pytest.raises(psycopg.Error) as err:
        add_jobs(db, [spec("p"), spec("q")], [None, [{"element": 1}, 10**19]])
    assert err.value.sqlstate == "PJ210"
    assert snapshot(db) == before
    # A forward reference by id: element 1 names the id element 2 is about to get.
    first = add_job(db, "first")["id"]
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as err:
        add_jobs(db, [spec("p"), spec("q")], [[first + 2], None])
    assert err.value.sqlstate == "PJ211"
    assert snapshot(db) == before


def test_a_dependency_of_another_tenant_is_refused(db: Conn) -> None:
    theirs = add_job(db, "theirs", db_id=OTHER_TENANT)["id"]
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as err:
        add_job(db, "mine", db_id=TENANT, depends_on=[theirs])
    assert err.value.sqlstate == "PJ212"
    with pytest.raises(psycopg.Error) as err:
        add_jobs(db, [spec("a", OTHER_TENANT), spec("b", TENANT)], [None, [{"element": 1}]])
    assert err.value.sqlstate == "PJ212" and "element 2" in str(err.value)
    after = snapshot(db)
    assert after["jobs"] == before["jobs"] and after["job_dependencies"] == []


def test_claim_job_does_not_run_a_waiting_job_early(db: Conn) -> None:
    a = add_job(db, "a")["id"]
    b = add_job(db, "b", depends_on=[a])["id"]
    assert db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (b,)).fetchall() == []
    assert state(db, b) == "waiting"
    assert [r["id"] for r in db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (a,))] == [a]
    complete(db, a)
    assert [r["id"] for r in db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (b,))] == [b]


def test_a_waiting_head_holds_back_its_named_queue(db: Conn) -> None:
    gate = add_job(db, "gate")["id"]
    head = add_job(db, "step", queue_name="q", depends_on=[gate])["id"]
    later = add_job(db, "step", queue_name="q")["id"]
    assert claim(db, ["step"]) == []  # the queue's head waits: nothing of q runs
    assert state(db, later) == "blocked"
    assert claim(db, ["gate"]) == [gate]
    complete(db, gate)
    assert claim(db, ["step"]) == [head]
    complete(db, head)
    assert claim(db, ["step"]) == [later]


def test_a_cancelled_waiting_head_gives_its_queue_back(db: Conn) -> None:
    gate = add_job(db, "gate", max_attempts=1)["id"]
    head = add_job(db, "step", queue_name="q", depends_on=[gate])["id"]
    later = add_job(db, "step", queue_name="q")["id"]
    assert claim(db, ["step"]) == []
    assert claim(db, ["gate"]) == [gate]
    fail(db, gate)
    assert status(db, head)[0] == "cancelled"
    assert claim(db, ["step"]) == [later]


def test_waiting_is_a_status_of_its_own(db: Conn) -> None:
    a = add_job(db, "a")["id"]
    b = add_job(db, "b", depends_on=[a])["id"]
    db.execute("SELECT * FROM app_jobs.pause_jobs(task := 'b')")
    rows = db.execute("SELECT id FROM app_jobs.list_jobs(status := '{waiting}')").fetchall()
    assert [r["id"] for r in rows] == [b]
    rows = db.execute("SELECT id FROM app_jobs.list_jobs(status := '{pending,paused}')").fetchall()
    assert [r["id"] for r in rows] == [a]
    rows = db.execute(
        "SELECT id FROM app_jobs.search_jobs(payload_contains := '{}', status := '{waiting}')"
    ).fetchall()
    assert [r["id"] for r in rows] == [b]
    # reschedule_jobs changes a waiting job's run_at but it keeps waiting.
    db.execute("SELECT * FROM app_jobs.reschedule_jobs(ARRAY[%s]::bigint[], run_at := now())", (b,))
    assert state(db, b) == "waiting"


def test_racing_completions_of_the_last_two_dependencies_make_it_due_once(
    db: Conn, connect: Connect
) -> None:
    conns = [connect(), connect()]
    for round_ in range(ROUNDS):
        a = add_job(db, "dep")["id"]
        b = add_job(db, "dep")["id"]
        c = add_job(db, "joined", depends_on=[a, b])["id"]
        assert sorted(claim(db, ["dep"], worker=f"w{round_}")) == [a, b]

        def finish(
            index: int, barrier: threading.Barrier, a: int = a, b: int = b, r: int = round_
        ) -> None:
            conn = conns[index]
            barrier.wait()
            if index == 0:
                complete(conn, a, worker=f"w{r}")
            else:
                conn.execute(
                    "SELECT * FROM app_jobs.finish_jobs(%s, ARRAY[%s]::bigint[])", (f"w{r}", b)
                ).fetchall()

        run_threads(2, finish)
        row = db.execute(
            "SELECT state, pending_dependencies FROM app_jobs.jobs WHERE id = %s", (c,)
        ).fetchone()
        assert row is not None and (row["state"], row["pending_dependencies"]) == ("ready", 0)
        assert claim(db, ["joined"]) == [c]
        assert claim(db, ["joined"]) == []
        complete(db, c)


@pytest.mark.parametrize("prior", [False, True], ids=["first dependant", "has dependants"])
@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_a_dependant_enqueued_while_its_dependency_finishes_is_never_stranded(
    db: Conn, connect: Connect, outcome: str, prior: bool
) -> None:
    """With prior, the dependency already has a dependant (has_dependants is set): the new
    enqueue only locks it FOR KEY SHARE, without writing it."""
    conns = [connect(), connect()]
    for round_ in range(ROUNDS):
        a = add_job(db, "dep", max_attempts=1)["id"]
        if prior:
            add_job(db, "earlier", depends_on=[a])
        assert claim(db, ["dep"], worker=f"w{round_}") == [a]

        def act(index: int, barrier: threading.Barrier, a: int = a, r: int = round_) -> int | str:
            conn = conns[index]
            barrier.wait()
            if index == 0:
                if outcome == "completed":
                    complete(conn, a, worker=f"w{r}")
                else:
                    fail(conn, a, worker=f"w{r}")
                return 0
            try:
                return int(add_job(conn, "after", depends_on=[a])["id"])
            except psycopg.Error as error:
                return str(error.sqlstate)

        _, after = run_threads(2, act)
        if outcome == "completed":
            assert isinstance(after, int)
            assert state(db, after) == "ready"  # due: at once, or made due by the completion
            assert claim(db, ["after"]) == [after]
            complete(db, after)
            if prior:  # the earlier dependant was made due too
                [earlier] = claim(db, ["earlier"])
                complete(db, earlier)
        elif isinstance(after, int):
            assert status(db, after)[0] == "cancelled"  # enqueued first: cancelled with it
        else:
            assert after == "PJ213"  # the failure came first: refused
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 0}


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[list[int]], list[bool]]:
    """A random DAG in topological order: node i depends on a subset of nodes < i; some
    nodes fail when they run."""
    n = draw(st.integers(min_value=1, max_value=10))
    deps = [sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [] for i in range(n)]
    fails = [draw(st.integers(0, 4)) == 0 for _ in range(n)]
    return deps, fails


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(dag=dags(), bulk=st.booleans())
def test_random_dags_run_after_their_dependencies_exactly_once(
    db: Conn, dag: tuple[list[list[int]], list[bool]], bulk: bool
) -> None:
    deps, fails = dag
    task = f"dag_{uuid.uuid4().hex[:12]}"
    if bulk:
        rows = add_jobs(
            db,
            [spec(task) for _ in deps],
            [[{"element": d + 1} for d in ds] or None for ds in deps],
        )
        ids = [r["id"] for r in rows]
    else:
        ids = []
        for ds in deps:
            ids.append(add_job(db, task, depends_on=[ids[d] for d in ds] or None)["id"])
    node = {job_id: i for i, job_id in enumerate(ids)}
    finished: dict[int, str] = {}
    ran: list[int] = []
    while True:
        claimed = claim(db, [task])
        if not claimed:
            break
        for job_id in claimed:
            i = node[job_id]
            ran.append(i)
            assert all(finished.get(d) == "completed" for d in deps[i]), (i, deps, finished)
            if fails[i]:
                fail(db, job_id)
                finished[i] = "failed"
            else:
                complete(db, job_id)
                finished[i] = "completed"
    assert len(ran) == len(set(ran))  # exactly once

    def doomed(i: int) -> bool:
        return any(fails[d] or doomed(d) for d in deps[i])

    for i, job_id in enumerate(ids):
        want = "cancelled" if doomed(i) else ("failed" if fails[i] else "completed")
        assert status(db, job_id)[0] == want, (i, deps, fails)
        assert (i in ran) == (want != "cancelled")
    assert db.execute(
        "SELECT count(*) AS n FROM app_jobs.jobs WHERE task_identifier = %s", (task,)
    ).fetchone() == {"n": 0}


def test_cleanup_removes_the_edges_of_jobs_gone_from_the_history(db: Conn) -> None:
    a = add_job(db, "a")["id"]
    b = add_job(db, "b", depends_on=[a])["id"]
    live = add_job(db, "live", depends_on=[b])["id"]
    assert claim(db, ["a"]) == [a]
    complete(db, a)
    assert claim(db, ["b"]) == [b]
    complete(db, b)
    db.execute("UPDATE app_jobs.job_dependencies SET created_at = now() - interval '2 days'")
    db.execute(
        "UPDATE app_jobs.job_history SET finished_at = now() - interval '2 days' WHERE id = %s",
        (b,),
    )
    db.execute("SELECT * FROM app_jobs.cleanup_jobs(interval '1 day')").fetchall()
    rows = db.execute("SELECT depends_on_id, job_id FROM app_jobs.job_dependencies").fetchall()
    # b's edge to a went with b's history; live's edge to b stays while live is kept.
    assert [(r["depends_on_id"], r["job_id"]) for r in rows] == [(b, live)]


def test_racing_workers_run_a_random_graph_in_order_exactly_once(
    db: Conn, connect: Connect
) -> None:
    """Four connections claim and finish batches of one random graph at once: every job runs
    once, and is claimed only once every one of its dependencies has completed: right after
    each claim returns, every dependency of every job it took is in the history as completed.
    (Timestamps cannot show it: a claim's now() is its transaction's start, and a claim call
    that runs its candidate query again sees completions committed after that start.)"""
    import random

    rng = random.Random(19)
    n = 60
    deps = [sorted(rng.sample(range(i), min(i, rng.randint(0, 3)))) for i in range(n)]
    rows = add_jobs(
        db, [spec("graph") for _ in deps], [[{"element": d + 1} for d in ds] or None for ds in deps]
    )
    ids = [r["id"] for r in rows]
    conns = [connect() for _ in range(4)]
    claims: list[int] = []
    early: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(index: int, barrier: threading.Barrier) -> None:
        conn = conns[index]
        barrier.wait()
        for _ in range(10_000):  # a guard: the graph drains long before
            got = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM app_jobs.get_jobs(%s, '{graph}', batch_size := 5)",
                    (f"w{index}",),
                )
            ]
            if not got:
                left = conn.execute(
                    "SELECT count(*) AS n FROM app_jobs.jobs WHERE task_identifier = 'graph'"
                ).fetchone()
                if left == {"n": 0}:
                    return
                threading.Event().wait(0.005)  # another worker holds the next jobs
                continue
            unmet = conn.execute(
                "SELECT d.job_id, d.depends_on_id FROM app_jobs.job_dependencies AS d"
                " WHERE d.job_id = ANY (%s) AND NOT EXISTS (SELECT 1 FROM app_jobs.job_history"
                " AS h WHERE h.id = d.depends_on_id AND h.status = 'completed')",
                (got,),
            ).fetchall()
            with lock:
                claims.extend(got)
                early.extend((r["job_id"], r["depends_on_id"]) for r in unmet)
            conn.execute(
                "SELECT * FROM app_jobs.finish_jobs(%s, %s::bigint[])", (f"w{index}", got)
            ).fetchall()
        raise AssertionError("the graph did not drain")

    run_threads(4, work)
    assert sorted(claims) == sorted(set(claims)) and set(claims) <= set(ids)
    hist = {
        r["id"]: r
        for r in db.execute(
            "SELECT id, status, first_started_at, finished_at FROM app_jobs.job_history"
            " WHERE task_identifier = 'graph'"
        ).fetchall()
    }
    assert len(hist) == n and {h["status"] for h in hist.values()} == {"completed"}
    assert early == []  # no job was claimed before one of its dependencies had completed
    edges = db.execute(
        "SELECT count(*) AS n FROM app_jobs.job_dependencies WHERE job_id = ANY (%s)", (ids,)
    ).fetchone()
    assert edges == {"n": sum(len(ds) for ds in deps)}  # the check above saw every edge


def test_a_large_pipeline_and_fan_in_in_one_call(db: Conn) -> None:
    """2,000-job chain by position and 2,000 jobs on one dependency each by id, one call each
    (the enqueue stays linear: it once subscripted its array of rows per edge)."""
    n = 2000
    chain = add_jobs(
        db, [spec("chain") for _ in range(n)], [None] + [[{"element": i}] for i in range(1, n)]
    )
    assert [j["state"] for j in chain] == ["ready"] + ["waiting"] * (n - 1)
    fan = add_jobs(db, [spec("fan") for _ in range(n)], [[j["id"]] for j in chain])
    assert {j["pending_dependencies"] for j in fan} == {1}
    edges = db.execute("SELECT count(*) AS n FROM app_jobs.job_dependencies").fetchone()
    assert edges == {"n": 2 * n - 1}
    assert claim(db, ["chain", "fan"]) == [chain[0]["id"]]
    complete(db, chain[0]["id"])
    assert sorted(claim(db, ["chain", "fan"])) == [chain[1]["id"], fan[0]["id"]]
