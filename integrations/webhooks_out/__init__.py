"""Standard Webhooks deliveries to the merchant's own systems: signing, sending, where they may go."""
