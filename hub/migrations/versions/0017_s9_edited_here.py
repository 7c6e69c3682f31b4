"""conversation: a partner member's comment a moderator here changed beyond cuts stays this hub's own

Revision ID: 0017_s9_edited_here
Revises: 0016_s8_comments
Create Date: 2026-12-07 05:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_s9_edited_here'
down_revision = '0016_s8_comments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comment_thread', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_here', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('comment_thread', schema=None) as batch_op:
        batch_op.drop_column('edited_here')
