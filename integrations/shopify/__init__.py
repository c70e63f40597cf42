"""Shopify: webhook signatures, payload parsing and the Admin API client."""
