"""A real name the note introduces as a name is a finding like a phone number; the hub's own pseudonyms are not."""
from __future__ import annotations

from hub.extensions import db
from hub.models import Comment, CommentState, Note
from hub.models.user import Role, User
from hub.services import notes, screening
from tests.helpers import count, csrf_token, login, post_form

NAMED = "同伴陪他去医院。他说：我叫王小明，住在城中村。"
EDITOR = {"title": "陪同转介", "summary": "陪同去医院做检测", "language": "zh_Hans", "visibility": "public",
          "place": "", "province": "", "tags": "", "context": "", "what_we_did": "", "what_happened": "",
          "what_we_learned": "", "do_differently": ""}


def client_of(app, user):
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    return browser


def test_a_name_after_wo_jiao_is_highlighted_and_needs_the_authors_confirmation(app, contributor):
    note = notes.create_draft(author=contributor, data=notes.NoteInput(title="陪同转介", summary="s", body="b",
                                                                       language="zh_Hans", visibility="public"))
    author = client_of(app, contributor)
    author.get("/?lang=zh_Hans")
    url = f"/notes/{note.id}/edit"
    check = post_form(author, url, {**EDITOR, "body": NAMED, "submit_note": "1"})
    page = check.get_data(as_text=True)
    assert check.status_code == 422 and "我叫<mark>王小明</mark>，住在" in page and "真实姓名" in page
    assert db_state(note) == "draft"
    ticked = post_form(author, url, {**EDITOR, "body": NAMED, "submit_note": "1", "confirm_privacy": "y"})
    assert ticked.status_code == 302 and db_state(note) == "submitted"


def test_moderators_see_the_name_masked_and_must_tick_it(app, contributor, moderator):
    note = notes.submit(notes.create_draft(author=contributor, data=notes.NoteInput(
        title="Accompanied referral", summary="s", body="Her case worker, Ms Anna Wilson, came too.",
        language="en", visibility="public")), by=contributor, confirm_privacy=True)
    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}"
    page = reviewer.get(url).get_data(as_text=True)
    assert "real name <code>A**********</code>" in page and "Ms <mark>Anna Wilson</mark>, came" in page
    post_form(reviewer, f"{url}/approve", {"visibility": "public"}, form_url=url)
    assert db_state(note) == "submitted"
    (finding,) = notes.privacy_findings(note)[1]
    post_form(reviewer, f"{url}/approve", {"visibility": "public", f"finding:{screening.key(finding)}": "keep"},
              form_url=url)
    assert db_state(note) == "published"


def test_the_authors_own_pseudonym_introduced_as_a_name_is_no_finding(app, make_user, project):
    author = make_user("xiaoming", role=Role.CONTRIBUTOR, pseudonym="王小明", project=project)
    note = notes.create_draft(author=author, data=notes.NoteInput(title="t", summary="s", body=NAMED,
                                                                  language="zh_Hans", visibility="public"))
    assert notes.submit(note, by=author).state == "submitted"  # no confirmation asked for
    other = notes.create_draft(author=author, data=notes.NoteInput(
        title="t", summary="s", body="我叫王小明，她叫李红。", language="zh_Hans", visibility="public"))
    assert [other.body[f.start:f.end] for f in screening.screen({"body": other.body})] == ["李红"]


def test_a_comment_naming_someone_by_title_waits_for_a_moderator(app, contributor, moderator, member):
    note = notes.approve(notes.submit(notes.create_draft(author=contributor, data=notes.NoteInput(
        title="t", summary="s", body="b", language="zh_Hans", visibility="public")), by=contributor),
        by=moderator)
    reader = client_of(app, member)
    token = csrf_token(reader, f"/notes/{note.id}")
    response = reader.post(f"/notes/{note.id}/comments", data={"csrf_token": token, "body": "陈丽小姐也来过门诊。",
                                                               "confirm_privacy": "y"})
    assert response.status_code == 302
    assert count(Comment, Comment.state == CommentState.HELD) == 1


def db_state(note: Note) -> str:
    """Return the note's state as stored."""
    db.session.expire_all()
    return db.session.get(Note, note.id).state


def test_a_pseudonym_that_reads_like_a_name_with_a_title_may_be_chosen(app, member):
    browser = client_of(app, member)
    form = {"pseudonym": "Ms Mary Pine", "email": "", "locale": "", "timezone": "", "bio": ""}
    assert post_form(browser, "/account", form).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, member.id).pseudonym == "Ms Mary Pine"


def test_a_chinese_name_after_an_english_label_is_highlighted_in_an_english_note(app, contributor):
    # Peer educators writing in English about Chinese clients label the name in English.
    note = notes.create_draft(author=contributor, data=notes.NoteInput(title="Referral", summary="s", body="b",
                                                                       language="en", visibility="public"))
    author = client_of(app, contributor)
    author.get("/?lang=en")
    check = post_form(author, f"/notes/{note.id}/edit", {**EDITOR, "title": "Referral", "language": "en",
                                                          "body": "Name: 王小明. Came for testing.",
                                                          "submit_note": "1"})
    page = check.get_data(as_text=True)
    assert check.status_code == 422 and "Name: <mark>王小明</mark>. Came" in page and "real name" in page
    assert db_state(note) == "draft"
