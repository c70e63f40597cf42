"""Idempotency keys for partner API writes: the same key and body replay the first result.

The key is claimed first: the ``idempotent_requests`` row is inserted at the
start of the write's transaction, before anything else is read or locked, and
its answer is filled in before that transaction commits. The key is unique
per merchant, so a concurrent retry blocks on that insert until the first
call ends: it then replays the first call's answer, or, when the first call
rolled back (an error answer), performs the write itself.

Keys are stored exactly as sent: one longer than the column is refused rather
than truncated, so two keys never share a row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import IdempotentRequest
from models.db import insert_unless_exists
from services.errors import BadRequest, Conflict
from services.partner_api.views import Written
from services.runtime import Runtime

W = TypeVar("W", bound=Written)
MAX_KEY_LENGTH = 255  # idempotent_requests.key
# Business keys of ledger entries and redemptions share one space per merchant. A client's
# idempotency key K becomes "api:K"; every key the partner API derives itself starts with
# "partner_api:", which no "api:" key can equal, so no client key can take one.
CLIENT_PREFIX = "api:"
INTERNAL_PREFIX = "partner_api:"
PRUNE_BATCH = 1000


def client_key(key: str) -> str:
    """The business key of what a client's idempotency key names (an entry, a redemption): ``api:<key>``."""
    return f"{CLIENT_PREFIX}{key}"


def internal_key(*parts: str) -> str:
    """A business key the partner API derives itself, ``partner_api:<part>:…``: out of every client's reach."""
    return INTERNAL_PREFIX + ":".join(parts)


def fingerprint(body: dict) -> str:
    """A digest of a request body that ignores key order."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str) -> None:
    """Refuse (400 ``INVALID_PARAMETERS``) a key longer than the column that stores it."""
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            "Some parameters are not valid.",
            code="INVALID_PARAMETERS",
            details=[{"field": "idempotency_key", "problem": f"at most {MAX_KEY_LENGTH} characters"}],
        )


def run_once(
    rt: Runtime, merchant_id: int, key: str | None, body: dict, result: type[W], write: Callable[[Session], W]
) -> W:
    """Run ``write`` in a transaction, or replay the result a previous call with ``key`` got.

    Without a key the write simply runs. With one: the same body replays the
    stored result, marked ``replayed``; a different body is refused with 409
    ``IDEMPOTENCY_KEY_REUSED``. A call with the key still running makes this
    one wait for its end (see the module docstring).
    """
    if not key:
        with rt.db.transaction() as session:
            return write(session)
    check_key(key)
    digest = fingerprint(body)
    with rt.db.transaction() as session:
        claim = insert_unless_exists(
            session,
            IdempotentRequest,
            dict(merchant_id=merchant_id, key=key, request_hash=digest, response={}, created_at=rt.clock()),
            ("merchant_id", "key"),
        )
        if claim is None:  # a call with this key committed (we waited for it if it was running)
            return _replay(_find(session, merchant_id, key), digest, result)
        written = write(session)
        claim.response = written.stored()
        return written


def _find(session: Session, merchant_id: int, key: str) -> IdempotentRequest:
    return session.execute(
        select(IdempotentRequest).where(IdempotentRequest.merchant_id == merchant_id, IdempotentRequest.key == key)
    ).scalar_one()


def _replay(previous: IdempotentRequest, digest: str, result: type[W]) -> W:
    if previous.request_hash != digest:
        raise Conflict("This idempotency key was used with a different request.", code="IDEMPOTENCY_KEY_REUSED")
    return result.model_validate({**previous.response, "replayed": True})


def prune(rt: Runtime, older_than: timedelta, *, on_batch: Callable[[int], None] | None = None) -> int:
    """Delete stored answers older than ``older_than`` (a retry after that is a new request); returns how many.

    In batches of ``PRUNE_BATCH`` rows per transaction; ``on_batch`` is told each batch's size.
    """
    cutoff, deleted = rt.clock() - older_than, 0
    while True:
        with rt.db.transaction() as session:
            batch = list(
                session.scalars(
                    select(IdempotentRequest.id)
                    .where(IdempotentRequest.created_at < cutoff)
                    .order_by(IdempotentRequest.id)
                    .limit(PRUNE_BATCH)
                )
            )
            if batch:
                session.execute(delete(IdempotentRequest).where(IdempotentRequest.id.in_(batch)))
        if not batch:
            return deleted
        deleted += len(batch)
        if on_batch:
            on_batch(len(batch))


def count_prunable(rt: Runtime, older_than: timedelta) -> int:
    """How many stored answers :func:`prune` would delete now."""
    with rt.db.reader() as session:
        return session.scalar(
            select(func.count())
            .select_from(IdempotentRequest)
            .where(IdempotentRequest.created_at < rt.clock() - older_than)
        )
