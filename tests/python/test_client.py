"""pgjobs.client: the Python client over the app_jobs SQL API (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgjobs.db.client import AsyncClient, Client, Job, JobSpec
from pgjobs.db.errors import InvalidArgument, PgJobsError
from pgjobs.db.rows import failed_outcome, payload_dumps

TENANT = "5b720132-17d5-424d-9bcb-ee7b17c13d43"


@pytest.fixture
def client(dsn: str) -> Iterator[Client]:
    with Client.connect(dsn) as c:
        yield c


def test_enqueue_claim_complete(client: Client) -> None:
    job = client.add_job("send_email", {"to": "a@b.c"}, database_id=TENANT, priority=-1)
    assert (job.task_identifier, job.payload, str(job.database_id)) == (
        "send_email",
        {"to": "a@b.c"},
        TENANT,
    )
    assert (job.priority, job.attempts) == (-1, 0)
    assert client.find_job(job.id).status == "pending"
    claimed = client.get_job("w1", task_identifiers=["send_email"])
    assert claimed is not None and claimed.id == job.id and claimed.locked_by == "w1"
    assert client.complete_job("w2", job.id) is None  # not the holder
    done = client.complete_job("w1", job.id)
    assert done is not None and done.id == job.id
    assert client.get_job("w1") is None


def test_fail_retries_with_backoff(client: Client) -> None:
    job = client.add_job("t", max_attempts=3)
    client.get_job("w")
    failed = client.fail_job("w", job.id, "boom")
    assert failed is not None and failed.last_error == "boom"
    assert failed_outcome(failed) == "retrying"
    assert client.find_job(job.id).status == "retrying"


def test_delay_counts_from_the_database_clock(client: Client) -> None:
    job = client.add_job("t", delay=3600)
    assert client.find_job(job.id).status == "scheduled"
    assert client.get_job("w") is None
    with pytest.raises(ValueError, match="not both"):
        client.add_job("t", delay=1, run_at=datetime.now(UTC))


def test_run_at_and_job_keys(client: Client) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    first = client.add_job("t", {"v": 1}, job_key="k", run_at=later)
    second = client.add_job("t", {"v": 2}, job_key="k", queue="q")
    assert second.id == first.id and second.payload == {"v": 2} and second.queue_name == "q"
    removed = client.remove_job("k")
    assert removed is not None and removed.id == first.id


def test_add_jobs_in_order_with_keys(client: Client) -> None:
    jobs = client.add_jobs(
        [JobSpec("a", {"i": 1}), JobSpec("b", job_key="k"), JobSpec("c", queue="q", priority=5)]
    )
    assert [j.task_identifier for j in jobs] == ["a", "b", "c"]
    assert jobs[1].key == "k" and (jobs[2].queue_name, jobs[2].priority) == ("q", 5)
    assert client.add_jobs([]) == []


def test_claim_job_heartbeat_release(client: Client) -> None:
    job = client.add_job("t", delay=3600)
    claimed = client.claim_job("w", job.id)
    assert claimed is not None and claimed.locked_by == "w"
    assert client.find_job(job.id).status == "running"
    assert client.heartbeat("w") == [job.id]
    released = client.release_jobs("w")
    assert [j.id for j in released] == [job.id] and released[0].locked_by is None


def test_sql_errors_become_pgjobs_exceptions(client: Client) -> None:
    with pytest.raises(InvalidArgument) as err:
        client.add_job("")
    assert err.value.sqlstate == "PJ101"
    assert "add_job" in err.value.message and err.value.hint
    with pytest.raises(InvalidArgument) as bulk:
        client.add_jobs([JobSpec("ok"), JobSpec("bad", max_attempts=0)])
    assert bulk.value.sqlstate == "PJ104" and "element 2" in bulk.value.message
    with pytest.raises(PgJobsError):
        client.get_job("")
    assert client.get_job("w") is None  # nothing was written by the failed calls


def test_async_client(dsn: str) -> None:
    async def scenario() -> None:
        async with await AsyncClient.connect(dsn) as client:
            job = await client.add_job("t", {"a": 1})
            batch = await client.add_jobs([JobSpec("u"), JobSpec("v")])
            assert [j.task_identifier for j in batch] == ["u", "v"]
            claimed = await client.get_job("w", task_identifiers=["t"])
            assert claimed is not None and claimed.id == job.id
            assert await client.heartbeat("w") == [job.id]
            assert (await client.complete_job("w", job.id)) is not None
            with pytest.raises(InvalidArgument):
                await client.add_job("", None)

    asyncio.run(scenario())


def test_tenant_is_a_deprecated_alias_of_database_id(client: Client, dsn: str) -> None:
    with pytest.warns(DeprecationWarning, match=r"add_job\(tenant=\.\.\.\) is deprecated"):
        job = client.add_job("t", tenant=TENANT, job_key="k")
    assert str(job.database_id) == TENANT
    with pytest.warns(DeprecationWarning, match="use database_id="):
        listed = client.list_jobs(tenant=TENANT)
    assert [info.id for info in listed] == [job.id]
    assert [info.id for info in client.list_jobs(database_id=TENANT)] == [job.id]
    with pytest.raises(TypeError, match="got both tenant= and database_id="):
        client.remove_job("k", tenant=TENANT, database_id=TENANT)
    with pytest.warns(DeprecationWarning, match="remove_job"):
        removed = client.remove_job("k", tenant=TENANT)
    assert removed is not None and removed.id == job.id

    async def scenario() -> None:
        async with await AsyncClient.connect(dsn) as aclient:
            with pytest.warns(DeprecationWarning, match="cancel_jobs"):
                assert await aclient.cancel_jobs(task="t", tenant=TENANT) == 0
            assert await aclient.cancel_jobs(task="t", database_id=TENANT) == 0

    asyncio.run(scenario())


def test_app_spec_takes_database_id_and_the_old_tenant_keyword() -> None:
    from pgjobs import App

    app = App(dsn="unused")
    assert app.spec("t", database_id=TENANT).database_id == TENANT
    with pytest.warns(DeprecationWarning, match=r"spec\(tenant=\.\.\.\)"):
        assert app.spec("t", tenant=TENANT).database_id == TENANT


def test_job_spec_and_schedule_take_database_id_and_the_old_tenant_name() -> None:
    from pgjobs import JobSpec, Schedule

    assert JobSpec("t", None, TENANT).database_id == TENANT
    with pytest.warns(DeprecationWarning, match=r"JobSpec\(tenant=\.\.\.\)"):
        spec = JobSpec("t", tenant=TENANT)
    assert spec.database_id == TENANT
    with pytest.warns(DeprecationWarning, match=r"JobSpec.tenant is deprecated"):
        assert spec.tenant == TENANT
    with pytest.warns(DeprecationWarning, match=r"Schedule\(tenant=\.\.\.\)"):
        schedule = Schedule("report", cron="@daily", tenant=TENANT)
    assert schedule.database_id == TENANT and schedule.params()["db_id"] == TENANT


def test_add_jobs_round_trips_every_character_the_literal_must_escape(client: Client) -> None:
    """add_jobs writes the job_spec[] literal itself: quotes, backslashes, commas, parentheses
    and braces in every text field, a tenant, a run_at, and None fields arrive exactly."""
    tricky = "a\"b\\c,(d){e} 'f' é\\\""
    when = datetime(2999, 1, 2, 3, 4, 5, tzinfo=UTC)
    specs = [
        JobSpec(tricky, {"s": tricky, "n": [1, None, True]}, job_key=tricky, queue=tricky),
        JobSpec(
            "plain",
            None,
            database_id="5b720132-17d5-424d-9bcb-ee7b17c13d43",
            run_at=when,
            max_attempts=3,
            priority=-2,
        ),
    ]
    first, second = client.add_jobs(specs)
    assert (first.task_identifier, first.payload, first.key, first.queue_name) == (
        tricky,
        {"s": tricky, "n": [1, None, True]},
        tricky,
        tricky,
    )
    assert str(second.database_id) == "5b720132-17d5-424d-9bcb-ee7b17c13d43"
    assert (second.payload, second.run_at, second.max_attempts, second.priority) == (
        {},
        when,
        3,
        -2,
    )


def test_task_keywords_follow_the_contract_and_the_old_ones_warn(client: Client) -> None:
    """add_job(identifier), get_job(task_identifiers), JobSpec/Schedule.identifier: the SQL
    contract's names; task= / tasks= / .task still work for one release, with a warning."""
    from pgjobs import JobSpec, Schedule

    job = client.add_job(identifier="renamed", payload={"n": 1})
    with pytest.warns(DeprecationWarning, match=r"add_job\(task=\.\.\.\) is deprecated"):
        old = client.add_job(task="renamed", payload={"n": 2})
    assert (job.task_identifier, old.task_identifier) == ("renamed", "renamed")
    with pytest.raises(TypeError, match="both task= and identifier="):
        client.add_job(task="a", identifier="b")

    claimed = client.get_job("w1", task_identifiers=["renamed"])
    assert claimed is not None and claimed.id == job.id
    with pytest.warns(DeprecationWarning, match=r"get_job\(tasks=\.\.\.\) is deprecated"):
        again = client.get_job("w1", tasks=["renamed"])
    assert again is not None and again.id == old.id
    assert client.get_job("w1", task_identifiers=["renamed"]) is None

    spec = JobSpec(identifier="renamed")
    with pytest.warns(DeprecationWarning, match=r"JobSpec\(task=\.\.\.\)"):
        assert JobSpec(task="renamed") == spec
    with pytest.warns(DeprecationWarning, match=r"JobSpec.task is deprecated"):
        assert spec.task == "renamed"
    schedule = Schedule(identifier="report", cron="@daily")
    assert schedule.params()["identifier"] == "report" and schedule.job_key == "report"
    with pytest.warns(DeprecationWarning, match=r"Schedule\(task=\.\.\.\)"):
        assert Schedule(task="report", cron="@daily") == schedule
    with pytest.warns(DeprecationWarning, match=r"Schedule.task is deprecated"):
        assert schedule.task == "report"


