"""Helpers shared by the install-path tests (imported by them and by their conftest).

Databases are real: each test gets its own, created from ``$PGJOBS_TEST_DSN`` and dropped
afterwards, named ``deploytest_<xdist worker>_<random>`` so parallel workers never collide.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"
SQL_DIR = REPO / "sql"
DEFAULT_TEST_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"

# `make test` installs pgjobs (editable); a bare `pytest` from the checkout finds it here.
if importlib.util.find_spec("pgjobs") is None:
    sys.path.insert(0, str(PYTHON_DIR))

# Variables that choose a database; subprocesses start without them unless a test sets them.
_DSN_VARS = ("PGJOBS_DSN", "DATABASE_URL", "PGJOBS_SQL_DIR")
_LIBPQ_VARS = (
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
)


def admin_dsn() -> str:
    return os.environ.get("PGJOBS_TEST_DSN") or DEFAULT_TEST_DSN


def database_name() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"deploytest_{worker}_{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class TestDatabase:
    """A scratch database on the test server."""

    __test__ = False  # not a test class, despite the name

    name: str
    dsn: str
    """libpq conninfo (``key=value``) of this database."""

    @property
    def params(self) -> dict[str, Any]:
        return conninfo_to_dict(self.dsn)

    @property
    def url(self) -> str:
        """The same database as a ``postgresql://`` URL."""
        return _url("postgresql", self.params)

    @property
    def sqitch_target(self) -> str:
        """sqitch's target URI: ``db:pg://user:pass@host:port/name``."""
        return "db:" + _url("pg", self.params)

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=True)

    def scalar(self, query: str, params: list[Any] | None = None) -> Any:
        with self.connect() as conn:
            row = conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    def rows(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            return list(conn.execute(query, params).fetchall())


def _url(scheme: str, params: Mapping[str, Any]) -> str:
    user = quote(str(params.get("user", "")), safe="")
    password = params.get("password")
    credentials = f"{user}:{quote(str(password), safe='')}" if password is not None else user
    host = str(params.get("host", ""))
    port = params.get("port")
    query = ""
    if host.startswith("/"):  # a unix-socket directory goes into the query string
        query = f"?host={quote(host, safe='/')}" + (f"&port={port}" if port else "")
        host, port = "", None
    location = f"{host}:{port}" if port else host
    at = f"{credentials}@" if credentials else ""
    return f"{scheme}://{at}{location}/{quote(str(params['dbname']), safe='')}{query}"


def create_database() -> TestDatabase:
    name = database_name()
    with psycopg.connect(admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return TestDatabase(name=name, dsn=make_conninfo(admin_dsn(), dbname=name))


def drop_database(name: str) -> None:
    with psycopg.connect(admin_dsn(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def subprocess_env(**overrides: str) -> dict[str, str]:
    """os.environ without any database-choosing variable, pgjobs importable, plus overrides."""
    env = {k: v for k, v in os.environ.items() if k not in _DSN_VARS + _LIBPQ_VARS}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PYTHON_DIR), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(overrides)
    return env


def run_pgjobs(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m pgjobs ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "pgjobs", *args],
        env=dict(env) if env is not None else subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


HEADERS = {
    "deploy": "-- Deploy {project}:{name} to pg",
    "revert": "-- Revert {project}:{name} from pg",
    "verify": "-- Verify {project}:{name} on pg",
}
CLOSING = {"deploy": "COMMIT;", "revert": "COMMIT;", "verify": "ROLLBACK;"}


def framed(kind: str, name: str, body: str, project: str = "pgjobs") -> str:
    """A script as sqitch writes it: header, BEGIN;, body, COMMIT; (verify: ROLLBACK;)."""
    header = HEADERS[kind].format(project=project, name=name)
    return f"{header}\n\nBEGIN;\n\n{body.strip()}\n\n{CLOSING[kind]}\n"


def write_scripts(
    top: Path,
    stem: str,
    *,
    deploy: str,
    revert: str,
    verify: str,
    name: str | None = None,
    project: str = "pgjobs",
) -> None:
    """Write deploy/revert/verify scripts ``<stem>.sql`` (stem may carry an ``@tag``)."""
    change = name or stem.split("@", 1)[0]
    for kind, body in (("deploy", deploy), ("revert", revert), ("verify", verify)):
        path = top / kind / f"{stem}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(framed(kind, change, body, project), encoding="utf-8")


PLANNER = "Tester <tester@example.com>"


def plan_text(*lines: str, project: str = "pgjobs") -> str:
    """A sqitch plan; ``lines`` are ``name [deps]`` or ``@tag``, timestamps are filled in."""
    out = ["%syntax-version=1.0.0", f"%project={project}", ""]
    for second, line in enumerate(lines):
        out.append(f"{line} 2026-01-01T00:00:{second:02d}Z {PLANNER} # Step {second}.")
    return "\n".join(out) + "\n"


def write_answer_tree(top: Path, *, version: int) -> Path:
    """A tiny pgjobs-like project: schema app_jobs and app_jobs.answer(), reworked in v2.

    v1: ``schema``, ``functions/answer`` (returns 1), ``@v1``.
    v2: the same, then ``functions/answer`` reworked (returns 2), ``@v2``; the first
    instance's scripts moved to ``functions/answer@v1.sql`` as ``sqitch rework`` does.
    """
    top.mkdir(parents=True, exist_ok=True)
    lines = ["schema", "functions/answer [schema]", "@v1"]
    if version >= 2:
        lines += ["functions/answer [functions/answer@v1]", "@v2"]
    (top / "sqitch.plan").write_text(plan_text(*lines), encoding="utf-8")
    (top / "sqitch.conf").write_text("[core]\n\tengine = pg\n", encoding="utf-8")
    write_scripts(
        top,
        "schema",
        deploy="CREATE SCHEMA app_jobs;",
        revert="DROP SCHEMA app_jobs;",
        verify="SELECT pg_catalog.has_schema_privilege('app_jobs', 'USAGE');",
    )
    answer_v1 = (
        "CREATE OR REPLACE FUNCTION app_jobs.answer() RETURNS integer\n"
        "LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;"
    )
    drop = "DROP FUNCTION app_jobs.answer();"
    check = "SELECT 1 / (app_jobs.answer() = {n})::integer;"
    first_stem = "functions/answer@v1" if version >= 2 else "functions/answer"
    write_scripts(top, first_stem, deploy=answer_v1, revert=drop, verify=check.format(n=1))
    if version >= 2:
        write_scripts(
            top,
            "functions/answer",
            deploy=answer_v1.replace("RETURN 1", "RETURN 2"),
            revert=answer_v1,
            verify=check.format(n=2),
        )
    return top


def assert_matches_snapshot(database: TestDatabase, how: str) -> None:
    """The catalog snapshot of ``database`` is tests/snapshots/schema.txt, or fail with a diff."""
    from schema_snapshot import SNAPSHOT_FILE, render_dsn

    expected = SNAPSHOT_FILE.read_text(encoding="utf-8") if SNAPSHOT_FILE.exists() else ""
    actual = render_dsn(database.dsn)
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile="tests/snapshots/schema.txt",
                tofile=f"app_jobs after {how}",
            )
        )
        pytest.fail(
            f"schema app_jobs after {how} differs from tests/snapshots/schema.txt; if the "
            f"change is intended, run `make snapshot` and commit the file:\n{diff}",
            pytrace=False,
        )


def psql_file(db: TestDatabase, path: Path, *, single_transaction: bool = True) -> None:
    """Run one SQL file with psql (stop at the first error), as a user's tool would."""
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.url, "-f", str(path)]
    if single_transaction:
        args.insert(1, "--single-transaction")
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"psql -f {path} failed:\n{result.stderr}"
