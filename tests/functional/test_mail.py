"""Mail through a real SMTP server (aiosmtpd, tests/smtp.py): what arrives, in which language, with which links.

Every test runs a hub whose ``MAIL_*`` settings point at the test's own SMTP server; the worker
(``worker.run_once``) sends, never a request. Messages are read back as the server received them.
"""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.mail import digest
from hub.models import Follow, MailSetting, Note, OutgoingMail, PasswordReset, Term
from hub.models.base import utcnow
from hub.models.user import User
from hub.services import discussion, follows, mail_settings, notes, screening
from tests.helpers import PASSWORD, login, post_form
from tests.smtp import html_of, text_of

LINK = re.compile(r"https?://[^\s\"<>]+")
BODY_MARK = "BODY-SECRET-hidden-note-text 住在幸福路"
COMMENT_MARK = "COMMENT-SECRET my phone is 13900001111"
MESSAGE_MARK = "MODERATOR-SECRET please remove the name"


@pytest.fixture
def app(mail_app):
    """Every test here sends mail to the test's SMTP server."""
    return mail_app


@pytest.fixture
def topic(app) -> Term:
    term = Term(kind="topic", slug="methadone", name_zh="美沙酮维持治疗", name_en="Methadone maintenance")
    db.session.add(term)
    db.session.commit()
    return term


def deliver(app, rounds: int = 6) -> None:
    """Let the worker run until it has nothing left to do (events to mails, mails to the server)."""
    for _ in range(rounds):
        if not worker.run_once(app):
            return


def note_input(**overrides) -> notes.NoteInput:
    fields = {"title": "Peer support at the clinic", "summary": "How we greet people at the methadone clinic.",
              "body": BODY_MARK, "language": "en", "visibility": "members"}
    return notes.NoteInput(**{**fields, **overrides})


def publish(author: User, moderator: User, **overrides) -> Note:
    note = notes.create_draft(author=author, data=note_input(**overrides))
    notes.submit(note, by=author, confirm_privacy=True)
    return notes.approve(note, by=moderator)


def links_in(message) -> list[str]:
    return LINK.findall(text_of(message))


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def opens_signed_in(app, user: User, message, *, shows: str) -> None:
    """Follow every note link of ``message`` as ``user``: signed out it asks to sign in, signed in it shows the note."""
    urls = [u for u in links_in(message) if "/mail/notes/" in u]
    assert urls, "the mail links to no note"
    browser = app.test_client()
    assert "/login?next=" in browser.get(path_of(urls[0])).headers["Location"]
    login(browser, user.username)
    for url in urls:
        page = browser.get(path_of(url), follow_redirects=True)
        assert page.status_code == 200 and shows in page.get_data(as_text=True), url


# --- account mails -----------------------------------------------------------------------------

