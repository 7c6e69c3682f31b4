"""conversation: a partner member's comment a moderator cut personal data out of while it was held

Its writer's hub hears of the cut when the comment is released.

Revision ID: 0019_s9b_cut_while_held
Revises: 0018_s9_ids
Create Date: 2026-12-07 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_s9b_cut_while_held'
down_revision = '0018_s9_ids'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comment_thread', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cut_while_held', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('comment_thread', schema=None) as batch_op:
        batch_op.drop_column('cut_while_held')
