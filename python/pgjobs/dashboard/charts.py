"""Small bar charts of the last hour (server-rendered SVG: no chart library, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MINUTES = 60
HEIGHT = 40


@dataclass(frozen=True)
class Bar:
    x: int
    completed: int
    failed: int
    completed_height: float
    failed_height: float
    label: str


@dataclass(frozen=True)
class Chart:
    task: str
    completed: int
    failed: int
    bars: list[Bar]


def per_task(rows: list[dict[str, Any]], now: datetime) -> list[Chart]:
    """One chart per task from app_jobs.job_throughput() rows: a bar per minute of the last
    hour, completed (stacked under) failed, scaled to the busiest minute of that task."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=MINUTES - 1)
    counts: dict[str, dict[int, tuple[int, int]]] = {}
    for row in rows:
        slot = int((row["minute"] - start).total_seconds() // 60)
        if not 0 <= slot < MINUTES:
            continue
        done, failed = counts.setdefault(row["task_identifier"], {}).get(slot, (0, 0))
        counts[row["task_identifier"]][slot] = (done + row["completed"], failed + row["failed"])
    charts = []
    for task in sorted(counts):
        slots = counts[task]
        peak = max((c + f for c, f in slots.values()), default=0) or 1
        bars = []
        for slot in range(MINUTES):
            done, failed = slots.get(slot, (0, 0))
            minute = start + timedelta(minutes=slot)
            bars.append(
                Bar(
                    x=slot * 4,
                    completed=done,
                    failed=failed,
                    completed_height=HEIGHT * done / peak,
                    failed_height=HEIGHT * failed / peak,
                    label=f"{minute:%H:%M} UTC: {done} completed, {failed} failed",
                )
            )
        charts.append(
            Chart(
                task=task,
                completed=sum(c for c, _ in slots.values()),
                failed=sum(f for _, f in slots.values()),
                bars=bars,
            )
        )
    return charts
