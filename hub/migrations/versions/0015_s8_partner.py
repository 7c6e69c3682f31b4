"""partner sync: note.changed_at (when this hub last changed what it shows of a note) and note.reach
(the widest audience it was ever published to), both read back from the event log

Revision ID: 0015_s8_partner
Revises: 0014_s8_submit
Create Date: 2026-12-07 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_s8_partner'
down_revision = '0014_s8_submit'
branch_labels = None
depends_on = None

CHANGES = ('note.published', 'note.updated', 'note.unpublished', 'note.deleted')
note = sa.table('note', sa.column('id', sa.Integer), sa.column('changed_at', sa.DateTime),
                sa.column('updated_at', sa.DateTime), sa.column('published_at', sa.DateTime),
                sa.column('deleted_at', sa.DateTime), sa.column('state', sa.String),
                sa.column('visibility', sa.String), sa.column('reach', sa.String),
                sa.column('translation_of_id', sa.Integer))
event = sa.table('event', sa.column('at', sa.DateTime), sa.column('kind', sa.String),
                 sa.column('subject_type', sa.String), sa.column('subject_id', sa.Integer))
harvest = sa.table('harvest_record', sa.column('note_id', sa.Integer))


def upgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reach', sa.String(length=20), nullable=True))
    _backfill()
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.alter_column('changed_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index(batch_op.f('ix_note_changed_at'), ['changed_at'], unique=False)


def _later(value):
    """Set ``changed_at`` to ``value`` where that is later (NULL values are skipped)."""
    op.get_bind().execute(note.update().where(value.is_not(None), value > note.c.changed_at).values(changed_at=value))


def _backfill():
    """changed_at: the note's last change event (the log keeps every one), else its latest own time."""
    bind = op.get_bind()
    bind.execute(note.update().values(changed_at=note.c.updated_at))
    _later(note.c.published_at)
    _later(note.c.deleted_at)
    last_event = (sa.select(sa.func.max(event.c.at))
                  .where(event.c.subject_type == 'note', event.c.subject_id == note.c.id, event.c.kind.in_(CHANGES))
                  .scalar_subquery())
    _later(last_event)
    translation = sa.alias(note, 'translation')
    last_translation = (sa.select(sa.func.max(translation.c.changed_at))
                        .where(translation.c.translation_of_id == note.c.id).scalar_subquery())
    _later(last_translation)
    # reach: published notes are read by their audience now; a note published once and gone since
    # was read at least as widely as it is set now, and a public one if harvesters had it (OAI-PMH).
    bind.execute(note.update().where(note.c.published_at.is_not(None)).values(reach=note.c.visibility))
    bind.execute(note.update().where(note.c.id.in_(sa.select(harvest.c.note_id))).values(reach='public'))


def downgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_changed_at'))
        batch_op.drop_column('reach')
        batch_op.drop_column('changed_at')
