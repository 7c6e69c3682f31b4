"""the production path: worker heartbeats, claims on work, the database identity

Revision ID: 0005_prod
Revises: 0004
Create Date: 2026-12-02 04:30:00

"""
import datetime
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_prod'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_heartbeat',
    sa.Column('node', sa.String(length=300), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('beat_at', sa.DateTime(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.Column('lag', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('node', name=op.f('pk_worker_heartbeat'))
    )
    op.create_table('work_claim',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=300), nullable=False),
    sa.Column('expires', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_work_claim'))
    )
    hub_meta = op.create_table('hub_meta',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.String(length=300), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_hub_meta'))
    )
    # This database's identity (hub/instance_identity.py), made once here.
    op.bulk_insert(hub_meta, [{'key': 'identity', 'value': secrets.token_hex(16),
                               'updated_at': datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)}])


def downgrade():
    op.drop_table('hub_meta')
    op.drop_table('work_claim')
    op.drop_table('worker_heartbeat')
