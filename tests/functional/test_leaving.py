"""Leaving the hub, who is shown joining what, and logs that hold no one's data (issue 12).

A person downloads their data and deletes their account (or an admin does it for them);
member activity is for signed-in members and only for those who allow it; and a day of notes,
comments, searches and the worker leaves no note text, comment text, query or found value in
any log record.
"""
from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from hub import worker
from hub.extensions import db
from hub.models import (AuditEntry, Comment, LoginFailure, LoginSession, Mark, Note, NoteRevision, Notification,
                        ReviewMessage)
from hub.models.events import Event
from hub.models.user import Role, User
from hub.services import accounts, discussion, notes, screening
from tests.helpers import PASSWORD, count, login, post_form

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"


def note_input(**overrides) -> notes.NoteInput:
    fields = {"title": "Night outreach", "summary": "What we learned at night.", "body": "We walked twice a week.",
              "language": "en", "visibility": "public"}
    return notes.NoteInput(**{**fields, **overrides})


def published(author: User, moderator: User, **overrides) -> Note:
    note = notes.submit(notes.create_draft(author=author, data=note_input(**overrides)), by=author,
                        confirm_privacy=True)
    return notes.approve(note, by=moderator, checked=[screening.key(f) for f in notes.privacy_findings(note)[1]])


def client_of(app, user: User) -> FlaskClient:
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    return browser


# --- who joined what ---------------------------------------------------------------------------

def test_the_home_page_shows_who_joined_only_to_members_and_only_who_allows_it(app, project, make_user, member):
    shy = make_user("shy", pseudonym="安静的人", project=project)
    open_person = make_user("open", pseudonym="愿意公开的人", project=project)
    accounts.update_profile(open_person, pseudonym=open_person.pseudonym, email=None, locale=None, timezone=None,
                            bio="", show_activity=True)
    anonymous = app.test_client()
    for url in ("/", f"/projects/{project.slug}"):
        page = anonymous.get(url).get_data(as_text=True)
        assert "愿意公开的人" not in page and "安静的人" not in page
    signed_in = client_of(app, member)
    for url in ("/", f"/projects/{project.slug}"):
        page = signed_in.get(url).get_data(as_text=True)
        assert "愿意公开的人" in page and "安静的人" not in page
    assert shy.show_activity is False  # off by default


def test_a_person_turns_showing_their_activity_on_in_their_account(app, member):
    browser = client_of(app, member)
    post_form(browser, "/account", {"pseudonym": "Mary P", "email": "", "locale": "", "timezone": "", "bio": "",
                                    "show_activity": "y"})
    db.session.expire_all()
    assert db.session.get(User, member.id).show_activity is True


# --- downloading one's data --------------------------------------------------------------------

