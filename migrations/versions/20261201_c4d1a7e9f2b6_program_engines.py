"""program engines: the merchant's loyalty block, provider memberships and postings, what an order sent

Revision ID: c4d1a7e9f2b6
Revises: 9b3e7d21c4a8
Create Date: 2026-12-01 23:00:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = 'c4d1a7e9f2b6'
down_revision = '9b3e7d21c4a8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('loyalty', sa.JSON(), nullable=True))
    with op.batch_alter_table('order_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remote_sent', models.base.Money(length=40), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('remote_unreversed', models.base.Money(length=40), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_ref', sa.String(length=128), nullable=True))
    op.create_table('provider_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('remote_id', sa.String(length=128), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_provider_members_member_id_members')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_provider_members_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_members')),
    sa.UniqueConstraint('member_id', name=op.f('uq_provider_members_member_id'))
    )
    op.create_table('provider_postings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', models.base.Money(length=40), nullable=True),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_provider_postings_member_id_members')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_provider_postings_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_postings')),
    sa.UniqueConstraint('merchant_id', 'key', name=op.f('uq_provider_postings_merchant_id_key'))
    )
    with op.batch_alter_table('provider_postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_postings_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_provider_postings_status_next_attempt_at', ['status', 'next_attempt_at'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('provider_postings')
    op.drop_table('provider_members')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_column('provider_ref')
    with op.batch_alter_table('order_accounts', schema=None) as batch_op:
        batch_op.drop_column('remote_unreversed')
        batch_op.drop_column('remote_sent')
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.drop_column('loyalty')
