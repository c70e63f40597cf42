"""Use cases: one function per use case; each owns its database transaction."""
