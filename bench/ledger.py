"""Ledger postings per second with 8 concurrent writer processes.

Each writer is its own process (as web and worker processes are) with its
own engine, and loops for a fixed time over one transaction per posting:
lock the member (``services.members.lock``), ``services.ledger.post`` an
``ACCRUAL`` of 10 points with a unique key, commit. That is the ledger part
of settling an order: the pending-lot check, the program and tier look-ups,
the entry, the balance update and the lot.

Two cases:
- ``distinct``: each writer posts to its own 25 members in turn (no two
  writers ever wait for the same row lock);
- ``hot``: all eight writers post to the same 2 members (every posting
  queues behind the member's row lock).

PostgreSQL is the production backend and the aim's; SQLite (the default
backend, which serialises every write transaction) is measured too.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from contextlib import nullcontext
from datetime import UTC, datetime

from bench import stack as st

WRITERS = 8
DURATION = 15.0
MEMBERS_PER_WRITER = 25
HOT_MEMBERS = 2
WARM_UP = 20
began_wall = time.time


def _writer(url: str, member_ids: list[str], tag: str, start_at: float, duration: float, out) -> None:
    from models import Database
    from services import ledger, members

    db = Database(url)

    def post(key: str, member_id: str) -> None:
        with db.transaction() as session:
            ledger.post(
                session,
                members.lock(session, member_id),
                ledger.Posting(key=key, points=10, type="ACCRUAL", channel="shopify", reference=key),
                datetime.now(UTC),
            )

    for n in range(WARM_UP):  # connected, statements compiled: what a long-running process is
        post(f"bench:{tag}:warm:{n}", member_ids[n % len(member_ids)])
    timings, n = [], 0
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + duration
    while True:
        began = time.perf_counter()
        if began_wall() >= deadline:
            break
        post(f"bench:{tag}:{n}", member_ids[n % len(member_ids)])
        timings.append(time.perf_counter() - began)
        n += 1
    db.dispose()
    out.put(timings)


def _members(stack: st.Stack, count: int) -> list[str]:
    from sqlalchemy import select

    from models import Member, Merchant

    rt = stack.runtime()
    now = datetime.now(UTC)
    with rt.db.transaction() as session:
        merchant_id = session.execute(select(Merchant.id).where(Merchant.slug == "demo-cafe")).scalar_one()
        rows = [
            Member(
                merchant_id=merchant_id,
                email=f"ledger{i}@example.com",
                email_normalized=f"ledger{i}@example.com",
                created_at=now,
                updated_at=now,
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        ids = [m.id for m in rows]
    rt.db.dispose()
    return ids


def _case(stack: st.Stack, name: str, assignments: list[list[str]], duration: float) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 8.0  # every writer imported and warmed up by then
    procs = [
        ctx.Process(target=_writer, args=(stack.sqlalchemy_url, ids, f"{name}{i}", start_at, duration, out))
        for i, ids in enumerate(assignments)
    ]
    for p in procs:
        p.start()
    timings = [t for _ in procs for t in out.get(timeout=duration + 120)]
    for p in procs:
        p.join()
    timings.sort()
    return {
        "postings": len(timings),
        "per_s": round(len(timings) / duration, 1),
        "p50_ms": round(statistics.median(timings) * 1000, 2),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1] * 1000, 2),
    }


def run(cluster=None, backends: tuple[str, ...] = ("postgresql", "sqlite"), duration: float = DURATION) -> dict:
    """Measure; returns ``{backend: {distinct: ..., hot: ...}}``."""
    result: dict = {"case": "ledger", "writers": WRITERS, "duration_s": duration, "backends": {}}
    for backend in backends:
        with (
            nullcontext(cluster) if backend == "sqlite" or cluster else st.postgres() as pg,
            st.stack(backend, pg if backend != "sqlite" else None) as stack,
        ):
            ids = _members(stack, WRITERS * MEMBERS_PER_WRITER + HOT_MEMBERS)
            distinct = [ids[i * MEMBERS_PER_WRITER : (i + 1) * MEMBERS_PER_WRITER] for i in range(WRITERS)]
            hot = [ids[-HOT_MEMBERS:]] * WRITERS
            result["backends"][backend] = {
                "distinct": _case(stack, "d", distinct, duration),
                "hot": _case(stack, "h", hot, duration),
            }
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
