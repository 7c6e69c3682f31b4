"""email_change: a new e-mail address waits for the link mailed to it before it becomes the account's

Typing an address on the account page set it at once, and answered differently when another account
had it: any member could ask whether an address has an account here. The address now waits in this
table, with the hash of a one-time link mailed to it, and is set when the account opens the link.

Revision ID: 0027_s16_email_change
Revises: 0026_s14_fedfix_maybe_arrived
Create Date: 2026-12-08 03:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027_s16_email_change'
down_revision = '0026_s14_fedfix_maybe_arrived'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_email_change_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_change')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_change_token_hash'))
    )
    with op.batch_alter_table('email_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_change_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('email_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_change_user_id'))
    op.drop_table('email_change')
