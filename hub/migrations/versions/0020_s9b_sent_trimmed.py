"""federation: deliveries sent before keep only the id and type of a note, comment or translation they carried

Since this revision a delivery keeps only its object's id and type once it is sent (hub.federation.delivery:
record_outcomes), so the table is no copy of text a moderator removed since, and a new Create, Update or
Delete of a note no longer reads the sent ones. The ones sent before are cut down here, once: a pass over
the sent rows, a few hundred at a time. Nothing reads more of a sent row than its type, addressing and
object's id (the Undo of a Like or of a topic's Announce). The text cannot come back: downgrade leaves it.

Revision ID: 0020_s9b_sent_trimmed
Revises: 0019_s9b_cut_while_held
Create Date: 2026-12-07 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_s9b_sent_trimmed'
down_revision = '0019_s9b_cut_while_held'
branch_labels = None
depends_on = None

# As hub.federation.activities.CONTENT_TYPES and object_named_only, frozen at this revision.
CONTENT_TYPES = ('Create', 'Update', 'Announce', 'Offer')
BATCH = 500

delivery = sa.table('delivery', sa.column('id', sa.Integer), sa.column('state', sa.String),
                    sa.column('activity', sa.JSON))


def _named_only(activity):
    if not isinstance(activity, dict):
        return None
    obj = activity.get('object')
    if activity.get('type') not in CONTENT_TYPES or not isinstance(obj, dict) or not set(obj) - {'id', 'type'}:
        return None
    return {**activity, 'object': {'id': obj.get('id'), 'type': obj.get('type')}}


def upgrade():
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(sa.select(delivery.c.id, delivery.c.activity).where(
            delivery.c.state == 'sent', delivery.c.id > after).order_by(delivery.c.id).limit(BATCH)).all()
        if not rows:
            return
        cut = [{'row': row_id, 'kept': kept} for row_id, kept in ((r, _named_only(a)) for r, a in rows)
               if kept is not None]
        if cut:
            bind.execute(delivery.update().where(delivery.c.id == sa.bindparam('row'))
                         .values(activity=sa.bindparam('kept', type_=sa.JSON)), cut)
        after = rows[-1][0]


def downgrade():
    pass  # the text is gone for good
