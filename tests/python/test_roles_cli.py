"""`pgjobs deploy --roles`, then a real `pgjobs worker` logged in as a member of the worker
role runs jobs to completion, and a producer login enqueues through the Python client but
cannot claim. The roles are cluster-wide: each test names its own and drops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from test_worker_cli import GUARD, pgjobs, sql, write_app

from pgjobs import Client

PLAIN = {"host", "hostaddr", "port", "dbname", "user", "password"}


def _unique(kind: str) -> str:
    return f"pjt_{kind}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def roles(dsn: str) -> Iterator[dict[str, str]]:
    """Unique names for the three roles and a LOGIN of each (created by the test)."""
    names = {kind: _unique(kind) for kind in ("producer", "worker", "admin")}
    try:
        yield names
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in [*(f"{n}_login" for n in names.values()), *names.values()]:
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone():
                    conn.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(name)))
                    conn.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(name)))


def login(dsn: str, group: str) -> str:
    """A LOGIN member of group; its DSN."""
    name = f"{group}_login"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                pgsql.Identifier(name), pgsql.Literal(name), pgsql.Identifier(group)
            )
        )
    return make_conninfo(dsn, user=name, password=name)


def deploy_roles(tmp_path: Path, dsn: str, roles: dict[str, str]) -> str:
    args = [f"--{kind}-role={name}" for kind, name in roles.items()]
    proc = pgjobs(tmp_path, "deploy", "--roles", *args, "--dsn", dsn)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    return out


def test_deploy_roles_creates_them_then_grants_to_existing(
    dsn: str, tmp_path: Path, roles: dict[str, str]
) -> None:
    out = deploy_roles(tmp_path, dsn, roles)
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_proc AS p WHERE p.pronamespace = 'app_jobs'::regnamespace"
            " AND has_function_privilege(%s, p.oid, 'EXECUTE')"
            # granted to it, not to everyone (the row-level-security functions PUBLIC runs)
            " AND NOT has_function_privilege('public', p.oid, 'EXECUTE')",
            [roles["producer"]],
        ).fetchone()
    assert row is not None
    assert f"producer role {roles['producer']} (created): may execute {row[0]} " in out
    assert f"worker role {roles['worker']} (created)" in out
    out = deploy_roles(tmp_path, dsn, roles)
    assert "pgjobs is up to date" in out
    assert f"admin role {roles['admin']} (existing)" in out
    rows = sql(
        dsn,
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)",
        list(roles.values()),
    )
    assert len(rows) == 3 and not any(r["rolcanlogin"] for r in rows)


def test_the_worker_role_runs_a_real_worker_and_the_producer_cannot_claim(
    dsn: str, tmp_path: Path, roles: dict[str, str]
) -> None:
    deploy_roles(tmp_path, dsn, roles)
    worker_dsn = login(dsn, roles["worker"])
    producer_dsn = login(dsn, roles["producer"])
    done = tmp_path / "done"
    done.mkdir()
    write_app(
        tmp_path,
        f"""
        import pathlib

        app.schedule("hello", cron="0 3 * * *", key="nightly", payload={{"n": -1}})

        @app.task("hello")
        def hello(payload, ctx):
            ctx.set_progress_sync(50, "half way")
            if payload["n"] == 3 and ctx.attempt == 1:
                raise RuntimeError("first try fails")
            (pathlib.Path({str(done)!r}) / str(payload["n"])).touch()
        """,
    )
    with Client.connect(producer_dsn) as producer:
        ids = [producer.add_job("hello", {"n": n}).id for n in range(6)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            producer.get_job("intruder", ["hello"])
        assert producer.find_job(ids[0]) is not None

    proc = pgjobs(tmp_path, "worker", "jobsapp:app", "--dsn", worker_dsn)
    deadline = time.monotonic() + GUARD * 2
    while True:
        finished = sql(dsn, "SELECT id FROM app_jobs.job_history WHERE status = 'completed'")
        if len(finished) == len(ids):
            break
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    assert "permission denied" not in err.lower(), err
    assert sorted(int(p.name) for p in done.iterdir()) == list(range(6))
    assert sorted(r["id"] for r in finished) == sorted(ids)
    schedules = sql(dsn, "SELECT key FROM app_jobs.scheduled_jobs")
    assert schedules == [{"key": "nightly"}]  # registered by the worker role
    assert sql(dsn, "SELECT id FROM app_jobs.jobs WHERE locked_by IS NOT NULL") == []


def test_the_worker_role_cannot_enqueue_from_python(
    dsn: str, tmp_path: Path, roles: dict[str, str]
) -> None:
    deploy_roles(tmp_path, dsn, roles)
    with Client.connect(login(dsn, roles["worker"])) as worker:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            worker.add_job("hello", {})
        assert worker.get_job("w", ["hello"]) is None


def test_the_roles_block_of_docs_operations_md_runs(
    dsn: str, tmp_path: Path, roles: dict[str, str]
) -> None:
    """docs/operations.md's roles block, adapted: unique role names (roles are cluster-wide),
    this test's database, and a worker that runs once."""
    text = (Path(__file__).resolve().parents[2] / "docs/operations.md").read_text()
    start = text.index("```sh\npgjobs deploy --roles")
    block = text[start + len("```sh\n") : text.index("```", start + 6)]
    member = f"{roles['worker']}_login"
    # The system psql's libpq may not know every option psycopg's libpq wrote into dsn.
    parts = conninfo_to_dict(dsn)
    plain = make_conninfo(**{k: v for k, v in parts.items() if k in PLAIN})
    worker_dsn = make_conninfo(plain, user=member, password="secret")
    names = " ".join(f"--{kind}-role {name}" for kind, name in roles.items())
    adapted = (
        block.replace("pgjobs deploy --roles", f"pgjobs deploy --roles {names}")
        .replace('"postgresql://billing_worker:secret@db/app"', f"'{worker_dsn}'")
        .replace("billing.jobs:app", "jobsapp:app --once")
        .replace("billing_worker", member)
        .replace("app_jobs_worker", roles["worker"])
    )
    write_app(tmp_path, '@app.task("hello")\ndef hello(payload):\n    pass\n')
    sql(dsn, "SELECT app_jobs.add_job(NULL, 'hello')")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PGJOBS_DSN": plain,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    done = subprocess.run(
        ["bash", "-e", "-c", adapted], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=GUARD * 2, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "claimed 1, completed 1" in done.stdout
    assert sql(dsn, "SELECT status FROM app_jobs.job_history") == [{"status": "completed"}]
