"""order pricing fixed at first accrual, POS reversals, refunds with tax, owed points

Revision ID: 5e1f0a9c2b71
Revises: 4c1f9e7a2b3d
Create Date: 2026-12-01 20:30:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '5e1f0a9c2b71'
down_revision = '4c1f9e7a2b3d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owed_points', sa.BigInteger(), server_default='0', nullable=False))

    with op.batch_alter_table('order_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate', models.base.Money(length=40), nullable=True))
        batch_op.add_column(sa.Column('rounding', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('spend_basis', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('taxes_included', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('reversed_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_order_accounts_member_id'), ['member_id'], unique=False)
    _fix_pricing_of_orders_that_earned()


def _fix_pricing_of_orders_that_earned() -> None:
    # Nothing recorded what the pricing was when these orders first earned: the program as it
    # stands at this upgrade is the best knowledge, and fixing it now keeps a later config
    # change from re-pricing them.
    conn = op.get_bind()
    merchants = sa.table('merchants', sa.column('id'), sa.column('program', sa.JSON()), sa.column('shopify', sa.JSON()))
    accounts = sa.table('order_accounts', sa.column('merchant_id'), sa.column('earned'), sa.column('rate'),
                        sa.column('rounding'), sa.column('spend_basis'))
    for merchant_id, program, shopify in conn.execute(sa.select(merchants.c.id, merchants.c.program,
                                                                merchants.c.shopify)).all():
        program, shopify = program or {}, shopify or {}
        if program.get('points_per_currency_unit') is None:
            continue
        conn.execute(accounts.update().where(accounts.c.merchant_id == merchant_id, accounts.c.earned > 0,
                                             accounts.c.rate.is_(None)).values(
            rate=str(program['points_per_currency_unit']), rounding=program.get('rounding') or 'floor',
            spend_basis=shopify.get('eligible_spend') or 'subtotal'))


def downgrade() -> None:
    with op.batch_alter_table('order_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_accounts_member_id'))
        batch_op.drop_column('reversed_at')
        batch_op.drop_column('taxes_included')
        batch_op.drop_column('spend_basis')
        batch_op.drop_column('rounding')
        batch_op.drop_column('rate')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('owed_points')
