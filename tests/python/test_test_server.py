"""`make test` with no server: scripts/test-server tells "none can be had" (exit 3, which sends
`make test` to the embedded PostgreSQL 18) apart from a configured server that fails (exit 1).

The script runs for real with two stand-ins first on PATH: ``id`` answers a non-root uid and
``psql`` finds no server, as on a developer's machine with nothing installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_script(tmp_path: Path, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    shims = tmp_path / "bin"
    shims.mkdir(exist_ok=True)
    for name, body in (("id", "echo 1000"), ("psql", "exit 2")):
        (shims / name).write_text(f"#!/bin/sh\n{body}\n")
        (shims / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PGJOBS_TEST_DSN"}
    env["PATH"] = os.pathsep.join([str(shims), env.get("PATH", "")])
    env.update(env_overrides)
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "test-server")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_server_and_no_way_to_install_one_means_the_embedded_fallback(tmp_path: Path) -> None:
    done = run_script(tmp_path)
    assert done.returncode == 3, done.stderr
    assert "none can be installed here (not root on Debian)" in done.stderr


def test_a_configured_server_that_does_not_answer_is_an_error_not_a_fallback(
    tmp_path: Path,
) -> None:
    done = run_script(tmp_path, PGJOBS_TEST_DSN="postgresql://someone@127.0.0.1:1/db")
    assert done.returncode == 1, done.stderr
    assert "no PostgreSQL server accepts postgresql://someone@127.0.0.1:1/db" in done.stderr
