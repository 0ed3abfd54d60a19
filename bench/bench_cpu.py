"""Instructions per job of the claim path, in PostgreSQL, by by callgrind (``make bench-cpu``).

Rates on this 2-core machine move by a third between runs of the same code; the number of
instructions a backend executes per job does not (within about 2%), so it is the measure for an
A/B of a SQL change. For pgjobs and, when ``$ANCHOR_SQL`` names @pgpm/jobs' SQL bundle
(../shared/bench/README.md, "Anchor SQL"), for @pgpm/jobs in the same run:

- a private cluster of the system's PostgreSQL build (``--pg-bin``, default the bin directory
  of ``pg_config`` on PATH), a database per contender with QUEUED jobs, VACUUM ANALYZE;
- the cluster stopped, each path runs in a single-user backend (``postgres --single``) under
  ``valgrind --tool=callgrind``, once with FEW and once with MANY jobs; the difference over the
  difference in jobs is the instructions per job (start-up and the first calls' compilation
  cancel out);
- paths: ``single`` is the contract's one job per transaction (get_job, commit, complete_job,
  commit: what ``make bench-sql`` drives with pgbench, less the client and the protocol);
  ``batch`` is a buffered worker's round of pgjobs (get_jobs of 100 with started := false,
  start_jobs, finish_jobs, a commit each); ``round`` is a busy worker's round (the
  finish_jobs of 50 jobs and get_jobs of 50 with started := true, in one transaction, as the
  worker pipelines them when its slots free as fast as they fill); ``enqueue`` is one add_job
  per transaction (the peers' measure A, less the client).

Each job is checked completed exactly once. Needs valgrind (``apt-get install valgrind``).

    python bench/bench_cpu.py [--paths single,batch] [--few 100] [--many 600] [--pg-bin DIR]
        [--keep DIR]

``--keep DIR`` copies the long runs' callgrind files there (``callgrind.<contender>.<path>``),
for ``callgrind_annotate --inclusive=yes`` to say where the instructions go.

``--variant NAME=FILE[,FILE...]`` (repeatable) also measures pgjobs with the files' SQL run, in
order, after the deploy,
in a database of its own, reported as ``pgjobs + NAME``: what a mechanism costs is the count
with it less the count of a variant that takes it away (bench/variants/ holds such files;
they are experiments, never a configuration to run).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
from typing import Any

import psycopg
from bench_sql import PREFILL
from bench_wal import install, system_cluster
from psycopg.conninfo import make_conninfo

NAMES = {"pgjobs": "pgjobs (this checkout)", "pgpm": "@pgpm/jobs ($ANCHOR_SQL)"}
#: A variant's contender name: pgjobs with the variant's SQL applied after the deploy.
VARIANT = "pgjobs+"


def installed(kind: str) -> str:
    """What a run's contender installs: pgjobs for a variant (pgjobs+NAME), else itself."""
    return "pgjobs" if kind.startswith(VARIANT) else kind


# One procedure per path; n rounds, each committed step by step as a worker would.
PROCEDURES = {
    "single": """
CREATE PROCEDURE public.bench_path(n integer) LANGUAGE plpgsql AS $$
DECLARE v_id bigint;
BEGIN
  FOR i IN 1 .. n LOOP
    SELECT id INTO v_id FROM app_jobs.get_job('bench-1', NULL);
    COMMIT;
    PERFORM app_jobs.complete_job('bench-1', v_id);
    COMMIT;
  END LOOP;
END $$""",
    "batch": """
CREATE PROCEDURE public.bench_path(n integer) LANGUAGE plpgsql AS $$
DECLARE v_ids bigint[];
BEGIN
  FOR i IN 1 .. n LOOP
    SELECT pg_catalog.array_agg(j.id) INTO v_ids
      FROM app_jobs.get_jobs('bench-1', NULL, interval '4 hours', 100, false) AS j;
    COMMIT;
    PERFORM app_jobs.start_jobs('bench-1', v_ids);
    COMMIT;
    PERFORM pg_catalog.count(*) FROM app_jobs.finish_jobs('bench-1', v_ids);
    COMMIT;
  END LOOP;
END $$""",
    "round": """
CREATE PROCEDURE public.bench_path(n integer) LANGUAGE plpgsql AS $$
DECLARE v_ids bigint[];
BEGIN
  SELECT pg_catalog.array_agg(j.id) INTO v_ids
    FROM app_jobs.get_jobs('bench-1', NULL, interval '4 hours', 50, true) AS j;
  COMMIT;
  FOR i IN 2 .. n LOOP
    PERFORM pg_catalog.count(*) FROM app_jobs.finish_jobs('bench-1', v_ids);
    SELECT pg_catalog.array_agg(j.id) INTO v_ids
      FROM app_jobs.get_jobs('bench-1', NULL, interval '4 hours', 50, true) AS j;
    COMMIT;
  END LOOP;
  PERFORM pg_catalog.count(*) FROM app_jobs.finish_jobs('bench-1', v_ids);
  COMMIT;
END $$""",
    "enqueue": """
CREATE PROCEDURE public.bench_path(n integer) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. n LOOP
    PERFORM {add_job};
    COMMIT;
  END LOOP;
END $$""",
}
JOBS_PER_CALL = {"single": 1, "batch": 100, "round": 50, "enqueue": 1}
#: The enqueue path's call: pgjobs' add_job takes db_id first (the contract's), 0.15.3's not.
ADD_JOB = {
    "pgjobs": "app_jobs.add_job(NULL, 'bench', pg_catalog.json_build_object('i', i))",
    "pgpm": "app_jobs.add_job('bench', pg_catalog.json_build_object('i', i))",
}
#: The paths @pgpm/jobs has (its contract calls), measured beside pgjobs when $ANCHOR_SQL is set.
ANCHOR_PATHS = ("single", "enqueue")
DONE = {
    "pgjobs": "SELECT count(*), count(DISTINCT id) FROM app_jobs.job_history"
    " WHERE status = 'completed'",
    "pgpm": None,  # @pgpm/jobs keeps no history: the jobs left queued are counted instead
}


