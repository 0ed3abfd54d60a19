"""Run the pgjobs command line as a user would: ``python -m pgjobs`` in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"


def clean_env(**overrides: str) -> dict[str, str]:
    """os.environ with no database configured (no DSN variable, no PG*), pgjobs importable."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "PGJOBS_HOME")
        and not (name.startswith("PG") and not name.startswith("PGJOBS_"))
        and name != "PGJOBS_DSN"
    }
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PYTHON_DIR), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(overrides)
    return env


def run_pgjobs(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgjobs", *args],
        env=clean_env() if env is None else env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
