"""Health of the process's dependencies, and the deeper look ``/healthz?deep=1`` and ``/metrics`` share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from models import Delivery
from services.runtime import QueueUnavailable, Runtime

REPORTED_WITHIN = timedelta(minutes=2)  # a worker or the scheduler silent longer is not running


def check(rt: Runtime) -> dict[str, str]:
    """``{"database": "ok"|"unavailable", "redis": "ok"|"unavailable"}``."""
    checks = {}
    try:
        rt.db.ping()
        checks["database"] = "ok"
    except Exception:  # any driver error means the same thing to a load balancer
        checks["database"] = "unavailable"
    try:
        rt.dispatcher.ping()
        checks["redis"] = "ok"
    except QueueUnavailable:
        checks["redis"] = "unavailable"
    return checks


@dataclass(frozen=True)
class Snapshot:
    """What the queue and the inbox look like now; None where a dependency did not answer."""

    checks: dict[str, str]
    queue_depths: dict[str, int] | None
    oldest_received_age: float | None  # seconds; 0 when nothing waits
    last_seen_age: dict[str, float | None]  # "worker", "scheduler" -> seconds since they reported in

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(value == "ok" for value in self.checks.values())


def snapshot(rt: Runtime) -> Snapshot:
    """The checks, queue depths, the oldest delivery still ``received``, and the worker's and scheduler's last word."""
    checks = check(rt)
    now = rt.clock()
    depths, seen = None, {"worker": None, "scheduler": None}
    if checks["redis"] == "ok":
        try:
            depths = rt.dispatcher.depths()
            seen = {name: _age(now, at) for name, at in rt.dispatcher.last_seen().items()}
        except QueueUnavailable:
            checks["redis"] = "unavailable"
    oldest = _oldest_received_age(rt, now) if checks["database"] == "ok" else None
    for name, age in seen.items():
        checks[name] = "ok" if age is not None and age <= REPORTED_WITHIN.total_seconds() else "not_reporting"
    return Snapshot(checks, depths, oldest, seen)


def _age(now: datetime, at: datetime | None) -> float | None:
    return None if at is None else max(0.0, (now - at).total_seconds())


def _oldest_received_age(rt: Runtime, now: datetime) -> float | None:
    try:
        with rt.db.reader() as session:
            oldest = session.scalar(select(func.min(Delivery.received_at)).where(Delivery.status == "received"))
    except Exception:  # the database went away between the ping and this query
        return None
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
