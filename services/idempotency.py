"""Idempotency keys for partner API writes: the same key and body replay the first answer.

A write and the record of its answer commit in one transaction, and the key
is unique per merchant in the database, so two concurrent retries cannot both
perform the write.
"""
from __future__ import annotations

import hashlib
import json
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import IdempotentRequest
from services.errors import Conflict
from services.runtime import Runtime

Answer = tuple[int, dict]


def fingerprint(body: dict) -> str:
    """A digest of a request body that ignores key order."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def run_once(rt: Runtime, merchant_id: int, key: str | None, body: dict,
             write: Callable[[Session], Answer]) -> Answer:
    """Run ``write`` in a transaction, or replay the answer a previous call with ``key`` got.

    Without a key the write simply runs. With one: the same body replays the
    stored answer (200 instead of 201: nothing new was created); a different
    body is refused with 409 ``IDEMPOTENCY_KEY_REUSED``.
    """
    if not key:
        with rt.db.transaction() as session:
            return write(session)
    digest = fingerprint(body)
    try:
        with rt.db.transaction() as session:
            previous = _find(session, merchant_id, key)
            if previous is not None:
                return _replay(previous, digest)
            status, answer = write(session)
            with session.begin_nested():
                session.add(IdempotentRequest(merchant_id=merchant_id, key=key[:255], request_hash=digest,
                                              http_status=status, response=answer, created_at=rt.clock()))
                session.flush()
            return status, answer
    except IntegrityError:
        with rt.db.reader() as session:
            previous = _find(session, merchant_id, key)
        if previous is None:
            raise
        return _replay(previous, digest)


def _find(session: Session, merchant_id: int, key: str) -> IdempotentRequest | None:
    return session.execute(select(IdempotentRequest).where(
        IdempotentRequest.merchant_id == merchant_id, IdempotentRequest.key == key[:255])).scalar_one_or_none()


def _replay(previous: IdempotentRequest, digest: str) -> Answer:
    if previous.request_hash != digest:
        raise Conflict("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used with a different request.")
    return (200 if previous.http_status == 201 else previous.http_status), previous.response
