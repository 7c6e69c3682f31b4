"""note: the editor's idempotency key (draft_key), unique per author, so that a new note's form or
autosave sent twice makes one note

Revision ID: 0014_s8_submit
Revises: 0013_s7_accounts
Create Date: 2026-12-07 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_s8_submit'
down_revision = '0013_s7_accounts'
branch_labels = None
depends_on = None


def upgrade():
    # Notes written so far have no key (NULL): a unique constraint lets any number of NULLs through.
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_note_author_id'), ['author_id', 'draft_key'])


def downgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_note_author_id'), type_='unique')
        batch_op.drop_column('draft_key')
