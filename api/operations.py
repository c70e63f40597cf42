"""The operator's endpoints: ``/healthz`` (``?deep=1``) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request

from api.common import rt
from services import health, metrics

bp = Blueprint("operations", __name__)
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@bp.get("/healthz")
def healthz():
    """200 with every check ``ok``, else 503 naming the failing one; ``?deep=1`` adds the queue and the workers."""
    if request.args.get("deep") not in ("1", "true", "yes"):
        checks = health.check(rt())
        ok = all(v == "ok" for v in checks.values())
        return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), 200 if ok else 503
    found = health.snapshot(rt())
    body = {
        "status": "ok" if found.ok else "unavailable",
        "checks": found.checks,
        "queues": found.queue_depths,
        "oldest_received_delivery_age_seconds": found.oldest_received_age,
        "last_seen_age_seconds": found.last_seen_age,
    }
    return jsonify(body), 200 if found.ok else 503


@bp.get("/metrics")
def prometheus_metrics():
    """Every metric of operations.md in Prometheus text; behind ``Authorization: Bearer $METRICS_TOKEN`` when set."""
    token = current_app.config.get("PUNCHCARD_METRICS_TOKEN")
    if token and not _bearer_is(token):
        return jsonify({"error": "UNAUTHORIZED", "message": "GET /metrics needs the metrics token."}), 401
    runtime = rt()
    body = metrics.exposition(
        lambda: metrics.snapshot_gauges(health.snapshot(runtime)), redis=getattr(runtime.dispatcher, "connection", None)
    )
    return Response(body, content_type=PROMETHEUS_TEXT, headers={"Cache-Control": "no-store"})


def _bearer_is(token: str) -> bool:
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