def callgrind(
    bindir: pathlib.Path, data: str, db: str, calls: int, user: str | None
) -> tuple[int, pathlib.Path]:
    """Instructions of one single-user backend that runs CALL bench_path(calls), and its file."""
    out = pathlib.Path(data).parent / f"callgrind.{db}.{calls}"
    cmd = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        str(bindir / "postgres"),
        "--single",
        "-D",
        data,
        "-c",
        "jit=off",
        db,
    ]
    p = subprocess.run(
        cmd, input=f"CALL public.bench_path({calls});\n", capture_output=True, text=True, user=user
    )
    found = re.search(r"Collected : (\d+)", p.stderr)
    if p.returncode or found is None or re.search(r"\bERROR:  ", p.stdout + p.stderr):
        raise RuntimeError(f"callgrind on {db}: {(p.stdout + p.stderr)[-800:]}")
    return int(found.group(1)), out


def pg_ctl(bindir: pathlib.Path, data: str, user: str | None, *args: str) -> None:
    p = subprocess.run(
        [str(bindir / "pg_ctl"), "-D", data, "-w", *args], capture_output=True, text=True, user=user
    )
    if p.returncode:
        raise RuntimeError(f"pg_ctl {' '.join(args)}: {p.stderr[-600:]}")


def prepare(
    admin: str, kind: str, path: str, queued: int, anchor: str | None, variant: str | None = None
) -> str:
    """A database for one run: the contender installed, QUEUED jobs enqueued, the path's
    procedure; a variant (pgjobs+NAME) runs its SQL (``variant``) after the deploy."""
    db = f"bench_cpu_{kind}_{path}".replace("+", "_")
    with psycopg.connect(admin, autocommit=True) as adm:
        adm.execute(f"CREATE DATABASE {db}")
    dsn = make_conninfo(admin, dbname=db)
    install(installed(kind), dsn, anchor)
    with psycopg.connect(dsn, autocommit=True) as conn:
        if variant is not None:
            conn.execute(variant.encode())
        conn.execute(PREFILL[installed(kind)] % queued)
        conn.execute("VACUUM ANALYZE app_jobs.jobs")
        conn.execute(PROCEDURES[path].replace("{add_job}", ADD_JOB[installed(kind)]))
    return db


def check(admin: str, kind: str, path: str, db: str, queued: int, jobs: int) -> None:
    """Each job the runs took was completed exactly once (pgjobs: its history; @pgpm/jobs,
    which deletes a completed job: the jobs left queued and none left locked), or for the
    enqueue path each enqueued once (the jobs queued); raises if not."""
    with psycopg.connect(make_conninfo(admin, dbname=db)) as conn:
        query = DONE[installed(kind)]
        if path == "enqueue":
            left = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE task_identifier = 'bench')"
                " FROM app_jobs.jobs"
            ).fetchone()
            ok = left == (queued + jobs, jobs)
        elif query is not None:
            rows: Any = conn.execute(query).fetchone()
            ok = rows == (jobs, jobs)
            left = conn.execute("SELECT count(*) FROM app_jobs.jobs").fetchone()
            ok = ok and left == (queued - jobs,)
        else:
            left = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE locked_by IS NOT NULL) FROM app_jobs.jobs"
            ).fetchone()
            ok = left == (queued - jobs, 0)
    if not ok:
        raise RuntimeError(f"{db}: the {jobs} jobs taken were not each completed once")


