"""Packaging: ``python -m build`` makes a wheel that carries ``sql/``, and ``pgjobs deploy``
works from that wheel alone, installed into a fresh virtualenv (its dependencies come from
the package index, as for any user).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from install_support import REPO, SQL_DIR, TestDatabase, subprocess_env

from pgjobs.sqltree.bundle import control_version
from pgjobs.sqltree.plan import load_plan

pytestmark = pytest.mark.slow

VERSION = control_version(REPO / "control")


def run(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` of this checkout (sdist, then the wheel built from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        cwd=out,
        env=dict(os.environ),
    )
    [built] = out.glob(f"pgjobs_queue-{VERSION}-*.whl")
    return built


def test_the_wheel_carries_every_script_of_the_plan(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        contents = set(archive.namelist())
    expected = {"pgjobs/sql/sqitch.plan"}
    plan = load_plan(SQL_DIR)
    for change in plan:
        for kind in ("deploy", "revert", "verify"):
            relative = plan.script(change, kind).relative_to(SQL_DIR).as_posix()
            expected.add(f"pgjobs/sql/{relative}")
    assert expected <= contents
    assert "pgjobs/py.typed" in contents
    for layer in ("sqltree", "install", "db", "runtime", "cli"):
        assert f"pgjobs/{layer}/__init__.py" in contents


def test_pgjobs_deploy_from_the_wheel_in_a_fresh_virtualenv(
    wheel: Path, database: TestDatabase, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    env = subprocess_env()
    env.pop("PYTHONPATH", None)  # the wheel alone, not this checkout
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    run([str(bin_dir / "pip"), "install", "-q", str(wheel)], cwd=tmp_path, env=env)

    version = run([str(bin_dir / "pgjobs"), "--version"], cwd=tmp_path, env=env)
    assert version.stdout.strip() == f"pgjobs {VERSION}"
    where = run(
        [str(bin_dir / "python"), "-c", "import pgjobs.sqltree.sqlfiles as s; print(s.sql_dir())"],
        cwd=tmp_path,
        env=env,
    )
    assert where.stdout.strip().startswith(str(env_dir))  # the wheel's copy of sql/

    deployed = run(
        [str(bin_dir / "pgjobs"), "deploy", "--dsn", database.url], cwd=tmp_path, env=env
    )
    assert f"{len(load_plan(SQL_DIR))} change(s) applied" in deployed.stdout
    assert database.scalar("SELECT app_jobs.schema_version()") == VERSION
    again = run([str(bin_dir / "pgjobs"), "deploy", "--dsn", database.url], cwd=tmp_path, env=env)
    assert "nothing to apply" in again.stdout
