"""the production path: worker heartbeats, claims on work

Revision ID: 0005_prod
Revises: 0004
Create Date: 2026-12-02 04:30:00

"""
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


def downgrade():
    op.drop_table('work_claim')
    op.drop_table('worker_heartbeat')
