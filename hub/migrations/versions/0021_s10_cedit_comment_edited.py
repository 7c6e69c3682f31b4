"""discussion: when a comment's writer last edited it (shown as "edited" beside it, on every hub)

Revision ID: 0021_s10_cedit_comment_edited
Revises: 0020_s9b_sent_trimmed
Create Date: 2026-12-07 08:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_s10_cedit_comment_edited'
down_revision = '0020_s9b_sent_trimmed'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('edited_at')
