"""Migration 0024_s12_editor_text_redactions: a note redacted before it counts one removal of personal data, so
that an editor page from before (it sends no count) may not write the removed data back; other notes count none."""
from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from hub.extensions import db
from hub.models import Note
from hub.models.user import Role
from hub.services import accounts, moderation, notes
from tests.helpers import PASSWORD, approve_checked, empty_database

BEFORE = "0023_s12_privacy_notice_ids"
BODY = "姓名：王小明。我们每周走两次。"


def _published(author, moderator):
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title="夜间外展", summary="我们晚上发放纳洛酮。", body=BODY, language="zh_Hans", visibility="public"))
    return approve_checked(notes.submit(note, by=author, confirm_privacy=True), by=moderator)


def test_notes_redacted_before_count_one_removal_and_the_others_none(any_db_app):
    empty_database()
    upgrade()
    author = accounts.create_user(accounts.NewAccount("lee", "小李", PASSWORD), role=Role.CONTRIBUTOR)
    moderator = accounts.create_user(accounts.NewAccount("moder", "山风", PASSWORD), role=Role.MODERATOR)
    db.session.commit()
    redacted, untouched = _published(author, moderator), _published(author, moderator)
    moderation.redact_note(redacted, by=moderator, fields={
        "title": redacted.title, "summary": redacted.summary, "body": "姓名：［已删除个人信息］。我们每周走两次。"})
    ids = (redacted.id, untouched.id)
    db.session.remove()
    downgrade(revision=BEFORE)

    upgrade()

    counts = dict(db.session.execute(sa.select(Note.id, Note.text_redactions).where(Note.id.in_(ids))).all())
    assert counts == {ids[0]: 1, ids[1]: 0}
