"""Voucherify's Loyalty v2 API (programs, members, cards), as a program engine speaks it."""
