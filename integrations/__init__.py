"""Adapters that speak to third parties (Shopify, Toast, loyalty providers)."""
