"""The partner API for an Inveterate merchant: memberships look Shopify customers up in Inveterate, level and points
read their store credit, the ledger's own operations are Inveterate's."""

from __future__ import annotations

import pytest
from inveterate_support import API, CUSTOMER, deliver_shopify, postings

from factories import shopify_order
from models import ProviderMember

V2 = "/partner-api/v2"
KEY = {"X-API-Key": API}
ORDER = 6_400_000_000_001


def get_or_create(client, phone: str = "+14155550134") -> str:
    response = client.post(f"{V2}/program-memberships", json={"phone": phone, "first_name": "Ada"}, headers=KEY)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["membership"]["id"]


def member_online(client, work, inveterate, credit: str | None = "12.00") -> str:
    """A Shopify customer who bought 20.00 online (1.00 of credit, when a member); our member id."""
    if credit is not None:
        inveterate.add_member(CUSTOMER, credit=credit)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="20.00"))
    work()
    inveterate.release()
    return get_or_create(client)


def test_a_get_or_create_of_a_guest_unknown_to_shopify_asks_inveterate_nothing(
    rt, inveterate, inveterate_merchant, client, work
):
    get_or_create(client, "+14155550199")
    work()
    assert postings(rt) == [] and inveterate.calls == []


def test_a_get_or_create_of_a_shopify_customer_who_joined_later_links_them_to_their_inveterate_member(
    rt, inveterate, inveterate_merchant, client, work
):
    member_online(client, work, inveterate, credit=None)  # not a member when they bought: nothing earned
    inveterate.add_member(CUSTOMER)
    get_or_create(client)
    work()
    assert [(p.kind, p.status) for p in postings(rt)] == [("earn", "unsupported"), ("enroll", "sent")]
    with rt.db.reader() as s:
        assert s.query(ProviderMember.remote_id).scalar() == CUSTOMER


def test_a_get_or_create_of_a_shopify_customer_who_is_no_member_says_so_on_the_posting(
    rt, inveterate, inveterate_merchant, client, work
):
    member_online(client, work, inveterate, credit=None)
    get_or_create(client)
    work()
    enroll = postings(rt)[-1]
    assert (enroll.kind, enroll.status) == ("enroll", "unsupported") and "earn no store credit" in enroll.error


def test_level_and_points_read_the_members_store_credit(rt, inveterate, inveterate_merchant, client, work):
    member_id = member_online(client, work, inveterate)
    level = client.get(f"{V2}/program-memberships/{member_id}/level", headers=KEY).get_json()
    assert (level["balance"], level["spendable_balance"], level["tier"]) == (13, 13, None)  # 12.00 + 1.00, as numbers
    inveterate.members[CUSTOMER]["credit"] -= 2  # the member spends 2.00 at the checkout
    rt.cache.delete(f"inveterate:{_merchant_id(rt)}:{member_id}:member")  # past the cache's 30 s
    card = client.get(f"{V2}/program-memberships/{member_id}/points", headers=KEY).get_json()
    assert card["balance"] == {"points": 11, "pending_points": 0} and card["lifetime"]["earned"] == 13


def test_level_shows_fractions_of_credit_as_exact_numbers(rt, inveterate, inveterate_merchant, client, work):
    member_id = member_online(client, work, inveterate, credit="2.35")
    level = client.get(f"{V2}/program-memberships/{member_id}/level", headers=KEY).get_json()
    assert (level["balance"], level["spendable_balance"]) == (3.35, 3.35)


def test_an_inveterate_that_does_not_answer_makes_level_and_points_a_503_with_a_code(
    rt, inveterate, inveterate_merchant, client, work
):
    member_id = member_online(client, work, inveterate)
    rt.cache.delete(f"inveterate:{_merchant_id(rt)}:{member_id}:member")
    inveterate.fail(f"/members/{CUSTOMER}", 503, times=5, method="GET")
    for what in ("level", "points"):
        response = client.get(f"{V2}/program-memberships/{member_id}/{what}", headers=KEY)
        assert (response.status_code, response.get_json()["error"]) == (503, "PROVIDER_UNAVAILABLE")


def _merchant_id(rt) -> int:
    from models import Merchant

    with rt.db.reader() as s:
        return s.query(Merchant.id).filter(Merchant.slug == "inveterate-shop").scalar()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/program-memberships/{id}/transactions", None),
        ("post", "/program-memberships/{id}/points", {"points": 10, "idempotency_key": "k1"}),
        ("post", "/program-memberships/{id}/redemptions", {"reward_id": "x"}),
        ("get", "/program-memberships/{id}/rewards", None),
        ("post", "/transactions/txn_1/cancel", {}),
    ],
)
def test_the_ledgers_own_operations_answer_409_program_managed_by_provider(
    rt, inveterate, inveterate_merchant, client, work, method, path, body
):
    member_id = get_or_create(client)
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(f"{V2}{path.format(id=member_id)}", headers=KEY, **kwargs)
    assert (response.status_code, response.get_json()["error"]) == (409, "PROGRAM_MANAGED_BY_PROVIDER")
    assert response.get_json()["details"] == [{"field": "provider", "problem": "Inveterate"}]
