"""What a browser whose session ended meanwhile (signed out in another tab) gets when it sends something.

A form leads, after signing in, back to a page (never to a POST-only address and its 405); a script
(the editor's autosave and live check) gets a 401 problem document it can explain; and the page
after a save from the editor repeats the editor's mark, the hub's word that it has the text.
"""
from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Comment
from hub.services import notes, vocabulary
from tests.helpers import PASSWORD, approve_checked, count, csrf_token, login, post_form

BASE = "http://localhost"
NOTE = {"title": "夜间外展", "summary": "一句话", "body": "第一段。", "language": "zh_Hans", "visibility": "members"}


@pytest.fixture
def note_page(contributor, moderator) -> str:
    """Return the address of a published note members may comment on."""
    vocabulary.seed()
    draft = notes.create_draft(author=contributor, data=notes.NoteInput(
        title="Night outreach", summary="One line.", body="What we did.", language="en", visibility="members"))
    note = approve_checked(notes.submit(draft, by=contributor, confirm_privacy=True), by=moderator)
    return f"/notes/{note.id}"


def _signed_out_elsewhere(client: FlaskClient, page: str) -> str:
    """Open ``page`` signed in, sign out as another tab of the same browser would; return the page's token."""
    token = csrf_token(client, page)
    client.post("/logout", data={"csrf_token": token})
    return token


def test_a_comment_sent_after_signing_out_leads_back_to_the_note_after_signing_in(client, member, note_page):
    login(client, member.username)
    token = _signed_out_elsewhere(client, note_page)
    sent = client.post(f"{note_page}/comments", data={"csrf_token": token, "body": "我们也试过。"},
                       headers={"Referer": f"{BASE}{note_page}", "Accept-Language": "zh-CN"})
    assert sent.status_code == 302 and sent.headers["Location"] == f"/login?next={note_page}"
    assert count(Comment) == 0
    sign_in_page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "你已退出登录，所以你提交的内容没有保存" in sign_in_page
    back = post_form(client, sent.headers["Location"], {"login": member.username, "password": PASSWORD},
                     form_url="/login")
    assert back.headers["Location"] == note_page
    assert client.get(back.headers["Location"]).status_code == 200


def test_the_sign_in_page_says_in_english_that_what_was_sent_was_not_saved(client, member, note_page):
    login(client, member.username)
    token = _signed_out_elsewhere(client, note_page)
    sent = client.post(f"{note_page}/marks/useful", data={"csrf_token": token},
                       headers={"Referer": f"{BASE}{note_page}", "Accept-Language": "en"})
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "You were signed out, so what you sent was not saved." in page


@pytest.mark.parametrize("referer", [
    None,  # a browser set to send none
    "https://evil.example/notes/1",  # another site's page
    f"{BASE}/notes/1/comments",  # an address of this hub that takes only POST
    f"{BASE}/no/such/page",
])
def test_a_form_sent_signed_out_from_no_page_of_this_hub_leads_home(client, referer):
    headers = {"Referer": referer} if referer else {}
    sent = client.post("/notes/1/comments", data={"body": "x"}, headers=headers)
    assert sent.status_code == 302 and sent.headers["Location"] == "/login?next=/"


def test_the_page_a_form_came_from_keeps_its_query(client):
    sent = client.post("/notes/1/flag", data={}, headers={"Referer": f"{BASE}/notes?topic=naloxone&page=2"})
    assert sent.headers["Location"] == "/login?next=/notes?topic%3Dnaloxone%26page%3D2"


def test_a_page_opened_signed_out_still_leads_back_to_itself(client):
    assert client.get("/notes/mine?page=2").headers["Location"] == "/login?next=/notes/mine?page%3D2"


@pytest.mark.parametrize(("language", "detail"), [
    ("en", "You are signed out. Sign in again, then try once more."),
    ("zh-CN", "你已退出登录。请重新登录，然后再试一次。"),
])
@pytest.mark.parametrize("script", ["/notes/autosave", "/notes/preview"])
def test_the_editors_scripts_hear_401_when_the_session_ended(client, contributor, script, language, detail):
    login(client, contributor.username)
    token = _signed_out_elsewhere(client, "/notes/new")
    answer = client.post(script, data={"csrf_token": token, **NOTE}, headers={"Accept-Language": language})
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"
    assert answer.get_json()["status"] == 401 and answer.get_json()["detail"] == detail


def test_an_upload_sent_signed_out_hears_401_in_place(client):
    answer = client.post("/notes/1/attachments", headers={"Accept": "application/json"})
    assert answer.status_code == 401 and answer.get_json()["detail"].startswith("You are signed out.")


def test_autosave_of_a_submitted_note_is_refused_with_a_reason_the_editor_can_show(client, contributor):
    vocabulary.seed()
    login(client, contributor.username)
    token = csrf_token(client, "/notes/new")
    note_id = client.post("/notes/autosave", data={"csrf_token": token, **NOTE}).get_json()["id"]
    notes.submit(db.session.get(notes.Note, note_id), by=contributor, confirm_privacy=True)
    answer = client.post("/notes/autosave", data={"csrf_token": token, **NOTE, "note_id": note_id},
                         headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 409 and answer.mimetype == "application/problem+json"
    assert answer.get_json()["reason"] == "not_a_draft" and answer.get_json()["ok"] is False
    assert "已经不是草稿" in answer.get_json()["detail"]


def test_a_stale_form_token_tells_the_autosave_to_fetch_a_new_one(client, contributor):
    vocabulary.seed()
    login(client, contributor.username)
    answer = client.post("/notes/autosave", data={"csrf_token": "stale", **NOTE})
    assert answer.status_code == 400 and answer.get_json()["reason"] == "csrf"


def _marks(html: str) -> list[str]:
    return re.findall(r'<meta name="hub-editor-saved" content="([^"]*)">', html)


@pytest.mark.parametrize("button", ["save", "submit_note"])
def test_the_page_after_a_save_from_the_editor_repeats_its_mark_once(client, contributor, button):
    vocabulary.seed()
    login(client, contributor.username)
    saved = post_form(client, "/notes/new", {**NOTE, "device_copy": "lq2x8k3f9a", button: "1"})
    assert saved.status_code == 302
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert _marks(page) == ["lq2x8k3f9a"]
    assert "lq2x8k3f9a" not in page.split("<main", 1)[1]  # a mark for the script, not a message for people
    assert _marks(client.get(saved.headers["Location"]).get_data(as_text=True)) == []


def test_a_save_the_hub_did_not_make_repeats_no_mark(client, contributor):
    vocabulary.seed()
    login(client, contributor.username)
    refused = post_form(client, "/notes/new", {**NOTE, "title": "x" * 201, "device_copy": "lq2x8k3f9a", "save": "1"})
    assert refused.status_code == 200 and _marks(refused.get_data(as_text=True)) == []
    token = _signed_out_elsewhere(client, "/notes/new")
    sent = client.post("/notes/new", data={"csrf_token": token, **NOTE, "device_copy": "lq2x8k3f9a", "save": "1"})
    assert _marks(client.get(sent.headers["Location"]).get_data(as_text=True)) == []


def test_only_the_editors_own_kind_of_mark_is_repeated(client, contributor):
    vocabulary.seed()
    login(client, contributor.username)
    saved = post_form(client, "/notes/new", {**NOTE, "device_copy": '"><script>', "save": "1"})
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert _marks(page) == [] and "<script>" not in page.split("<main", 1)[1]
