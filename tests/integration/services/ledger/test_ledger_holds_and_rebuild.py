"""Holds with a time to live, cancellations, the card and transactions views, and rebuilding balances from entries."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from ledger_support import (
    act,
    assert_consistent,
    balances,
    configure,
    entries,
    entry,
    fresh,
    grant,
    lot_remaining,
    member,
    new_member,
    post,
    refund,
    settle,
)
from models import Database, Member, Merchant, Redemption
from services import ledger
from services.errors import BadRequest
from services.ledger import rebuild as ledger_rebuild
from services.ledger import schedule as ledger_jobs
from services.ledger import views as ledger_views
from support import EXAMPLE_CONFIG, ROOT, TEST_ENV


def hold(rt, member_id, points, *, ttl: timedelta | None = None, key=None, channel="partner_api"):
    expires = rt.clock() + ttl if ttl else None
    return act(
        rt,
        member_id,
        lambda s, m, now: ledger.hold(
            s,
            m,
            key=key or f"hold-{os.urandom(4).hex()}",
            points=points,
            channel=channel,
            reference=None,
            now=now,
            expires_at=expires,
        ),
    )


def cancel(rt, member_id, target, key):
    return act(
        rt, member_id, lambda s, m, now: ledger.cancel(s, m, fresh(s, target), key=key, channel="admin", now=now)
    )


def redemption_on(rt, member_id, hold_entry) -> str:
    with rt.db.transaction() as s:
        row = Redemption(
            merchant_id=s.get(Member, member_id).merchant_id,
            member_id=member_id,
            reward_uuid="7d0f6a2e-2b8e-4c55-9b7e-0a3c6f1d2e11",
            points=-hold_entry.points,
            hold_entry_id=hold_entry.id,
            channel=hold_entry.channel,
            source_key=f"r:{hold_entry.id}",
            created_at=rt.clock(),
            expires_at=hold_entry.expires_at,
        )
        s.add(row)
        s.flush()
        return row.id


def redemption_state(rt, redemption_id) -> str:
    with rt.db.reader() as s:
        return s.execute(select(Redemption.state).where(Redemption.id == redemption_id)).scalar_one()


# --- holds with a time to live -----------------------------------------------------------------


def test_a_hold_past_its_time_to_live_is_rolled_back_and_its_redemption_voided(rt, demo_merchant, clock):
    mid = new_member(rt)
    grant(rt, mid, 500)
    held = hold(rt, mid, 300, ttl=timedelta(seconds=900))
    redemption = redemption_on(rt, mid, held)
    assert balances(rt, mid) == (200, 0, 300)

    clock.now += timedelta(seconds=899)
    assert ledger_jobs.expire_holds(rt) == 0
    clock.now += timedelta(seconds=2)
    assert ledger_jobs.expire_holds(rt) == 1
    assert ledger_jobs.expire_holds(rt) == 0
    assert entry(rt, held.id).status == "ROLLED_BACK"
    back = entries(rt, mid)[-1]
    assert (back.type, back.points, back.reverses_id, back.channel) == ("REVERSAL", 300, held.id, "partner_api")
    assert balances(rt, mid) == (500, 0, 0)
    assert redemption_state(rt, redemption) == "voided"
    assert_consistent(rt, mid)


def test_a_hold_without_a_time_to_live_is_never_rolled_back_by_the_job(rt, demo_merchant, clock):
    mid = new_member(rt)
    grant(rt, mid, 500)
    held = hold(rt, mid, 500)
    redemption = redemption_on(rt, mid, held)
    clock.now += timedelta(days=400)
    assert ledger_jobs.expire_holds(rt) == 0
    assert entry(rt, held.id).status == "HELD"
    assert redemption_state(rt, redemption) == "initiated"
    assert balances(rt, mid) == (0, 0, 500)


def test_a_rolled_back_hold_gives_back_the_same_lots_with_their_dates(rt, demo_merchant, clock):
    configure(rt, expiration_days=0)
    mid = new_member(rt)
    soon = grant(rt, mid, 100, expires_at=clock.now + timedelta(days=3))
    late = grant(rt, mid, 100, expires_at=clock.now + timedelta(days=30))
    held = hold(rt, mid, 150, ttl=timedelta(minutes=15))
    assert [lot_remaining(rt, e.id) for e in (soon, late)] == [0, 50]
    clock.now += timedelta(hours=1)
    ledger_jobs.expire_holds(rt)
    assert [lot_remaining(rt, e.id) for e in (soon, late)] == [100, 100]
    assert held.expires_at is not None
    assert_consistent(rt, mid)


# --- cancellations -----------------------------------------------------------------------------


def test_cancelling_a_transaction_twice_is_cancelling_it_once(rt, demo_merchant):
    mid = new_member(rt)
    addition = grant(rt, mid, 100)
    first = cancel(rt, mid, addition, "cancel-1")
    assert (first.type, first.points, first.reverses_id) == ("REVERSAL", -100, addition.id)
    assert cancel(rt, mid, addition, "cancel-2") is None
    assert cancel(rt, mid, addition, "cancel-1") is None
    assert entry(rt, addition.id).status == "CANCELED"
    assert [e.points for e in entries(rt, mid)] == [100, -100]
    assert member(rt, mid).lifetime_earned == 0
    assert_consistent(rt, mid)


def test_cancelling_an_accrual_whose_points_were_spent_takes_back_only_what_is_spendable(rt, demo_merchant):
    mid = new_member(rt)
    accrual = post(rt, mid, 100, "ACCRUAL")
    post(rt, mid, -70, "REDEMPTION")
    back = cancel(rt, mid, accrual, "cancel-accrual")
    assert (back.points, back.shortfall) == (-30, 70)
    assert balances(rt, mid) == (0, 0, 0)
    assert_consistent(rt, mid)


def test_a_held_hold_is_rolled_back_not_canceled_and_a_committed_one_is_refunded_once(rt, demo_merchant):
    mid = new_member(rt)
    grant(rt, mid, 100)
    held = hold(rt, mid, 60)
    assert cancel(rt, mid, held, "c1") is None
    act(rt, mid, lambda s, m, now: ledger.commit_hold(m, fresh(s, held)))
    refunded = cancel(rt, mid, held, "c2")
    assert (refunded.type, refunded.points) == ("REFUND", 60)
    assert (
        act(rt, mid, lambda s, m, now: ledger.refund_commit(s, m, fresh(s, held), key="c3", channel="admin", now=now))
        is None
    )
    assert balances(rt, mid) == (100, 0, 0)
    assert_consistent(rt, mid)


# --- the card and the transactions list --------------------------------------------------------


def test_the_card_sums_each_lifetime_bucket_and_shows_the_next_expiration_and_activation(rt, demo_merchant, clock):
    configure(rt, pending_days=0, expiration_days=365)
    mid = new_member(rt)
    post(rt, mid, 500, "ACCRUAL")
    addition = post(rt, mid, 100)
    post(rt, mid, -30, "REMOVAL")
    cancel(rt, mid, post(rt, mid, -50, "REDEMPTION"), "refund-redemption")
    committed = hold(rt, mid, 40)
    act(rt, mid, lambda s, m, now: ledger.commit_hold(m, fresh(s, committed)))
    released = hold(rt, mid, 20)
    act(
        rt,
        mid,
        lambda s, m, now: ledger.release_hold(s, m, fresh(s, released), key="release", channel="admin", now=now),
    )
    hold(rt, mid, 10)
    cancel(rt, mid, addition, "cancel-addition")
    grant(rt, mid, 25, expires_at=clock.now + timedelta(days=1))
    clock.now += timedelta(days=2)
    ledger_jobs.expire_points(rt)
    configure(rt, pending_days=2)
    post(rt, mid, 80, "ACCRUAL")

    with rt.db.reader() as s:
        view = ledger_views.card(s, s.get(Member, mid), clock.now)
    assert view == {
        "balance": {"points": 420, "pending_points": 80},
        "lifetime": {
            "earned": 580,
            "added": 125,
            "subtracted": 30,
            "expired": 25,
            "spent": 90,
            "refunded": 50,
            "returned": 100,
            "locked": 70,
            "unlocked": 20,
        },
        "pending_points": {"total": 80, "activated": 0, "canceled": 0},
        "next_expiration": {"points": 420, "date": "2027-06-01"},
        "next_activation": {"points": 80, "date": "2026-06-05"},
    }
    assert_consistent(rt, mid)


def page(rt, member_id, **kwargs):
    with rt.db.reader() as s:
        rows, cursor = ledger_views.transactions(s, member_id, **kwargs)
        return [r.business_key for r in rows], cursor


def test_transactions_are_newest_first_and_pages_stay_stable_while_entries_are_added(rt, demo_merchant):
    mid = new_member(rt)
    for n in range(7):
        grant(rt, mid, 10, key=f"k{n}")
    first, cursor = page(rt, mid, limit=3, cursor=None)
    assert first == ["k6", "k5", "k4"]
    grant(rt, mid, 10, key="k7")
    grant(rt, mid, 10, key="k8")
    second, cursor = page(rt, mid, limit=3, cursor=cursor)
    assert second == ["k3", "k2", "k1"]
    last, cursor = page(rt, mid, limit=3, cursor=cursor)
    assert (last, cursor) == (["k0"], None)
    assert page(rt, mid, limit=2, cursor=None)[0] == ["k8", "k7"]


def test_transactions_filter_by_type_and_refuse_a_cursor_they_did_not_issue(rt, demo_merchant):
    mid = new_member(rt)
    grant(rt, mid, 50, key="add")
    post(rt, mid, -20, "REMOVAL", key="remove")
    assert page(rt, mid, type="REMOVAL", limit=10, cursor=None) == (["remove"], None)
    with pytest.raises(BadRequest) as refused:
        page(rt, mid, limit=10, cursor="not-a-cursor")
    assert refused.value.code == "INVALID_CURSOR"


# --- a random life, then a rebuild -------------------------------------------------------------


def random_step(rt, rng: random.Random, mid: str, state: dict) -> None:
    """One random operation: earnings, debits, holds and their ends, cancellations, orders, time and the jobs."""
    choice = rng.randrange(9)
    if choice == 0:
        configure(rt, pending_days=rng.choice([0, 0, 1, 2]), expiration_days=rng.choice([0, 1, 3, 30]))
        post(rt, mid, rng.randint(1, 300), rng.choice(["ACCRUAL", "ADDITION"]))
    elif choice == 1:
        post(rt, mid, -rng.randint(1, 200), rng.choice(["REDEMPTION", "REMOVAL"]))
    elif choice == 2 and member(rt, mid).points > 0:
        ttl = rng.choice([None, timedelta(minutes=30)])
        state["holds"].append(hold(rt, mid, rng.randint(1, member(rt, mid).points), ttl=ttl))
    elif choice == 3 and state["holds"]:
        target = rng.choice(state["holds"])
        end = rng.choice(["commit", "release", "refund"])
        act(
            rt,
            mid,
            lambda s, m, now: {
                "commit": lambda e: ledger.commit_hold(m, e),
                "release": lambda e: ledger.release_hold(s, m, e, key=f"rel-{e.id}", channel="admin", now=now),
                "refund": lambda e: ledger.refund_commit(s, m, e, key=f"ref-{e.id}", channel="admin", now=now),
            }[end](fresh(s, target)),
        )
    elif choice == 4:
        done = entries(rt, mid)
        if done:
            cancel(rt, mid, rng.choice(done), f"cancel-{rng.random()}")
    elif choice == 5:
        order = str(rng.randrange(4))
        state["at"] += timedelta(minutes=1)
        settle(rt, mid, order, f"{rng.randint(1, 60)}.00", at=state["at"], cancelled=rng.random() < 0.2)
    elif choice == 6:
        refund(rt, str(rng.randrange(4)), f"rf-{rng.random()}", f"{rng.randint(1, 20)}.00")
    elif choice == 7:
        rt.clock.now += timedelta(hours=rng.choice([1, 6, 30, 80]))
    else:
        for job in (ledger_jobs.activate_points, ledger_jobs.expire_holds, ledger_jobs.expire_points):
            job(rt)


@pytest.mark.parametrize("seed", [1, 7, 13])
def test_after_a_random_life_of_postings_holds_refunds_and_expiries_the_stored_balances_are_the_rebuilt_ones(
    rt, demo_merchant, clock, seed
):
    rng, mid = random.Random(seed), new_member(rt)
    state = {"holds": [], "at": clock.now}
    for _ in range(60):
        random_step(rt, rng, mid, state)
        assert_consistent(rt, mid)  # spendable never below zero, lots add up, rebuild agrees
    assert ledger_rebuild.rebuild(rt) == []


def test_rebuild_reports_a_drifted_balance_and_fix_corrects_it(rt, demo_merchant):
    mid = new_member(rt)
    post(rt, mid, 300, "ACCRUAL")
    with rt.db.transaction() as s:
        s.execute(update(Member).where(Member.id == mid).values(points=999, held_points=5))
    found = ledger_rebuild.rebuild(rt)
    assert {(d.balance, d.stored, d.rebuilt) for d in found} == {("points", 999, 300), ("held_points", 5, 0)}
    assert balances(rt, mid) == (999, 0, 5)  # a report changes nothing
    assert len(ledger_rebuild.rebuild(rt, fix=True)) == 2
    assert ledger_rebuild.rebuild(rt) == []
    assert balances(rt, mid) == (300, 0, 0)


# --- the command, as an operator runs it ---------------------------------------------------------


def flask(db_file, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MERCHANTS_CONFIG", "DATABASE_URL", "FLASK_APP")}
    env.update(TEST_ENV, DATABASE_URL=f"sqlite:///{db_file}", LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def seed_member(db_file) -> str:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    db = Database(f"sqlite:///{db_file}")
    try:
        with db.transaction() as s:
            merchant_id = s.execute(select(Merchant.id).where(Merchant.slug == "demo-cafe")).scalar_one()
            m = Member(merchant_id=merchant_id, phone="+14155550134", created_at=now, updated_at=now)
            s.add(m)
            s.flush()
            ledger.post(s, m, ledger.Posting(key="seed-1", points=120, type="ACCRUAL", channel="admin"), now)
            ledger.hold(s, m, key="seed-hold", points=20, channel="admin", reference=None, now=now)
            return m.id
    finally:
        db.dispose()


def test_the_rebuild_command_prints_differences_exits_1_and_fixes_them_with_fix(tmp_path):
    db_file = tmp_path / "punchcard.db"
    for args in (("db", "upgrade"), ("merchants", "sync", str(EXAMPLE_CONFIG))):
        done = flask(db_file, *args)
        assert done.returncode == 0, done.stderr
    mid = seed_member(db_file)
    clean = flask(db_file, "ledger", "rebuild")
    assert clean.returncode == 0, clean.stderr
    assert "0 difference(s)" in clean.stdout

    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE members SET points = 7 WHERE id = ?", (mid,))
    drifted = flask(db_file, "ledger", "rebuild")
    assert drifted.returncode == 1
    assert f"{mid} points: stored 7, rebuilt 100" in drifted.stdout
    fixed = flask(db_file, "ledger", "rebuild", "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert flask(db_file, "ledger", "rebuild").returncode == 0
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT points, held_points FROM members WHERE id = ?", (mid,)).fetchone() == (100, 20)