def test_a_person_downloads_their_own_data_as_json(app, contributor, moderator, member):
    note = published(contributor, moderator)
    notes.save(notes.create_draft(author=contributor, data=note_input(title="A draft")), by=contributor,
               data=note_input(title="A draft, again"))
    discussion.add_comment(note, by=contributor, body="My own comment.")
    response = client_of(app, contributor).get("/account/data.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["username"] == "lee" and data["account"]["pseudonym"] == "小李"
    assert sorted(n["title"] for n in data["notes"]) == ["A draft, again", "Night outreach"]
    assert [r["number"] for r in next(n for n in data["notes"] if n["id"] == note.id)["revisions"]] == [1]
    assert [c["body"] for c in data["comments"]] == ["My own comment."]
    assert client_of(app, member).get("/account/data.json").get_json()["notes"] == []


def test_only_admins_download_someone_elses_data(app, contributor, admin, member):
    assert client_of(app, admin).get(f"/admin/users/{contributor.id}/data.json").status_code == 200
    assert client_of(app, member).get(f"/admin/users/{contributor.id}/data.json").status_code == 403


# --- deleting an account -------------------------------------------------------------------------

class TestDeletingAnAccountOnBothDatabases:
    """PostgreSQL enforces every foreign key at once: a tombstone that kept its author's id broke deletion there."""

    @pytest.fixture
    def app(self, any_db_app):
        return any_db_app

    def test_deleting_ones_account_keeps_published_notes_as_former_member_and_purges_the_person(
            self, app, contributor, moderator, member):
        kept = published(contributor, moderator)
        person = contributor.id
        draft = notes.create_draft(author=contributor, data=note_input(title="Unfinished"))
        comment = discussion.add_comment(kept, by=contributor, body="A comment of mine.")
        discussion.add_comment(kept, by=member, body="A comment of someone else.")
        browser = client_of(app, contributor)
        accounts.authenticate("lee", "wrong password", client="198.51.100.7")
        assert count(LoginFailure) == 2

        response = post_form(browser, "/account/delete", {"what": "keep", "password": "not it"})
        assert response.status_code == 200 and db.session.get(User, person) is not None
        response = post_form(browser, "/account/delete", {"what": "keep", "password": PASSWORD})
        assert response.status_code == 302
        db.session.expire_all()
        assert db.session.scalar(sa.select(User).where(User.username == "lee")) is None
        assert count(LoginSession) == 0 and count(LoginFailure) == 1  # the client's count stays: it is not theirs
        kept_note, gone = db.session.get(Note, kept.id), db.session.get(Note, draft.id)
        assert kept_note.state == "published" and kept_note.author_id is None
        assert gone.state == "deleted" and gone.title == ""
        assert db.session.get(Comment, comment.id).author_id is None
        assert count(Event, Event.kind == "note.updated", Event.subject_id == kept.id) == 1
        page = app.test_client().get(f"/notes/{kept.id}").get_data(as_text=True)
        assert "former member" in page and "小李" not in page
        assert browser.get("/account").status_code == 302  # signed out everywhere
        entries = db.session.scalars(sa.select(AuditEntry)).all()
        assert all(e.actor_id != person and not (e.target_type == "user" and e.target_id == person) for e in entries)
        assert "lee" not in json.dumps([e.details for e in entries], ensure_ascii=False)


    def test_deleting_an_account_with_its_notes_sends_delete_to_partner_hubs(self, app, contributor, moderator, member):
        note = published(contributor, moderator)
        discussion.add_comment(note, by=member, body="Kept? No: the note goes.")
        notes.reply(note, by=moderator, body="Thanks.")
        browser = client_of(app, contributor)
        post_form(browser, "/account/delete", {"what": "remove", "password": PASSWORD})
        db.session.expire_all()
        gone = db.session.get(Note, note.id)
        assert gone.state == "deleted" and gone.body == "" and count(NoteRevision) == 0
        assert count(Event, Event.kind == "note.deleted", Event.subject_id == note.id) == 1
        assert count(Comment) == 0 and count(ReviewMessage) == 0


def test_an_admin_deletes_an_account_on_request_and_the_audit_keeps_no_trace_of_the_person(
        app, contributor, moderator, admin, member):
    note = published(contributor, moderator)
    notes.toggle_mark(note, by=member, kind="useful")
    person = member.id
    post_form(client_of(app, admin), f"/admin/users/{person}/delete", {"what": "remove"},
              form_url=f"/admin/users/{person}")
    db.session.expire_all()
    assert db.session.get(User, person) is None and count(Mark) == 0
    (entry,) = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.delete")).all()
    assert entry.actor_id == admin.id and entry.target_id is None and entry.details["by_admin"] is True


def test_the_last_administrator_cannot_delete_their_account(app, admin):
    browser = client_of(app, admin)
    response = post_form(browser, "/account/delete", {"what": "keep", "password": PASSWORD})
    assert response.status_code == 200 and db.session.get(User, admin.id) is not None


# --- logs ------------------------------------------------------------------------------------------

SECRETS = [PHONE, "138 1234 5678", ID_NUMBER, "lee.outreach@qq.com", "peer_cd85", "阿芳在城中村外展",
           "comment-secret-sentence", "私密搜索词", "naloxone-kit-query"]


def test_logs_never_hold_note_text_comment_text_queries_or_found_values(app, caplog, contributor, moderator,
                                                                        member):
    """Write, check, publish, comment, search and run the worker through the pages, logging everything."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        if not name.startswith("sqlalchemy"):  # SQL echo (statements with parameters) is a debug switch
            caplog.set_level(logging.DEBUG, logger=name)  # the hub never turns on, and so is left off here
    author, reviewer, reader = client_of(app, contributor), client_of(app, moderator), client_of(app, member)
    body = f"阿芳在城中村外展。电话 138 1234 5678，身份证 {ID_NUMBER}，邮箱 lee.outreach@qq.com，微信 peer_cd85"
    form = {"title": "外展记录", "summary": "一次外展。", "body": body, "language": "zh_Hans", "visibility": "public",
            "place": "", "province": "", "tags": "", "context": "", "what_we_did": "", "what_happened": "",
            "what_we_learned": "", "do_differently": ""}
    assert post_form(author, "/notes/preview", form, form_url="/notes/new").status_code == 200
    assert post_form(author, "/notes/autosave", form, form_url="/notes/new").status_code == 200
    note = db.session.scalars(sa.select(Note)).one()
    post_form(author, f"/notes/{note.id}/edit", {**form, "submit_note": "1"})
    post_form(author, f"/notes/{note.id}/edit", {**form, "submit_note": "1", "confirm_privacy": "y"})
    keys = {f"finding:{screening.key(f)}": "keep" for f in notes.privacy_findings(db.session.get(Note, note.id))[1]}
    post_form(reviewer, f"/moderation/notes/{note.id}/approve", {"visibility": "public", **keys},
              form_url=f"/moderation/notes/{note.id}")
    db.session.expire_all()
    assert db.session.get(Note, note.id).state == "published"
    comment = f"comment-secret-sentence {PHONE}"
    post_form(reader, f"/notes/{note.id}/comments", {"body": comment}, form_url=f"/notes/{note.id}")
    post_form(reader, f"/notes/{note.id}/comments", {"body": comment, "confirm_privacy": "y"},
              form_url=f"/notes/{note.id}")
    worker.run_once(app)
    for query in ("私密搜索词", "naloxone-kit-query", PHONE):
        assert reader.get("/search", query_string={"q": query}).status_code == 200
        assert app.test_client().get("/api/v1/search", query_string={"q": query}).status_code == 200
    assert count(Comment) == 1 and count(Notification) >= 1

    assert caplog.records, "nothing was logged at all: the capture is not working"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records)
    for secret in SECRETS:
        assert secret not in logged, f"a log record holds {secret!r}"


def test_the_development_server_logs_no_request_line(caplog):
    from hub.cli import quiet_request_handler

    handler = object.__new__(quiet_request_handler())
    handler.command, handler.request_version = "GET", "HTTP/1.1"
    handler.path, handler.client_address = "/search?q=%E7%A7%81%E5%AF%86%E6%90%9C%E7%B4%A2%E8%AF%8D", ("203.0.113.9", 5)
    with caplog.at_level(logging.DEBUG, logger="werkzeug"):
        handler.log_request(200, 1234)
    assert caplog.records == []  # the hub's own access log names the endpoint, never the path or query