def test_an_invitation_is_mailed_in_the_chosen_language_and_its_link_opens_sign_up(app, client, admin,
                                                                                   smtp_server):
    login(client, admin.username)
    response = post_form(client, "/admin/invitations", {"role": "member", "project": "", "days": 14, "note": "",
                                                        "email": "new.person@example.net", "language": "zh_Hans"})
    assert response.status_code == 200
    shown = re.search(r'<code id="invitation-link">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    assert smtp_server.messages == []  # the request only queued it
    deliver(app)
    [message] = smtp_server.to("new.person@example.net")
    assert message["Subject"] == "经验交流平台：您的邀请"
    assert "邀请" in text_of(message) and "邀请" in html_of(message)
    [invite] = [u for u in links_in(message) if "/invite/" in u]
    assert path_of(invite) == path_of(shown)  # the same link the admin can copy by hand
    audit = client.get("/admin/audit?lang=zh_Hans").get_data(as_text=True)
    assert "链接已通过邮件发送：是" in audit and "new.person@example.net" not in audit
    client.post("/logout", data={"csrf_token": ""})
    assert app.test_client().get(path_of(invite)).status_code == 200
    assert db.session.scalar(sa.select(OutgoingMail.address)) is None  # the address is forgotten once sent


def test_a_password_reset_is_mailed_not_logged_and_its_link_works(app, client, member, smtp_server, caplog):
    member.locale, member.timezone = "zh_Hans", "Asia/Shanghai"
    db.session.commit()
    response = post_form(client, "/forgot", {"login": member.username})
    assert response.status_code == 302
    assert "password reset link" not in caplog.text
    deliver(app)
    [message] = smtp_server.to(member.email)
    assert message["Subject"] == "经验交流平台：重设密码"
    expires = db.session.scalar(sa.select(PasswordReset.expires_at)) + dt.timedelta(hours=8)
    assert f"有效期至{expires:%Y年%-m月%-d日 %H:%M}（中国标准时间）。" in text_of(message)  # the reader's time zone
    [reset] = [u for u in links_in(message) if "/reset/" in u]
    assert post_form(client, path_of(reset), {"password": "a new long password", "confirm": "a new long password"}
                     ).status_code == 302
    assert login(app.test_client(), member.username, "a new long password").status_code == 302


def test_without_a_mail_server_no_reset_link_is_made_and_none_goes_to_the_log(make_app, caplog):
    plain = make_app()
    with plain.app_context():
        from hub.services import accounts
        accounts.create_user(accounts.NewAccount(username="solo", pseudonym="Solo", password=PASSWORD,
                                                 email="solo@example.org"))
        db.session.commit()
    response = post_form(plain.test_client(), "/forgot", {"login": "solo"})
    assert response.status_code == 302
    assert "password reset asked for account" in caplog.text and "/reset/" not in caplog.text
    with plain.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)) == 0


# --- what happens to one's notes ----------------------------------------------------------------

def test_a_review_outcome_reaches_the_author_in_their_language_without_the_message(app, contributor, moderator,
                                                                                  smtp_server):
    contributor.locale = "zh_Hans"
    db.session.commit()
    note = notes.create_draft(author=contributor, data=note_input(title="在诊所的同伴支持"))
    notes.submit(note, by=contributor, confirm_privacy=True)
    notes.request_changes(note, by=moderator, message=MESSAGE_MARK)
    deliver(app)
    [message] = smtp_server.to(contributor.email)
    assert message["Subject"] == "经验交流平台：您的笔记有新消息"
    assert "在诊所的同伴支持" in text_of(message)
    assert MESSAGE_MARK not in message.as_string()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    opens_signed_in(app, contributor, message, shows=MESSAGE_MARK)  # the author reads the message on the hub


def test_decisions_on_changes_to_a_published_note_reach_the_author(app, contributor, moderator, smtp_server):
    contributor.locale = "zh_Hans"
    db.session.commit()
    note = publish(contributor, moderator, title="夜间外展")
    deliver(app)
    smtp_server.inbox.messages.clear()
    notes.save(note, by=contributor, data=note_input(title="夜间外展", body="Changed once."))
    deliver(app)
    assert smtp_server.to(contributor.email) == []  # waiting changes are no news to anyone by mail
    notes.return_changes(note, by=moderator, message=MESSAGE_MARK)
    notes.save(note, by=contributor, data=note_input(title="夜间外展", body="Changed twice."))
    notes.accept_changes(note, by=moderator, version=note.pending.version)
    deliver(app)
    returned, accepted = smtp_server.to(contributor.email)
    assert "退回" in text_of(returned) and "夜间外展" in text_of(returned)
    assert "发布了您对笔记" in text_of(accepted)
    for message in (returned, accepted):
        assert message["Subject"] == "经验交流平台：您的笔记有新消息"
        assert MESSAGE_MARK not in message.as_string() and "Changed" not in message.as_string()
    assert smtp_server.to(moderator.email) == []


