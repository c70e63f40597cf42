"""Health of the process's dependencies."""

from __future__ import annotations

from services.runtime import QueueUnavailable, Runtime


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
