"""note.body_text: the readable text of body_html on one line, kept with it for search excerpts

Revision ID: 0010_note_body_text
Revises: 0009_federation
Create Date: 2026-12-06 09:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_note_body_text'
down_revision = '0009_federation'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=True))

    # The notes written so far get their text now (a NULL would be read from body_html on every search).
    from hub.text import html_line

    note = sa.table('note', sa.column('id', sa.Integer), sa.column('body_html', sa.Text),
                    sa.column('body_text', sa.Text))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(sa.select(note.c.id, note.c.body_html).where(note.c.id > last)
                                  .order_by(note.c.id).limit(BATCH)).all()
        if not rows:
            break
        connection.execute(note.update().where(note.c.id == sa.bindparam('row_id'))
                           .values(body_text=sa.bindparam('text')),
                           [{'row_id': row.id, 'text': html_line(row.body_html or '')} for row in rows])
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_column('body_text')