def test_a_comment_reaches_the_author_but_not_its_text(app, contributor, moderator, member, smtp_server):
    note = publish(contributor, moderator)
    deliver(app)
    smtp_server.inbox.messages.clear()
    discussion.add_comment(note, by=member, body="We tried this too.")
    deliver(app)
    [message] = smtp_server.to(contributor.email)
    assert "Peer support at the clinic" in text_of(message)
    assert "We tried this too" not in message.as_string()
    assert smtp_server.to(member.email) == []
    opens_signed_in(app, contributor, message, shows="We tried this too")


def test_a_held_comment_is_mailed_only_once_a_moderator_shows_it(app, contributor, moderator, member, smtp_server):
    """A comment with a phone number waits for a moderator: its note's author hears of it only when it is shown."""
    note = publish(contributor, moderator)
    deliver(app)
    smtp_server.inbox.messages.clear()
    comment = discussion.add_comment(note, by=member, body=COMMENT_MARK, confirm_privacy=True)
    assert comment.state == "held"
    deliver(app)
    assert smtp_server.to(contributor.email) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)
                             .where(OutgoingMail.kind == "comment")) == 0
    discussion.release(comment, by=moderator, checked=[screening.key(f) for f in discussion.findings(comment)])
    deliver(app)
    [message] = smtp_server.to(contributor.email)
    assert "Peer support at the clinic" in text_of(message)
    assert COMMENT_MARK not in message.as_string()
    assert smtp_server.to(member.email) == []


def test_a_partner_hubs_comments_reach_the_author_only_while_shown(app, contributor, moderator, smtp_server):
    note = publish(contributor, moderator)
    deliver(app)
    smtp_server.inbox.messages.clear()
    shown = discussion.receive_remote_comment(note, body="Same in Kunming.", trusted=True)
    untrusted = discussion.receive_remote_comment(note, body="Nothing personal.", trusted=False)
    db.session.commit()
    deliver(app)
    assert len(smtp_server.to(contributor.email)) == 1
    discussion.update_remote_comment(shown, body="Same in Kunming; fixed typo.")
    db.session.commit()
    deliver(app)
    assert len(smtp_server.to(contributor.email)) == 1  # a correction is no news
    discussion.release(untrusted, by=moderator)
    deliver(app)
    assert len(smtp_server.to(contributor.email)) == 2
    smtp_server.stop()  # the next comment's mail waits in the queue...
    taken_back = discussion.receive_remote_comment(note, body="Also in Dali.", trusted=True)
    db.session.commit()
    deliver(app)
    discussion.update_remote_comment(taken_back, body="Also in Dali, call 13812345678.")  # ...and is held again
    db.session.commit()
    smtp_server.start()
    time.sleep(0.25)
    deliver(app)
    assert len(smtp_server.to(contributor.email)) == 2
    assert db.session.scalar(sa.select(OutgoingMail.state).where(OutgoingMail.key == f"comment:{taken_back.id}:user:"
                                                                 f"{contributor.id}")) == "dropped"


# --- follows and digests -------------------------------------------------------------------------

def test_a_weekly_digest_groups_new_notes_by_topic_in_the_readers_language(app, contributor, moderator, member,
                                                                           topic, smtp_server):
    member.locale = "zh_Hans"
    db.session.commit()
    follows.follow(member, follows.target("topic", value="methadone"), frequency="weekly")
    start = utcnow()
    assert digest.queue_digests(app, now=start) == 0  # the first period only marks where the next one starts
    note = publish(contributor, moderator, term_ids=[topic.id])
    deliver(app)
    assert smtp_server.to(member.email) == []  # weekly: nothing until the week turns
    assert digest.queue_digests(app, now=start + dt.timedelta(days=7)) == 1
    deliver(app)
    [message] = smtp_server.to(member.email)
    assert message["Subject"] == "经验交流平台：本周的新笔记"
    text, html = text_of(message), html_of(message)
    assert "美沙酮维持治疗" in text and "Peer support at the clinic" in html
    assert "<img" not in html and "<script" not in html
    assert len(message.as_bytes()) < 100_000
    assert BODY_MARK not in message.as_string()
    assert digest.queue_digests(app, now=start + dt.timedelta(days=7, hours=1)) == 0  # one per week
    opens_signed_in(app, member, message, shows=BODY_MARK)
    assert f"/mail/notes/{note.id}" in text_of(message)


