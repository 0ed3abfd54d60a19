"""The worker's rounds: a connection per lane that, each round, records the outcomes waiting
(finish_jobs), starts buffered jobs in free slots (start_jobs) and claims (get_jobs), pipelined
in one round trip; the LISTEN connection that wakes it; the fallback to get_job/complete_job on
a schema before 0.4.0.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import operator
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.rows import RowMaker, dict_row
from psycopg.types.string import TextLoader

from pgjobs.db import pooler, queries
from pgjobs.db.client import AsyncClient, Job
from pgjobs.db.rows import _JOB_FIELDS
from pgjobs.runtime.worker_lease import WorkerLease
from pgjobs.runtime.worker_state import (
    CANCEL_CHANNEL,
    CHANNEL,
    RETRYABLE,
    Undecodable,
    _finish_params,
    _Pending,
    _resolve,
    log,
)

#: Zones with UTC's rules (no offset, no daylight saving time) under other names.
_UTC_ZONES = frozenset(
    {"Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "GMT",
     "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0", "Greenwich",
     "Etc/Greenwich"}
)  # fmt: skip

#: json's own scanner: json.loads less its per-call wrapping (whitespace regexps, checks).
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _payload(text: str) -> Any:
    """A claimed job's payload, decoded here (one that Python cannot decode fails its own job,
    not the batch it came in)."""
    try:
        value, end = _scan_json(text, 0)
        if end == len(text):
            return value
    except (StopIteration, ValueError, RecursionError, MemoryError):
        pass  # json.loads says what is wrong (or accepts what the scan alone did not)
    try:
        return json.loads(text)  # surrounding whitespace (a json column keeps it), errors
    except (ValueError, RecursionError, MemoryError) as error:
        return Undecodable(error)


def _slot_setters() -> tuple[Callable[[Job, Any], None], ...] | None:
    """The setters of Job's slots, field by field (None if Job has no plain slots): a claimed
    row becomes a Job without the frozen dataclass's __init__, which sets each of its 25
    fields through object.__setattr__ (half the cost of turning a row into a Job)."""
    setters = []
    for f in dataclasses.fields(Job):
        slot: Any = Job.__dict__.get(f.name)
        if type(slot).__name__ != "member_descriptor" or hasattr(Job, "__post_init__"):
            return None
        setters.append(slot.__set__)
    return tuple(setters)


_SETTERS = _slot_setters()


class _Ids(list[int]):
    """Job ids for a round's statements: a bigint[] written straight as its text (psycopg's
    list dumper looks at every element to choose the array's type, a fifth of a round's
    Python for 100 ids). On another connection it is a plain list."""

    __slots__ = ()


class _Texts(list[str | None]):
    """Texts (or NULLs) for a round's statements, written straight as an array literal whose
    type the statement gives (text[], or json[] by its cast)."""

    __slots__ = ()


class _IdsDumper(Dumper):
    format = Format.TEXT
    oid = postgres.types["int8"].array_oid

    def dump(self, obj: Any) -> bytes:
        return f"{{{','.join(map(str, obj))}}}".encode()


class _TextsDumper(Dumper):
    format = Format.TEXT  # oid 0 (unknown): the statement types the array

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        connection = self.connection
        self._encoding = "utf-8" if connection is None else connection.info.encoding

    def dump(self, obj: Any) -> bytes:
        return (
            "{"
            + ",".join(
                "NULL"
                if text is None
                else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
                for text in obj
            )
            + "}"
        ).encode(self._encoding)


def _job_rows(cursor: psycopg.AsyncCursor[Any]) -> RowMaker[Job]:
    """A row factory for the claims: each row straight to a :class:`Job` (no dict per row),
    Job's fields matched to the columns once per shape of result (a column a newer schema adds
    is ignored; a field an older schema lacks keeps its default)."""
    result = cursor.pgresult
    names = () if result is None else tuple(result.fname(i) for i in range(result.nfields))
    maker = _JOB_MAKERS.get(names)
    if maker is None:
        if len(_JOB_MAKERS) > 16:
            _JOB_MAKERS.clear()
        maker = _JOB_MAKERS[names] = _job_maker([bytes(n or b"").decode() for n in names])
    return maker


#: Row makers by the columns of a claim's result (one in practice).
_JOB_MAKERS: dict[tuple[bytes | None, ...], RowMaker[Job]] = {}


def _job_maker(columns: list[str]) -> RowMaker[Job]:
    where = {name: i for i, name in enumerate(columns)}
    args: list[tuple[int | None, Any]] = []
    for f, (_, column) in zip(dataclasses.fields(Job), _JOB_FIELDS, strict=True):
        args.append((where.get(column), None if f.default is dataclasses.MISSING else f.default))
    at_payload = next(n for n, (_, column) in enumerate(_JOB_FIELDS) if column == "payload")
    positions = [i for i, _ in args if i is not None]
    if len(positions) == len(args):  # every field has its column
        if _SETTERS is not None:
            return _unrolled_maker(positions, at_payload, _SETTERS)
        pick = operator.itemgetter(*positions)

        def make(values: Sequence[Any]) -> Job:
            row = list(pick(values))
            if isinstance(row[at_payload], str):
                row[at_payload] = _payload(row[at_payload])
            return Job(*row)

        return make

    def make_some(values: Sequence[Any]) -> Job:
        row = [default if i is None else values[i] for i, default in args]
        if isinstance(row[at_payload], str):
            row[at_payload] = _payload(row[at_payload])
        return Job(*row)

    return make_some


def _unrolled_maker(
    positions: list[int], at_payload: int, setters: tuple[Callable[[Job, Any], None], ...]
) -> RowMaker[Job]:
    """A row maker that sets each slot of a new Job from its column in a statement of its
    own, the source written once per shape of result (as dataclasses writes __init__): half
    the cost of a loop over the setters (a claim of 100 jobs makes 2,500 calls)."""
    names: dict[str, Any] = {"new": object.__new__, "Job": Job, "decode": _payload}
    lines = ["def make(values):", "    job = new(Job)"]
    for n, (position, setter) in enumerate(zip(positions, setters, strict=True)):
        names[f"set{n}"] = setter
        if n == at_payload:  # text: decoded here (see _payload)
            lines.append(f"    payload = values[{position:d}]")
            lines.append("    if isinstance(payload, str):")
            lines.append("        payload = decode(payload)")
            lines.append(f"    set{n}(job, payload)")
        else:
            lines.append(f"    set{n}(job, values[{position:d}])")
    lines.append("    return job")
    exec("\n".join(lines), names)  # only names and integers written here: no input
    maker: RowMaker[Job] = names["make"]
    return maker


class WorkerRounds(WorkerLease):
    """The claim/start/finish pipeline."""

    async def _claim_loop(self, *, once: bool, batch_size: int | None) -> None:
        """Until stop() (or, with ``once``, until nothing is due or ``batch_size`` jobs were
        claimed): the pump (:meth:`_pump`) claims, starts and records."""
        assert self._stop is not None and self._idle is not None
        waits = [asyncio.create_task(self._stop.wait())]
        if once:
            waits.append(asyncio.create_task(self._idle.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _woken(self) -> None:
        """A wake-up (NOTIFY, the scheduler, the poll): there may be jobs to claim."""
        self._more = True
        self._wakes += 1
        if self._wake is not None:
            self._wake.set()

    async def _pump(self, lane: int, *, once: bool, batch_size: int | None) -> None:
        """The worker's one connection to the queue. Each round sends, pipelined in one round
        trip and one transaction: the completions waiting to be recorded (finish_jobs), the
        buffered jobs that start now in free slots (start_jobs), a claim for the slots still
        free (get_jobs, started) and one that refills the buffer (get_jobs, started :=
        false). Completions that arrive while a round is in flight go in the next one, so
        batches grow with the load and an idle worker records at once. A round with nothing to
        do waits for a wake-up (NOTIFY, a job ending) or ``poll_interval``.

        One pump runs per lane (``lanes``), each on its own connection, sharing the slots,
        the buffer and the completions: while PostgreSQL runs one lane's round, Python runs
        the jobs another lane's round brought. A lane claims at most its share of the slots,
        and what a round in flight takes is held from the others' plans."""
        assert self._wake is not None and self._stop is not None and self._idle is not None
        assert self._completions is not None
        tasks = self.registry.names()
        backoff = 0.1
        while True:
            self._wake.clear()
            finishes = self._completions[:1000]
            del self._completions[:1000]
            to_start, now, ahead = self._plan(batch_size)
            if not (finishes or to_start or now or ahead):
                if (once and not self._more and not self._running and not self._buffer
                        and not self._in_flight):  # fmt: skip
                    self._idle.set()
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel
                # that comes as the wait ends (the pump must end when run() cancels it).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                if not self._wake.is_set():
                    self._more = True  # the poll: delayed jobs may be due, a NOTIFY missed
                continue
            ids = [p.job.id for p in finishes]
            self._finishing.update(ids)
            self._starting.update(job.id for job in to_start)
            claiming = bool(now or ahead)
            self._claims_begun += claiming
            wakes = self._wakes
            # What this round takes is held until it returns, so that the other lanes plan
            # around it (slots, buffer room, run(batch_size=...)).
            reserved = now + len(to_start)
            self._reserved += reserved
            self._reserved_ahead += ahead
            self._claiming += now + ahead
            self._in_flight += 1
            try:
                started, run_now, buffered = await self._round(
                    lane, tasks, finishes, to_start, now, ahead
                )
            except Exception as error:
                self._round_returned(reserved, now, ahead)
                if claiming:
                    self._more = True  # the claims were not applied: asked again
                await self._round_failed(lane, error, finishes, to_start, backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            else:
                self._round_returned(reserved, now, ahead)
            finally:
                self._finishing.difference_update(ids)
                self._starting.difference_update(job.id for job in to_start)
                self._claims_done += claiming
            backoff = 0.1
            if (len(run_now) < now or len(buffered) < ahead) and self._wakes == wakes:
                # Nothing more to claim, unless a wake-up came while this claim ran: its job
                # may have been committed after the claim's snapshot was taken.
                self._more = False
            if once and finishes:
                # A handler may have enqueued jobs (a drain runs those too): claim once more
                # before calling the worker idle, as their NOTIFY may come after this round.
                self._more = True
            self._claimed_total += len(run_now) + len(buffered)
            if self._took(to_start, started, run_now, buffered):
                # Let the jobs just started run up to their first wait before planning the
                # next round: quick handlers have ended by then and their slots are free, so
                # the next round claims jobs to run (started) instead of filling the buffer
                # with jobs it must then start (start_jobs: one more write per job).
                await asyncio.sleep(0)

    def _round_returned(self, reserved: int, now: int, ahead: int) -> None:
        """A round returned (or failed): what it held is counted where it went."""
        self._reserved -= reserved
        self._reserved_ahead -= ahead
        self._claiming -= now + ahead
        self._in_flight -= 1

    def _took(
        self, to_start: list[Job], started: set[int], run_now: list[Job], buffered: list[Job]
    ) -> bool:
        """Run what a round started and claimed, buffer what it claimed ahead; True when
        handlers were started."""
        assert self._stop is not None
        if self._stop.is_set():  # stopped meanwhile: given back with the rest at the end
            self._buffer.extend(job for job in to_start if job.id in started)
            self._buffer.extend([*run_now, *buffered])
            return False
        if to_start:
            kept = [job for job in to_start if job.id in started]
            # The others were taken back meanwhile (say their lease lapsed): not ours to run.
            self.summary.lost += len(to_start) - len(kept)
            self._start_all(kept)
        self._start_all(run_now)
        self._buffer.extend(buffered)
        return bool(to_start or run_now)

    def _plan(self, batch_size: int | None) -> tuple[list[Job], int, int]:
        """What the next round does: the buffered jobs that start in free slots, how many jobs
        to claim to run now (the slots still free), how many to claim into the buffer (up to
        ``buffer``, none while the worker is idle: it claims what it runs). Nothing once
        stopping, nor claims after a claim found fewer jobs than it asked (until a wake-up)."""
        assert self._stop is not None
        if self._stop.is_set():
            return [], 0, 0
        to_start: list[Job] = []
        # A job whose handler has ended and whose outcome waits for a round no longer takes a
        # slot: the next job starts in the round that records it.
        free = self.concurrency - len(self._running) + self._recording - self._reserved
        while free > 0 and self._buffer:
            to_start.append(self._buffer.popleft())
            free -= 1
        if not self._more:
            return to_start, 0, 0
        claimed = self._claimed_total + self._claiming  # this run's, and in flight
        room = 1 << 30 if batch_size is None else batch_size - claimed
        if room <= 0:
            if not self._claiming:
                self._more = False
            return to_start, 0, 0
        # A lane claims at most its share of the slots, so that every lane's round claims
        # jobs to run now rather than jobs for the buffer (which start_jobs must then start).
        share = -(-self.concurrency // self.lanes)
        now = max(0, min(free, room, share))
        ahead = 0
        # Refilled when down to half (claims of many jobs at once), never while idle: an idle
        # worker claims what it runs.
        buffered = len(self._buffer) + self._reserved_ahead
        if now < share and buffered <= self.buffer // 2:
            ahead = max(0, min(self.buffer - buffered, room - now))
        return to_start, now, ahead

    async def _round_failed(
        self,
        lane: int,
        error: Exception,
        finishes: list[_Pending],
        to_start: list[Job],
        backoff: float,
    ) -> None:
        """Unreachable database (RETRYABLE), or an error from a statement of the round:
        nothing of the round was applied (one transaction). Starts go back to the buffer and
        completions are retried (both are idempotent), or, when the error is not the
        connection's, recorded one by one so that one that cannot be recorded fails alone;
        the claims are asked again in the next round."""
        assert self._completions is not None and self._stop_now is not None
        self._buffer.extendleft(reversed(to_start))
        await self._report(error, "claiming, starting and recording jobs")
        await self._close_core(lane)
        if not isinstance(error, RETRYABLE):
            await self._round_apart(finishes)
        elif self._stop_now.is_set():
            _resolve(finishes, {}, self._settle)  # stopping now: not recorded, jobs lost
        else:
            self._completions[:0] = finishes
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_now.wait(), backoff)

    async def _round(
        self,
        lane: int,
        tasks: list[str],
        finishes: list[_Pending],
        to_start: list[Job],
        now: int,
        ahead: int,
    ) -> tuple[set[int], list[Job], list[Job]]:
        """One pipelined round (see :meth:`_pump`); resolves the finishes' futures and returns
        (ids started, jobs claimed to run now, jobs claimed into the buffer)."""
        if time.monotonic() < self._single_claims_until or self._single_finish:
            return await self._round_before_0_4(tasks, finishes, to_start, now, ahead)
        conn = await self._core_connection(lane)
        claim = {"worker_id": self.worker_id, "task_identifiers": _Texts(tasks),
                 "job_expiry": self.job_expiry}  # fmt: skip
        cursors: dict[str, psycopg.AsyncCursor[Any]] = {}
        try:
            async with conn.pipeline():
                if finishes:
                    cursors["finish"] = cur = conn.cursor()  # tuples: no dict per row
                    await cur.execute(
                        queries.FINISH_OUTCOMES,
                        _finish_params(self.worker_id, finishes, _Ids, _Texts),
                    )
                if to_start:
                    cursors["start"] = cur = conn.cursor(row_factory=dict_row)
                    ids = _Ids([job.id for job in to_start])
                    await cur.execute(
                        queries.START_JOBS, {"worker_id": self.worker_id, "job_ids": ids}
                    )
                if now:
                    cursors["now"] = jobs = conn.cursor(row_factory=_job_rows)
                    await jobs.execute(
                        queries.GET_JOBS_CLAIM, {**claim, "batch_size": now, "started": True}
                    )
                if ahead:
                    cursors["ahead"] = jobs = conn.cursor(row_factory=_job_rows)
                    await jobs.execute(
                        queries.GET_JOBS_CLAIM, {**claim, "batch_size": ahead, "started": False}
                    )
        except psycopg.errors.UndefinedFunction:  # fmt: skip
            log.info("app_jobs.get_jobs(started) is missing (a schema before 0.4.0): get_job")
            self._single_claims_until = time.monotonic() + 60.0
            return await self._round_before_0_4(tasks, finishes, to_start, now, ahead)
        applied: dict[int, str] = {}
        if "finish" in cursors:
            done = cursors["finish"]
            names = [column.name for column in done.description or ()]
            at_id, at_status = names.index("job_id"), names.index("status")
            for row in await done.fetchall():
                applied[row[at_id]] = row[at_status]
        started: set[int] = set()
        if "start" in cursors:
            [row] = await cursors["start"].fetchall()
            started = set(row["started"])
        run_now: list[Job] = await cursors["now"].fetchall() if now else []
        buffered: list[Job] = await cursors["ahead"].fetchall() if ahead else []
        # Resolved from the loop: the handlers of the jobs just claimed run first and the pump
        # sends its next round, and the jobs recorded now end while that round is in flight.
        asyncio.get_running_loop().call_soon(_resolve, finishes, applied, self._settle)
        return started, run_now, buffered

    async def _round_before_0_4(
        self,
        tasks: list[str],
        finishes: list[_Pending],
        to_start: list[Job],
        now: int,
        ahead: int,
    ) -> tuple[set[int], list[Job], list[Job]]:
        """A schema before 0.4.0: complete_job each, get_job each, no buffer (every claim is a
        start); the rolling-upgrade fallback."""
        done = [p for p in finishes if p.error is None]
        if done:
            applied = await self._finish_batch([(p.job.id, p.result) for p in done])
            _resolve(done, applied, self._settle)
        for p in finishes:
            if p.error is not None:
                self._settled(
                    p, await self._record_apart(p.job, None, p.error, p.permanent, p.backoff)
                )
        jobs = await self._claim(tasks, now) if now else []
        return {job.id for job in to_start}, jobs, []

    async def _round_apart(self, finishes: list[_Pending]) -> None:
        """A round failed for another reason than the connection: record its completions one
        by one, so one that cannot be recorded fails alone (and never stays held)."""
        for p in finishes:
            if not (p.settled if p.future is None else p.future.done()):
                self._settled(
                    p, await self._record_apart(p.job, p.result, p.error, p.permanent, p.backoff)
                )

    async def _core_connection(self, lane: int = 0) -> psycopg.AsyncConnection[Any]:
        core = self._cores[lane]
        if core is None or core.closed:
            conn = await psycopg.AsyncConnection.connect(
                self.conninfo,
                autocommit=True,
                prepare_threshold=0 if self.prepared_statements else None,
            )
            # Payloads come as text and are decoded per job (_job_rows): one payload Python
            # cannot decode fails its own job, not the batch it came in.
            conn.adapters.register_loader("json", TextLoader)
            conn.adapters.register_loader("jsonb", TextLoader)
            conn.adapters.register_dumper(_Ids, _IdsDumper)
            conn.adapters.register_dumper(_Texts, _TextsDumper)
            if conn.info.parameter_status("TimeZone") in _UTC_ZONES:
                # A zone with UTC's rules under another name (a server's default is often
                # Etc/UTC): named UTC, the session's timestamps come as datetimes in
                # datetime.timezone.utc, where psycopg otherwise converts each one to a
                # zoneinfo zone (a job's five timestamps: 3 of its 10 µs of decoding).
                await conn.execute("SET TimeZone = 'UTC'")
            self._cores[lane] = core = conn
        return core

    async def _close_core(self, lane: int | None = None) -> None:
        for n in range(len(self._cores)) if lane is None else (lane,):
            core, self._cores[n] = self._cores[n], None
            if core is not None:
                with contextlib.suppress(Exception):
                    await core.close()

    async def _claim(self, tasks: list[str], count: int) -> list[Job]:
        """Up to ``count`` jobs in one get_jobs call (one round trip, one transaction). On a
        schema older than 0.4.0, which has no get_jobs, the worker falls back to get_job, one
        call per job (rolling upgrades: a new worker runs on the older compatible schema)."""
        async with self.pool.connection() as conn:
            client = AsyncClient(conn)
            if time.monotonic() >= self._single_claims_until:
                try:
                    return await client.get_jobs(self.worker_id, tasks, self.job_expiry, count)
                except psycopg.errors.UndefinedFunction:
                    log.info("app_jobs.get_jobs is missing (a schema before 0.4.0): get_job")
                    self._single_claims_until = time.monotonic() + 60.0
            jobs = []
            for _ in range(count):
                job = await client.get_job(self.worker_id, tasks, self.job_expiry)
                if job is None:
                    break
                jobs.append(job)
            return jobs

    async def _listen_loop(self) -> None:
        backoff = 0.1
        while True:
            try:
                if (listen := pooler.listen_conninfo(self.conninfo)) is None:
                    return  # issue 15: a transaction pooler and no direct listen DSN: poll
                async with await psycopg.AsyncConnection.connect(listen, autocommit=True) as conn:
                    await conn.execute(f'LISTEN "{CHANNEL}"')
                    await conn.execute(f'LISTEN "{CANCEL_CHANNEL}"')
                    backoff = 0.1
                    self._woken()  # whatever arrived while not listening
                    if self._cancel_check is not None:
                        # A cancel_job sent before LISTEN took effect (at start, or while
                        # reconnecting) was not heard: the heartbeat leaves out the jobs whose
                        # cancellation was requested, so one now stops their handlers.
                        self._cancel_check.set()
                    async for note in conn.notifies():
                        if note.channel == CANCEL_CHANNEL:
                            # Only a wake-up: the payload is not trusted (anyone can NOTIFY).
                            if self._cancel_check is not None:
                                self._cancel_check.set()
                        else:
                            self._woken()
            except (psycopg.Error, OSError) as error:
                await self._report(error, f"listening (reconnecting in {backoff:.1f}s)")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
