"""A fake of Altcraft's loyalty API v1.1 over real HTTP, in the shapes of seed 002 and the reference notes (§3, §6).

Stateful and as strict as the documentation allows:

- every call is ``POST /api/v1.1/<method>`` with the token (``Authorization:
  Bearer`` or ``token`` in the body); a missing or wrong token is HTTP 200 with
  ``error: 401``, as every failure here is an envelope ``{error, error_text}``
  with ``error != 0`` on HTTP 200;
- members are matched by ``matching`` (phone, email, profile_id);
  ``register_member`` finds the profile by its matching or creates one, and is
  idempotent (the documentation says neither, the notes say to assume so);
  points calls for a profile not registered in the program are refused;
- amounts must be decimal strings and balances are answered as strings;
- a ``transaction_eid`` is NOT deduplicated (undocumented), so a client that
  resends blindly counts twice here;
- temporary redemptions hold points until committed, rolled back, or
  ``expire_temporaries`` (Altcraft's time-out); cancel works for any live
  transaction, once.

Failures are injected per method: ``fail(part, status=..., error=..., times=...)``,
``delay(part, seconds)`` and ``lose_answers(part, times)`` (the call takes effect,
the answer is a 502: an outcome the client cannot know).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devtools.services import free_port

TOKEN = "altcraft-test-token"
PROGRAM_ID = 123
CURRENCY = "stars"


class FakeAltcraft:
    """Altcraft's loyalty API on 127.0.0.1, with the state a test reads and the failures it injects."""

    def __init__(self) -> None:
        self.profiles: dict[str, dict] = {}
        self.transactions: list[dict] = []
        self.calls: list[tuple[str, dict, dict]] = []
        self._failures: list[dict] = []
        self._delays: dict[str, float] = {}
        self._lost: dict[str, int] = {}
        self._lock = threading.Lock()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        """What the merchant's ``loyalty.base_url`` names: the host, without ``/api/v1.1``."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()

    # --- what a test sets up and reads ------------------------------------------------------------

    def fail(
        self, part: str, *, status: int = 200, error: int | None = None, times: int = 1, headers: dict | None = None
    ) -> None:
        """Answer the next ``times`` calls whose method contains ``part``: HTTP ``status``, or an envelope ``error``."""
        self._failures.append({"part": part, "status": status, "error": error, "left": times, "headers": headers})

    def delay(self, part: str, seconds: float) -> None:
        """Answer calls whose method contains ``part`` only after ``seconds`` (0: no more delay)."""
        self._delays[part] = seconds

    def lose_answers(self, part: str, times: int = 1) -> None:
        """The next ``times`` calls of ``part`` take effect, but their answer is a 502."""
        self._lost[part] = times

    def give_points(self, profile_id: str, points: int) -> None:
        """Points from outside Punchcard (a promotion in Altcraft's own campaigns)."""
        self._add(profile_id, "accrual", Decimal(points), f"gift-{uuid.uuid4().hex[:8]}", temp=False)

    def expire_temporaries(self) -> None:
        """Altcraft's time-out: every temporary transaction still open is rolled back."""
        for txn in self.transactions:
            if txn["status"] == "temp":
                txn["status"] = "rolled_back"

    def active(self, profile_id: str) -> Decimal:
        """The profile's active balance: live accruals less live and temporary redemptions."""
        total = Decimal(0)
        for txn in self.transactions:
            if txn["profile"] != profile_id:
                continue
            if txn["type"] == "accrual" and txn["status"] == "active":
                total += txn["amount"]
            elif txn["type"] == "redemption" and txn["status"] in ("active", "temp"):
                total -= txn["amount"]
        return total

    def by_eid(self, eid: str) -> list[dict]:
        return [t for t in self.transactions if t["eid"] == eid]

    def calls_to(self, part: str) -> list[tuple[str, dict, dict]]:
        return [call for call in self.calls if part in call[0]]

    # --- the API ---------------------------------------------------------------------------------

    @Request.application
    def app(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _error(400, "Incorrect request")
        method = request.path.removeprefix("/api/v1.1/")
        self.calls.append((method, body, dict(request.headers)))
        for part, seconds in self._delays.items():
            if seconds and part in method:
                time.sleep(seconds)
        if request.method != "POST" or not request.path.startswith("/api/v1.1/") or not isinstance(body, dict):
            return _error(400, "Incorrect request", http=404 if request.method == "POST" else 405)
        bearer = request.headers.get("Authorization", "")
        if bearer != f"Bearer {TOKEN}" and body.get("token") != TOKEN:
            return _error(401, "API token required")
        injected = self._injected(method)
        if injected is not None:
            return injected
        with self._lock:
            answer = self._route(method, body)
            lost = next((part for part, left in self._lost.items() if left > 0 and part in method), None)
            if lost is not None:
                self._lost[lost] -= 1
                return Response("bad gateway", status=502)
            return answer

    def _injected(self, method: str) -> Response | None:
        for failure in self._failures:
            if failure["left"] > 0 and failure["part"] in method:
                failure["left"] -= 1
                if failure["error"] is not None:
                    return _error(failure["error"], "Injected failure")
                response = Response(json.dumps({"error": failure["status"], "error_text": "Injected"}))
                response.status_code = failure["status"]
                response.headers.update(failure["headers"] or {})
                return response
        return None

    def _route(self, method: str, body: dict) -> Response:
        if method in ("loyalty/commit_transaction", "loyalty/rollback_transaction", "loyalty/cancel_transaction"):
            return self._transition(method.split("/")[1].split("_")[0], body)
        if body.get("loyalty_program_id") != PROGRAM_ID:
            return _error(400, "Loyalty program not found")
        if body.get("points_currency_eid") not in (None, CURRENCY):
            return _error(400, "Points currency not found")
        if method == "loyalty/register_member":
            return self._register(body)
        profile = self._matched(body)
        if isinstance(profile, Response):
            return profile
        if not profile["registered"]:
            return _error(400, "Profile is not a member of the loyalty program")
        if method == "loyalty/accrue_points":
            return self._points(profile, body, "accrual")
        if method == "loyalty/redeeme_points":
            return self._points(profile, body, "redemption")
        if method == "loyalty/account/balance":
            active = self.active(profile["id"])
            return _ok({"data": {"total_balance": _s(active), "active_balance": _s(active)}})
        if method == "loyalty/account/transactions":
            return self._history(profile, body)
        return _error(400, "Unknown method", http=404)

    def _matched(self, body: dict) -> dict | Response:
        mode = body.get("matching")
        if mode not in ("phone", "email", "profile_id") or not body.get(mode):
            return _error(400, "Incorrect request: matching")
        key = "id" if mode == "profile_id" else mode
        found = next((p for p in self.profiles.values() if p[key] == body[mode]), None)
        return found if found is not None else _error(400, "Profile not found")

    def _register(self, body: dict) -> Response:
        found = self._matched(body)
        if isinstance(found, Response):
            mode = body.get("matching")
            if mode not in ("phone", "email") or not body.get(mode):
                return found
            found = {"id": str(100000 + len(self.profiles)), "phone": None, "email": None, "registered": False}
            found[mode] = body[mode]
            self.profiles[found["id"]] = found
        found["registered"] = True
        return _ok({"profile_id": found["id"]})  # at the top level, as the seed's example

    def _points(self, profile: dict, body: dict, kind: str) -> Response:
        amount = body.get("amount")
        try:
            number = Decimal(amount) if isinstance(amount, str) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number <= 0:
            return _error(400, "Incorrect request: amount must be a decimal string")
        temp = bool(body.get("is_temp"))
        if kind == "redemption" and self.active(profile["id"]) < number:
            return _error(400, "Insufficient points")
        txn = self._add(profile["id"], kind, number, body.get("transaction_eid"), temp=temp, extra=body)
        return _ok({"data": {"transaction_id": txn["id"], "balance": _s(self.active(profile["id"]))}})

    def _add(self, profile_id: str, kind: str, amount: Decimal, eid, *, temp: bool, extra: dict | None = None) -> dict:
        txn = {
            "id": str(uuid.uuid4()),
            "eid": eid,
            "profile": profile_id,
            "type": kind,
            "amount": amount,
            "status": "temp" if temp else "active",
            "timeout": (extra or {}).get("temp_timeout_sec"),
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "external_data": (extra or {}).get("external_data"),
        }
        self.transactions.append(txn)
        return txn

    def _transition(self, action: str, body: dict) -> Response:
        ref_id, ref_eid = body.get("transaction_id"), body.get("transaction_eid")
        if not ref_id and not ref_eid:
            return _error(400, "transaction_id or transaction_eid is required")
        found = [t for t in self.transactions if (ref_id and t["id"] == ref_id) or (ref_eid and t["eid"] == ref_eid)]
        if not found:
            return _error(400, "Transaction not found")
        txn = found[-1]
        allowed = {"commit": ("temp",), "rollback": ("temp",), "cancel": ("temp", "active")}[action]
        if txn["status"] not in allowed:
            return _error(400, f"Transaction cannot be {action}ed: it is {txn['status']}")
        txn["status"] = {"commit": "active", "rollback": "rolled_back", "cancel": "cancelled"}[action]
        return _ok({"data": {"transaction_id": txn["id"], "balance": _s(self.active(txn["profile"]))}})

    def _history(self, profile: dict, body: dict) -> Response:
        limit = body.get("limit", 20)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            return _error(400, "Incorrect request: limit")
        mine = [t for t in self.transactions if t["profile"] == profile["id"]]
        if body.get("from_id"):
            index = next((i for i, t in enumerate(mine) if t["id"] == body["from_id"]), None)
            mine = mine[index + 1 :] if index is not None else []
        rows = [
            {
                "transaction_id": t["id"],
                "transaction_eid": t["eid"],
                "created_at": t["created_at"],
                "transaction_type": t["type"],
                "amount": _s(t["amount"]),
                "description": t["status"],
            }
            for t in mine[:limit]
        ]
        return _ok({"data": rows})


def _s(number: Decimal) -> str:
    return format(number.quantize(Decimal("0.01")), "f")


def _ok(body: dict) -> Response:
    return Response(
        json.dumps({"error": 0, "error_text": "Successful operation", **body}), content_type="application/json"
    )


def _error(code: int, text: str, *, http: int = 200) -> Response:
    return Response(json.dumps({"error": code, "error_text": text}), status=http, content_type="application/json")