def parse_variants(ap: argparse.ArgumentParser, specs: list[str]) -> dict[str, str]:
    """--variant NAME=FILE[,FILE...] -> {pgjobs+NAME: the files' SQL, in order}."""
    variants: dict[str, str] = {}
    for spec in specs:
        name, sep, files = spec.partition("=")
        if not sep or not re.fullmatch(r"[a-z0-9_]{1,30}", name) or not files:
            ap.error(f"--variant {spec!r}: expected NAME=FILE[,FILE...], NAME of a-z, 0-9 and _")
        if f"{VARIANT}{name}" in variants:
            ap.error(f"--variant {name} given twice")
        try:
            texts = [pathlib.Path(file).read_text() for file in files.split(",")]
        except OSError as e:
            ap.error(f"--variant {spec!r}: {e}")
        variants[f"{VARIANT}{name}"] = ";\n".join(texts)
    return variants


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--paths", type=lambda s: s.split(","), default=["single", "batch"])
    ap.add_argument("--few", type=int, default=100, help="jobs of the short run (default 100)")
    ap.add_argument("--many", type=int, default=600, help="jobs of the long run (default 600)")
    ap.add_argument("--pg-bin", help="the PostgreSQL build's bin directory (default: pg_config's)")
    ap.add_argument("--keep", type=pathlib.Path, help="copy the long runs' callgrind files here")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=FILE[,FILE...]",
        help="also measure pgjobs with the files' SQL run after the deploy (repeatable)",
    )
    args = ap.parse_args(argv)
    variants = parse_variants(ap, args.variant)
    if shutil.which("valgrind") is None:
        ap.error("valgrind is not installed (apt-get install valgrind)")
    unknown = set(args.paths) - set(PROCEDURES)
    if unknown:
        ap.error(f"unknown paths: {', '.join(sorted(unknown))}")
    pg_bin = args.pg_bin
    if pg_bin is None:
        pg_config = shutil.which("pg_config")
        if pg_config is None:
            ap.error("no pg_config on PATH: pass --pg-bin")
        pg_bin = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
    bindir = pathlib.Path(pg_bin.strip())
    anchor = os.environ.get("ANCHOR_SQL")
    runs = [("pgjobs", path) for path in args.paths]
    runs[1:1] = [("pgpm", path) for path in args.paths if anchor and path in ANCHOR_PATHS]
    runs += [(kind, path) for kind in variants for path in args.paths]
    user = "postgres" if os.geteuid() == 0 else None  # as bench_wal's system_cluster
    results: list[tuple[str, str, int]] = []
    with system_cluster(bindir) as (admin, data, _):
        with psycopg.connect(admin) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        plans = {}  # (kind, path) -> (database, calls of the short run, of the long run, queued)
        for kind, path in runs:
            per_call = JOBS_PER_CALL[path]
            few = max(1, args.few // per_call)
            many = max(few + 1, args.many // per_call)
            queued = (few + many) * per_call + 1_000
            db = prepare(admin, kind, path, queued, anchor, variants.get(kind))
            plans[kind, path] = (db, few, many, queued)
        pg_ctl(bindir, data, user, "-m", "fast", "stop")
        counts = {}
        try:
            for kind, path in runs:
                db, few, many, _ = plans[kind, path]
                # The short run first: the long one then starts where a worker would be after
                # a while (history written, pages touched).
                low, _ = callgrind(bindir, data, db, few, user)
                high, profile = callgrind(bindir, data, db, many, user)
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(profile, args.keep / f"callgrind.{kind}.{path}")
                counts[kind, path] = (high - low) / ((many - few) * JOBS_PER_CALL[path])
        finally:
            socket_dir = str(pathlib.Path(data).parent)
            options = f"-k {socket_dir} -c listen_addresses="
            pg_ctl(bindir, data, user, "-l", f"{socket_dir}/log", "-o", options, "start")
        for kind, path in runs:
            db, few, many, queued = plans[kind, path]
            taken = (few + many) * JOBS_PER_CALL[path]
            check(admin, kind, path, db, queued, taken)
            results.append((kind, path, round(counts[kind, path])))
    print(
        f"PostgreSQL {version[0] if version else '?'} ({bindir}), callgrind, instructions per job:"
    )
    for kind, path, per_job in results:
        name = NAMES.get(kind, kind.replace(VARIANT, "pgjobs + "))
        print(f"  {name:<26} {path:<7} {per_job:>12,}   (verified)")
    single = {kind: n for kind, path, n in results if path == "single"}
    if "pgpm" in single and "pgjobs" in single:
        print(f"  single: pgjobs / @pgpm/jobs = {single['pgjobs'] / single['pgpm']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
