"""Migration 0023_s12_privacy_notice_ids: a "New comment" notification made before notifications named
their comment leads to it where exactly one comment fits; otherwise it stays as it was (the note's top)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from hub.extensions import db
from hub.models import Comment, Notification
from hub.models.user import Role
from hub.services import accounts, discussion, notes
from tests.helpers import PASSWORD, approve_checked, empty_database, login

BEFORE = "0022_s10_fed_remote_version"


def _published(author, moderator, title: str):
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title=title, summary="我们晚上发放纳洛酮。", body="我们每周走两次。", language="zh_Hans", visibility="public"))
    return approve_checked(notes.submit(note, by=author, confirm_privacy=True), by=moderator)


def _as_before(comment: Comment, *, told_after: dt.timedelta = dt.timedelta(0)) -> None:
    """Make the notification of ``comment`` as the hub made it before: no comment id, ``told_after`` it was written."""
    told = db.session.scalars(sa.select(Notification).where(
        Notification.kind == "comment.added", Notification.data["comment"].as_integer() == comment.id)).one()
    told.data, told.created_at = {}, comment.created_at + told_after


def _told(note) -> list[dict]:
    """Return the data of the "New comment" notifications about ``note``."""
    db.session.expire_all()
    return [n.data for n in db.session.scalars(sa.select(Notification).where(
        Notification.kind == "comment.added", Notification.note_id == note.id).order_by(Notification.id))]


def test_a_new_comment_notification_of_before_leads_to_its_comment_only_where_one_comment_fits(any_db_app):
    empty_database()
    upgrade()
    author = accounts.create_user(accounts.NewAccount("lee", "小李", PASSWORD), role=Role.CONTRIBUTOR)
    moderator = accounts.create_user(accounts.NewAccount("moder", "山风", PASSWORD), role=Role.MODERATOR)
    member = accounts.create_user(accounts.NewAccount("mary", "玛丽", PASSWORD))
    db.session.commit()
    one, later, twice = (_published(author, moderator, title) for title in ("一条评论", "后来才显示", "同时两条"))
    single = discussion.add_comment(one, by=member, body="谢谢分享。")
    discussion.add_comment(one, by=author, body="不客气。")  # the author's own reply: no notification, never fits
    released_later = discussion.add_comment(later, by=member, body="我们也试过。")
    first, second = (discussion.add_comment(twice, by=member, body=body) for body in ("第一条。", "第二条。"))
    db.session.commit()
    _as_before(single)
    _as_before(released_later, told_after=dt.timedelta(hours=2))  # held, then released by a moderator
    second.created_at = first.created_at
    _as_before(first)
    _as_before(second)
    db.session.commit()
    downgrade(revision=BEFORE)

    upgrade()

    assert _told(one) == [{"comment": single.id}]
    assert _told(later) == [{}]  # told hours after the comment was written: not certain
    assert _told(twice) == [{}, {}]  # two comments fit each: neither is certain
    browser = any_db_app.test_client()
    assert login(browser, "lee").status_code == 302
    page = browser.get("/account/notifications").get_data(as_text=True)
    assert f'href="/notes/{one.id}#comment-{single.id}"' in page and f'href="/notes/{later.id}"' in page
