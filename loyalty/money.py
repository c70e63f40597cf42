"""Currency minor units for rounding money."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 currencies without a minor unit (the rest we serve use two decimals;
# the three-decimal dinars are listed so their amounts are not over-rounded).
_ZERO_DECIMALS = {
    "JPY",
    "KRW",
    "CLP",
    "ISK",
    "VND",
    "XAF",
    "XOF",
    "PYG",
    "UGX",
    "RWF",
    "KMF",
    "GNF",
    "DJF",
    "BIF",
    "VUV",
    "XPF",
}
_THREE_DECIMALS = {"BHD", "JOD", "KWD", "OMR", "TND", "LYD", "IQD"}


def minor_unit(currency: str | None) -> Decimal:
    """The smallest amount of ``currency``: 0.01 for USD, 1 for JPY, 0.001 for KWD."""
    code = (currency or "").upper()
    if code in _ZERO_DECIMALS:
        return Decimal(1)
    if code in _THREE_DECIMALS:
        return Decimal("0.001")
    return Decimal("0.01")
