"""A merchant's events endpoint over real HTTP, verifying every delivery with the ``standardwebhooks`` library itself.

It answers what a test tells it to (``fail(times, status)``, ``delay``), keeps
every request it saw (headers and body, verified or not), and dedupes the
verified events on ``webhook-id`` as the spec asks receivers to.
"""

from __future__ import annotations

import json
import threading
import time

from standardwebhooks import Webhook, WebhookVerificationError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devtools.services import free_port

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 random bytes, base64
NEXT_SECRET = "whsec_dGhlIG5leHQgc2VjcmV0IGZvciB0ZXN0aW5nIQ=="


class FakeReceiver:
    """``POST /events`` on 127.0.0.1: verifies, records, and answers 204 unless told to fail."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.requests: list[dict] = []  # every request: headers, body, verified
        self.events: dict[str, dict] = {}  # webhook-id -> the verified body (deduped)
        self._failures: list[int] = []
        self._delay = 0.0
        self._lock = threading.Lock()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """What the merchant's ``webhooks_out`` entry names."""
        return f"http://127.0.0.1:{self.port}/events"

    def stop(self) -> None:
        self.server.shutdown()

    def fail(self, times: int, status: int = 500) -> None:
        """Answer the next ``times`` requests with ``status`` (after verifying them)."""
        with self._lock:
            self._failures.extend([status] * times)

    def recover(self) -> None:
        """Stop failing: the failures still planned are dropped."""
        with self._lock:
            self._failures.clear()

    def delay(self, seconds: float) -> None:
        """Wait this long before answering (a receiver slower than the sender's timeout)."""
        self._delay = seconds

    def of_type(self, kind: str) -> list[dict]:
        """The verified, deduped events of one type, in the order first received."""
        return [e for e in self.events.values() if e["type"] == kind]

    @property
    def types(self) -> list[str]:
        """The types of the verified, deduped events, in the order first received."""
        return [e["type"] for e in self.events.values()]

    @Request.application
    def app(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            verified = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            self.requests.append({"headers": headers, "body": body, "verified": False, "error": str(exc)})
            return Response("bad signature", status=400)
        with self._lock:
            self.requests.append({"headers": headers, "body": body, "verified": True})
            status = self._failures.pop(0) if self._failures else 204
            if status < 300:
                self.events.setdefault(headers["webhook-id"], verified)
        if self._delay:
            time.sleep(self._delay)
        return Response(json.dumps({"ok": status < 300}), status=status, content_type="application/json")
