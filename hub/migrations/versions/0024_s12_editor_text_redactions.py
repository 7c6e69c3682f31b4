"""note: how many times a moderator's removal of personal data changed the text its author's editor shows

An editor opened before such a removal still held the removed name or number, and its next save or
autosave wrote it back (into the note's text, or its changes waiting for review). The editor now
carries the count it was opened with, and a save from one opened before a later removal is refused.

Notes redacted before this migration are counted once: a "redact now" left a ``redacted`` message in
the note's review thread, and every removal (publishing with findings removed too) stamped the earlier
revisions it cut, of the note and of its translations. An editor page opened before this migration
sends no count and is taken as one opened before any removal: it is refused for those notes, as it may
hold what was removed, and saves as before for every other note.

Revision ID: 0024_s12_editor_text_redactions
Revises: 0023_s12_privacy_notice_ids
Create Date: 2026-12-07 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_s12_editor_text_redactions'
down_revision = '0023_s12_privacy_notice_ids'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_redactions', sa.Integer(), server_default='0', nullable=False))
    note = sa.table('note', sa.column('id', sa.Integer()), sa.column('text_redactions', sa.Integer()))
    message = sa.table('review_message', sa.column('note_id', sa.Integer()), sa.column('kind', sa.String()))
    revision = sa.table('note_revision', sa.column('note_id', sa.Integer()),
                        sa.column('redacted_at', sa.DateTime()))
    redacted = sa.union(sa.select(message.c.note_id).where(message.c.kind == 'redacted'),
                        sa.select(revision.c.note_id).where(revision.c.redacted_at.is_not(None)))
    op.execute(note.update().where(note.c.id.in_(redacted)).values(text_redactions=1))


def downgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_column('text_redactions')
