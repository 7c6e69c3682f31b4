"""delivery: may_have_arrived, for a dead letter the peer may have taken all the same

An Offer of our translation whose send timed out (the origin read it, its answer never came) ended
dead-lettered, and when the translation left here its withdrawal did not go: only a sent or waiting
Offer counted. The flag says that a try failed after the peer may have read the activity.

Revision ID: 0026_s14_fedfix_maybe_arrived
Revises: 0025_s13_lead_delivery_ids
Create Date: 2026-12-07 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026_s14_fedfix_maybe_arrived'
down_revision = '0025_s13_lead_delivery_ids'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN: on SQLite a rebuilt table would have to be told to keep AUTOINCREMENT (0025).
    op.add_column('delivery', sa.Column('may_have_arrived', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('delivery', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('may_have_arrived')
