"""toast poll watermark: toast_restaurants.polled_until, what the reconciliation has covered

Revision ID: 4c1f9e7a2b3d
Revises: 27df8658a86f
Create Date: 2026-11-24 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '4c1f9e7a2b3d'
down_revision = '27df8658a86f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the next poll of each restaurant is a first poll (the last hour), as before.
    with op.batch_alter_table('toast_restaurants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('polled_until', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('toast_restaurants', schema=None) as batch_op:
        batch_op.drop_column('polled_until')
