"""Shopify discount codes on redemptions, and the customer metafields still to write for members

Revision ID: c0de5a1e7d13
Revises: e7a3f1c9d5b2
Create Date: 2026-12-02 09:00:00

A redemption of a reward at a merchant with ``shopify.redemption_codes`` gets
a code (unique per merchant), the discount's gid and the code's state. A
member gets the instant a change of its balances or tier is due to be written
to its Shopify customer's metafields, and the values last written.
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = 'c0de5a1e7d13'
down_revision = 'e7a3f1c9d5b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('discount_gid', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('code_state', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint('uq_redemptions_merchant_id_code', ['merchant_id', 'code'])
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shopify_metafields_due_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('shopify_metafields', sa.JSON(), nullable=True))
        batch_op.create_index('ix_members_shopify_metafields_due_at', ['shopify_metafields_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_shopify_metafields_due_at')
        batch_op.drop_column('shopify_metafields')
        batch_op.drop_column('shopify_metafields_due_at')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_redemptions_merchant_id_code', type_='unique')
        batch_op.drop_column('code_state')
        batch_op.drop_column('discount_gid')
        batch_op.drop_column('code')