def test_an_immediate_follow_mails_each_new_note_once_and_never_one_taken_down(app, contributor, moderator, member,
                                                                                topic, smtp_server):
    follows.follow(member, follows.target("topic", value="methadone"), frequency="immediately")
    first = publish(contributor, moderator, term_ids=[topic.id])
    deliver(app)
    [message] = smtp_server.to(member.email)
    assert "Peer support at the clinic" in text_of(message) and f"/mail/notes/{first.id}" in text_of(message)
    assert message["Subject"] == "Practice Exchange Hub: a new note in what you follow"
    notes.unpublish(first, by=moderator, reason="checking")
    notes.submit(first, by=contributor, confirm_privacy=True)
    notes.approve(first, by=moderator)  # published again: not new to this reader
    smtp_server.stop()  # the next mail is queued but cannot leave yet
    second = publish(contributor, moderator, term_ids=[topic.id], title="Taken down before it was mailed")
    deliver(app)
    notes.unpublish(second, by=moderator, reason="personal data")
    smtp_server.start()
    time.sleep(0.25)  # the worker waits out the server's failure (the retry base in tests)
    deliver(app)
    assert len(smtp_server.to(member.email)) == 1
    assert db.session.scalar(sa.select(OutgoingMail.state).where(OutgoingMail.key.like(f"follow:note:{second.id}:%"))
                             ) == "dropped"


def test_subjects_stay_neutral_unless_the_reader_opts_in_to_topic_names(app, contributor, moderator, member,
                                                                        smtp_server):
    hiv = Term(kind="topic", slug="hiv-testing", name_zh="艾滋病检测", name_en="HIV testing")
    db.session.add(hiv)
    db.session.commit()
    app.config["SITE_NAME"] = "Sichuan HIV and drug users hub"
    follows.follow(member, follows.target("topic", value="hiv-testing"), frequency="immediately")
    publish(contributor, moderator, term_ids=[hiv.id], title="HIV 艾滋 drug 毒品 outreach")
    deliver(app)
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects and all(compose_neutral(s) for s in subjects), subjects
    mail_settings.save(member, kinds={}, topic_subjects=True)
    publish(contributor, moderator, term_ids=[hiv.id], title="Second HIV note")
    deliver(app)
    assert smtp_server.to(member.email)[-1]["Subject"] == "Practice Exchange Hub: a new note on HIV testing"
    assert all("HIV" not in m["Subject"] for m in smtp_server.to(contributor.email))  # titles never


def compose_neutral(subject: str) -> bool:
    from hub.mail.compose import neutral
    return neutral(subject)


def test_flags_reach_the_moderators_and_thread_replies_the_other_side(app, contributor, moderator, member,
                                                                      smtp_server):
    note = publish(contributor, moderator)
    deliver(app)
    smtp_server.inbox.messages.clear()
    notes.flag(note, by=member, reason="personal_data", detail="the second name is real")
    notes.reply(note, by=moderator, body=MESSAGE_MARK)
    deliver(app)
    [flagged] = smtp_server.to(moderator.email)
    assert "/moderation/flags" in text_of(flagged) and "the second name" not in flagged.as_string()
    [reply] = smtp_server.to(contributor.email)
    assert MESSAGE_MARK not in reply.as_string() and "Peer support at the clinic" in text_of(reply)
    assert smtp_server.to(member.email) == []
    opens_signed_in(app, contributor, reply, shows=MESSAGE_MARK)


