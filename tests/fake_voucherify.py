"""A fake of Voucherify's API over real HTTP: customers and one Loyalty v2 program, in the documented shapes (§2, §6).

Stateful, and as the docs describe it:

- ``POST /v1/customers`` upserts on ``source_id``;
- a membership is read by ``customer_id``, ``customer_source_id`` or
  ``member_id`` (404 ``not_found`` without one); a member is created from
  ``{customer_id}`` or ``{customer_identification}`` with one card whose
  ``code`` is null until a later read, 409 ``member_already_exists`` on a
  second create, 423 ``non_active_program`` while the program is inactive;
- card point adjustments ``{points, reason}`` (no other key) answer 200 with
  a ``PENDING`` transaction and no idempotency at all (a repeat counts
  again); 0 points is ``NO_CHANGE``; 423 for an inactive program or member;
- card transactions are listed newest first, ``limit`` 1–100, with a
  ``lcrsctx_`` cursor;
- errors are ``{code, key, message, details, request_id}``; every answer
  carries the ``X-Rate-Limit-*`` headers.

Not documented, and assumed here: a debit larger than the balance is
``REJECTED`` (processed, not applied) rather than taken below zero.

Failures are injected per path (a part of it, or its end when the part ends
in ``$``): ``fail`` (answered without doing anything), ``lose_answer`` (done,
then answered with an error, as a connection cut after Voucherify committed)
and ``delay``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devtools.services import free_port

APP_ID, APP_TOKEN = "vf-test-app-id", "vf-test-app-token"
PROGRAM_ID = "lprg_0f5d0a8878caa3ee5c"
BUCKETS = ("total", "earned", "added", "purchased", "purchased_reversed", "subtracted", "expired", "spent")
BUCKETS += ("refunded", "returned", "locked", "unlocked")


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:18]}"


class FakeVoucherify:
    """Voucherify on 127.0.0.1, with the state a test reads and the failures it injects."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None, tiers: tuple = ((500, "Silver"),)) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tiers = tiers
        self.program_status = "ACTIVE"
        self.customers: dict[str, dict] = {}  # by cust_ id
        self.members: dict[str, dict] = {}  # by lmbr_ id
        self.calls: list[tuple[str, str, dict]] = []
        self._rules: list[dict] = []
        self._delays: dict[str, float] = {}
        self._lock = threading.Lock()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        """What the merchant's ``loyalty.base_url`` names (the API root)."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()

    # --- what a test sets up and reads -------------------------------------------------------------

    def fail(self, part: str, status: int, times: int = 1, headers: dict | None = None, key: str = "error") -> None:
        """Answer the next ``times`` calls whose path contains ``part`` with ``status``, doing nothing."""
        self._rules.append(dict(part=part, status=status, left=times, headers=headers or {}, key=key, lose=False))

    def lose_answer(self, part: str, status: int = 502, times: int = 1) -> None:
        """Do the next ``times`` calls whose path contains ``part``, then answer ``status`` as if cut off."""
        self._rules.append(dict(part=part, status=status, left=times, headers={}, key="error", lose=True))

    def delay(self, part: str, seconds: float) -> None:
        """Answer calls whose path contains ``part`` only after ``seconds`` (0: no more delay)."""
        self._delays[part] = seconds

    def member_of(self, source_id: str) -> dict | None:
        """The member whose customer has ``source_id`` (our member id)."""
        customer = next((c for c in self.customers.values() if c["source_id"] == source_id), None)
        return next((m for m in self.members.values() if customer and m["customer_id"] == customer["id"]), None)

    def only_member(self) -> dict:
        [member] = self.members.values()
        return member

    def give_points(self, member: dict, points: int) -> None:
        """Points earned by the program's own rules (a ``POINTS_EARNED`` transaction)."""
        with self._lock:
            self._post(member, points, "POINTS_EARNED", "earning rule")

    def adjustments(self, member: dict) -> list[dict]:
        """The member's ADMIN_CREDIT and ADMIN_DEBIT transactions, oldest first."""
        return [t for t in member["transactions"] if t["type"] in ("ADMIN_CREDIT", "ADMIN_DEBIT")]

    def calls_to(self, part: str, method: str | None = None) -> list[tuple[str, str, dict]]:
        return [c for c in self.calls if part in c[1] and (method is None or c[0] == method)]

    # --- the API -----------------------------------------------------------------------------------

    @Request.application
    def app(self, request: Request) -> Response:
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return _error(400, "invalid_json", "Invalid JSON", "The body is not JSON")
        self.calls.append((request.method, request.path, body))
        for part, seconds in self._delays.items():
            if seconds and part in request.path:
                time.sleep(seconds)
        if request.headers.get("X-App-Id") != APP_ID or request.headers.get("X-App-Token") != APP_TOKEN:
            return _error(401, "unauthorized", "Unauthorized", "Invalid application credentials")
        rule = next((r for r in self._rules if r["left"] > 0 and _matches(r["part"], request.path)), None)
        if rule is not None:
            rule["left"] -= 1
            if not rule["lose"]:
                return _error(rule["status"], rule["key"], "Injected failure", None, rule["headers"])
        with self._lock:
            answer = self._route(request.method, request.path.strip("/").split("/"), body, request.args)
        return _error(rule["status"], "error", "Bad gateway", None) if rule is not None else answer

    def _route(self, method: str, parts: list[str], body, args) -> Response:
        if parts == ["v1", "customers"] and method == "POST":
            return self._upsert_customer(body)
        if parts[:3] != ["v2", "loyalties", "programs"] or len(parts) < 5:
            return _error(404, "not_found", "Resource not found", "No such path")
        if parts[3] != PROGRAM_ID:
            return _error(404, "not_found", "Resource not found", f"Cannot find program with id {parts[3]}")
        rest = parts[4:]
        if rest == ["members"] and method == "POST":
            return self._create_member(body)
        if len(rest) == 2 and rest[0] == "memberships" and method == "GET":
            return self._membership(rest[1], args.get("identification_type", "customer_id"))
        if len(rest) >= 2 and rest[0] == "members":
            member = self.members.get(rest[1])
            if member is None:
                return _error(404, "not_found", "Resource not found", f"Cannot find member with id {rest[1]}")
            return self._member_call(method, rest[2:], member, body, args)
        return _error(404, "not_found", "Resource not found", "No such path")

    def _upsert_customer(self, body) -> Response:
        if not isinstance(body, dict) or not body.get("source_id"):
            return _error(400, "invalid_payload", "Invalid payload", "source_id is required here")
        found = next((c for c in self.customers.values() if c["source_id"] == body["source_id"]), None)
        if found is None:
            found = {"id": f"cust_{uuid.uuid4().hex[:24]}", "source_id": body["source_id"], "object": "customer"}
            found["created_at"] = _at(self.clock())
            self.customers[found["id"]] = found
        found.update({k: body[k] for k in ("name", "email", "phone", "metadata") if k in body})
        return _ok(found)

    def _create_member(self, body) -> Response:
        ident = body.get("customer_identification") if isinstance(body, dict) else None
        if isinstance(ident, dict) and ident.get("type") == "customer_source_id":
            customer = next(
                (c for c in self.customers.values() if c["source_id"] == ident.get("customer_source_id")), None
            )
            wanted = ident.get("customer_source_id")
        else:
            wanted = (ident or {}).get("customer_id") if isinstance(ident, dict) else (body or {}).get("customer_id")
            customer = self.customers.get(wanted) if isinstance(wanted, str) else None
        if not wanted:
            return _error(
                400, "invalid_payload", "Invalid payload", "Payload must have required property 'customer_id'"
            )
        if customer is None:
            return _error(404, "not_found", "Resource not found", f"Cannot find customer with id {wanted}")
        if self.program_status != "ACTIVE":
            return _error(
                423,
                "non_active_program",
                "Invalid program status",
                "Cannot create member when program status is not ACTIVE",
            )
        if any(m["customer_id"] == customer["id"] for m in self.members.values()):
            return _error(
                409,
                "member_already_exists",
                "Member already exists",
                f"Customer '{customer['id']}' already is a member of program '{PROGRAM_ID}'",
            )
        member = {
            "id": _id("lmbr"),
            "customer_id": customer["id"],
            "status": body.get("status") or "ACTIVE",
            "created_at": _at(self.clock()),
            "card": {"id": _id("lcrd"), "code": None, "points": 0, "pending": 0, "buckets": dict.fromkeys(BUCKETS, 0)},
            "transactions": [],
        }
        self.members[member["id"]] = member
        return _ok({**self._member_body(member), "cards": [self._card_entry(member, tier=False)]})

    def _membership(self, identifier: str, by: str) -> Response:
        if by not in ("customer_id", "customer_source_id", "member_id"):
            return _error(400, "invalid_payload", "Invalid payload", "identification_type has an unsupported value")
        if by == "member_id":
            member = self.members.get(identifier)
        elif by == "customer_source_id":
            member = self.member_of(identifier)
        else:
            member = next((m for m in self.members.values() if m["customer_id"] == identifier), None)
        if member is None:
            return _error(404, "not_found", "Resource not found", f"Cannot find member with id {identifier}")
        member["card"]["code"] = member["card"]["code"] or f"CARD-{uuid.uuid4().hex[:8]}"  # generated async
        program = {"id": PROGRAM_ID, "name": "Cafe Rewards", "status": self.program_status, "object": "program"}
        return _ok(
            {
                "member": self._member_body(member),
                "program": program,
                "cards": [self._card_entry(member)],
                "object": "membership",
            }
        )

    def _member_call(self, method: str, rest: list[str], member: dict, body, args) -> Response:
        if not rest and method == "GET":
            return _ok({**self._member_body(member), "cards": [self._card_entry(member, tier=False)]})
        if len(rest) != 3 or rest[0] != "cards" or rest[1] != member["card"]["id"]:
            return _error(404, "not_found", "Resource not found", f"Cannot find card with id {rest[1:2]}")
        if rest[2] == "points" and method == "POST":
            return self._adjust(member, body)
        if rest[2] == "transactions" and method == "GET":
            return self._transactions(member, args)
        return _error(404, "not_found", "Resource not found", "No such path")

    def _adjust(self, member: dict, body) -> Response:
        points = body.get("points") if isinstance(body, dict) else None
        reason = body.get("reason") if isinstance(body, dict) else None
        if not isinstance(points, int) or isinstance(points, bool) or set(body) - {"points", "reason"}:
            return _error(400, "invalid_payload", "Invalid payload", "Payload must have required property 'points'")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 255):
            return _error(400, "invalid_payload", "Invalid payload", "reason must be a string of at most 255")
        if self.program_status != "ACTIVE":
            return _error(
                423,
                "non_active_program",
                "Cannot adjust member's card points when program status is not ACTIVE",
                "Invalid program status",
            )
        if member["status"] != "ACTIVE":
            return _error(
                423,
                "non_active_member",
                "Cannot adjust member's card points when member status is not ACTIVE",
                "Invalid member status",
            )
        if points == 0:
            return _ok(
                {
                    "transaction": None,
                    "status": "NO_CHANGE",
                    "message": "Provided amount is zero, transaction was not created",
                }
            )
        made = self._post(member, points, "ADMIN_CREDIT" if points > 0 else "ADMIN_DEBIT", reason)
        verb = "addition" if points > 0 else "subtraction"
        answer = {**made, "status": "PENDING", "updated_at": None}  # processed asynchronously, as documented
        return _ok(
            {"transaction": answer, "status": "TRANSACTION_CREATED", "message": f"Points {verb} transaction created"}
        )

    def _post(self, member: dict, points: int, kind: str, reason: str | None) -> dict:
        card, rejection = member["card"], None
        if points < 0 and card["points"] + points < 0:
            rejection = {"reason": "insufficient_balance", "details": "The card's balance cannot cover the debit"}
        else:
            card["points"] += points
            buckets = card["buckets"]
            bucket = {"ADMIN_CREDIT": "added", "ADMIN_DEBIT": "subtracted", "POINTS_EARNED": "earned"}[kind]
            buckets[bucket] += abs(points)
            buckets["total"] += max(points, 0)
        made = {
            "id": _id("lctx"),
            "card_id": card["id"],
            "program_id": PROGRAM_ID,
            "member_id": member["id"],
            "card_definition_id": "lcdef_128f49963c0c4becb7",
            "card_type": "INDIVIDUAL",
            "type": kind,
            "details": {"reason": reason, "rejection": rejection, "metadata": {}, "points": {"total": points}},
            "status": "REJECTED" if rejection else "APPROVED",
            "created_at": _at(self.clock()),
            "updated_at": _at(self.clock()),
            "object": "card_transaction",
        }
        member["transactions"].append(made)
        return made

    def _transactions(self, member: dict, args) -> Response:
        try:
            limit = int(args.get("limit", 10))
            offset = int(args["cursor"].removeprefix("lcrsctx_"), 16) if args.get("cursor") else 0
        except ValueError:
            return _error(400, "invalid_payload", "Invalid payload", "limit or cursor is not valid")
        if not 1 <= limit <= 100:
            return _error(400, "invalid_payload", "Invalid payload", "limit must be between 1 and 100")
        rows = list(member["transactions"])
        if args.get("order", "-created_at") == "-created_at":
            rows.reverse()
        page = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        cursor = {"next": f"lcrsctx_{offset + limit:x}", "expires_at": _at(self.clock())} if more else None
        return _ok({"data": page, "cursor": cursor, "object": "list"})

    def _member_body(self, member: dict) -> dict:
        return {
            "id": member["id"],
            "customer_id": member["customer_id"],
            "program_id": PROGRAM_ID,
            "status": member["status"],
            "metadata": {},
            "created_at": member["created_at"],
            "updated_at": None,
            "object": "member",
        }

    def _card_entry(self, member: dict, *, tier: bool = True) -> dict:
        card = member["card"]
        reached = [name for floor, name in self.tiers if card["buckets"]["total"] >= floor]
        progress = {"current": {"tier": {"id": "lt_1", "name": reached[-1]}}} if reached else None
        entry = {
            "member_role": "OWNER",
            "created_at": member["created_at"],
            "card": {
                "id": card["id"],
                "card_definition_id": "lcdef_128f49963c0c4becb7",
                "card_type": "INDIVIDUAL",
                "code": card["code"],
                "lifetime_bucket": {
                    "points": dict(card["buckets"]),
                    "pending_points": {"total": card["pending"], "activated": 0, "canceled": 0},
                },
                "balance": {"points": card["points"], "pending_points": card["pending"]},
                "next_expiration": None,
                "next_activation": None,
                "object": "card",
            },
            "object": "member_card",
        }
        if tier:
            entry["tier_progress"] = progress
        return entry


def _matches(part: str, path: str) -> bool:
    return path.endswith(part[:-1]) if part.endswith("$") else part in path


def _at(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _headers(extra: dict | None = None) -> dict:
    return {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "99", **(extra or {})}


def _ok(body: dict) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json", headers=_headers())


def _error(status: int, key: str, message: str, details: str | None, headers: dict | None = None) -> Response:
    body = {"code": status, "key": key, "message": message, "request_id": f"v-{uuid.uuid4().hex[:18]}"}
    if details:
        body["details"] = details
    return Response(json.dumps(body), status=status, content_type="application/json", headers=_headers(headers))
