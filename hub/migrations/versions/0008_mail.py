"""mail: follows, mail settings, the mail outbox

Revision ID: 0008_mail
Revises: 0007_newcomer
Create Date: 2026-12-06 05:39:05.993773

"""
import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_mail'
down_revision = '0007_newcomer'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('follow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('peer_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('query', sa.String(length=500), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('frequency', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['peer_id'], ['peer_hub.id'], name=op.f('fk_follow_peer_id_peer_hub'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_follow_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['term_id'], ['term.id'], name=op.f('fk_follow_term_id_term'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_follow_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_follow_user_id'))
    )
    with op.batch_alter_table('follow', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_frequency'), ['frequency'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_peer_id'), ['peer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_place'), ['place'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_term_id'), ['term_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_user_id'), ['user_id'], unique=False)

    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=True),
    sa.Column('locale', sa.String(length=20), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=True),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_mail_outbox_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_mail_outbox_key'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_outbox_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_outbox_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_outbox_user_id'), ['user_id'], unique=False)

    op.create_table('mail_setting',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('topic_subjects', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_mail_setting_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_mail_setting'))
    )
    # The mail consumer starts at the head of the log: a hub that sets up mail does not mail about its past.
    head = op.get_bind().execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM event")).scalar()
    cursor = sa.table("consumer_cursor", sa.column("name", sa.String), sa.column("position", sa.BigInteger),
                      sa.column("updated_at", sa.DateTime))
    op.bulk_insert(cursor, [{"name": "mail", "position": head,
                             "updated_at": datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)}])


def downgrade():
    op.execute("DELETE FROM consumer_cursor WHERE name = 'mail'")
    op.drop_table('mail_setting')
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_outbox_user_id'))
        batch_op.drop_index(batch_op.f('ix_mail_outbox_state'))
        batch_op.drop_index(batch_op.f('ix_mail_outbox_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_mail_outbox_created_at'))

    op.drop_table('mail_outbox')
    with op.batch_alter_table('follow', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_user_id'))
        batch_op.drop_index(batch_op.f('ix_follow_term_id'))
        batch_op.drop_index(batch_op.f('ix_follow_project_id'))
        batch_op.drop_index(batch_op.f('ix_follow_place'))
        batch_op.drop_index(batch_op.f('ix_follow_peer_id'))
        batch_op.drop_index(batch_op.f('ix_follow_frequency'))

    op.drop_table('follow')
