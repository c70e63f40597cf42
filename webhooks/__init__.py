"""HTTP receivers for order webhooks: parse, verify through a service, store, answer fast."""
