"""Fixtures of the command tests: the events receiver and its merchant."""

from events_support import events_cafe, receiver  # noqa: F401  (fixtures)
