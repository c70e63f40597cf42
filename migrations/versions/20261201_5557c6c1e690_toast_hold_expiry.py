"""Toast REDEEM holds expire: existing ones get an expiry, and free redemptions an index for theirs

Revision ID: 5557c6c1e690
Revises: 5e1f0a9c2b71
Create Date: 2026-12-01 20:30:00.000000

Toast holds were taken without ``expires_at`` and so never rolled back by
themselves. Each one still held gets ``created_at`` plus its merchant's
``program.toast_hold_ttl_seconds`` (86400 when unset), as a hold taken today
would; the initiated redemption on it gets the same instant.
"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa
import models.base


revision = '5557c6c1e690'
down_revision = '5e1f0a9c2b71'
branch_labels = None
depends_on = None

DEFAULT_TTL_SECONDS = 86400

_merchants = sa.table("merchants", sa.column("id", sa.Integer), sa.column("program", sa.JSON))
_entries = sa.table("ledger_entries", sa.column("id", sa.String), sa.column("merchant_id", sa.Integer),
                    sa.column("status", sa.String), sa.column("channel", sa.String), sa.column("type", sa.String),
                    sa.column("created_at", models.base.UTCDateTime), sa.column("expires_at", models.base.UTCDateTime))
_redemptions = sa.table("redemptions", sa.column("hold_entry_id", sa.String), sa.column("state", sa.String),
                        sa.column("expires_at", models.base.UTCDateTime))


def upgrade() -> None:
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_state_expires_at', ['state', 'expires_at'], unique=False)
    bind = op.get_bind()
    ttl = {merchant_id: int((program or {}).get("toast_hold_ttl_seconds") or DEFAULT_TTL_SECONDS)
           for merchant_id, program in bind.execute(sa.select(_merchants.c.id, _merchants.c.program))}
    held = bind.execute(sa.select(_entries.c.id, _entries.c.merchant_id, _entries.c.created_at).where(
        _entries.c.status == "HELD", _entries.c.type == "HOLD", _entries.c.channel == "toast_loyalty",
        _entries.c.expires_at.is_(None))).all()
    for entry_id, merchant_id, created_at in held:
        expires_at = created_at + timedelta(seconds=ttl.get(merchant_id, DEFAULT_TTL_SECONDS))
        bind.execute(sa.update(_entries).where(_entries.c.id == entry_id).values(expires_at=expires_at))
        bind.execute(sa.update(_redemptions).where(_redemptions.c.hold_entry_id == entry_id,
                                                   _redemptions.c.state == "initiated",
                                                   _redemptions.c.expires_at.is_(None))
                     .values(expires_at=expires_at))


def downgrade() -> None:
    # The expiry instants given to old holds stay: they are what the holds would carry today.
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_state_expires_at')
