"""federation: signature schemes, several keys per peer, the conversation across hubs

Revision ID: 0009_federation
Revises: 0008_mail
Create Date: 2026-12-06 04:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_federation'
down_revision = '0008_mail'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('peer_hub', schema=None) as batch_op:
        # Server defaults fill the rows of hubs already known; the models set the same values.
        batch_op.add_column(sa.Column('other_keys', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('signature_scheme', sa.String(length=20), nullable=False, server_default=''))

    op.create_table('topic_follower',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.Column('peer_id', sa.Integer(), nullable=False),
    sa.Column('follow_activity_id', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['peer_id'], ['peer_hub.id'], name=op.f('fk_topic_follower_peer_id_peer_hub'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['term_id'], ['term.id'], name=op.f('fk_topic_follower_term_id_term'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_follower')),
    sa.UniqueConstraint('term_id', 'peer_id', name=op.f('uq_topic_follower_term_id'))
    )
    with op.batch_alter_table('topic_follower', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_follower_peer_id'), ['peer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_topic_follower_term_id'), ['term_id'], unique=False)

    op.create_table('mark_total',
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['note_id'], ['note.id'], name=op.f('fk_mark_total_note_id_note'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('note_id', 'kind', name=op.f('pk_mark_total'))
    )
    op.create_table('remote_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('peer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('activity_id', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['note_id'], ['note.id'], name=op.f('fk_remote_mark_note_id_note'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['peer_id'], ['peer_hub.id'], name=op.f('fk_remote_mark_peer_id_peer_hub'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_mark')),
    sa.UniqueConstraint('note_id', 'peer_id', 'kind', name=op.f('uq_remote_mark_note_id'))
    )
    with op.batch_alter_table('remote_mark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remote_mark_note_id'), ['note_id'], unique=False)

    op.create_table('comment_thread',
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('peer_id', sa.Integer(), nullable=True),
    sa.Column('origin_host', sa.String(length=300), nullable=False),
    sa.Column('remote_id', sa.String(length=500), nullable=True),
    sa.Column('author_pseudonym', sa.String(length=60), nullable=False),
    sa.Column('remote_updated_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_comment_thread_comment_id_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['comment.id'], name=op.f('fk_comment_thread_parent_id_comment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['peer_id'], ['peer_hub.id'], name=op.f('fk_comment_thread_peer_id_peer_hub'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('comment_id', name=op.f('pk_comment_thread')),
    sa.UniqueConstraint('remote_id', name=op.f('uq_comment_thread_remote_id'))
    )
    with op.batch_alter_table('comment_thread', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_thread_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comment_thread_peer_id'), ['peer_id'], unique=False)

    op.create_table('flag_origin',
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('peer_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['flag_id'], ['flag.id'], name=op.f('fk_flag_origin_flag_id_flag'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['peer_id'], ['peer_hub.id'], name=op.f('fk_flag_origin_peer_id_peer_hub'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('flag_id', name=op.f('pk_flag_origin')),
    sa.UniqueConstraint('activity_id', name=op.f('uq_flag_origin_activity_id'))
    )
    with op.batch_alter_table('flag_origin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_origin_peer_id'), ['peer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('flag_origin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_origin_peer_id'))

    op.drop_table('flag_origin')
    with op.batch_alter_table('comment_thread', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_thread_peer_id'))
        batch_op.drop_index(batch_op.f('ix_comment_thread_parent_id'))

    op.drop_table('comment_thread')
    with op.batch_alter_table('remote_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_mark_note_id'))

    op.drop_table('remote_mark')
    op.drop_table('mark_total')
    with op.batch_alter_table('topic_follower', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_follower_term_id'))
        batch_op.drop_index(batch_op.f('ix_topic_follower_peer_id'))

    op.drop_table('topic_follower')

    with op.batch_alter_table('peer_hub', schema=None) as batch_op:
        batch_op.drop_column('signature_scheme')
        batch_op.drop_column('other_keys')
