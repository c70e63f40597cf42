"""A fake of Hang's partner API over real HTTP, in the shapes of the seeds and the reference notes (§1, §6).

Stateful: get-or-create memberships (by phone, else external_user_id; 409
EMAIL_ALREADY_EXISTS even for the member's own email, as Hang answers),
synchronous purchase activities idempotent on ``idempotency_key`` (points =
floor(value × rate)), both ``level`` shapes, rewards with per-member counts,
redemptions initiated -> redeemed -> voided (422 when the balance is short),
and Hang's error body ``{id, code, messages: [{title, message}]}``. Failures
are injected per path: ``fail(path_part, status, times, headers)`` and
``delay(path_part, seconds)``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from decimal import ROUND_FLOOR, Decimal

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devtools.services import free_port

API_KEY = "hang-test-key"


class FakeHang:
    """Hang's partner API on 127.0.0.1, with the state a test can read and the failures it injects."""

    def __init__(self, *, rate: int = 10, level_shape: str = "current") -> None:
        self.rate, self.level_shape = Decimal(rate), level_shape
        self.members: dict[str, dict] = {}
        self.activities: dict[str, dict] = {}
        self.rewards: list[dict] = []
        self.redemptions: dict[str, dict] = {}
        self.calls: list[tuple[str, str, dict]] = []
        self._failures: list[dict] = []
        self._delays: dict[str, float] = {}
        self._lock = threading.Lock()
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        """What the merchant's ``loyalty.base_url`` names."""
        return f"http://127.0.0.1:{self.port}/partner-api"

    def stop(self) -> None:
        self.server.shutdown()

    # --- what a test sets up ---------------------------------------------------------------------

    def fail(
        self, path_part: str, status: int, times: int = 1, headers: dict | None = None, message: str = "server_error"
    ) -> None:
        """Answer the next ``times`` calls whose path contains ``path_part`` with ``status``."""
        self._failures.append(
            {"part": path_part, "status": status, "left": times, "headers": headers or {}, "message": message}
        )

    def delay(self, path_part: str, seconds: float) -> None:
        """Answer calls whose path contains ``path_part`` only after ``seconds`` (0: no more delay)."""
        self._delays[path_part] = seconds

    def give_points(self, member_id: str, points: int) -> None:
        self.members[member_id]["points"] += points

    def calls_to(self, part: str) -> list[tuple[str, str, dict]]:
        return [call for call in self.calls if part in call[1]]

    # --- the API ---------------------------------------------------------------------------------

    @Request.application
    def app(self, request: Request) -> Response:
        body = json.loads(request.get_data() or b"{}", parse_float=Decimal) if request.get_data() else {}
        self.calls.append((request.method, request.path, body))
        for part, seconds in self._delays.items():
            if seconds and part in request.path:
                time.sleep(seconds)
        if request.headers.get("X-API-KEY") != API_KEY:
            return _error(401, "unauthorized", "INVALID_API_KEY")
        injected = self._injected(request.path)
        if injected is not None:
            return injected
        with self._lock:
            return self._route(request.method, request.path.removeprefix("/partner-api/v2"), body)

    def _injected(self, path: str) -> Response | None:
        for failure in self._failures:
            if failure["left"] > 0 and failure["part"] in path:
                failure["left"] -= 1
                response = _error(failure["status"], "error", failure["message"])
                response.headers.update(failure["headers"])
                return response
        return None

    def _route(self, method: str, path: str, body: dict) -> Response:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["program-memberships"]:
            return self._get_or_create(body)
        if len(parts) >= 3 and parts[0] == "program-memberships":
            member = self.members.get(parts[1])
            if member is None:
                return _error(404, "not_found", "Could not find the program membership provided.")
            return self._member_call(method, parts[2:], member, body)
        if len(parts) == 3 and parts[0] == "redemptions" and method == "POST":
            return self._redemption_call(parts[1], parts[2])
        return _error(404, "not_found", "NOT_FOUND")

    def _get_or_create(self, body: dict) -> Response:
        phone, external = body.get("phone"), body.get("external_user_id")
        if not phone and not external:
            return _error(400, "bad_request", "Missing required parameters.")
        found = next(
            (
                m
                for m in self.members.values()
                if (phone and m["phone"] == phone) or (not phone and external and m["external_user_id"] == external)
            ),
            None,
        )
        email = body.get("email")
        if email and any(m["email"] == email for m in self.members.values()):
            return _error(409, "conflict", "EMAIL_ALREADY_EXISTS")  # Hang's answer even for the member's own
        if found is None:
            found = {
                "id": f"hang_{uuid.uuid4().hex[:12]}",
                "phone": phone,
                "external_user_id": external,
                "email": email,
                "first_name": body.get("first_name"),
                "last_name": body.get("last_name"),
                "points": 0,
                "lifetime": 0,
                "created_at": int(time.time()),
            }
            self.members[found["id"]] = found
        return _ok(
            {
                "membership": {
                    "id": found["id"],
                    "external_user_id": found["external_user_id"],
                    "created_at": found["created_at"],
                    "social_media_credentials": {},
                    "family_member_birthdays": [],
                }
            }
        )

    def _member_call(self, method: str, rest: list[str], member: dict, body: dict) -> Response:
        if method == "POST" and rest == ["activities", "synchronous"]:
            return self._activity(member, body)
        if method == "GET" and rest == ["level"]:
            return self._level(member)
        if method == "GET" and rest == ["rewards"]:
            return _ok({"rewards": [self._reward_for(member, r) for r in self.rewards]})
        if method == "POST" and rest == ["redemptions"]:
            return self._redeem_start(member, body)
        return _error(404, "not_found", "NOT_FOUND")

    def _activity(self, member: dict, body: dict) -> Response:
        key, activity = body.get("idempotency_key"), body.get("activity") or {}
        if not key or not activity.get("activity_type_id") or activity.get("value") is None:
            return _error(400, "bad_request", "Missing required parameters.")
        if key not in self.activities:  # idempotent: a repeat does nothing more
            points = int((Decimal(str(activity["value"])) * self.rate).to_integral_value(ROUND_FLOOR))
            self.activities[key] = {
                "member": member["id"],
                "value": Decimal(str(activity["value"])),
                "points": points,
                "activity": activity,
            }
            member["points"] += points
            member["lifetime"] += points
        return _ok({"quest_opt_ins": []})

    def _level(self, member: dict) -> Response:
        tier = "Gold" if member["lifetime"] >= 1000 else ("Bronze" if member["lifetime"] else None)
        if self.level_shape == "2023":
            return _ok({"level": {"tier": tier, "balance": member["lifetime"]}})
        return _ok({"tier": tier, "balance": f"{member['lifetime']}.0", "spendable_balance": float(member["points"])})

    def _reward_for(self, member: dict, reward: dict) -> dict:
        mine = [
            r
            for r in self.redemptions.values()
            if r["member"] == member["id"] and r["reward"] == reward["uuid"] and r["state"] == "redeemed"
        ]
        return {**reward, "redemption_count": len(mine), "last_redeemed_at": mine[-1]["at"] if mine else None}

    def _redeem_start(self, member: dict, body: dict) -> Response:
        reward = next((r for r in self.rewards if r["uuid"] == body.get("reward_id")), None)
        if reward is None:
            return _error(404, "not_found", "NFT_LOYALTY_REWARD_NOT_FOUND")
        if member["points"] < int(reward.get("points_price") or 0):
            return _error(422, "unprocessable_entity_error", "INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD")
        redemption = {
            "uuid": uuid.uuid4().hex,
            "member": member["id"],
            "reward": reward["uuid"],
            "price": int(reward.get("points_price") or 0),
            "state": "initiated",
            "at": None,
        }
        self.redemptions[redemption["uuid"]] = redemption
        return _ok(
            {
                "redemption": {
                    "uuid": redemption["uuid"],
                    "code": "ABC456",
                    "promo_code": None,
                    "state": "initiated",
                    "expires_at": int(time.time()) + 86400,
                }
            }
        )

    def _redemption_call(self, redemption_uuid: str, action: str) -> Response:
        redemption = self.redemptions.get(redemption_uuid)
        if redemption is None:
            return _error(404, "not_found", "NOT_FOUND")
        member = self.members[redemption["member"]]
        if action == "redeem" and redemption["state"] == "initiated":
            if member["points"] < redemption["price"]:
                return _error(422, "unprocessable_entity_error", "INSUFFICIENT_POINTS_BALANCE_TO_REDEEM_REWARD")
            member["points"] -= redemption["price"]
            redemption["state"], redemption["at"] = "redeemed", int(time.time())
        elif action == "void" and redemption["state"] != "voided":
            if redemption["state"] == "redeemed":
                member["points"] += redemption["price"]
            redemption["state"] = "voided"
        elif action not in ("redeem", "void"):
            return _error(404, "not_found", "NOT_FOUND")
        return _ok({"redemption": {"uuid": redemption_uuid, "state": redemption["state"]}})


def _ok(body: dict) -> Response:
    return Response(json.dumps(body, default=str), status=200, content_type="application/json")


def _error(status: int, title: str, message: str) -> Response:
    body = {"id": str(uuid.uuid4()), "code": status, "messages": [{"title": title, "message": message}]}
    return Response(json.dumps(body), status=status, content_type="application/json")
