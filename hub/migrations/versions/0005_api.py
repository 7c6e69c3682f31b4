"""partner systems: API and feed tokens, OAI-PMH harvest records, imported notes' source ids

Revision ID: 0005_api
Revises: 0005_privacy
Create Date: 2026-12-06 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_api'
down_revision = '0005_privacy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('peer_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_api_token_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['peer_id'], ['peer_hub.id'], name=op.f('fk_api_token_peer_id_peer_hub'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_api_token_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_peer_id'), ['peer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('harvest_record',
    sa.Column('note_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('datestamp', sa.DateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('sets', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('note_id', name=op.f('pk_harvest_record'))
    )
    with op.batch_alter_table('harvest_record', schema=None) as batch_op:
        batch_op.create_index('ix_harvest_record_datestamp_note', ['datestamp', 'note_id'], unique=False)

    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_id', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_note_source_id'), ['source_id'])


def downgrade():
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_note_source_id'), type_='unique')
        batch_op.drop_column('source_id')

    with op.batch_alter_table('harvest_record', schema=None) as batch_op:
        batch_op.drop_index('ix_harvest_record_datestamp_note')

    op.drop_table('harvest_record')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_token_peer_id'))

    op.drop_table('api_token')
