"""a delivery's last problem as a code and parameters, translated where it is shown

Revision ID: 0007_newcomer
Revises: 0006_privacy_paths
Create Date: 2026-12-06 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_newcomer'
down_revision = '0006_privacy_paths'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_problem', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('last_problem')
