"""Points arithmetic: earning on spend, proportional refunds, settling an order to its latest state."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

ROUNDINGS = {"floor": ROUND_FLOOR, "round": ROUND_HALF_UP, "ceil": ROUND_CEILING}


def points_for_spend(spend: Decimal, rate: Decimal, rounding: str, multiplier: Decimal = Decimal(1)) -> int:
    """Points earned on ``spend`` at ``rate`` points per currency unit, rounded once per order."""
    if spend <= 0:
        return 0
    exact = spend * rate * multiplier
    return int(exact.to_integral_value(rounding=ROUNDINGS[rounding]))


def refund_reversal(earned: int, eligible_spend: Decimal, refunded: Decimal) -> int:
    """Points to take back for ``refunded`` of ``eligible_spend``, cumulative over all refunds.

    Rounded down so the reversals of an order never exceed what it earned; a
    refund of the whole eligible spend takes back exactly everything.
    """
    if earned <= 0 or refunded <= 0:
        return 0
    if eligible_spend <= 0 or refunded >= eligible_spend:
        return earned
    return min(earned, int((Decimal(earned) * refunded / eligible_spend).to_integral_value(ROUND_FLOOR)))


def refunded_spend(amount: Decimal, tax: Decimal, basis: str | None, taxes_included: bool | None) -> Decimal:
    """What a refund of lines worth ``amount`` (their subtotal) with ``tax`` on them takes off the eligible spend.

    Measured like the spend it reverses (ledger.md): on the ``subtotal`` basis
    without tax, so a tax-inclusive shop's tax comes out; on the ``total``
    basis with tax, so it goes in where prices exclude it. Shipping is never
    in ``amount``.
    """
    if (basis or "subtotal") == "total":
        measured = amount if taxes_included else amount + tax
    else:
        measured = amount - tax if taxes_included else amount
    return max(measured, Decimal(0))


def paid_share(spend: Decimal, paid: Decimal, total: Decimal) -> Decimal:
    """The part of ``spend`` a partly paid order earns on: ``spend × paid / total``, within ``[0, spend]``."""
    if total <= 0 or paid <= 0:
        return Decimal(0)
    return min(spend, max(Decimal(0), spend * min(paid, total) / total))


@dataclass(frozen=True)
class OrderPosition:
    """What an order has earned and what the ledger holds for it."""

    earned: int
    eligible_spend: Decimal
    refunded: Decimal
    cancelled: bool
    held: int
    shortfall: int

    def target(self) -> int:
        """Points the order should hold now: its earning less its refunds; nothing once cancelled."""
        if self.cancelled:
            return 0
        return self.earned - refund_reversal(self.earned, self.eligible_spend, self.refunded)

    def delta(self) -> int:
        """Points to post so the ledger matches the target.

        A shortfall counts as taken back: it is owed by the member and
        collected from the points that come back to it, not chased here.
        """
        return self.target() - (self.held - self.shortfall)
