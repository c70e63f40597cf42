"""A fake of Inveterate's Public API 2.0 over real HTTP, in the shapes of seed 003 and the reference notes (§4, §6).

Stateful: members keyed by Shopify customer id (``add_member``; Punchcard
never creates them), each with ``credit`` and ``creditsEarned``; credits
``POST``ed as ``{amount ≠ 0, note?}`` answer 201 and are applied *later*
(before the next request, or only at ``release()`` while ``hold`` is set), as
Inveterate's 201 says; the credit list pages with ``limit`` and
``lastCreditEntry`` and shows applied credits only. Every answer is the
envelope ``{message, data}``; a missing or wrong ``X-Inveterate-Api-Key`` is a
400, as the reference says of key problems. Failures are injected per path
and method: ``fail(...)``, ``delay(...)`` (before answering) and
``lose_answer(...)`` (the call takes effect, its answer comes too late).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devtools.services import free_port

API_KEY = "inveterate-test-key"
MERCHANT_ID = "inveterate-cafe"


class FakeInveterate:
    """Inveterate's Public API 2.0 on 127.0.0.1, with the state a test reads and the failures it injects."""

    def __init__(self) -> None:
        self.members: dict[str, dict] = {}
        self.credits: dict[str, list[dict]] = {}  # applied credits, oldest first, per customer id
        self.pending: list[tuple[str, dict]] = []  # accepted (201), not applied yet
        self.hold = False  # True: accepted credits wait for release()
        self.calls: list[tuple[str, str, dict]] = []
        self._failures: list[dict] = []
        self._delays: dict[str, float] = {}
        self._lost: list[dict] = []
        self._lock = threading.Lock()
        self._ids = 0
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        """What the merchant's ``loyalty.base_url`` names."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()

    # --- what a test sets up and reads -----------------------------------------------------------

    def add_member(self, customer_id, *, credit: str = "0", email: str | None = None) -> dict:
        """A Shopify customer who joined the merchant's Inveterate program (with ``credit`` already)."""
        customer_id = str(customer_id)
        self.members[customer_id] = {
            "merchantId": MERCHANT_ID,
            "customerId": customer_id,
            "accountState": "enabled",
            "anonymized": False,
            "credit": Decimal(credit),
            "creditsEarned": Decimal(credit),
            "email": email,
            "firstName": None,
            "lastName": None,
            "joinedAt": "2026-01-05T10:00:00.000Z",
            "numberOfCreditRedemptions": 0,
            "status": "ACTIVE",
        }
        self.credits.setdefault(customer_id, [])
        return self.members[customer_id]

    def fail(
        self,
        path_part: str,
        status: int,
        times: int = 1,
        headers: dict | None = None,
        message: str = "Internal server error",
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls (of ``method``, if any) whose path holds ``path_part`` with ``status``."""
        failure = {"part": path_part, "status": status, "left": times, "headers": headers or {}, "message": message}
        self._failures.append({**failure, "method": method})

    def delay(self, path_part: str, seconds: float) -> None:
        """Answer calls whose path contains ``path_part`` only after ``seconds`` (0: no more delay)."""
        self._delays[path_part] = seconds

    def lose_answer(self, path_part: str, seconds: float, method: str = "POST", times: int = 1) -> None:
        """The next ``times`` such calls take effect, then answer only after ``seconds`` (the caller gives up)."""
        self._lost.append({"part": path_part, "method": method, "seconds": seconds, "left": times})

    def release(self) -> None:
        """Apply every accepted credit now."""
        with self._lock:
            self._apply_pending()

    def credit_of(self, customer_id) -> Decimal:
        """The member's credit once everything accepted is applied."""
        self.release()
        return self.members[str(customer_id)]["credit"]

    def notes(self, customer_id) -> list[str]:
        """The notes of the member's credits (applied and pending), in the order they were accepted."""
        applied = [c["note"] for c in self.credits.get(str(customer_id), [])]
        return applied + [c["note"] for cid, c in self.pending if cid == str(customer_id)]

    def calls_to(self, part: str, method: str | None = None) -> list[tuple[str, str, dict]]:
        return [c for c in self.calls if part in c[1] and (method is None or c[0] == method)]

    # --- the API ---------------------------------------------------------------------------------

    @Request.application
    def app(self, request: Request) -> Response:
        raw = request.get_data()
        try:
            body = json.loads(raw, parse_float=Decimal) if raw else {}
        except ValueError:
            return _envelope(400, "Malformed JSON body")
        self.calls.append((request.method, request.path, body))
        for part, seconds in self._delays.items():
            if seconds and part in request.path:
                time.sleep(seconds)
        if request.headers.get("X-Inveterate-Api-Key") != API_KEY:
            return _envelope(400, "A valid X-Inveterate-Api-Key header is required")
        injected = self._injected(request.method, request.path)
        if injected is not None:
            return injected
        with self._lock:
            if not self.hold:
                self._apply_pending()  # "a small amount of time after": applied by the next request
            response = self._route(request.method, request.path, request.args, body)
        lost = self._lost_answer(request.method, request.path)
        if lost:
            time.sleep(lost)
        return response

    def _injected(self, method: str, path: str) -> Response | None:
        for failure in self._failures:
            if failure["left"] > 0 and failure["part"] in path and failure["method"] in (None, method):
                failure["left"] -= 1
                response = _envelope(failure["status"], failure["message"])
                response.headers.update(failure["headers"])
                return response
        return None

    def _lost_answer(self, method: str, path: str) -> float:
        for lost in self._lost:
            if lost["left"] > 0 and lost["part"] in path and lost["method"] == method:
                lost["left"] -= 1
                return lost["seconds"]
        return 0

    def _route(self, method: str, path: str, args, body: dict) -> Response:
        parts = path.strip("/").split("/")
        if parts == ["v2.0", "merchant"] and method == "GET":
            return _envelope(200, "Merchant found", {"merchantId": MERCHANT_ID})
        if parts[:3] != ["v2.0", "admin", "members"] or len(parts) not in (4, 5):
            return _envelope(404, f"Cannot {method} {path}")
        member = self.members.get(parts[3])
        if len(parts) == 4 and method == "GET":
            if member is None:
                return _envelope(404, "Member not found")
            return _envelope(200, "Member found", member)
        if len(parts) == 5 and parts[4] == "credits":
            if member is None:
                return _envelope(400, "Member not found")
            if method == "POST":
                return self._add_credit(parts[3], body)
            if method == "GET":
                return self._list_credits(parts[3], args)
        return _envelope(404, f"Cannot {method} {path}")

    def _add_credit(self, customer_id: str, body: dict) -> Response:
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal) or amount == 0:
            return _envelope(400, "amount must be a number and can't be zero")
        note = body.get("note")
        if note is not None and not isinstance(note, str):
            return _envelope(400, "note must be a string")
        self._ids += 1
        entry = {"id": f"cred_{self._ids}", "amount": Decimal(str(amount)), "note": note}
        self.pending.append((customer_id, entry))
        return _envelope(201, "Credit request sent to backend")

    def _apply_pending(self) -> None:
        for customer_id, entry in self.pending:
            member = self.members[customer_id]
            member["credit"] += entry["amount"]
            if entry["amount"] > 0:
                member["creditsEarned"] += entry["amount"]
            created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self.credits[customer_id].append({**entry, "newBalance": member["credit"], "createdAt": created})
        self.pending = []

    def _list_credits(self, customer_id: str, args) -> Response:
        try:
            limit = int(args.get("limit") or 25)
        except ValueError:
            return _envelope(400, "limit must be a number")
        entries = self.credits[customer_id]
        start = 0
        if args.get("lastCreditEntry"):
            ids = [e["id"] for e in entries]
            if args["lastCreditEntry"] not in ids:
                return _envelope(400, "Unknown lastCreditEntry")
            start = ids.index(args["lastCreditEntry"]) + 1
        page = entries[start : start + limit]
        cursor = page[-1]["id"] if page and start + limit < len(entries) else None
        return _envelope(200, "Credits found", {"credits": page, "lastCreditEntry": cursor})


def _envelope(status: int, message: str, data: dict | None = None) -> Response:
    body = {"message": message, "data": data if data is not None else {}}
    return Response(json.dumps(body, default=_number), status=status, content_type="application/json")


def _number(value):
    if isinstance(value, Decimal):
        return float(value)  # a JSON number, as Inveterate answers; the test amounts are exact in a float
    raise TypeError(type(value).__name__)
