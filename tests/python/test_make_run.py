"""The README's first command, `make run`, as a newcomer runs it: nothing configured, so the
embedded PostgreSQL; a trigger and add_job enqueue, a worker runs the jobs (one retried, one
failing for good), and the command says what happened."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cli_support import clean_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_on_the_embedded_default(tmp_path: Path) -> None:
    env = clean_env(PGJOBS_HOME=str(tmp_path / "home"))
    env.pop("PGJOBS_TEST_DSN", None)
    done = subprocess.run(
        ["make", "-s", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "enqueued from SQL" in out
    assert "charged 42 (attempt 2)" in out  # failed once, retried
    assert "charge_card failed for good after 1 attempt(s)" in out  # the on_failure listener
    assert "all as expected" in out
    assert "embedded PostgreSQL 18" in out and str(tmp_path / "home") in out
    # The data stays: a second run works on the same database and adds its own jobs.
    again = subprocess.run(
        ["make", "-s", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "all as expected" in again.stdout
