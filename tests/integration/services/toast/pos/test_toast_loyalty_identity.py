"""Which member a Toast ``loyaltyIdentifier`` names: an unknown id is nobody, a merged member's id is its survivor."""

from __future__ import annotations

from sqlalchemy import func, select

from models import Delivery, Member
from toast_factories import toast_check, toast_customer, toast_order, toast_selection
from toast_pos_support import COLD_BREW, balance, call, check_info, cold_brew, deliver, give_points, signup

UNKNOWN = "mem_0000000000000000dead"


def all_members(rt) -> list[Member]:
    with rt.db.reader() as s:
        return s.execute(select(Member).order_by(Member.created_at)).scalars().all()


def delivery_notes(rt) -> list[str | None]:
    with rt.db.reader() as s:
        return s.execute(select(Delivery.error).order_by(Delivery.id)).scalars().all()


def transfer(client, source: str, target: str):
    return call(
        client,
        "LOYALTY_TRANSFER",
        {"transferTransactionInformation": {"fromLoyaltyIdentifier": source, "toLoyaltyIdentifier": target}},
    )


def test_checks_naming_an_unknown_loyalty_id_and_no_customer_earn_for_nobody_and_say_so(
    rt, demo_merchant, client, work
):
    for _ in range(2):
        check = toast_check(selections=[toast_selection(price="10.00")], loyalty_identifier=UNKNOWN)
        assert deliver(client, toast_order(checks=[check])).status_code == 200
    work()
    assert all_members(rt) == []
    notes = delivery_notes(rt)
    assert len(notes) == 2 and all(UNKNOWN in note and "no active member" in note for note in notes)


def test_a_check_naming_an_unknown_loyalty_id_earns_for_its_customer(rt, demo_merchant, client, work):
    check = toast_check(
        selections=[toast_selection(price="10.00")],
        loyalty_identifier=UNKNOWN,
        customer=toast_customer(email="grace@example.com", phone="415-555-0177"),
    )
    deliver(client, toast_order(checks=[check]))
    work()
    [member] = all_members(rt)
    assert (member.email, member.phone, member.points) == ("grace@example.com", "+14155550177", 100)
    assert member.id != UNKNOWN
    [note] = delivery_notes(rt)
    assert UNKNOWN in note and "customer" in note


def test_a_merged_members_id_on_a_check_earns_for_the_surviving_member(rt, demo_merchant, client, work):
    source, target = signup(client), signup(client, phone="4155550199")
    assert transfer(client, source, target).status_code == 200
    check = toast_check(selections=[toast_selection(price="10.00")], loyalty_identifier=source)
    deliver(client, toast_order(checks=[check]))
    work()
    assert balance(rt, target) == (100, 0) and balance(rt, source) == (0, 0)
    with rt.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 2
        assert s.get(Member, source).status == "MERGED"
    assert delivery_notes(rt) == [None]


def test_a_chain_of_merges_resolves_to_the_last_survivor(rt, demo_merchant, client, work):
    first, second, third = signup(client), signup(client, phone="4155550199"), signup(client, phone="4155550188")
    transfer(client, first, second)
    transfer(client, second, third)
    check = toast_check(selections=[toast_selection(price="10.00")], loyalty_identifier=first)
    deliver(client, toast_order(checks=[check]))
    work()
    assert balance(rt, third) == (100, 0)


def test_the_pos_acts_on_the_survivor_when_it_names_a_merged_member(rt, demo_merchant, client, work):
    source, target = signup(client), signup(client, phone="4155550199")
    give_points(rt, source, 600)
    transfer(client, source, target)
    check = toast_check(selections=[cold_brew()], payment_status="OPEN", loyalty_identifier=source)

    inquired = call(client, "LOYALTY_INQUIRE", check_info(source, check)).get_json()["checkResponse"]
    assert inquired["accountInfo"]["identifier"] == target and inquired["accountInfo"]["pointsBalance"] == "600"
    redeemed = call(client, "LOYALTY_REDEEM", check_info(source, check, [{"identifier": COLD_BREW}])).get_json()
    assert len(redeemed["checkResponse"]["appliedRedemptions"]) == 1
    assert balance(rt, target) == (100, 500)
    accrued = call(client, "LOYALTY_ACCRUE", check_info(source, {**check, "paymentStatus": "CLOSED"}))
    assert accrued.get_json() == {"transactionStatus": "ACCEPT"}
    work()
    assert balance(rt, target) == (150, 0) and balance(rt, source) == (0, 0)


def test_a_transfer_repeated_after_the_merge_changes_nothing_and_a_merged_target_means_its_survivor(
    rt, demo_merchant, client
):
    source, target, other = signup(client), signup(client, phone="4155550199"), signup(client, phone="4155550188")
    give_points(rt, source, 700)
    transfer(client, source, target)
    again = transfer(client, source, target)
    assert again.status_code == 200 and again.get_json()["transferResponse"] == {"loyaltyIdentifier": target}
    assert balance(rt, target) == (700, 0)
    into_merged = transfer(client, other, source)
    assert into_merged.get_json()["transferResponse"] == {"loyaltyIdentifier": target}
    with rt.db.reader() as s:
        assert s.get(Member, other).status == "MERGED"


def test_a_pos_transaction_naming_an_unknown_id_is_refused_and_creates_nobody(rt, demo_merchant, client):
    check = toast_check(selections=[cold_brew()], payment_status="OPEN")
    for kind in ("LOYALTY_INQUIRE", "LOYALTY_REDEEM", "LOYALTY_ACCRUE"):
        answer = call(client, kind, check_info(UNKNOWN, check, [{"identifier": COLD_BREW}]))
        assert answer.status_code == 400 and answer.get_json() == {"transactionStatus": "ERROR_ACCOUNT_INVALID"}
    assert all_members(rt) == []
