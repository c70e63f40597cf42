"""Local services for ``make run`` and the test suite: a Redis server and a throwaway PostgreSQL."""
