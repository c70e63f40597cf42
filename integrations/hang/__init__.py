"""Hang's partner API, as a program engine speaks it."""
