"""The example app that `make run` works on: three tasks, run by `pgjobs worker examples.app`.

Enqueue from anywhere (psql, any language, a trigger):
    SELECT app_jobs.add_job(NULL, 'send_email', '{"email": "ann@example.com"}');
or from the shell:
    pgjobs add send_email '{"email": "ann@example.com"}'
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from typing import Any

from pydantic import BaseModel

from pgjobs import App
from pgjobs.runtime.registry import JobContext, JobEvent


def say(line: str) -> None:
    """One write per line, so lines of concurrent handlers never interleave."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


app = App()  # the database: --dsn, $PGJOBS_DSN, $DATABASE_URL, PG*, else ./.pgjobs


class Email(BaseModel):
    email: str


class Charge(BaseModel):
    amount: int
    card: str


@app.task("send_email")
async def send_email(payload: Email, ctx: JobContext) -> None:
    await asyncio.sleep(0.05)  # the SMTP round trip
    say(f"job {ctx.job_id}: sent an email to {payload.email}")


@app.task("checksum")
def checksum(payload: dict[str, Any], ctx: JobContext) -> str:  # sync: runs in a thread
    digest = hashlib.sha256(str(payload.get("text", "")).encode()).hexdigest()[:16]
    say(f"job {ctx.job_id}: checksum {digest}")
    return digest


def report_failure(event: JobEvent) -> None:
    say(f"job {event.job.id}: charge_card failed for good after {event.attempt} attempt(s)")


@app.task("charge_card", max_attempts=3, on_failure=report_failure)
def charge_card(payload: Charge, ctx: JobContext) -> None:
    if payload.card == "expired":
        raise ValueError("card expired: ask the customer for another one")
    if payload.card == "flaky" and ctx.attempt == 1:
        raise TimeoutError("the card network timed out; pgjobs will retry")
    say(f"job {ctx.job_id}: charged {payload.amount} (attempt {ctx.attempt})")
