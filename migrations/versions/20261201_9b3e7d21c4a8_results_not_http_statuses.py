"""stored answers keep domain results: drop the HTTP statuses of idempotent requests and Toast transactions

Revision ID: 9b3e7d21c4a8
Revises: 5557c6c1e690
Create Date: 2026-12-01 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '9b3e7d21c4a8'
down_revision = '5557c6c1e690'
branch_labels = None
depends_on = None

_REQUESTS = sa.table('idempotent_requests', sa.column('id'), sa.column('http_status'),
                     sa.column('response', sa.JSON()))


def upgrade() -> None:
    # An answer stored with 201 was a write that created something: the result says so itself now.
    conn = op.get_bind()
    for row_id, response in conn.execute(sa.select(_REQUESTS.c.id, _REQUESTS.c.response)
                                         .where(_REQUESTS.c.http_status == 201)).all():
        conn.execute(_REQUESTS.update().where(_REQUESTS.c.id == row_id)
                     .values(response={**(response or {}), "created": True}))
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.drop_column('http_status')
    # A Toast transaction's HTTP status follows from its transactionStatus (webhooks/toast_loyalty.py).
    with op.batch_alter_table('loyalty_transactions', schema=None) as batch_op:
        batch_op.drop_column('http_status')


def downgrade() -> None:
    with op.batch_alter_table('loyalty_transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('http_status', sa.Integer(), nullable=False, server_default='200'))
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('http_status', sa.Integer(), nullable=False, server_default='200'))
    conn = op.get_bind()
    for row_id, response in conn.execute(sa.select(_REQUESTS.c.id, _REQUESTS.c.response)).all():
        if (response or {}).get("created"):
            conn.execute(_REQUESTS.update().where(_REQUESTS.c.id == row_id).values(http_status=201))
