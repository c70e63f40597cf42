"""A receiver over real HTTP and the Events Cafe whose ``webhooks_out`` names it."""

from events_support import events_cafe, receiver  # noqa: F401  (fixtures)
