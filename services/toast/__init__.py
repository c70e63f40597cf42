"""toast."""
