"""The points ledger: append-only entries, balances under the member's row lock, lots, shortfalls, views.

- ``posting``: posting an entry once per business key, and the invariants the
  stored balances keep (its module docstring);
- ``holds``: holds, commits, releases, refunds and cancellations;
- ``locks``: the member's row lock;
- ``lots``: what is left of each earning and which lots a debit takes;
- ``owed``: shortfalls owed by a member and their collection;
- ``views``: the points card and the transactions list;
- ``schedule``: the scheduled work (activation, expiry, hold time-outs);
- ``rebuild``: recomputing the stored balances from the entries.

The posting API is re-exported here: ``from services import ledger`` then
``ledger.post(...)``, ``ledger.hold(...)``.
"""

from services.ledger.holds import (
    CANCELLABLE,
    InsufficientPoints,
    cancel,
    commit_hold,
    hold,
    refund_commit,
    release_hold,
)
from services.ledger.locks import lock
from services.ledger.posting import (
    EARNING_TYPES,
    MAX_POINTS,
    PointsOutOfRange,
    Posted,
    Posting,
    activate,
    activate_due,
    counts_as_earning,
    multiplier_for,
    post,
    program_of,
    refresh_tier,
    reverse_earnings,
    tier_rules,
)

__all__ = [
    "CANCELLABLE",
    "EARNING_TYPES",
    "MAX_POINTS",
    "InsufficientPoints",
    "PointsOutOfRange",
    "Posted",
    "Posting",
    "activate",
    "activate_due",
    "cancel",
    "commit_hold",
    "counts_as_earning",
    "hold",
    "lock",
    "multiplier_for",
    "post",
    "program_of",
    "refresh_tier",
    "refund_commit",
    "release_hold",
    "reverse_earnings",
    "tier_rules",
]
