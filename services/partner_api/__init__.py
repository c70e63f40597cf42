"""partner_api."""
