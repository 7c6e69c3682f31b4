"""note: the time of a partner's note's version by its origin's clock, which orders that hub's Updates

Before, a partner's Update was compared with ``updated_at``, which is capped at our own now and moves with
our moderators' edits (our clock): an older version could overwrite a newer one dated ahead of our clock,
and the origin's newer version could be dropped after a redaction here. Notes already stored start from
their ``updated_at``, the best time known for them.

Revision ID: 0022_s10_fed_remote_version
Revises: 0021_s10_cedit_comment_edited
Create Date: 2026-12-07 08:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_s10_fed_remote_version'
down_revision = '0021_s10_cedit_comment_edited'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remote_updated_at', sa.DateTime(), nullable=True))
    note = sa.table('note', sa.column('remote_updated_at', sa.DateTime()), sa.column('updated_at', sa.DateTime()),
                    sa.column('origin_peer_id', sa.Integer()))
    op.execute(note.update().where(note.c.origin_peer_id.is_not(None)).values(remote_updated_at=note.c.updated_at))


def downgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_column('remote_updated_at')
