"""shopify."""