def test_one_click_unsubscribe_works_without_signing_in_and_a_get_only_asks(app, contributor, moderator, member,
                                                                           smtp_server):
    note = publish(contributor, moderator)
    discussion.add_comment(note, by=member, body="first")
    deliver(app)
    [message] = [m for m in smtp_server.to(contributor.email) if "comment" in m["Subject"]]
    url = message["List-Unsubscribe"].strip("<>")
    assert url == LINK.search(url).group(0) and "/mail/unsubscribe/" in url
    browser = app.test_client()
    page = browser.get(path_of(url))
    assert page.status_code == 200 and "<form method=\"post\"" in page.get_data(as_text=True)
    assert mail_settings.choices(contributor).kinds["comments"] is True  # a mail scanner's GET changes nothing
    done = browser.post(path_of(url), data={"List-Unsubscribe": "One-Click"})  # RFC 8058, no session, no CSRF
    assert done.status_code == 200
    db.session.expire_all()
    assert mail_settings.choices(contributor).kinds["comments"] is False
    assert mail_settings.choices(contributor).kinds["review"] is True  # only that kind
    discussion.add_comment(note, by=member, body="second")
    deliver(app)
    assert len([m for m in smtp_server.to(contributor.email) if "comment" in m["Subject"]]) == 1
    assert browser.post("/mail/unsubscribe/forged.token").status_code == 400


def test_the_mail_settings_page_turns_kinds_off_and_shows_flags_only_to_moderators(app, client, member, moderator):
    login(client, member.username)
    page = client.get("/account/mail").get_data(as_text=True)
    assert 'name="comments"' in page and 'name="flags"' not in page
    post_form(client, "/account/mail", {"review": "y", "follows": "y"})  # comments unticked
    assert mail_settings.choices(member).kinds == {"review": True, "comments": False, "follows": True, "flags": True}
    moderators_page = app.test_client()
    login(moderators_page, moderator.username)
    assert 'name="flags"' in moderators_page.get("/account/mail").get_data(as_text=True)


def test_a_digest_of_many_long_notes_stays_under_100_kb(app, contributor, moderator, member, topic, smtp_server):
    follows.follow(member, follows.target("topic", value="methadone"), frequency="daily")
    start = utcnow()
    digest.queue_digests(app, now=start)
    for n in range(40):
        publish(contributor, moderator, term_ids=[topic.id], language="zh_Hans", title=f"{n:02d}" + "长" * 190,
                summary="摘" * 600)
    digest.queue_digests(app, now=start + dt.timedelta(days=1))
    deliver(app)
    [message] = smtp_server.to(member.email)
    assert len(message.as_bytes()) < 100_000
    assert text_of(message).count("/mail/notes/") >= 10
    assert "There are more new notes on the hub." in text_of(message)


