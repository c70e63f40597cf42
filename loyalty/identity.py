"""Identity normalization: E.164 phones, comparable emails."""

from __future__ import annotations

import phonenumbers

# Default region for numbers written without a country code, from the merchant's
# currency. A currency shared by many countries (EUR) has no default: such
# numbers must carry their +country code.
_REGION_BY_CURRENCY = {
    "USD": "US",
    "CAD": "CA",
    "GBP": "GB",
    "AUD": "AU",
    "NZD": "NZ",
    "MXN": "MX",
    "JPY": "JP",
    "CHF": "CH",
    "SEK": "SE",
    "NOK": "NO",
    "DKK": "DK",
    "PLN": "PL",
    "BRL": "BR",
    "INR": "IN",
    "SGD": "SG",
    "HKD": "HK",
    "ZAR": "ZA",
    "ILS": "IL",
}


def region_for_currency(currency: str | None) -> str | None:
    """The phone region assumed for a merchant trading in ``currency``."""
    return _REGION_BY_CURRENCY.get((currency or "").upper())


def normalize_phone(raw: str | None, region: str | None) -> str | None:
    """E.164 form of ``raw``, or None when it is empty or not a valid number."""
    if raw is None or not str(raw).strip():
        return None
    try:
        number = phonenumbers.parse(str(raw), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str | None) -> str | None:
    """The comparable form of an email (trimmed, lower-cased), or None when empty."""
    if raw is None:
        return None
    email = str(raw).strip()
    return email.lower() if "@" in email else None
