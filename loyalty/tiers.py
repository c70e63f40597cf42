"""Tiers by lifetime earned points; a member never moves down."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class TierRule:
    """One tier of a program."""

    name: str
    min_lifetime_points: int
    multiplier: Decimal


def tier_for(lifetime_points: int, tiers: list[TierRule], current: str | None = None) -> TierRule | None:
    """The tier reached with ``lifetime_points``, never lower than ``current``."""
    ranked = sorted(tiers, key=lambda t: t.min_lifetime_points)
    reached = [t for t in ranked if t.min_lifetime_points <= lifetime_points]
    best = reached[-1] if reached else None
    held = next((t for t in ranked if t.name == current), None)
    if held and (best is None or held.min_lifetime_points > best.min_lifetime_points):
        return held
    return best


def next_tier(lifetime_points: int, tiers: list[TierRule], current: str | None) -> tuple[TierRule, int] | None:
    """The next tier above the member's and the points still needed, or None at the top."""
    now = tier_for(lifetime_points, tiers, current)
    floor = now.min_lifetime_points if now else -1
    above = sorted((t for t in tiers if t.min_lifetime_points > floor), key=lambda t: t.min_lifetime_points)
    if not above:
        return None
    return above[0], max(0, above[0].min_lifetime_points - lifetime_points)