def test_no_mail_holds_a_note_body_a_comment_or_another_persons_address(app, client, admin, contributor,
                                                                        moderator, member, topic, smtp_server):
    """Every kind of mail at once, then a search of everything the server received."""
    follows.follow(member, follows.target("topic", value="methadone"), frequency="immediately")
    follows.follow(member, follows.target("project", value=contributor.project.slug), frequency="weekly")
    digest.queue_digests(app, now=utcnow())
    note = publish(contributor, moderator, term_ids=[topic.id], sections={"what_we_did": BODY_MARK})
    held = discussion.add_comment(note, by=member, body=COMMENT_MARK, confirm_privacy=True)
    discussion.release(held, by=moderator, checked=[screening.key(f) for f in discussion.findings(held)])
    notes.flag(note, by=member, reason="other", detail=COMMENT_MARK, confirm_privacy=True)
    notes.reply(note, by=contributor, body=MESSAGE_MARK)
    accounts_reset = post_form(client, "/forgot", {"login": member.username})
    assert accounts_reset.status_code == 302
    login(client, admin.username)
    post_form(client, "/admin/invitations", {"role": "member", "project": "", "days": 14, "note": "for Wang",
                                             "email": "wang@example.net", "language": "en"})
    deliver(app)
    digest.queue_digests(app, now=utcnow() + dt.timedelta(days=7))
    deliver(app)
    kinds = {row.kind for row in db.session.scalars(sa.select(OutgoingMail).where(OutgoingMail.state == "sent"))}
    assert kinds == {"review", "comment", "flag", "follow", "reset", "invitation", "digest.weekly"}
    people = [admin, contributor, moderator, member]
    for raw, message in zip(smtp_server.inbox.raw, smtp_server.messages):
        whole = raw.decode("ascii", "replace") + str(message["Subject"]) + text_of(message) + html_of(message)
        for secret in (BODY_MARK, COMMENT_MARK, MESSAGE_MARK, "for Wang"):
            assert secret not in whole, (message["Subject"], secret)
        others = [p.email for p in people if p.email != message["To"]] + (
            ["wang@example.net"] if message["To"] != "wang@example.net" else [])
        for address in others:
            assert address not in whole, (message["Subject"], address)
        assert "<img" not in html_of(message)


def test_a_saved_search_brings_its_new_notes_into_the_daily_digest(app, contributor, moderator, member, smtp_server):
    follows.follow(member, follows.target("search", query="naloxone"), frequency="daily")
    start = utcnow()
    digest.queue_digests(app, now=start)
    publish(contributor, moderator, title="Naloxone kits at night", summary="Kits for the night route.")
    publish(contributor, moderator, title="Choir practice", summary="Singing together on Fridays.")
    deliver(app)  # the index reads the new notes
    assert digest.queue_digests(app, now=start + dt.timedelta(days=1)) == 1
    deliver(app)
    [message] = smtp_server.to(member.email)
    assert message["Subject"] == "Practice Exchange Hub: new notes today"
    assert "Naloxone kits at night" in text_of(message) and "Choir practice" not in text_of(message)


def test_old_notes_arriving_now_are_not_news(app, contributor, moderator, member, topic, smtp_server):
    """A partner's backfill or an import publishes notes written long ago: immediate followers hear nothing."""
    follows.follow(member, follows.target("topic", value="methadone"), frequency="immediately")
    old = publish(contributor, moderator, term_ids=[topic.id])
    old.published_at = utcnow() - dt.timedelta(days=30)
    db.session.commit()
    deliver(app)
    assert smtp_server.to(member.email) == []


def test_deleting_an_account_forgets_its_follows_choices_and_queued_mail(app, client, contributor, moderator, member,
                                                                          topic, smtp_server):
    follows.follow(member, follows.target("topic", value="methadone"), frequency="immediately")
    mail_settings.save(member, kinds={"comments": False}, topic_subjects=True)
    login(client, member.username)
    data = client.get("/account/data.json").get_json()
    assert [(f["kind"], f["about"], f["frequency"]) for f in data["follows"]] == [
        ("topic", "Methadone maintenance", "immediately")]
    assert data["mail_choices"]["comments"] is False and data["mail_choices"]["topic_in_subject"] is True
    smtp_server.stop()  # the mail about the new note is queued but cannot leave
    publish(contributor, moderator, term_ids=[topic.id])
    deliver(app)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)
                             .where(OutgoingMail.user_id == member.id, OutgoingMail.state == "pending")) == 1
    person, address = member.id, member.email
    assert post_form(client, "/account/delete", {"what": "keep", "password": PASSWORD}).status_code == 302
    db.session.expire_all()
    for model in (Follow, MailSetting, OutgoingMail):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.user_id == person)) == 0
    smtp_server.start()
    time.sleep(0.25)
    deliver(app)
    assert smtp_server.to(address) == [] and smtp_server.to(contributor.email)  # the others' mail still goes
