"""Shopify customer and privacy topics through the real path, and the member export they promise.

Payloads follow Shopify's documented bodies: ``customers/create|update`` carry
the customer resource; the compliance topics carry ``shop_id``, ``shop_domain``
and (per customer) ``customer: {id, email, phone}`` with ``orders_requested``
or ``orders_to_redact``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from factories import CUSTOMER_ID, encode, shopify_headers, shopify_order
from models import Database, Delivery, LedgerEntry, Member, PrivacyRequest
from services import ledger
from services.errors import NotFound
from services.members.privacy import REDACTED_BODY, export_member
from support import ROOT

SHOP = "demo-cafe.myshopify.com"
SHOP_ID = 954889
ORDER = 5_500_000_000_001
OTHER_CUSTOMER_ID = 7_390_123_456_789_099_999
ADA_PHONE = "+1 (415) 555-0134"


def deliver(client, topic: str, payload, webhook_id: str):
    body = encode(payload)
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, topic, webhook_id))
    assert response.status_code == 200
    return response


def shopify_customer(
    customer_id: int = CUSTOMER_ID,
    *,
    email: str | None = "ada@example.com",
    phone: str | None = ADA_PHONE,
    first_name: str = "Ada",
    last_name: str = "Lovelace",
) -> dict:
    """A ``customers/create|update`` body: the customer resource as Shopify documents it."""
    return {
        "id": customer_id,
        "email": email,
        "created_at": "2026-05-01T09:00:00-04:00",
        "updated_at": "2026-06-01T09:00:00-04:00",
        "first_name": first_name,
        "last_name": last_name,
        "orders_count": 1,
        "state": "enabled",
        "total_spent": "42.50",
        "last_order_id": ORDER,
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": "",
        "last_order_name": "#1001",
        "currency": "USD",
        "phone": phone,
        "addresses": [],
        "tax_exemptions": [],
        "email_marketing_consent": None,
        "sms_marketing_consent": None,
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "default_address": None,
    }


def data_request(customer_id: int = CUSTOMER_ID, orders=(ORDER,)) -> dict:
    """A ``customers/data_request`` body."""
    return {
        "shop_id": SHOP_ID,
        "shop_domain": SHOP,
        "orders_requested": list(orders),
        "customer": {"id": customer_id, "email": "ada@example.com", "phone": "555-625-1199"},
        "data_request": {"id": 9999},
    }


def customer_redact(customer_id: int = CUSTOMER_ID, orders=(ORDER,)) -> dict:
    """A ``customers/redact`` body."""
    return {
        "shop_id": SHOP_ID,
        "shop_domain": SHOP,
        "customer": {"id": customer_id, "email": "ada@example.com", "phone": "555-625-1199"},
        "orders_to_redact": list(orders),
    }


def shop_redact() -> dict:
    """A ``shop/redact`` body."""
    return {"shop_id": SHOP_ID, "shop_domain": SHOP}


def bob_order(order_id: int = 5_500_000_000_002) -> dict:
    return shopify_order(
        order_id,
        subtotal="10.00",
        email="bob@example.com",
        customer={
            "id": OTHER_CUSTOMER_ID,
            "email": "bob@example.com",
            "phone": "+1 415 555 0199",
            "first_name": "Bob",
            "last_name": "Biller",
        },
    )


def members(rt) -> list[Member]:
    with rt.db.reader() as s:
        return s.execute(select(Member).order_by(Member.created_at, Member.id)).scalars().all()


def member_by_id(rt, member_id: str) -> Member:
    with rt.db.reader() as s:
        return s.get(Member, member_id)


def ada(rt) -> Member:
    with rt.db.reader() as s:
        return s.execute(select(Member).where(Member.shopify_customer_id == str(CUSTOMER_ID))).scalar_one()


def ledger_of(rt, member_id: str) -> list[tuple[str, int]]:
    with rt.db.reader() as s:
        return [
            (e.id, e.points)
            for e in s.execute(
                select(LedgerEntry).where(LedgerEntry.member_id == member_id).order_by(LedgerEntry.seq)
            ).scalars()
        ]


def delivery(rt, webhook_id: str) -> Delivery:
    with rt.db.reader() as s:
        return s.execute(select(Delivery).where(Delivery.delivery_id == webhook_id)).scalar_one()


def assert_erased(m: Member) -> None:
    assert m.status == "DELETED"
    assert (m.email, m.email_normalized, m.phone, m.first_name, m.last_name) == (None, None, None, None, None)
    assert (m.wallet_address, m.shopify_customer_id, m.external_user_id, m.birthday) == (None, None, None, None)
    assert m.extra == {}


# customers/create and customers/update


def test_a_customer_update_overwrites_the_linked_members_email_phone_and_names(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(), "w1")
    work()
    update = shopify_customer(
        email="Augusta.King@Example.com", phone="+1 415 555 0188", first_name="Augusta", last_name="King"
    )
    deliver(client, "customers/update", update, "w2")
    work()
    m = ada(rt)
    assert (m.email, m.email_normalized, m.phone) == (
        "augusta.king@example.com",
        "augusta.king@example.com",
        "+14155550188",
    )
    assert (m.first_name, m.last_name) == ("Augusta", "King")
    assert delivery(rt, "w2").status == "processed"


def test_a_customer_update_never_takes_an_email_held_by_another_member(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(), "w1")
    deliver(client, "orders/paid", bob_order(), "w2")
    work()
    deliver(client, "customers/update", shopify_customer(email="bob@example.com", first_name="Augusta"), "w3")
    work()
    m = ada(rt)
    assert (m.email, m.first_name) == ("ada@example.com", "Augusta")
    with rt.db.reader() as s:
        bob = s.execute(select(Member).where(Member.shopify_customer_id == str(OTHER_CUSTOMER_ID))).scalar_one()
    assert bob.email == "bob@example.com"
    assert delivery(rt, "w3").status == "processed"


def test_a_customer_created_in_shopify_without_a_member_is_ignored(rt, demo_merchant, client, work):
    deliver(client, "customers/create", shopify_customer(email="newcomer@example.com"), "w1")
    work()
    d = delivery(rt, "w1")
    assert d.status == "ignored"
    assert members(rt) == []


# customers/data_request and the export it promises


def test_a_data_request_is_recorded_with_ids_and_no_personal_data(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(), "w1")
    work()
    deliver(client, "customers/data_request", data_request(), "w2")
    work()
    with rt.db.reader() as s:
        request = s.execute(select(PrivacyRequest)).scalar_one()
    assert (request.kind, request.customer_id, request.member_id) == ("data_request", str(CUSTOMER_ID), ada(rt).id)
    assert request.payload == {"orders": [str(ORDER)]}
    stored = json.dumps(request.payload)
    assert "@" not in stored and "555" not in stored
    assert delivery(rt, "w2").status == "processed"


def test_the_export_gives_a_members_personal_fields_balances_and_ledger_as_json(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(wallet="0xAbC123"), "w1")
    work()
    exported = export_member(rt, merchant_slug=demo_merchant, customer_id=str(CUSTOMER_ID))
    assert json.loads(json.dumps(exported)) == exported
    assert exported["merchant"] == "demo-cafe"
    m = exported["member"]
    assert (m["id"], m["status"], m["shopify_customer_id"]) == (ada(rt).id, "ACTIVE", str(CUSTOMER_ID))
    assert (m["email"], m["phone"], m["first_name"], m["last_name"], m["wallet_address"]) == (
        "ada@example.com",
        "+14155550134",
        "Ada",
        "Lovelace",
        "0xAbC123",
    )
    assert exported["balances"] == {"points": 425, "pending_points": 0, "held_points": 0, "lifetime_earned": 425}
    [entry] = exported["ledger"]
    assert (entry["type"], entry["points"], entry["reference"]) == ("ACCRUAL", 425, f"shopify:order:{ORDER}")
    assert datetime.fromisoformat(entry["created_at"]) == rt.clock()
    assert export_member(rt, merchant_slug=demo_merchant, member_id=m["id"]) == exported


def test_the_export_of_an_absent_member_or_merchant_is_not_found(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(), "w1")
    work()
    with pytest.raises(NotFound):
        export_member(rt, merchant_slug=demo_merchant, customer_id="1")
    with pytest.raises(NotFound):
        export_member(rt, merchant_slug=demo_merchant, member_id="mem_missing")
    with pytest.raises(NotFound):
        export_member(rt, merchant_slug="no-such-merchant", customer_id=str(CUSTOMER_ID))


# customers/redact


def test_a_customer_redaction_erases_the_members_identity_and_keeps_the_ledger(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(wallet="0xAbC123"), "w1")
    work()
    before = ada(rt)
    entries = ledger_of(rt, before.id)
    assert before.wallet_address and sum(points for _, points in entries) == 425
    deliver(client, "customers/redact", customer_redact(), "w2")
    work()
    after = member_by_id(rt, before.id)
    assert_erased(after)
    assert ledger_of(rt, before.id) == entries
    assert (after.points, after.lifetime_earned) == (425, 425)
    assert export_member(rt, merchant_slug=demo_merchant, member_id=before.id)["member"]["email"] is None
    with pytest.raises(NotFound):
        export_member(rt, merchant_slug=demo_merchant, customer_id=str(CUSTOMER_ID))
    with rt.db.reader() as s:
        request = s.execute(select(PrivacyRequest)).scalar_one()
    assert (request.kind, request.member_id, request.payload) == (
        "customer_redact",
        before.id,
        {"orders": [str(ORDER)]},
    )


def test_a_later_order_from_a_redacted_customer_creates_a_new_member(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(), "w1")
    work()
    erased_id = ada(rt).id
    deliver(client, "customers/redact", customer_redact(), "w2")
    work()
    deliver(client, "orders/paid", shopify_order(5_500_000_000_003, subtotal="10.00"), "w3")
    work()
    fresh = ada(rt)
    assert fresh.id != erased_id
    assert (fresh.status, fresh.email, fresh.points) == ("ACTIVE", "ada@example.com", 100)
    assert_erased(member_by_id(rt, erased_id))
    assert member_by_id(rt, erased_id).points == 425


def test_a_customer_redaction_replaces_the_stored_bodies_that_name_the_customer(rt, demo_merchant, client, work):
    guest_order = 5_500_000_000_004
    deliver(client, "orders/paid", shopify_order(), "w1")
    deliver(client, "orders/paid", bob_order(), "w2")
    deliver(client, "orders/paid", shopify_order(guest_order, customer={}, email="ada@example.com"), "w3")
    deliver(client, "customers/update", shopify_customer(first_name="Augusta"), "w4")
    deliver(client, "customers/data_request", data_request(), "w5")
    work()
    deliver(client, "customers/redact", customer_redact(orders=(ORDER, guest_order)), "w6")
    work()
    for webhook_id in ("w1", "w3", "w4", "w5", "w6"):
        assert delivery(rt, webhook_id).body == REDACTED_BODY, webhook_id
    assert delivery(rt, "w2").body == encode(bob_order())
    assert delivery(rt, "w6").status == "processed"
    with rt.db.reader() as s:
        bodies = s.execute(select(Delivery.body)).scalars().all()
    assert not any(b"ada@example.com" in body for body in bodies)


# shop/redact


def test_a_shop_redaction_erases_every_member_of_the_merchant(rt, demo_merchant, client, work):
    deliver(client, "orders/paid", shopify_order(wallet="0xAbC123"), "w1")
    deliver(client, "orders/paid", bob_order(), "w2")
    work()
    deliver(client, "shop/redact", shop_redact(), "w3")
    work()
    erased = members(rt)
    assert len(erased) == 2
    for m in erased:
        assert_erased(m)
    assert sorted(m.points for m in erased) == [100, 425]
    with rt.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 2
        kinds = s.execute(select(PrivacyRequest.kind)).scalars().all()
    assert kinds == ["shop_redact"]
    assert delivery(rt, "w1").body == delivery(rt, "w2").body == REDACTED_BODY


# flask members export


def test_the_members_export_command_prints_the_members_json(tmp_path):
    url = f"sqlite:///{tmp_path}/punchcard.db"
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)

    def flask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for args in (("db", "upgrade"), ("merchants", "sync", "config/merchants.example.yaml")):
        done = flask(*args)
        assert done.returncode == 0, done.stderr
    member_id = _seed_member(url)

    done = flask("members", "export", "--merchant", "demo-cafe", "--customer-id", str(CUSTOMER_ID))
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)
    assert (exported["member"]["id"], exported["member"]["email"]) == (member_id, "ada@example.com")
    assert exported["balances"]["points"] == 50
    assert [e["points"] for e in exported["ledger"]] == [50]

    missing = flask("members", "export", "--merchant", "demo-cafe", "--member-id", "mem_missing")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr and missing.stdout == ""


def _seed_member(url: str) -> str:
    """A member with one ledger entry, written straight into the command's database."""
    from models import Merchant

    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    db = Database(url)
    try:
        with db.transaction() as s:
            merchant_id = s.execute(select(Merchant.id).where(Merchant.slug == "demo-cafe")).scalar_one()
            m = Member(
                merchant_id=merchant_id,
                shopify_customer_id=str(CUSTOMER_ID),
                email="ada@example.com",
                email_normalized="ada@example.com",
                created_at=now,
                updated_at=now,
            )
            s.add(m)
            s.flush()
            ledger.post(s, m, ledger.Posting(key="seed-1", points=50, type="ACCRUAL", channel="shopify"), now)
            return m.id
    finally:
        db.dispose()
