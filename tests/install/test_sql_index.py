"""sql/README.md, the index of live and retired objects, is current and tells them apart."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from pgjobs.sqltree.index import entries, render
from pgjobs.sqltree.plan import load_plan

ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "sql"


def test_sql_readme_is_what_the_generator_writes_now() -> None:
    assert (SQL / "README.md").read_text(encoding="utf-8") == render(load_plan(SQL)), (
        "sql/README.md is stale: run `make sql-index` and commit it"
    )


def test_the_check_fails_on_a_stale_index_with_a_bare_python(tmp_path: Path) -> None:
    tree = tmp_path / "sql"
    shutil.copytree(SQL, tree)
    command = [sys.executable, "-I", "-S", "-c",
               "import sys; sys.path.insert(0, 'python'); from pgjobs.sqltree.index import main;"
               f" sys.exit(main(['--check', '--sql-dir', {str(tree)!r}]))"]  # fmt: skip
    assert subprocess.run(command, cwd=ROOT, capture_output=True).returncode == 0
    (tree / "README.md").write_text("old\n", encoding="utf-8")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1 and "stale" in done.stderr


def test_the_retired_objects_are_listed_as_retired() -> None:
    kinds = {entry.change: entry for entry in entries(load_plan(SQL))}
    for change in (
        "functions/_count_queue",
        "triggers/jobs_queue_count",
        "tables/job_queue_deltas",
    ):
        assert kinds[change].kind == "retired", change
        assert kinds[change].release == "0.3.0"
    assert kinds["tables/job_queues"].kind == "view"  # a table until 0.3.0
    # A function reworked for 0.3.0 (release_jobs, the earlier example, was reworked again for
    # 0.4.0).
    assert kinds["functions/_unlock_queue"].script == "deploy/functions/_unlock_queue.sql"
    assert kinds["functions/_unlock_queue"].release == "0.3.0"
    assert kinds["functions/_unlock_queue"].first_release == "0.1.0"
    assert kinds["functions/release_jobs"].release == "0.4.0"


def test_every_live_function_table_and_view_of_the_catalog_is_indexed_as_live(
    db: psycopg.Connection[Any],
) -> None:
    live = {
        entry.change.split("/", 1)[-1]
        for entry in entries(load_plan(SQL))
        if entry.kind in {"function", "table", "view", "type"}
    }
    retired = {e.change.split("/", 1)[-1] for e in entries(load_plan(SQL)) if e.kind == "retired"}
    rows = db.execute(
        "SELECT p.proname AS name FROM pg_proc AS p"
        " WHERE p.pronamespace = 'app_jobs'::regnamespace AND p.prorettype <> 'trigger'::regtype"
        " UNION SELECT c.relname FROM pg_class AS c"
        " WHERE c.relnamespace = 'app_jobs'::regnamespace AND c.relkind IN ('r', 'v', 'p')"
        "   AND NOT c.relispartition"
    ).fetchall()
    in_catalog = {row["name"] for row in rows}
    assert in_catalog - live == set()
    assert in_catalog & retired == set()
