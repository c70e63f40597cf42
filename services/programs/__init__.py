"""The program engine: where a merchant's points live, behind one small port (design.md, providers.md).

Settlement, the Toast POS endpoint and the partner API call the engine of
the merchant (:func:`engine_for`) and never ask which one it is:

- ``builtin``: Punchcard's own ledger (the default);
- ``hang``: Hang's partner API, reached through provider postings (an
  outbox, ``services/outbox``) for what changes points, and directly, with a
  short per-member cache, for what the POS and partners read;
- ``voucherify``: a Voucherify Loyalty v2 program's member cards, the same way.
- ``inveterate``: Inveterate's Public API 2.0, the same way, in store credit
  (money) for Shopify customers who are its members.
"""

from services.programs.port import (
    Balance,
    OrderTarget,
    ProgramEngine,
    ProgramManagedByProvider,
    engine_for,
)

__all__ = ["Balance", "OrderTarget", "ProgramEngine", "ProgramManagedByProvider", "engine_for"]