def test_connect_without_a_dsn_goes_where_the_cli_goes(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pgjobs.Client.connect()`` / ``pgjobs.AsyncClient.connect()`` take the CLI's connect
    step (PGJOBS_DSN first), not libpq's defaults (here PGDATABASE, a database that does not
    exist); the database layer's clients keep libpq's defaults."""
    import psycopg

    import pgjobs
    from pgjobs import connect

    params = psycopg.conninfo.conninfo_to_dict(dsn)
    for key, variable in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER")):
        if params.get(key):
            monkeypatch.setenv(variable, str(params[key]))
    monkeypatch.setenv("PGPASSWORD", str(params.get("password") or ""))
    monkeypatch.setenv("PGJOBS_DSN", dsn)
    monkeypatch.setenv("PGDATABASE", "pgjobs_no_such_database")
    wanted = params["dbname"]
    assert psycopg.conninfo.conninfo_to_dict(connect.conninfo())["dbname"] == wanted

    with pgjobs.Client.connect() as sync_client:
        assert isinstance(sync_client, Client)
        row = sync_client.conn.execute("SELECT current_database()").fetchone()
        assert row is not None and row[0] == wanted

    async def main() -> str:
        async with await pgjobs.AsyncClient.connect() as async_client:
            assert isinstance(async_client, AsyncClient)
            cur = await async_client.conn.execute("SELECT current_database()")
            row = await cur.fetchone()
            assert row is not None
            return str(row[0])

    assert asyncio.run(main()) == wanted
    with pytest.raises(psycopg.OperationalError, match="pgjobs_no_such_database"):
        Client.connect()  # pgjobs.db.client.Client: libpq's defaults, as documented


# --- the per-job timeout and bulk enqueue by ids (0.4.0) ----------------------------------------


def test_a_job_carries_its_timeout(client: Client) -> None:
    job = client.add_job("t", timeout=90)
    assert job.timeout == timedelta(seconds=90)
    assert client.add_job("t", timeout=timedelta(minutes=5)).timeout == timedelta(minutes=5)
    assert client.add_job("t").timeout is None
    claimed = client.get_job("w", task_identifiers=["t"])
    assert claimed is not None and claimed.id == job.id and claimed.timeout == timedelta(seconds=90)
    with pytest.raises(InvalidArgument, match="timeout must be more than 0") as refused:
        client.add_job("t", timeout=0)
    assert refused.value.sqlstate == "PJ406"
    with pytest.raises(InvalidArgument, match="element 2: timeout"):
        client.add_jobs([JobSpec("t", timeout=1), JobSpec("t", timeout=timedelta(days=8))])


def test_add_jobs_gives_each_element_its_timeout(client: Client) -> None:
    jobs = client.add_jobs([JobSpec("t", timeout=1.5), JobSpec("t"), JobSpec("t", timeout=60)])
    assert [j.timeout for j in jobs] == [timedelta(seconds=1.5), None, timedelta(minutes=1)]


def test_add_jobs_ids_returns_the_new_ids_in_order(client: Client) -> None:
    tricky = "a\"b\\c,(d){e} 'f' é\\\""
    specs = [
        JobSpec("bulk", {"i": i, "s": tricky}, queue=tricky if i % 2 else None) for i in range(500)
    ]
    ids = client.add_jobs_ids(specs)
    assert len(ids) == 500 and ids == sorted(ids)
    found = {i: client.find_job(i) for i in (ids[0], ids[1], ids[-1])}
    assert [(j.payload, j.queue_name) for j in found.values() if j is not None] == [
        ({"i": 0, "s": tricky}, None),
        ({"i": 1, "s": tricky}, tricky),
        ({"i": 499, "s": tricky}, tricky),
    ]
    assert client.add_jobs_ids([]) == []


def test_the_internal_claim_flag_is_not_public(client: Client) -> None:
    # Job.state was the row's internal claim flag (ready, scheduled, blocked, running), a third
    # vocabulary beside the public status: it is private now, its old name a deprecated alias.
    job = client.add_job("t", delay=3600)
    assert "state" not in {f.name for f in dataclasses.fields(Job)}
    with pytest.warns(DeprecationWarning, match=r"Job.state .*find_job\(job.id\).status"):
        assert job.state == "scheduled"
    client.get_job("w")
    claimed = client.claim_job("w", job.id)
    assert claimed is not None
    failed = client.fail_job("w", job.id, "boom", permanent=True)
    assert failed is not None and failed_outcome(failed) == "failed"
    assert client.find_job(job.id).status == "failed"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_the_bulk_payload_encoder_writes_what_json_dumps_writes(value: object) -> None:
    # add_jobs serialises one payload per job with a C encoder built once per thread.
    assert payload_dumps(value) == json.dumps(value)


def test_the_bulk_payload_encoder_keeps_json_dumps_errors_and_threads_apart() -> None:
    circular: list[object] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        payload_dumps(circular)
    shared = {"x": [1, [2, {"y": 3}]] * 50}
    assert payload_dumps([shared, shared]) == json.dumps([shared, shared])  # not circular
    with pytest.raises(TypeError, match="not JSON serializable"):
        payload_dumps({"a": object()})
    failures: list[BaseException] = []

    def encode_the_same_object() -> None:
        for _ in range(500):
            try:
                assert payload_dumps(shared) == json.dumps(shared)
            except BaseException as error:
                failures.append(error)

    threads = [threading.Thread(target=encode_the_same_object) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


#: What jsonb gives back as it was sent: floats whose shortest text PostgreSQL keeps as is.
_TEXT = st.text().filter(lambda s: "\x00" not in s)  # jsonb has no NUL
_STORED_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(min_value=-1e12, max_value=1e12).map(lambda f: round(f, 6)) | _TEXT,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(_TEXT.filter(lambda s: len(s) < 6), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_STORED_JSON, min_size=1, max_size=20))
def test_bulk_payloads_arrive_as_sent(client: Client, payloads: list[object]) -> None:
    ids = client.add_jobs_ids([JobSpec("bulk_roundtrip", p) for p in payloads])
    stored = [client.find_job(i) for i in ids]
    # None is no payload ({}), as for add_job; jsonb keeps the last of duplicate keys.
    assert [j.payload if j else "missing" for j in stored] == [
        {} if p is None else json.loads(json.dumps(p)) for p in payloads
    ]


#: add_many's options: what JobSpec takes besides identifier, payload and job_key.
_TRICKY = st.text(min_size=1, max_size=12).filter(lambda s: "\x00" not in s)
_MANY_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "database_id": st.uuids(),
        "queue": _TRICKY,
        "run_at": st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ).map(lambda t: t.replace(microsecond=0)),
        "max_attempts": st.integers(1, 100),
        "priority": st.integers(-1000, 1000),
        "timeout": st.integers(1, 3600).map(lambda s: timedelta(seconds=s)),
        "correlation_id": _TRICKY,
        "backoff": st.sampled_from(
            [{"strategy": "fixed", "base": 2}, {"strategy": "linear", "base": 1, "cap": 9}]
        ),
    },
)

_ROW = (
    "SELECT database_id, task_identifier, payload, queue_name, {run_at}, max_attempts, priority,"
    " state, correlation_id, backoff, timeout, key"
    " FROM app_jobs.jobs WHERE id = ANY(%s) ORDER BY id"
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_STORED_JSON, max_size=8), _MANY_OPTIONS)
def test_add_many_enqueues_what_add_jobs_of_the_same_specs_does(
    client: Client, payloads: list[object], options: dict[str, object]
) -> None:
    # The fast path builds no JobSpec: each job must be the one add_jobs makes of
    # JobSpec(identifier, payload, **options), in order, whatever the options hold.
    many = client.add_many("many", payloads, **options)  # type: ignore[arg-type]
    specs = client.add_jobs([JobSpec("many", p, **options) for p in payloads])  # type: ignore[arg-type]
    assert len(many) == len(specs) == len(payloads)
    assert [j.id for j in many] == sorted(j.id for j in many)
    # run_at left out is each call's now(): compared as "not in the future".
    row = _ROW.format(run_at="run_at" if "run_at" in options else "run_at <= now()")
    rows_many = client.conn.execute(row, ([j.id for j in many],)).fetchall()  # type: ignore[call-overload]
    rows_specs = client.conn.execute(row, ([j.id for j in specs],)).fetchall()  # type: ignore[call-overload]
    assert rows_many == rows_specs


def test_add_many_ids_returns_the_new_ids_in_order_and_refuses_as_add_jobs(
    client: Client,
) -> None:
    ids = client.add_many_ids("bulk", ({"i": i} for i in range(300)), priority=-2)  # a generator
    assert len(ids) == 300 and ids == sorted(ids)
    first, last = client.find_job(ids[0]), client.find_job(ids[-1])
    assert first is not None and last is not None
    assert (first.payload, first.priority, last.payload) == ({"i": 0}, -2, {"i": 299})
    assert client.add_many_ids("bulk", []) == []
    for careless in ("abc", b"abc", {"a": 1}):  # iterables, but not of payloads
        with pytest.raises(TypeError, match="one per job"):
            client.add_many("bulk", careless)
    before = client.conn.execute("SELECT count(*) FROM app_jobs.jobs").fetchone()
    with pytest.raises(InvalidArgument, match="element 1: max_attempts") as refused:
        client.add_many("bulk", [1, 2], max_attempts=0)
    assert refused.value.sqlstate == "PJ104"
    with pytest.raises(InvalidArgument, match="element 2: payload cannot be stored"):
        client.add_many("bulk", [{"ok": 1}, {"nul": "a\x00b"}])
    with pytest.raises(psycopg.DataError, match="NUL"):  # psycopg refuses it, as for add_jobs
        client.add_many("bulk", [1], queue="a\x00b")
    client.conn.rollback()
    assert client.conn.execute("SELECT count(*) FROM app_jobs.jobs").fetchone() == before


def test_async_add_many_ids(dsn: str) -> None:
    async def main() -> list[int]:
        client = await AsyncClient.connect(dsn)
        try:
            return await client.add_many_ids("bulk", [{"i": 1}, {"i": 2}], queue="q")
        finally:
            await client.close()

    ids = asyncio.run(main())
    with Client.connect(dsn) as client:
        jobs = [client.find_job(i) for i in ids]
    assert [(j.payload, j.queue_name) for j in jobs if j] == [({"i": 1}, "q"), ({"i": 2}, "q")]
