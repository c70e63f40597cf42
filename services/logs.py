"""What every log line of a unit of work carries: ``request_id``, ``job_id``, ``merchant``, ``delivery_id``.

The edges open a scope per request or job (:func:`scope`); use cases add what
they learn on the way (:func:`annotate`, e.g. the merchant once it is found);
:class:`ContextFilter` puts the fields on every record logged inside, so the
JSON formatter writes them as keys. Only the fields that apply are set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

FIELDS = ("request_id", "job_id", "merchant", "delivery_id")
_context: ContextVar[dict[str, Any] | None] = ContextVar("punchcard_log_context", default=None)


@contextmanager
def scope(**fields: Any) -> Iterator[dict[str, Any]]:
    """A fresh set of fields for one request or job; what was bound before comes back afterwards."""
    token = _context.set({key: value for key, value in fields.items() if value is not None})
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def begin(**fields: Any) -> Token:
    """Open a scope that :func:`end` closes (for a request: before and after hooks, not one ``with``)."""
    return _context.set({key: value for key, value in fields.items() if value is not None})


def end(token: Token) -> None:
    """Close the scope :func:`begin` opened."""
    _context.reset(token)


def annotate(**fields: Any) -> None:
    """Add fields to the current scope (outside one, to the process's context)."""
    given = {key: value for key, value in fields.items() if value is not None}
    current = _context.get()
    if current is None:
        _context.set(given)
    else:
        current.update(given)


def current() -> dict[str, Any]:
    """The fields bound now."""
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Puts the bound fields on each record (as attributes the JSON formatter writes out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate ``record``; never drops one."""
        for key, value in (_context.get() or {}).items():
            if key in FIELDS and not hasattr(record, key):
                setattr(record, key, value)
        return True
