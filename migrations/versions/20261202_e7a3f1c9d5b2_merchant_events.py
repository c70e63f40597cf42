"""merchant events: webhooks_out endpoints, events written with their change, deliveries per endpoint

Revision ID: e7a3f1c9d5b2
Revises: c7d2a9e4f1b6
Create Date: 2026-12-02 00:30:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = 'e7a3f1c9d5b2'
down_revision = 'c7d2a9e4f1b6'
branch_labels = None
depends_on = None
_SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhooks_out', sa.JSON(), server_default='[]', nullable=False))
    op.create_table('event_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('failing_since', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_event_endpoints_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_endpoints')),
    sa.UniqueConstraint('merchant_id', 'url', name=op.f('uq_event_endpoints_merchant_id_url'))
    )
    op.create_table('events',
    sa.Column('id', _SEQ, autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=True),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('occurred_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_events_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('public_id', name=op.f('uq_events_public_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_member_id'), ['member_id'], unique=False)
    op.create_table('event_deliveries',
    sa.Column('id', _SEQ, autoincrement=True, nullable=False),
    sa.Column('event_id', _SEQ, nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['event_endpoints.id'], name=op.f('fk_event_deliveries_endpoint_id_event_endpoints')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_deliveries_event_id_events')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_event_deliveries_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_deliveries')),
    sa.UniqueConstraint('event_id', 'endpoint_id', name=op.f('uq_event_deliveries_event_id_endpoint_id'))
    )
    with op.batch_alter_table('event_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_deliveries_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_deliveries_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_event_deliveries_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_table('event_deliveries')
    op.drop_table('events')
    op.drop_table('event_endpoints')
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.drop_column('webhooks_out')
