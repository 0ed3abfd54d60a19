"""Python never re-implements queue logic: the client only calls app_jobs functions.

Every statement the client sends is in pgjobs.queries and calls exactly one app_jobs function;
no other client module holds SQL text. (pgjobs.deploy and pgjobs.bundle install the schema and
are the only other places with SQL; pgjobs.testing only reads, for users' test assertions.)
"""

from __future__ import annotations

import re
from pathlib import Path

from pgjobs import queries

PACKAGE = Path(queries.__file__).parent
INSTALLERS = {"deploy.py", "bundle.py", "queries.py"}
# Test support for users (pgjobs.testing) may read the tables to show tests what is there.
READERS = {"testing.py"}
CALL = re.compile(r"^\s*SELECT (\* FROM )?app_jobs\.([a-z_]+)\(", re.S)
SQL_WORDS = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[^\n]*\b(FROM|SET|VALUES|app_jobs)\b"
)


def test_every_query_calls_one_public_app_jobs_function() -> None:
    assert queries.ALL, "no queries found"
    for name, text in queries.ALL.items():
        match = CALL.match(text)
        assert match, f"{name} does not start with a call of an app_jobs function"
        assert not match.group(2).startswith("_"), f"{name} calls an internal function"
        assert text.count("app_jobs.") <= 2, f"{name} calls more than the one function"
        assert not re.search(r"\b(INSERT|UPDATE|DELETE)\b", text), f"{name} writes tables"


def test_no_other_client_module_holds_sql() -> None:
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name in INSTALLERS:
            continue
        if path.name in READERS:
            writes = re.findall(r"\b(INSERT INTO|UPDATE \w|DELETE FROM)", path.read_text())
            assert writes == [], f"{path.name} writes tables: {writes}"
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SQL_WORDS.search(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


# -- the dashboard (pgjobs.dashboard): its statements are in pgjobs.dashboard.queries ------------

DASHBOARD = PACKAGE / "dashboard"
#: SELECT <columns> FROM app_jobs.fn(...) or SELECT app_jobs.fn(...) [AS name].
DASHBOARD_CALL = re.compile(
    r"^\s*SELECT (?:(?P<columns>[\w*(), ]+?) FROM )?app_jobs\.(?P<fn>[a-z_]+)\(", re.S
)


def test_every_dashboard_query_calls_one_public_app_jobs_function() -> None:
    from pgjobs.dashboard import queries as dashboard_queries

    assert dashboard_queries.ALL, "no dashboard queries found"
    for name, text in dashboard_queries.ALL.items():
        match = DASHBOARD_CALL.match(text)
        assert match, f"{name} does not start with a call of an app_jobs function"
        assert not match.group("fn").startswith("_"), f"{name} calls an internal function"
        assert text.count("app_jobs.") == 1, f"{name} names more than the one function"
        assert not re.search(r"\b(INSERT|UPDATE|DELETE|JOIN|UNION)\b", text), name
        assert text.count("SELECT") == 1, f"{name} has a subquery"


def test_no_other_dashboard_module_holds_sql() -> None:
    offenders = []
    for path in sorted(DASHBOARD.rglob("*")):
        if path.suffix not in (".py", ".html", ".js") or path.name == "queries.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SQL_WORDS.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []
