"""The example app that `make run` works on: three tasks, run by `pgjobs worker examples.app`.

Enqueue from anywhere (psql, any language, a trigger):
    SELECT app_jobs.add_job(NULL, 'send_email', '{"to": "ann@example.com"}');
or from the shell:
    pgjobs add send_email '{"to": "ann@example.com"}'
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from typing import Any

from pgjobs.app import App
from pgjobs.registry import JobContext


def say(line: str) -> None:
    """One write per line, so lines of concurrent handlers never interleave."""
    sys.stdout.write(line + "\n")


app = App()  # the database: --dsn, $PGJOBS_DSN, $DATABASE_URL, PG*, else ./.pgjobs


@app.task("send_email")
async def send_email(payload: dict[str, Any], ctx: JobContext) -> None:
    await asyncio.sleep(0.05)  # the SMTP round trip
    say(f"job {ctx.job_id}: sent an email to {payload['to']}")


@app.task("checksum")
def checksum(payload: dict[str, Any], ctx: JobContext) -> None:  # sync: runs in a thread
    digest = hashlib.sha256(str(payload.get("text", "")).encode()).hexdigest()[:16]
    say(f"job {ctx.job_id}: checksum {digest}")


@app.task("charge_card")
def charge_card(payload: dict[str, Any]) -> None:
    if payload.get("card") == "expired":
        raise ValueError("card expired: ask the customer for another one")
    say(f"charged {payload['amount']}")
