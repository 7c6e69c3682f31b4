"""conversation: comment and note ids never reused on SQLite (they name comments and notes on partner hubs);
comments a block took down

Revision ID: 0016_s8_comments
Revises: 0015_s8_partner
Create Date: 2026-12-07 02:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_s8_comments'
down_revision = '0015_s8_partner'
branch_labels = None
depends_on = None

# Their ids are part of ActivityPub ids (/ap/comments/<id>, /ap/notes/<id>) that partner hubs keep:
# without AUTOINCREMENT SQLite gives a new row the highest id + 1, so the comment written after a
# deleted newest one took its id, and a partner hub applied it to the deleted comment's thread.
TABLES = ('comment', 'note')


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for table in TABLES:
            with op.batch_alter_table(table, schema=None, recreate='always',
                                      table_kwargs={'sqlite_autoincrement': True}):
                pass
    with op.batch_alter_table('comment_thread', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_by_block', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('comment_thread', schema=None) as batch_op:
        batch_op.drop_column('hidden_by_block')
    if op.get_bind().dialect.name == 'sqlite':
        for table in TABLES:
            with op.batch_alter_table(table, schema=None, recreate='always',
                                      table_kwargs={'sqlite_autoincrement': False}):
                pass
