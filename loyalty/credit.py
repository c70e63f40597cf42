"""Store-credit arithmetic: the money a credit program (Inveterate) gives back on an order's spend."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal


def credit_for_spend(spend: Decimal, rate: Decimal, unit: Decimal) -> Decimal:
    """The credit ``spend`` earns at ``rate`` per 1.00, rounded down to ``unit`` (the currency's minor unit).

    Computed on the order's whole spend, never per difference, so the credits
    posted for an order always add up to what its latest state earns: a
    refund of everything takes back exactly what was given, and no rounding
    ever gives more than the rate.
    """
    if spend <= 0 or rate <= 0:
        return Decimal(0).quantize(unit)
    return (spend * rate).quantize(unit, rounding=ROUND_FLOOR)
