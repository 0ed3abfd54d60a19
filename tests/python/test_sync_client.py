"""The sync client is generated from the async one, and the file in git is the current output."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from pgjobs.db.async_client import AsyncClient
from pgjobs.db.sync_client import Client

ROOT = Path(__file__).resolve().parents[2]


def test_sync_client_py_is_what_the_generator_writes_now() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "async_to_sync.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr + "(run `make sync-client` and commit the result)"


def _methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_both_clients_have_the_same_methods_with_the_same_parameters() -> None:
    sync, asynchronous = _methods(Client), _methods(AsyncClient)
    assert sync.keys() == asynchronous.keys()
    for name, signature in asynchronous.items():
        assert list(signature.parameters) == list(sync[name].parameters), name
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)) or name == "connect"
        assert not inspect.iscoroutinefunction(getattr(Client, name)), name
    for name in ("add_scheduled_job", "run_due_schedules", "list_scheduled_jobs", "wait_for"):
        assert name in sync


def test_the_generator_notices_a_stale_file(tmp_path: Path) -> None:
    text = (ROOT / "python" / "pgjobs" / "db" / "sync_client.py").read_text(encoding="utf-8")
    stale = tmp_path / "sync_client.py"
    stale.write_text(text.replace("def add_job(", "def add_job_renamed("), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "async_to_sync.py"), "--check", "--target", stale],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1 and "stale" in done.stderr
