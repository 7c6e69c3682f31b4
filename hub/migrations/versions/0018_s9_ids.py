"""SQLite: comment and note ids continue above every id the hub ever gave out, not just the highest left

0016_s8_comments made the tables AUTOINCREMENT by copying them, and SQLite then counts on from the
highest id still there. Comments deleted before that upgrade (with their note, or their writer's
account) had ids the event log and partner hubs know as /ap/comments/<id>: the next comment took
the newest of them again. The event log keeps every id it named, so the counters start above it.

Revision ID: 0018_s9_ids
Revises: 0017_s9_edited_here
Create Date: 2026-12-07 05:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_s9_ids'
down_revision = '0017_s9_edited_here'
branch_labels = None
depends_on = None

TABLES = ('comment', 'note')


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return  # PostgreSQL's sequences never give an id twice
    for table in TABLES:
        highest = bind.execute(sa.text(
            f"SELECT max(coalesce((SELECT max(id) FROM {table}), 0), "
            "coalesce((SELECT max(subject_id) FROM event WHERE subject_type = :table), 0), "
            "coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = :table), 0))"), {"table": table}).scalar()
        if highest:
            bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :table"), {"table": table})
            bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)"),
                         {"table": table, "seq": highest})


def downgrade():
    pass  # a counter set higher gives no id twice under the older schema either
