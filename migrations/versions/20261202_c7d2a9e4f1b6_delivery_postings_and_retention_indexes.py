"""deliveries remember the ledger entries they posted; indexes for the daily retention pruning; a merchant's
partner API rate limit

Revision ID: c7d2a9e4f1b6
Revises: c4d1a7e9f2b6
Create Date: 2026-12-02 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c7d2a9e4f1b6'
down_revision = 'c4d1a7e9f2b6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `deliveries show` names what a delivery posted; older deliveries did not record it (NULL).
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posted', sa.JSON(), nullable=True))
        batch_op.create_index('ix_deliveries_received_at', ['received_at'], unique=False)
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.create_index('ix_idempotent_requests_created_at', ['created_at'], unique=False)
    # NULL: the process-wide API_RATE_LIMIT_PER_MINUTE.
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_rate_limit_per_minute', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.drop_column('api_rate_limit_per_minute')
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotent_requests_created_at')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_received_at')
        batch_op.drop_column('posted')
