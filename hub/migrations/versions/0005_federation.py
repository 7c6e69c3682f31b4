"""federation: signature schemes and several keys per peer

Revision ID: 0005_federation
Revises: 0004
Create Date: 2026-12-06 04:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_federation'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('peer_hub', schema=None) as batch_op:
        # Server defaults fill the rows of hubs already known; the models set the same values.
        batch_op.add_column(sa.Column('other_keys', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('signature_scheme', sa.String(length=20), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('peer_hub', schema=None) as batch_op:
        batch_op.drop_column('signature_scheme')
        batch_op.drop_column('other_keys')
