"""The baseline of the ingest benchmark: the same gunicorn serving a Flask view that only returns 200.

Served with the Procfile's web line and ``bench.bare_app:create_app()`` in
place of the app, so the ratio isolates what Punchcard adds to a request:
verifying, storing and enqueueing a delivery.
"""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """A Flask app whose webhook view answers 200 and does nothing else."""
    app = Flask(__name__)

    @app.post("/webhooks/shopify")
    def receive():
        return {"status": "accepted"}, 200

    @app.get("/")
    def index():
        return "ok", 200

    return app
