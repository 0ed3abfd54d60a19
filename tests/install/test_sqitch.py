"""The SQL tree deploys, verifies and reverts with sqitch as it stands, and sqitch agrees
with pgjobs.plan on which file a reworked change runs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from install_support import SQL_DIR, TestDatabase, plan_text, write_answer_tree, write_scripts

from pgjobs.install.compat import newest_schema
from pgjobs.install.deploy import deploy, revert, status
from pgjobs.sqltree.plan import load_plan

pytestmark = [
    pytest.mark.pg15only,
    pytest.mark.skipif(shutil.which("sqitch") is None, reason="sqitch is not installed"),
]


def sqitch(top: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["sqitch", *args],
        cwd=top,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"sqitch {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    )
    return result


def app_jobs_exists(db: TestDatabase) -> bool:
    return bool(db.scalar("SELECT pg_catalog.to_regnamespace('app_jobs') IS NOT NULL"))


def test_sqitch_deploy_verify_revert_deploy(database: TestDatabase) -> None:
    target = database.sqitch_target
    sqitch(SQL_DIR, "deploy", target)
    assert app_jobs_exists(database)
    verified = sqitch(SQL_DIR, "verify", target)
    assert "Verify successful" in verified.stdout

    sqitch(SQL_DIR, "revert", "-y", target)
    assert not app_jobs_exists(database)

    sqitch(SQL_DIR, "deploy", "--verify", target)
    assert app_jobs_exists(database)


@pytest.mark.parametrize("existing", [("foo@a",), ("foo@a", "foo@b")])
def test_sqitch_and_pgjobs_resolve_rework_files_alike(
    tmp_path: Path, existing: tuple[str, ...]
) -> None:
    (tmp_path / "sqitch.plan").write_text(plan_text("foo", "@a", "bar", "@b", "foo", "@c"))
    (tmp_path / "sqitch.conf").write_text("[core]\n\tengine = pg\n")
    for stem in (*existing, "bar", "foo"):
        write_scripts(tmp_path, stem, deploy=f"SELECT '{stem}';", revert="", verify="")
    plan = load_plan(tmp_path)
    first = plan.changes[0]
    shown = sqitch(tmp_path, "show", "deploy", "foo@b")  # foo as of tag @b: the first one
    assert shown.stdout.strip() == plan.script(first, "deploy").read_text().strip()
    assert f"SELECT '{first.file_stem}';" in shown.stdout


def test_sqitch_and_pgjobs_deploy_a_rework_alike(
    make_database: Callable[[], TestDatabase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = write_answer_tree(tmp_path / "tree", version=2)
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(top))
    by_sqitch = make_database()
    by_pgjobs = make_database()

    sqitch(top, "deploy", "--verify", by_sqitch.sqitch_target)
    assert deploy(by_pgjobs.dsn) == [
        "pgjobs.schema",
        "pgjobs.functions.answer",
        "pgjobs.functions.answer~2",
    ]
    for db in (by_sqitch, by_pgjobs):
        assert db.scalar("SELECT app_jobs.answer()") == 2
    sqitch(top, "verify", by_sqitch.sqitch_target)  # skips the reworked instance, as pgjobs

    # Back to v1: sqitch runs revert/functions/answer.sql, the same script pgjobs runs to
    # roll back answer~2.
    sqitch(top, "revert", "-y", "--to", "@v1", by_sqitch.sqitch_target)
    assert by_sqitch.scalar("SELECT app_jobs.answer()") == 1
    assert revert(by_pgjobs.dsn)[0] == "pgjobs.functions.answer~2"
    assert [applied for _, applied in status(by_pgjobs.dsn)] == [False, False, False]


def test_sqitch_reverts_the_real_rework_to_the_first_release_and_back(
    database: TestDatabase,
) -> None:
    """sqitch deploy / revert --to @<first tag> / deploy on pgjobs' own reworked plan."""
    plan = load_plan(SQL_DIR)
    first = plan.tags[0]
    reworked = [c for c in plan.between(first, None) if c.instance > 1]
    assert reworked, "the plan reworks a released change"
    # Reworked functions are compared by definition (a retired one has none afterwards).
    reworked = [c for c in reworked if c.name.startswith("functions/")]
    target = database.sqitch_target
    sqitch(SQL_DIR, "deploy", "--verify", target)
    newest = newest_schema()  # the newest tag, or the release in preparation after it
    assert database.scalar("SELECT app_jobs.schema_version()") == newest
    # A held serial queue with a job parked behind it survives the round trip.
    for _ in range(2):
        database.scalar("SELECT id FROM app_jobs.add_job(NULL, 'serial', queue_name => 'q')")
    database.scalar("SELECT id FROM app_jobs.get_job('w1')")
    queue = "SELECT queue_name, job_count, locked_by FROM app_jobs.job_queues"
    kind = "SELECT relkind::text FROM pg_class WHERE oid = 'app_jobs.job_queues'::regclass"
    assert database.rows(queue) == [("q", 2, "w1")]

    sqitch(SQL_DIR, "revert", "-y", "--to", f"@{first.name}", target)
    assert database.scalar(kind) == "r"  # the table of 0.1.0, its count taken from the jobs
    assert database.rows(queue) == [("q", 2, "w1")]
    # Back to the first release: what came later is gone, reworked functions are the old ones.
    assert database.scalar("SELECT to_regproc('app_jobs.schema_version')") is None
    definitions = {
        change.name: database.scalar(
            "SELECT pg_get_functiondef(to_regproc(%s))",
            ["app_jobs." + change.name.removeprefix("functions/")],
        )
        for change in reworked
    }
    verified = sqitch(SQL_DIR, "verify", "--to", f"@{first.name}", target)
    assert "Verify successful" in verified.stdout

    sqitch(SQL_DIR, "deploy", "--verify", target)
    assert database.scalar("SELECT app_jobs.schema_version()") == newest
    for name, old in definitions.items():
        now = database.scalar(
            "SELECT pg_get_functiondef(to_regproc(%s))",
            ["app_jobs." + name.removeprefix("functions/")],
        )
        assert now != old, f"{name} was not redeployed in its reworked form"
    assert database.scalar(kind) == "v"
    assert database.rows(queue) == [("q", 2, "w1")]
