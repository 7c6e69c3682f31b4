"""inbox_item: tries and the time of the next one, for notes sent by reference whose origin is away

Revision ID: 0011_inbox_retry
Revises: 0010_note_body_text
Create Date: 2026-12-06 20:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_inbox_retry'
down_revision = '0010_note_body_text'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        # The server default fills the items stored so far; the model sets the same value.
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
