"""Job dependencies from Python and the command line (issue 19 item 2): Client.add_job's and
add_jobs' depends_on (ids, and JobSpecs of the same call), job_dependencies, DependencyError;
a real worker runs a pipeline in dependency order, woken by the completion that makes a job
due; `pgjobs jobs show` lists the edges, `pgjobs jobs list --status waiting` the waiting."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from cli_support import run_pgjobs
from test_worker import GUARD, run, sql

from pgjobs import DependencyError
from pgjobs.db.async_client import AsyncClient
from pgjobs.db.client import Client, JobSpec
from pgjobs.runtime.app import App


def test_client_builds_a_pipeline_and_reads_its_edges(dsn: str) -> None:
    with Client.connect(dsn) as jobs:
        extract = JobSpec("extract", {"day": 5})
        transform = JobSpec("transform")
        loads = [JobSpec("load", {"region": r}) for r in ("eu", "us")]
        rows = jobs.add_jobs(
            [extract, transform, *loads], depends_on=[None, [extract], [transform], [transform]]
        )
        statuses = [info.status for info in (jobs.find_job(r.id) for r in rows) if info]
        assert statuses == ["pending", "waiting", "waiting", "waiting"]
        report = jobs.add_job("report", depends_on=[r.id for r in rows[2:]])
        edges = jobs.job_dependencies(rows[1].id)
        assert [(e.relation, e.id, e.task_identifier, e.status) for e in edges] == [
            ("dependency", rows[0].id, "extract", "pending"),
            ("dependant", rows[2].id, "load", "waiting"),
            ("dependant", rows[3].id, "load", "waiting"),
        ]
        assert [e.id for e in jobs.job_dependencies(report.id)] == [rows[2].id, rows[3].id]
        waiting = [report.id, rows[3].id, rows[2].id, rows[1].id]  # newest first
        assert [j.id for j in jobs.list_jobs("waiting")] == waiting
        with pytest.raises(DependencyError) as err:
            jobs.add_job("orphan", depends_on=[10**12])
        assert err.value.sqlstate == "PJ211"
        with pytest.raises(DependencyError) as err:
            jobs.add_job("keyed", job_key="k", depends_on=[rows[0].id])
        assert err.value.sqlstate == "PJ214"
        with pytest.raises(ValueError, match="not an earlier spec"):
            jobs.add_jobs([JobSpec("a"), extract], depends_on=[[extract], None])
        with pytest.raises(ValueError, match="one entry per spec"):
            jobs.add_jobs([JobSpec("a")], depends_on=[])


def test_async_client_add_jobs_ids_with_dependencies(dsn: str) -> None:
    async def scenario() -> list[int]:
        async with await AsyncClient.connect(dsn) as jobs:
            first = JobSpec("first")
            ids = await jobs.add_jobs_ids([first, JobSpec("second")], depends_on=[None, [first]])
            info = await jobs.find_job(ids[1])
            assert info is not None and info.status == "waiting"
            return ids

    ids = run(scenario())
    rows = sql(dsn, "SELECT depends_on_id, job_id FROM app_jobs.job_dependencies")
    assert rows == [{"depends_on_id": ids[0], "job_id": ids[1]}]


def test_a_worker_runs_a_pipeline_in_order_and_a_failure_cancels_the_rest(dsn: str) -> None:
    app = App(dsn)
    ran: list[str] = []

    def step(name: str) -> Any:
        def handler(payload: Any) -> None:
            ran.append(name)
            if payload.get("fail"):
                raise RuntimeError("step failed")

        return handler

    for name in ("a", "b", "c", "d"):
        app.task(name)(step(name))

    with Client.connect(dsn) as jobs:
        a = jobs.add_job("a", {})
        b = jobs.add_job("b", {}, depends_on=[a.id])
        c = jobs.add_job("c", {"fail": True}, max_attempts=1, depends_on=[a.id, b.id])
        d = jobs.add_job("d", {}, depends_on=[c.id])
    for _ in range(5):
        if app.process_batch(batch_size=10, concurrency=4).claimed == 0:
            break
    assert ran == ["a", "b", "c"]
    with Client.connect(dsn) as jobs:
        info = jobs.find_job(d.id)
        assert info is not None and info.status == "cancelled"
        assert info.last_error == f"cancelled: its dependency job {c.id} (c) failed"


def test_a_worker_is_woken_when_a_dependency_completes(dsn: str) -> None:
    app = App(dsn)
    done = asyncio.Event()
    order: list[str] = []

    @app.task("first")
    async def first(payload: Any) -> None:
        order.append("first")

    @app.task("then")
    async def then(payload: Any) -> None:
        order.append("then")
        done.set()

    async def scenario() -> None:
        worker = app.worker(poll_interval=3600)  # only a NOTIFY can wake it in time
        running = asyncio.create_task(worker.run())
        await asyncio.sleep(0.5)  # let it start listening

        def enqueue() -> None:
            with Client.connect(dsn) as jobs:
                head = jobs.add_job("first")
                jobs.add_job("then", depends_on=[head.id])

        await asyncio.to_thread(enqueue)
        await asyncio.wait_for(done.wait(), GUARD)
        worker.stop()
        await asyncio.wait_for(running, GUARD)

    run(scenario())
    assert order == ["first", "then"]


def test_cli_shows_the_edges_and_lists_waiting_jobs(dsn: str) -> None:
    with Client.connect(dsn) as jobs:
        a = jobs.add_job("fetch")
    added = run_pgjobs("add", "merge", "--depends-on", str(a.id), "--dsn", dsn)
    assert added.returncode == 0, added.stderr
    assert "waiting" in added.stdout
    with Client.connect(dsn) as jobs:
        [b] = jobs.list_jobs("waiting")
    shown = run_pgjobs("jobs", "show", str(b.id), "--dsn", dsn)
    assert shown.returncode == 0, shown.stderr
    assert "status:              waiting" in shown.stdout
    assert f"waits for:           job {a.id} (fetch) pending" in shown.stdout
    upstream = run_pgjobs("jobs", "show", str(a.id), "--dsn", dsn)
    assert f"needed by:           job {b.id} (merge) waiting" in upstream.stdout
    as_json = json.loads(run_pgjobs("jobs", "show", str(b.id), "--dsn", dsn, "--json").stdout)
    assert as_json["dependencies"] == [
        {"relation": "dependency", "id": a.id, "task_identifier": "fetch", "status": "pending"}
    ]
    waiting = run_pgjobs("jobs", "list", "--dsn", dsn, "--status", "waiting", "--json")
    assert [json.loads(line)["id"] for line in waiting.stdout.splitlines()] == [b.id]


def test_the_app_enqueues_with_dependencies_and_its_worker_runs_them_in_order(dsn: str) -> None:
    app = App(dsn)
    ran: list[str] = []

    def record(name: str) -> Any:
        def handler(payload: Any) -> None:
            ran.append(f"{name}{payload.get('n', '')}")

        return handler

    for name in ("fetch", "resize", "publish", "notify"):
        app.task(name)(record(name))

    fetch = app.sync.later("fetch")
    resized = app.sync.later_many("resize", [{"n": 1}, {"n": 2}], depends_on=[fetch])
    publish, notify = JobSpec("publish"), JobSpec("notify")

    async def enqueue() -> list[int]:
        rows = await app.add_jobs(
            [publish, notify], depends_on=[[*resized], [publish]]
        )  # jobs, and an earlier spec of the same call
        later = await app.later("notify", {"n": 9}, depends_on=[rows[0].id])
        return [*(r.id for r in rows), later.id]

    ids = asyncio.run(enqueue())
    with Client.connect(dsn) as jobs:
        assert [(e.relation, e.id) for e in jobs.job_dependencies(resized[0].id)] == [
            ("dependency", fetch.id),
            ("dependant", ids[0]),
        ]
        assert [e.id for e in jobs.job_dependencies(ids[0]) if e.relation == "dependency"] == [
            r.id for r in resized
        ]
        assert [e.id for e in jobs.job_dependencies(ids[1])] == [ids[0]]
        statuses = {jobs.find_job(i).status for i in [r.id for r in resized] + ids}  # type: ignore[union-attr]
        assert statuses == {"waiting"}
    for _ in range(6):
        if app.sync.drain().completed == 0:
            break
    assert ran[0] == "fetch" and sorted(ran[1:3]) == ["resize1", "resize2"]
    assert ran[3] == "publish" and sorted(ran[4:]) == ["notify", "notify9"]
