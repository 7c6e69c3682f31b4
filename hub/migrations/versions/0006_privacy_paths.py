"""privacy paths: held comments, pending revisions and attachments of published notes, redacted revisions, member choices

Revision ID: 0006_privacy_paths
Revises: 0005_api
Create Date: 2026-12-06 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_privacy_paths'
down_revision = '0005_api'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=600), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('province', sa.String(length=100), nullable=False),
    sa.Column('visibility', sa.String(length=20), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('term_ids', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['editor_id'], ['user.id'], name=op.f('fk_pending_revision_editor_id_user')),
    sa.ForeignKeyConstraint(['note_id'], ['note.id'], name=op.f('fk_pending_revision_note_id_note'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_revision')),
    sa.UniqueConstraint('note_id', name=op.f('uq_pending_revision_note_id'))
    )
    with op.batch_alter_table('pending_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_revision_submitted_at'), ['submitted_at'], unique=False)

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=20), nullable=False, server_default='published'))
        batch_op.create_index(batch_op.f('ix_comment_state'), ['state'], unique=False)

    with op.batch_alter_table('note_revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending', sa.Boolean(), nullable=False, server_default=sa.false()))

    # Both off for everyone, old accounts included: showing activity and skipping review are opt-in.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_activity', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('edits_skip_review', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('edits_skip_review')
        batch_op.drop_column('show_activity')

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_column('pending')

    with op.batch_alter_table('note_revision', schema=None) as batch_op:
        batch_op.drop_column('redacted_at')

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_state'))
        batch_op.drop_column('state')

    with op.batch_alter_table('pending_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_revision_submitted_at'))

    op.drop_table('pending_revision')
