"""`make bench-peers`: run the shared side-by-side harness (../shared/bench) with pgjobs in it.

    .venv/bin/python bench/peers.py [run.sh arguments: contenders, --quick, --rounds N, ...]

The harness reaches its server through PGHOST/PGPORT/PGUSER (and libpq's PGPASSWORD); this
sets them from the same server `make bench` uses (--dsn is not taken: $PGJOBS_DSN, else
$PGJOBS_TEST_DSN, else the local test server), points PGJOBS_ADAPTER at bench/contender.py and
PGJOBS_PYTHON at this Python (which has pgjobs), and runs run.sh. The harness only creates and
drops databases named bench_*. $PGJOBS_SHARED_BENCH overrides where the harness lives.

Its E measure (pgbench references) needs the @pgpm/jobs SQL bundle ($ANCHOR_SQL, see the
harness README, "Anchor SQL") and stops the whole run without it: when the file is missing and
no --measures is given, this runs every other measure (A, B, C, Cb, D, Db) and says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

HERE = Path(__file__).resolve().parent
DEFAULT_SERVER = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
ANCHOR = "pgpm-jobs--0.47.0.sql"
EVERY_MEASURE_BUT_E = "A,B,C,Cb,D,Db"
LIBPQ = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}


def main(argv: list[str]) -> int:
    harness = Path(os.environ.get("PGJOBS_SHARED_BENCH", HERE.parent.parent / "shared" / "bench"))
    run_sh = harness / "run.sh"
    if not run_sh.is_file():
        print(f"no side-by-side harness at {harness}: set PGJOBS_SHARED_BENCH", file=sys.stderr)
        return 2
    server = os.environ.get("PGJOBS_DSN") or os.environ.get("PGJOBS_TEST_DSN") or DEFAULT_SERVER
    params = conninfo_to_dict(server)
    env = dict(os.environ)
    for key, var in LIBPQ.items():
        if params.get(key):
            env[var] = str(params[key])
    anchor = Path(env.get("ANCHOR_SQL") or harness.parent.parent / ".anchor" / ANCHOR)
    if not anchor.is_file() and not any(a.startswith("--measures") for a in argv):
        print(f"no {anchor} (ANCHOR_SQL): skipping measure E, the pgbench references", flush=True)
        argv = ["--measures", EVERY_MEASURE_BUT_E, *argv]
    env["PGJOBS_ADAPTER"] = str(HERE / "contender.py")
    env["PGJOBS_PYTHON"] = sys.executable
    print(f"{run_sh} {' '.join(argv)}  (PGJOBS_ADAPTER={env['PGJOBS_ADAPTER']})", flush=True)
    os.execve(str(run_sh), [str(run_sh), *argv], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
