"""delivery, attachment: ids never reused on SQLite

The sender records each send's outcome by the delivery's id when the send ends. A newer version of
a comment or note drops the older one still queued, also while it is on the wire; without
AUTOINCREMENT SQLite gave the newer row the dropped one's id, and the older send's outcome marked the
newer delivery sent: it never went. An attachment's id is in its address, which the note's text
and partners' copies hold: a removed one's was given to the next attachment. (PostgreSQL's
sequences never give an id twice.)

Revision ID: 0025_s13_lead_delivery_ids
Revises: 0024_s12_editor_text_redactions
Create Date: 2026-12-07 18:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0025_s13_lead_delivery_ids'
down_revision = '0024_s12_editor_text_redactions'
branch_labels = None
depends_on = None


TABLES = ('delivery', 'attachment')


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for table in TABLES:
            with op.batch_alter_table(table, schema=None, recreate='always',
                                      table_kwargs={'sqlite_autoincrement': autoincrement}):
                pass


def upgrade():
    _recreate(True)


def downgrade():
    _recreate(False)
