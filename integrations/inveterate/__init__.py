"""Inveterate's Public API 2.0 (a Shopify membership app), as a program engine speaks it."""
