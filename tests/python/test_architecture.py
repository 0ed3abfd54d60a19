"""Python never re-implements queue logic: the client only calls public app_jobs functions.

Every statement the client sends is in pgjobs.db.queries. Each is parsed with PostgreSQL's own
parser (pglast, libpg_query) and must be one SELECT that calls exactly one public (no leading
``_``) function of app_jobs, deployed under that name with those argument names, and reads no
table or view and runs no subquery: a statement that picks rows itself is queue logic in
Python. No other module of the package holds SQL text, except the installers (pgjobs.install,
pgjobs.sqltree) and the pytest plugin's read-only helpers for users' test assertions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pglast import ast, parse_sql
from pglast.visitors import Visitor

from pgjobs.db import dashboard_queries, queries

PACKAGE = Path(queries.__file__).parent.parent
# The installers run the schema's own scripts; queries.py is what this file checks.
INSTALLERS = {"install/deploy.py", "sqltree/bundle.py", "sqltree/export.py"}
#: The modules that hold every statement the client and the dashboard send (checked below).
STATEMENTS = {"db/queries.py": queries.ALL, "db/dashboard_queries.py": dashboard_queries.ALL}
# Test support for users (the pytest plugin) may read the tables to show tests what is there.
READERS = {"pytest_plugin.py"}
SQL_WORDS = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[^\n]*\b(FROM|SET|VALUES|app_jobs)\b"
)
#: Functions outside app_jobs a statement may use to shape arguments.
BUILTINS = {("now",), ("count",)}  # count: how many rows a listing returned


class _Calls(Visitor):  # type: ignore[misc]
    """Collects the function calls, table references and subqueries of a statement."""

    def __init__(self) -> None:
        self.functions: list[tuple[tuple[str, ...], list[str | None]]] = []
        self.tables: list[str] = []
        self.subqueries = 0

    def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:
        name = tuple(part.sval for part in node.funcname)
        arg_names = [getattr(arg, "name", None) for arg in node.args or ()]
        self.functions.append((name, arg_names))

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
        self.tables.append(f"{node.schemaname}.{node.relname}")

    def visit_SubLink(self, ancestors: Any, node: ast.SubLink) -> None:
        self.subqueries += 1


def problems(text: str) -> tuple[list[str], tuple[str, list[str | None]] | None]:
    """What is wrong with one client statement, and the app_jobs function it calls."""
    numbered = re.sub(r"%\(\w+\)s", lambda _: "$1", text)
    statements = parse_sql(numbered)
    found: list[str] = []
    if len(statements) != 1 or not isinstance(statements[0].stmt, ast.SelectStmt):
        return ["is not exactly one SELECT"], None
    calls = _Calls()
    calls(statements[0])
    if calls.tables:
        found.append(f"reads {', '.join(calls.tables)} (call a function instead)")
    if calls.subqueries:
        found.append("runs a subquery (queue logic belongs in an app_jobs function)")
    ours = [(name, args) for name, args in calls.functions if name[0] == "app_jobs"]
    others = [name for name, _ in calls.functions if name[0] != "app_jobs"]
    found += [f"calls {'.'.join(name)}" for name in others if name not in BUILTINS]
    if len(ours) != 1 or len(ours[0][0]) != 2:
        found.append(f"calls {len(ours)} app_jobs functions, not one")
        return found, None
    (_, function), args = ours[0]
    if function.startswith("_"):
        found.append(f"calls the internal function app_jobs.{function}")
    return found, (function, args)


def test_every_query_calls_one_public_app_jobs_function(db: psycopg.Connection[Any]) -> None:
    assert all(STATEMENTS.values()), "no queries found"
    deployed = {
        row["proname"]: set(row["argnames"] or ())
        for row in db.execute(
            "SELECT p.proname, p.proargnames AS argnames FROM pg_proc AS p"
            " WHERE p.pronamespace = 'app_jobs'::regnamespace"
        ).fetchall()
    }
    statements = {
        f"{module}:{name}": text
        for module, named in STATEMENTS.items()
        for name, text in named.items()
    }
    for name, text in statements.items():
        found, call = problems(text)
        assert found == [], f"queries.{name}: {'; '.join(found)}"
        assert call is not None
        function, args = call
        assert function in deployed, f"queries.{name}: app_jobs.{function} is not deployed"
        unknown = {arg for arg in args if arg is not None} - deployed[function]
        assert not unknown, f"queries.{name}: app_jobs.{function} has no argument {unknown}"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (  # what RUN_LATER_JOBS_NOW was before app_jobs.run_jobs_now: it picked the rows itself
            "SELECT * FROM app_jobs.reschedule_jobs(job_ids := ARRAY(SELECT j.id FROM "
            "app_jobs.jobs AS j WHERE j.state = 'scheduled'), run_at := now())",
            "reads app_jobs.jobs",
        ),
        ("SELECT * FROM app_jobs.jobs WHERE id = %(id)s", "reads app_jobs.jobs"),
        ("SELECT app_jobs._take_job(%(id)s)", "internal function app_jobs._take_job"),
        ("SELECT app_jobs.add_job(%(a)s), app_jobs.get_job(%(b)s)", "calls 2 app_jobs functions"),
        ("UPDATE app_jobs.jobs SET priority = 1", "not exactly one SELECT"),
        ("SELECT pg_sleep(1), app_jobs.heartbeat(%(w)s)", "calls pg_sleep"),
    ],
)
def test_the_check_catches_a_statement_that_does_queue_work(text: str, complaint: str) -> None:
    found, _ = problems(text)
    assert any(complaint in problem for problem in found), found


def test_no_other_client_module_holds_sql() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in INSTALLERS or relative in STATEMENTS:
            continue
        if relative in READERS:
            writes = re.findall(r"\b(INSERT INTO|UPDATE \w|DELETE FROM)", path.read_text())
            assert writes == [], f"{relative} writes tables: {writes}"
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SQL_WORDS.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


# -- the dashboard's templates and scripts hold no SQL either (its statements: db/dashboard_queries)

DASHBOARD = PACKAGE / "dashboard"


def test_no_other_dashboard_module_holds_sql() -> None:
    offenders = []
    for path in sorted(DASHBOARD.rglob("*")):
        if path.suffix not in (".py", ".html", ".js"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SQL_WORDS.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []
