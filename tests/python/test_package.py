"""The package's public face: the lazy ``pgjobs`` exports and the old module names.

The old flat modules that the README documented (``pgjobs.client``, ``pgjobs.app``,
``pgjobs.errors``, ``pgjobs.typed``, ``pgjobs.testing``) still import for one release, warn
with a DeprecationWarning naming the new place, and hand out the very same objects.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MOVED = {
    "pgjobs.client": ("pgjobs.db.client", ["Client", "AsyncClient", "JobSpec", "Backoff", "Job"]),
    "pgjobs.app": ("pgjobs.runtime.app", ["App", "SyncApp"]),
    "pgjobs.errors": ("pgjobs.db.errors", ["PgJobsError", "JobFailed", "translate"]),
    "pgjobs.typed": ("pgjobs.runtime.typed", ["InvalidPayload", "InvalidResult", "Codec"]),
    "pgjobs.testing": ("pgjobs.pytest_plugin", ["TestDatabase", "drain"]),
}


def _fresh_python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = str(ROOT / "python")
    return subprocess.run(
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_name_warns_and_reexports_the_same_objects(old: str) -> None:
    new, names = MOVED[old]
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any(old in text and new in text for text in messages), messages
    target = importlib.import_module(new)
    for name in names:
        assert getattr(module, name) is getattr(target, name)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_name_fails_under_warnings_as_errors(old: str) -> None:
    done = _fresh_python(f"import {old}", "-W", "error::DeprecationWarning")
    assert done.returncode != 0
    assert "DeprecationWarning" in done.stderr and MOVED[old][0] in done.stderr


def test_the_public_api_is_importable_from_pgjobs_without_warnings() -> None:
    code = (
        "import sys, pgjobs\n"
        "assert 'psycopg' not in sys.modules, 'import pgjobs must stay cheap'\n"
        "from pgjobs import App, Client, AsyncClient, Worker, PgJobsError, JobFailed\n"
        "import pgjobs.runtime.app, pgjobs.db.client, pgjobs.runtime.worker, pgjobs.db.errors\n"
        "import pgjobs.runtime.clients as clients\n"
        "assert App is pgjobs.runtime.app.App and Worker is pgjobs.runtime.worker.Worker\n"
        "assert Client is clients.Client and AsyncClient is clients.AsyncClient\n"
        "assert issubclass(Client, pgjobs.db.client.Client)\n"
        "assert issubclass(AsyncClient, pgjobs.db.client.AsyncClient)\n"
        "assert JobFailed is pgjobs.db.errors.JobFailed\n"
        "assert set(pgjobs.__all__) <= set(dir(pgjobs))\n"
        "for name in pgjobs.__all__: getattr(pgjobs, name)\n"
        "import pgjobs.pytest_plugin, pgjobs.cli\n"
        "print('ok')\n"
    )
    done = _fresh_python(code, "-W", "error")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pgjobs

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pgjobs.Nope  # noqa: B018


def test_the_extension_build_runs_on_a_bare_standard_library_python(tmp_path: Path) -> None:
    # -I: isolated, no site-packages (so no psycopg, no yoyo); -S: not even the site module.
    for module in ("pgjobs.sqltree.bundle", "pgjobs.bundle"):
        code = (
            "import runpy, sys; sys.path.insert(0, 'python'); "
            f"sys.argv = ['x', '--list', {str(tmp_path)!r}]; "
            f"runpy.run_module({module!r}, run_name='__main__')"
        )
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-W", "error", "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        assert f"{tmp_path}/pgjobs--0.1.0.sql" in done.stdout.split()
