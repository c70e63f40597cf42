"""The Toast Loyalty Integration: authenticate the POS, replay repeats, route the seven transaction types.

Every answer is a :class:`LoyaltyAnswer`: Toast's ``transactionStatus`` and
the rest of its ``LoyaltyTransactionResponse``; the edge turns it into HTTP.
A transaction's changes and its stored answer commit together, so a
repeated ``Toast-Transaction-GUID`` + ``loyaltyIdentifier`` replays the answer
and changes nothing.
"""

from __future__ import annotations

import hmac
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import LoyaltyTransaction, Merchant
from services.merchants import lookup as merchant_lookup
from services.outbox import postings
from services.runtime import QueueUnavailable, Runtime
from services.toast.pos import accounts, checks, redeem, reversal
from services.toast.pos.calls import (
    ACCEPT,
    GUID_LENGTH,
    READ_ONLY,
    TYPES,
    Context,
    Handler,
    LoyaltyAnswer,
    LoyaltyCall,
    loyalty_identifier,
)
from services.toast.pos.errors import LoyaltyError

log = logging.getLogger(__name__)
HANDLERS: dict[str, Handler] = {
    "LOYALTY_SEARCH": accounts.search,
    "LOYALTY_SIGNUP": accounts.signup,
    "LOYALTY_TRANSFER": accounts.transfer,
    "LOYALTY_INQUIRE": checks.inquire,
    "LOYALTY_REDEEM": redeem.redeem,
    "LOYALTY_ACCRUE": checks.accrue,
    "LOYALTY_REVERSE": reversal.reverse,
}


def handle(rt: Runtime, call: LoyaltyCall) -> LoyaltyAnswer:
    """Answer one Toast loyalty call with Toast's ``transactionStatus`` and the rest of its response.

    INQUIRE and SEARCH only read: they run without a write transaction and
    are not stored (answering a repeat afresh changes nothing either), which
    keeps the POS's most frequent call fast.
    """
    if call.transaction_type in READ_ONLY:
        return _read(rt, call)
    try:
        with rt.db.transaction() as session:
            merchant = _authenticate(session, call)
            replay = _stored(session, merchant.id, call)
            if replay is not None:
                return LoyaltyAnswer.from_response(replay.response)
            answer = _run(Context(rt, session, merchant, call))
            _remember(session, merchant.id, call, answer)
            jobs = postings.follow_ups(session)  # what a provider must hear once this commits
        _after_commit(rt, call, answer, jobs)
        return answer
    except LoyaltyError as exc:
        return LoyaltyAnswer(exc.code)
    except IntegrityError:
        # The same transaction arrived twice at once: the other one's answer is the answer.
        with rt.db.reader() as session:
            merchant = _authenticate(session, call)
            replay = _stored(session, merchant.id, call)
        if replay is None:
            raise
        return LoyaltyAnswer.from_response(replay.response)


def _read(rt: Runtime, call: LoyaltyCall) -> LoyaltyAnswer:
    try:
        with rt.db.reader() as session:
            return _run(Context(rt, session, _authenticate(session, call), call), savepoint=False)
    except LoyaltyError as exc:
        return LoyaltyAnswer(exc.code)


def _authenticate(session: Session, call: LoyaltyCall) -> Merchant:
    merchant = merchant_lookup.by_restaurant_guid(session, call.restaurant_guid) if call.restaurant_guid else None
    if merchant is None:
        raise LoyaltyError(code="ERROR_INVALID_RESTAURANT")
    expected = ((merchant.toast or {}).get("loyalty_api_key") or "").encode()
    given = (call.authorization or "").strip()
    if given[:7].lower() == "bearer ":
        given = given[7:].strip()
    if not expected or not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
        raise LoyaltyError(code="ERROR_INVALID_TOKEN")
    if call.transaction_type not in TYPES:
        raise LoyaltyError(code="ERROR_INVALID_TOAST_TRANSACTION_TYPE")
    if not call.transaction_guid or len(call.transaction_guid) > GUID_LENGTH:
        # Every key and stored answer is cut to this length: a longer GUID could collide with another.
        raise LoyaltyError(code="ERROR_INVALID_INPUT_PROPERTIES")
    return merchant


def _stored(session: Session, merchant_id: int, call: LoyaltyCall) -> LoyaltyTransaction | None:
    return session.execute(
        select(LoyaltyTransaction).where(
            LoyaltyTransaction.merchant_id == merchant_id,
            LoyaltyTransaction.transaction_guid == call.transaction_guid,
            LoyaltyTransaction.loyalty_identifier == loyalty_identifier(call.body),
        )
    ).scalar_one_or_none()


def _run(ctx: Context, savepoint: bool = True) -> LoyaltyAnswer:
    handler = HANDLERS[ctx.call.transaction_type]
    try:
        if not savepoint:
            return LoyaltyAnswer(ACCEPT, handler(ctx))
        with ctx.session.begin_nested():
            return LoyaltyAnswer(ACCEPT, handler(ctx))
    except LoyaltyError as exc:
        # A refusal is an answer too: stored, so a retry gets the same one.
        return LoyaltyAnswer(exc.code)


def _remember(session: Session, merchant_id: int, call: LoyaltyCall, answer: LoyaltyAnswer) -> None:
    info = call.body.get("checkTransactionInformation") or {}
    check_guid = (info.get("check") or {}).get("guid") if isinstance(info, dict) else None
    with session.begin_nested():
        session.add(
            LoyaltyTransaction(
                merchant_id=merchant_id,
                transaction_guid=call.transaction_guid[:64],
                loyalty_identifier=loyalty_identifier(call.body),
                transaction_type=call.transaction_type,
                check_guid=str(check_guid)[:64] if check_guid else None,
                response=answer.response(),
            )
        )
        session.flush()


def _after_commit(rt: Runtime, call: LoyaltyCall, answer: LoyaltyAnswer, jobs: list) -> None:
    if call.transaction_type == "LOYALTY_ACCRUE" and answer.accepted:
        checks.enqueue_accrual(rt, call)
    try:
        for job, args in jobs:
            rt.dispatcher.dispatch(job, *args)
    except QueueUnavailable:
        log.warning("queue unavailable: provider postings wait for the scheduled sender")
