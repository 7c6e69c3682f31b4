"""privacy: pseudonym skeletons

Revision ID: 0005_privacy
Revises: 0005_prod
Create Date: 2026-12-06 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_privacy'
down_revision = '0005_prod'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pseudonym_skeleton', sa.String(length=240), nullable=True))
    _backfill_skeletons()
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_user_pseudonym_skeleton'), ['pseudonym_skeleton'])


def _backfill_skeletons():
    """Give every existing pseudonym its skeleton; of old look-alikes, the oldest account keeps it."""
    # The running code's function on purpose: it is the one that checks new pseudonyms.
    from hub.text_safety import skeleton

    user = sa.table('user', sa.column('id', sa.Integer), sa.column('pseudonym', sa.String),
                    sa.column('pseudonym_skeleton', sa.String))
    bind = op.get_bind()
    taken = set()
    for user_id, pseudonym in bind.execute(sa.select(user.c.id, user.c.pseudonym).order_by(user.c.id)).all():
        key = skeleton(pseudonym)
        if key not in taken:
            taken.add(key)
            bind.execute(user.update().where(user.c.id == user_id).values(pseudonym_skeleton=key))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_pseudonym_skeleton'), type_='unique')
        batch_op.drop_column('pseudonym_skeleton')
