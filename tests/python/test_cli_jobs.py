"""`pgjobs jobs list|show|cancel|rerun` and `pgjobs cleanup` as a user runs them."""

from __future__ import annotations

import json

from cli_support import run_pgjobs

from pgjobs.db.client import Client


def test_jobs_list_show_cancel_rerun_and_cleanup(dsn: str) -> None:
    with Client.connect(dsn) as client:
        failing = client.add_job("resize", {"id": 1}, max_attempts=1, correlation_id="r-1")
        claimed = client.get_job("w")
        assert claimed is not None and claimed.id == failing.id
        client.fail_job("w", failing.id, "too big", {"traceback": "Traceback: too big"})
        waiting = client.add_job("send_email", {"to": "a@b.c"})

    listed = run_pgjobs("jobs", "list", "--dsn", dsn)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATUS", "TASK"]
    assert [line.split()[:3] for line in lines[1:]] == [
        [str(waiting.id), "pending", "send_email"],
        [str(failing.id), "failed", "resize"],
    ]
    assert "too big" in lines[2]

    failed = run_pgjobs("jobs", "list", "--dsn", dsn, "--status", "failed", "--json")
    assert [json.loads(line)["id"] for line in failed.stdout.splitlines()] == [failing.id]

    shown = run_pgjobs("jobs", "show", str(failing.id), "--dsn", dsn)
    assert shown.returncode == 0, shown.stderr
    assert "status:              failed" in shown.stdout
    assert "correlation_id:      r-1" in shown.stdout
    assert "attempt 1: failed on w" in shown.stdout and "Traceback: too big" in shown.stdout
    by_uid = run_pgjobs("jobs", "show", str(failing.uid), "--dsn", dsn, "--json")
    assert json.loads(by_uid.stdout)["id"] == failing.id
    missing = run_pgjobs("jobs", "show", "999999", "--dsn", dsn)
    assert missing.returncode == 1 and "there is no job 999999" in missing.stderr

    cancelled = run_pgjobs("jobs", "cancel", str(waiting.id), "--dsn", dsn)
    assert cancelled.stdout.strip() == f"job {waiting.id} cancelled"
    again = run_pgjobs("jobs", "cancel", str(waiting.id), "--dsn", dsn)
    assert again.returncode == 1 and "nothing to cancel" in again.stderr

    rerun = run_pgjobs("jobs", "rerun", str(failing.id), "--dsn", dsn)
    assert rerun.returncode == 0, rerun.stderr
    assert f"a rerun of job {failing.id}" in rerun.stdout
    not_finished = run_pgjobs("jobs", "rerun", rerun.stdout.split()[1], "--dsn", dsn)
    assert not_finished.returncode == 1 and "has not finished yet" in not_finished.stderr

    cleaned = run_pgjobs("cleanup", "--dsn", dsn, "--days", "1")
    assert cleaned.returncode == 0, cleaned.stderr
    assert cleaned.stdout.startswith("removed 0 finished job(s) older than 1 day(s)")
    bad = run_pgjobs("cleanup", "--dsn", dsn, "--days", "-1")
    assert bad.returncode == 1 and "older_than must be a positive interval" in bad.stderr
