"""Random cron expressions and instants for the next_run oracle test (croniter is the oracle).

``random_case`` draws a cron expression (5 fields, 6 with seconds first, or a macro; values,
ranges, steps, lists, month and weekday names), an instant and a time zone. ``oracle_next``
asks croniter for the next fire time, or returns ``...`` for the cases where pgjobs follows
a documented rule croniter does not: instants whose next fire time lies across a clock change
(tests/sql/test_schedules_dst.py checks those by hand). Day of month and day of week combine as
in Vixie cron, which croniter does when told ``day_or``: OR only when neither field starts
with ``*``.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

ZONES = (
    None,
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "America/Sao_Paulo",
    "Pacific/Chatham",
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
START = datetime(2000, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 40 * 365 * 86400


@dataclasses.dataclass(frozen=True)
class Case:
    expression: str
    tz: str | None
    after: datetime

    @property
    def schedule(self) -> dict[str, Any]:
        schedule: dict[str, Any] = {"cron": self.expression}
        if self.tz is not None:
            schedule["tz"] = self.tz
        return schedule


def _value(
    rng: random.Random, lo: int, hi: int, names: tuple[str, ...] | None, first: int
) -> tuple[int, str]:
    """A value in lo..hi, as a number or (sometimes) its name; names[0] is value ``first``."""
    value = rng.randint(lo, hi)
    if names and rng.random() < 0.4 and value - first < len(names):
        name = names[value - first]
        return value, rng.choice((name, name.lower(), name.title()))
    return value, str(value)


def _part(rng: random.Random, lo: int, hi: int, names: tuple[str, ...] | None) -> str:
    kind = rng.choice(("value", "value", "range", "range_step", "star_step", "from_step"))
    step = rng.choice((1, 2, 3, 5, 7, 10, 15))
    if kind == "value":
        return _value(rng, lo, hi, names, lo)[1]
    if kind == "star_step":
        return f"*/{step}"
    a, a_text = _value(rng, lo, hi - 1, names, lo)
    if kind == "from_step":
        return f"{a}/{step}"
    # croniter misreads a range whose ends are equal (5-5/2, 7-7): ranges here have two values.
    _, b_text = _value(rng, a + 1, hi, names, lo)
    if kind == "range":
        return f"{a_text}-{b_text}"
    return f"{a_text}-{b_text}/{step}"


def _field(rng: random.Random, lo: int, hi: int, names: tuple[str, ...] | None = None) -> str:
    if rng.random() < 0.45:
        return "*"
    return ",".join(_part(rng, lo, hi, names) for _ in range(rng.choice((1, 1, 1, 2, 3))))


def random_expression(rng: random.Random) -> str:
    if rng.random() < 0.04:
        return rng.choice(MACROS)
    fields = [
        _field(rng, 0, 59),
        _field(rng, 0, 23),
        _field(rng, 1, 31),
        _field(rng, 1, 12, MONTHS),
        _field(rng, 0, 7, DAYS),
    ]
    if rng.random() < 0.3:
        fields.insert(0, _field(rng, 0, 59))
    return " ".join(fields)


def random_case(rng: random.Random) -> Case:
    after = START + timedelta(
        seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(10**6)
    )
    if rng.random() < 0.2:
        after = after.replace(second=0, microsecond=0)  # exactly on a possible fire time
    return Case(random_expression(rng), rng.choice(ZONES), after)


_MACRO_FIELDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def oracle_next(case: Case) -> datetime | Any | None:
    """croniter's next fire time after case.after; None when it finds none; ``...`` when the
    answer lies across a clock change (pgjobs' documented rule applies there, not croniter's)."""
    expression = _MACRO_FIELDS.get(case.expression, case.expression)
    fields = expression.split()
    day_of_month, day_of_week = fields[-3], fields[-1]
    day_or = not (day_of_month.startswith("*") or day_of_week.startswith("*"))
    if day_or and (_covers(day_of_month, 1, 31, ()) or _covers(day_of_week, 0, 6, DAYS)):
        # Vixie: either day matches, and one field allows every day, so every day runs.
        # (croniter would AND the fields once it sees one of them is complete.)
        fields[-3] = fields[-1] = "*"
        expression = " ".join(fields)
    zone = ZoneInfo(case.tz or "UTC")
    after = case.after.astimezone(zone)
    try:
        found = croniter(
            expression, after, day_or=day_or, second_at_beginning=len(fields) == 6
        ).get_next(datetime)
    except CroniterBadDateError:
        return None
    if not isinstance(found, datetime):
        return ...
    if _near_clock_change(after, zone) or _near_clock_change(found, zone):
        return ...
    return found.astimezone(UTC)


def _covers(field: str, lo: int, hi: int, names: tuple[str, ...]) -> bool:
    """Whether a cron field (as random_expression writes them) allows every value lo..hi."""
    values: set[int] = set()

    def number(text: str) -> int:
        upper = text.upper()
        return names.index(upper) + lo if upper in names else int(text)

    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text or 1)
        if span == "*":
            first, last = lo, hi
        elif "-" in span:
            first_text, last_text = span.split("-")
            first, last = number(first_text), number(last_text)
        else:
            first = number(span)
            last = hi if step_text else first
        values.update(v % 7 if hi == 6 else v for v in range(first, min(last, hi + 1) + 1, step))
    return values >= set(range(lo, hi + 1))


def _near_clock_change(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether zone's UTC offset changes within 3 hours of moment."""
    offsets = {
        (moment + timedelta(hours=hours)).astimezone(zone).utcoffset() for hours in (-3, 0, 3)
    }
    return len(offsets) > 1
