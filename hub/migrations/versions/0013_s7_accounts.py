"""accounts: user ids never reused on SQLite; pseudonym skeletons fold Traditional Chinese and spaces;
tokens left behind by deleted accounts removed

Revision ID: 0013_s7_accounts
Revises: 0011_inbox_retry
Create Date: 2026-12-07 23:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_s7_accounts'
down_revision = '0011_inbox_retry'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # Without AUTOINCREMENT SQLite gives a new row the highest id + 1, so the next account
        # after a deleted newest one got its id (and whatever still pointed at it).
        with op.batch_alter_table('user', schema=None, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}) as batch_op:
            pass
    _drop_tokens_of_gone_accounts()
    _recompute_skeletons()


def _drop_tokens_of_gone_accounts():
    """Delete personal and feed tokens whose account is gone, or older than the account that now has the id."""
    bind = op.get_bind()
    token = sa.table('api_token', sa.column('user_id', sa.Integer), sa.column('created_at', sa.DateTime))
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('created_at', sa.DateTime))
    owner_since = sa.select(user.c.created_at).where(user.c.id == token.c.user_id).scalar_subquery()
    bind.execute(token.delete().where(token.c.user_id.is_not(None), sa.or_(
        owner_since.is_(None), token.c.created_at < owner_since)))


def _recompute_skeletons():
    """Give every pseudonym the skeleton the running code computes; of look-alikes, the oldest account keeps it."""
    from hub.text_safety import skeleton

    user = sa.table('user', sa.column('id', sa.Integer), sa.column('pseudonym', sa.String),
                    sa.column('pseudonym_skeleton', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(user.c.id, user.c.pseudonym).order_by(user.c.id)).all()
    bind.execute(user.update().values(pseudonym_skeleton=None))
    taken = set()
    for user_id, pseudonym in rows:
        key = skeleton(pseudonym)
        if key not in taken:
            taken.add(key)
            bind.execute(user.update().where(user.c.id == user_id).values(pseudonym_skeleton=key))


def downgrade():
    # The tokens removed and the skeletons' old form are not brought back: both were wrong.
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('user', schema=None, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': False}) as batch_op:
            pass
