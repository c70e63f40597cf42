"""Toast orders -> one accountable loyalty Order per check."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.toast import orders
from toast_factories import (
    toast_body,
    toast_check,
    toast_customer,
    toast_discount,
    toast_envelope,
    toast_loyalty_transaction,
    toast_modifier,
    toast_order,
    toast_selection,
)

NOW = datetime(2026, 6, 2, tzinfo=UTC)
PAID_GUID = "c0000000-0000-4000-8000-000000000001"
OPEN_GUID = "c0000000-0000-4000-8000-000000000002"


def parse(order: dict, region: str | None = "US") -> list:
    """Through the raw bytes, as a webhook delivery would be read."""
    envelope = orders.loads(toast_body(toast_envelope(order)))
    return orders.parse_order(orders.envelope_order(envelope), region=region, fallback_time=NOW)


def only(order: dict):
    (check,) = parse(order)
    return check


def test_each_check_of_an_order_is_accounted_on_its_own():
    paid = toast_check(PAID_GUID, payment_status="PAID", selections=[toast_selection(price="20.00")])
    open_ = toast_check(OPEN_GUID, payment_status="OPEN", selections=[toast_selection(price="7.25")])

    first, second = parse(toast_order(checks=[paid, open_]))

    assert first.key == f"toast:check:{PAID_GUID}" and first.paid and first.eligible_spend == Decimal("20.00")
    assert second.key == f"toast:check:{OPEN_GUID}" and not second.paid and second.eligible_spend == 0
    assert not first.cancelled and not second.cancelled
    assert [line.price for line in second.lines] == [Decimal("7.25")]


def test_a_closed_check_earns_like_a_paid_one():
    assert only(toast_order(checks=[toast_check(payment_status="CLOSED")])).eligible_spend == Decimal("12.50")


def test_voided_and_gift_card_selections_do_not_earn_but_stay_visible_as_lines():
    food = toast_selection(price="18.00")
    voided = toast_selection(price="9.00", voided=True)
    gift_card = toast_selection(price="50.00", deferred=True, name="Gift Card")
    check = only(toast_order(checks=[toast_check(selections=[food, voided, gift_card])]))

    assert check.eligible_spend == Decimal("18.00")
    assert [(line.voided, line.deferred) for line in check.lines] == [(False, False), (True, False), (False, True)]


@pytest.mark.parametrize("selection_type", ["TOAST_CARD_SELL", "TOAST_CARD_RELOAD", "HOUSE_ACCOUNT_PAY_BALANCE"])
def test_selling_gift_cards_or_paying_a_house_account_never_earns(selection_type):
    settle = toast_selection(price="40.00", selection_type=selection_type)
    check = only(toast_order(checks=[toast_check(selections=[toast_selection(price="5.00"), settle])]))
    assert check.eligible_spend == Decimal("5.00")


def test_modifier_prices_are_inside_the_selection_price_and_never_added_again():
    burger = toast_selection(price="14.00", modifiers=[toast_modifier("1.50"), toast_modifier("0.50", "Cheese")])
    check = only(toast_order(checks=[toast_check(selections=[burger])]))

    assert check.eligible_spend == Decimal("14.00")
    assert len(check.lines) == 1


def test_tax_tips_and_service_charges_are_not_eligible_spend():
    check = only(toast_order(checks=[toast_check(selections=[toast_selection(price="10.00", tax="0.90")])]))
    assert check.eligible_spend == Decimal("10.00")


@pytest.mark.parametrize("flag", ["voided", "deleted"])
def test_a_voided_or_deleted_order_cancels_every_check(flag):
    checks = parse(toast_order(checks=[toast_check(), toast_check(payment_status="CLOSED")], **{flag: True}))
    assert [(c.cancelled, c.paid, c.eligible_spend) for c in checks] == [(True, False, 0), (True, False, 0)]


@pytest.mark.parametrize("flag", ["voided", "deleted"])
def test_a_voided_or_deleted_check_is_cancelled_alone(flag):
    gone, kept = parse(toast_order(checks=[toast_check(**{flag: True}), toast_check()]))
    assert gone.cancelled and not gone.paid and gone.eligible_spend == 0
    assert not kept.cancelled and kept.paid


def test_lines_carry_the_selection_ids_quantity_and_net_price():
    selection = toast_selection(
        "5e1ec7e0-0000-4000-8000-000000000001",
        price="8.40",
        quantity="0.75",
        item_id="400000000000000101",
        group_id="400000000000000010",
    )
    (line,) = only(toast_order(checks=[toast_check(selections=[selection])])).lines

    assert line.key == "5e1ec7e0-0000-4000-8000-000000000001"
    assert line.quantity == Decimal("0.75") and line.price == Decimal("8.40")
    assert (line.item_id, line.group_id) == ("400000000000000101", "400000000000000010")
    assert line.item_guid == selection["item"]["guid"] and line.group_guid == selection["itemGroup"]["guid"]


def test_big_numbers_and_decimal_prices_stay_exact():
    selection = toast_selection(price="12345678901234.57", quantity="3")
    selection["item"]["multiLocationId"] = 2**63 + 7  # a JSON integer above 2**53
    check = only(
        toast_order(
            checks=[toast_check(selections=[selection, toast_selection(price="0.1"), toast_selection(price="0.2")])]
        )
    )

    assert check.eligible_spend == Decimal("12345678901234.87")
    assert check.lines[0].item_id == "9223372036854775815"


def test_a_decimal_multi_location_id_is_refused():
    selection = toast_selection()
    selection["item"]["multiLocationId"] = Decimal("1.5")
    with pytest.raises(orders.PayloadError) as error:
        only(toast_order(checks=[toast_check(selections=[selection])]))
    assert error.value.code == "invalid_payload"


def test_the_customer_on_the_check_identifies_the_guest():
    customer = toast_customer(" Ada@Example.com ", phone="(415) 555-0134", first_name="Ada", last_name="Lovelace")
    identity = only(toast_order(checks=[toast_check(customer=customer)])).identity

    assert identity.email == "ada@example.com" and identity.phone == "+14155550134"
    assert (identity.first_name, identity.last_name) == ("Ada", "Lovelace")
    assert identity.member_id is None


def test_a_phone_country_code_kept_apart_is_honoured_before_the_region():
    customer = toast_customer(phone="20 7946 0958", phone_country_code="44")
    assert only(toast_order(checks=[toast_check(customer=customer)])).identity.phone == "+442079460958"


def test_the_loyalty_identifier_is_our_member_id():
    identity = only(toast_order(checks=[toast_check(loyalty_identifier="mbr_0001")])).identity
    assert identity.member_id == "mbr_0001" and not identity.is_empty


def test_a_check_without_customer_or_loyalty_has_an_empty_identity():
    assert only(toast_order(checks=[toast_check(customer=None)])).identity.is_empty


def test_modification_time_comes_from_the_check_then_the_order_then_the_fallback():
    check_time = toast_check(modified_date="2026-06-01T15:00:00.000+0200")
    order_time = toast_check(modified_date=None)
    first, second = parse(toast_order(checks=[check_time, order_time], modified_date="2026-06-01T13:00:00.000Z"))
    assert first.modified_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert second.modified_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert only(toast_order(checks=[toast_check(modified_date=None)], modified_date=None)).modified_at == NOW


def test_loyalty_references_are_found_on_the_check_and_on_its_selections():
    on_item = toast_selection(discounts=[toast_discount("rdm_item", amount="4.00")])
    voided_item = toast_selection(voided=True, discounts=[toast_discount("rdm_voided_item")])
    check = toast_check(
        selections=[on_item, voided_item],
        discounts=[
            toast_discount("rdm_check", amount="5.00"),
            toast_discount(name="Happy hour"),
            toast_discount("rdm_void", processing_state="VOID"),
            toast_discount("rdm_check"),
        ],
    )

    assert orders.loyalty_references(check) == ["rdm_check", "rdm_item"]


def test_an_order_needs_a_lookup_when_a_customer_has_an_email_but_no_phone_or_names():
    complete = toast_check(customer=toast_customer())
    no_phone = toast_check(customer=toast_customer(phone=None))
    no_name = toast_check(customer=toast_customer(last_name=""))
    no_email = toast_check(customer=toast_customer(email=None, phone=None))

    assert not orders.needs_lookup(toast_order(checks=[complete, no_email, toast_check(customer=None)]))
    assert orders.needs_lookup(toast_order(checks=[complete, no_phone]))
    assert orders.needs_lookup(toast_order(checks=[no_name]))


def test_the_check_of_a_loyalty_transaction_parses_with_the_same_rules():
    check = toast_check(
        selections=[toast_selection(price="9.99"), toast_selection(price="25.00", deferred=True)],
        loyalty_identifier="mbr_0002",
        customer=None,
    )
    check.pop("customer")  # the loyalty API's Check has no customer
    transaction = orders.loads(toast_body(toast_loyalty_transaction(check)))
    loyalty_check = transaction["checkTransactionInformation"]["check"]

    lines = orders.parse_loyalty_check(loyalty_check, "US")
    order = orders.parse_check(loyalty_check, region="US", fallback_time=NOW)

    assert [line.price for line in lines] == [Decimal("9.99"), Decimal("25.00")]
    assert orders.eligible_spend(lines) == order.eligible_spend == Decimal("9.99")
    assert order.identity.member_id == "mbr_0002" and order.key == f"toast:check:{check['guid']}"


@pytest.mark.parametrize("body, reason", [(b"{not json", "invalid_json"), (b"[]", "invalid_payload")])
def test_unreadable_bodies_are_payload_errors(body, reason):
    with pytest.raises(orders.PayloadError) as error:
        orders.loads(body)
    assert error.value.code == reason and isinstance(error.value, ValueError)


@pytest.mark.parametrize("envelope", [{}, {"details": None}, {"details": {"order": []}}])
def test_an_envelope_without_an_order_is_a_payload_error(envelope):
    with pytest.raises(orders.PayloadError):
        orders.envelope_order(envelope)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: o.pop("checks"),
        lambda o: o["checks"][0].pop("guid"),
        lambda o: o["checks"][0]["selections"][0].update(price="twelve"),
        lambda o: o["checks"][0]["selections"][0].update(price=True),
        lambda o: o["checks"][0].update(modifiedDate="yesterday"),
    ],
)
def test_unusable_orders_are_payload_errors(mutate):
    order = toast_order()
    mutate(order)
    with pytest.raises(orders.PayloadError) as error:
        orders.parse_order(order, region="US", fallback_time=NOW)
    assert error.value.code == "invalid_payload"
