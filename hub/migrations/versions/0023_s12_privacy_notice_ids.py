"""notification: "New comment" notifications made before they named their comment name it, where certain

Since session 11 a "New comment" notification keeps its comment's id (``{"comment": id}``) and leads to
the comment; older ones lead to the top of the note. Such a notification was made in the request that
published the comment, moments after the comment row: an older notification is given the id of the
one comment by someone else on its note written in the few seconds before it, and of no other. Where
no comment or two fit (a comment held, then released later; two at once; the comment since deleted),
the notification stays as it was: a wrong comment would be worse than the note's top.

Revision ID: 0023_s12_privacy_notice_ids
Revises: 0022_s10_fed_remote_version
Create Date: 2026-12-07 14:40:00

"""
import datetime as dt
from collections import defaultdict

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_s12_privacy_notice_ids'
down_revision = '0022_s10_fed_remote_version'
branch_labels = None
depends_on = None

# How long before its notification a comment may have been written: the same request, well within.
WITHIN = dt.timedelta(seconds=5)


def upgrade():
    notification = sa.table('notification', sa.column('id', sa.Integer()), sa.column('user_id', sa.Integer()),
                            sa.column('kind', sa.String()), sa.column('note_id', sa.Integer()),
                            sa.column('data', sa.JSON()), sa.column('created_at', sa.DateTime()))
    comment = sa.table('comment', sa.column('id', sa.Integer()), sa.column('note_id', sa.Integer()),
                       sa.column('author_id', sa.Integer()), sa.column('created_at', sa.DateTime()))
    connection = op.get_bind()
    told = connection.execute(sa.select(notification).where(notification.c.kind == 'comment.added',
                                                            notification.c.note_id.is_not(None))).all()
    unnamed = [row for row in told if 'comment' not in (row.data or {})]
    if not unnamed:
        return
    named = {(row.user_id, (row.data or {})['comment']) for row in told if 'comment' in (row.data or {})}
    comments = defaultdict(list)
    for row in connection.execute(sa.select(comment).where(
            comment.c.note_id.in_(sorted({row.note_id for row in unnamed})))):
        comments[row.note_id].append(row)
    fits = {row.id: [each.id for each in comments[row.note_id] if each.author_id != row.user_id
                     and row.created_at - WITHIN <= each.created_at <= row.created_at] for row in unnamed}
    claimed = defaultdict(int)  # two notifications of one person fitting one comment: neither is certain
    for row in unnamed:
        if len(fits[row.id]) == 1:
            claimed[(row.user_id, fits[row.id][0])] += 1
    for row in unnamed:
        if len(fits[row.id]) != 1:
            continue
        key = (row.user_id, fits[row.id][0])
        if claimed[key] == 1 and key not in named:
            connection.execute(notification.update().where(notification.c.id == row.id)
                               .values(data={**(row.data or {}), 'comment': key[1]}))


def downgrade():
    pass  # the ids filled in are true, and the code before reads no id: nothing to take back
