"""A member's balance and tier as Shopify customer metafields (``metafieldsSet``), for themes and customer accounts."""

from __future__ import annotations

METAFIELDS_SET_MUTATION = """
mutation SetLoyaltyMetafields($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { key namespace value }
    userErrors { field code message }
  }
}
""".strip()


def balance_metafields(
    customer_gid: str, namespace: str, *, points: int, pending_points: int, tier: str | None
) -> list[dict]:
    """The ``MetafieldsSetInput`` list: ``<namespace>.points`` and ``.pending_points`` (``number_integer``), ``.tier``.

    A member without a tier writes no ``tier``: Shopify refuses a blank value.
    """
    fields = [
        _field(customer_gid, namespace, "points", "number_integer", str(int(points))),
        _field(customer_gid, namespace, "pending_points", "number_integer", str(int(pending_points))),
    ]
    if tier:
        fields.append(_field(customer_gid, namespace, "tier", "single_line_text_field", tier))
    return fields


def _field(owner: str, namespace: str, key: str, kind: str, value: str) -> dict:
    return {"ownerId": owner, "namespace": namespace, "key": key, "type": kind, "value": value}
