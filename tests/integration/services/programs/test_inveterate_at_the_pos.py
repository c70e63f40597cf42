"""The Toast POS for an Inveterate merchant: the member's store credit shown, no rewards, REDEEM refused, checks
earning credit."""

from __future__ import annotations

from decimal import Decimal

from inveterate_support import CUSTOMER, check_info, deliver_shopify, pos, postings, the_member

from factories import shopify_order
from services.programs.inveterate import REFUSAL
from services.toast.pos.checks import UNREACHABLE
from toast_factories import toast_check, toast_selection

ORDER = 6_300_000_000_001


def shopify_member(rt, client, work, inveterate, credit: str = "7.50") -> str:
    """A guest who bought online (10.00: 0.50 of credit) and is an Inveterate member; our member id."""
    inveterate.add_member(CUSTOMER, credit=credit)
    deliver_shopify(client, "orders/paid", shopify_order(ORDER, subtotal="10.00"))
    work()
    inveterate.release()
    return the_member(rt).id


def open_check(member_id: str) -> dict:
    return toast_check(selections=[toast_selection(price="9.00")], payment_status="OPEN", loyalty_identifier=member_id)


def test_inquire_shows_the_members_inveterate_credit_and_offers_nothing(
    rt, inveterate, inveterate_merchant, client, work
):
    member_id = shopify_member(rt, client, work, inveterate)
    answer = pos(client, "LOYALTY_INQUIRE", check_info(member_id, open_check(member_id))).get_json()["checkResponse"]
    assert answer["accountInfo"]["pointsBalance"] == "8.00"  # 7.50 + the online order's 0.50
    assert answer["offers"] == [] and "8.00 in store credit" in answer["userMessage"]


def test_inquire_reads_inveterate_once_while_its_answer_is_fresh(rt, inveterate, inveterate_merchant, client, work):
    member_id = shopify_member(rt, client, work, inveterate)
    before = len(inveterate.calls_to(f"/members/{CUSTOMER}", "GET"))
    for _ in range(3):
        pos(client, "LOYALTY_INQUIRE", check_info(member_id, open_check(member_id)))
    assert len(inveterate.calls_to(f"/members/{CUSTOMER}", "GET")) == before + 1


def test_an_inveterate_too_slow_for_the_pos_gives_the_account_without_a_balance_never_an_error(
    rt, inveterate, inveterate_merchant, client, work
):
    member_id = shopify_member(rt, client, work, inveterate)
    inveterate.delay(f"/members/{CUSTOMER}", 3)  # past the POS's 1.5 s budget
    response = pos(client, "LOYALTY_INQUIRE", check_info(member_id, open_check(member_id)))
    inveterate.delay(f"/members/{CUSTOMER}", 0)
    assert response.status_code == 200
    answer = response.get_json()["checkResponse"]
    assert answer["userMessage"] == UNREACHABLE and "pointsBalance" not in answer["accountInfo"]


def test_a_guest_who_is_no_shopify_customer_has_no_credit_and_inveterate_is_not_asked(
    rt, inveterate, inveterate_merchant, client, work
):
    signup = pos(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550199"}}).get_json()
    member_id = signup["signupResponse"]["loyaltyIdentifier"]
    work()
    answer = pos(client, "LOYALTY_INQUIRE", check_info(member_id, open_check(member_id))).get_json()["checkResponse"]
    assert answer["accountInfo"]["pointsBalance"] == "0.00" and inveterate.calls == [] and postings(rt) == []


def test_redeem_is_refused_with_a_message_and_takes_nothing(rt, inveterate, inveterate_merchant, client, work):
    member_id = shopify_member(rt, client, work, inveterate)
    wanted = [{"identifier": "7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11"}, {"identifier": "anything"}]
    answer = pos(client, "LOYALTY_REDEEM", check_info(member_id, open_check(member_id), wanted)).get_json()
    response = answer["checkResponse"]
    assert response["appliedRedemptions"] == []
    assert [r["message"] for r in response["rejectedRedemptions"]] == [REFUSAL, REFUSAL]
    assert response["accountInfo"]["pointsBalance"] == "8.00"
    assert inveterate.credit_of(CUSTOMER) == Decimal("8.00") and len(postings(rt)) == 1


def test_an_accrued_check_earns_credit_and_its_reverse_takes_it_back(rt, inveterate, inveterate_merchant, client, work):
    member_id = shopify_member(rt, client, work, inveterate)
    paid = {**open_check(member_id), "paymentStatus": "CLOSED"}
    pos(client, "LOYALTY_ACCRUE", check_info(member_id, paid), guid="accrue-1")
    work()
    assert inveterate.credit_of(CUSTOMER) == Decimal("8.45")  # 9.00 × 0.05
    reverse = {"reverseTransactionInformation": {"loyaltyIdentifier": member_id, "transactionId": "accrue-1"}}
    assert pos(client, "LOYALTY_REVERSE", reverse).status_code == 200
    work()
    assert inveterate.credit_of(CUSTOMER) == Decimal("8.00")
    assert [(p.kind, p.details.get("credited")) for p in postings(rt)][1:] == [("earn", "0.45"), ("reverse", "-0.45")]


def test_a_transfer_between_inveterate_members_is_refused_at_the_pos(rt, inveterate, inveterate_merchant, client, work):
    first = shopify_member(rt, client, work, inveterate)
    answer = pos(client, "LOYALTY_SIGNUP", {"signupTransactionInformation": {"phone": "4155550199"}}).get_json()
    second = answer["signupResponse"]["loyaltyIdentifier"]
    response = pos(
        client,
        "LOYALTY_TRANSFER",
        {"transferTransactionInformation": {"fromLoyaltyIdentifier": first, "toLoyaltyIdentifier": second}},
    )
    assert (response.status_code, response.get_json()) == (400, {"transactionStatus": "ERROR_INVALID_TRANSFER"})
