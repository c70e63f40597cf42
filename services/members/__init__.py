"""Members: finding and creating them from what an order or a customer says, merging, the member page,
magic links, and privacy requests.

- ``lookup``: find, create, lock and fill in a member from an identity (re-exported here);
- ``merge``: moving one membership into another;
- ``page`` and ``magic_links``: the member page a signed link opens;
- ``privacy``: data requests, redaction, export.
"""

from services.members.lookup import (
    VISIBLE,
    fill_identity,
    find_member,
    lock,
    lock_survivor,
    member_by_id,
    needs_shopify_tag,
    resolve_member,
)

__all__ = [
    "VISIBLE",
    "fill_identity",
    "find_member",
    "lock",
    "lock_survivor",
    "member_by_id",
    "needs_shopify_tag",
    "resolve_member",
]
