"""The note editor's endpoints: autosave, preview with the live privacy check, the no-script preview."""
from __future__ import annotations

import re

import pytest

from hub.extensions import db
from hub.models.note import Note, NoteRevision
from hub.services import vocabulary
from tests.helpers import count, csrf_token, post_form

NOTE = {"title": "外展记录", "summary": "一句话", "body": "正文", "language": "zh_Hans", "visibility": "members"}


@pytest.fixture
def editor(client, login_as, contributor):
    vocabulary.seed()
    login_as(contributor)
    return client


def test_first_autosave_creates_a_draft_and_later_ones_update_it(editor):
    token = csrf_token(editor, "/notes/new")
    first = editor.post("/notes/autosave", data={"csrf_token": token, **NOTE}).get_json()
    assert first["ok"] and first["edit_url"] == f"/notes/{first['id']}/edit"
    second = editor.post("/notes/autosave", data={"csrf_token": token, **NOTE, "note_id": first["id"],
                                                  "body": "改过的正文"}).get_json()
    assert second["id"] == first["id"] and count(Note) == 1
    assert db.session.get(Note, first["id"]).body == "改过的正文"


def test_autosave_refuses_someone_elses_draft(editor, app, make_user):
    from hub.models.user import Role
    from hub.services import notes

    other = make_user("other", role=Role.CONTRIBUTOR)
    theirs = notes.create_draft(author=other, data=notes.NoteInput(title="theirs"))
    token = csrf_token(editor, "/notes/new")
    response = editor.post("/notes/autosave", data={"csrf_token": token, **NOTE, "note_id": theirs.id})
    assert response.status_code == 404
    db.session.refresh(theirs)
    assert theirs.title == "theirs"


def test_preview_renders_sanitised_html_and_masks_findings(editor):
    token = csrf_token(editor, "/notes/new")
    result = editor.post("/notes/preview", data={
        "csrf_token": token, **NOTE, "body": "**粗体** <script>x</script> 身份证 11010519491231002X",
        "what_we_learned": "学到了"}).get_json()
    assert "<strong>粗体</strong>" in result["html"] and "<script" not in result["html"]
    assert 'data-section="what_we_learned"' in result["html"]
    assert result["findings"] == [
        {"field": "body", "kind": "id_number", "label": "ID number", "masked": "110************02X"}]
    assert result["summary"] == "1 place to check for personal data"
    assert count(Note) == 0  # a preview saves nothing


def test_preview_button_works_without_script(editor):
    response = post_form(editor, "/notes/new", {**NOTE, "body": "## 小标题\n电话13812345678", "preview": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h2>小标题</h2>" in html and "<mark>13812345678</mark>" in html
    assert count(Note) == 0


def test_submit_with_personal_data_shows_each_finding_highlighted(editor):
    response = post_form(editor, "/notes/new", {**NOTE, "body": "邮箱 lee@example.org", "submit_note": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<mark>lee@example.org</mark>" in page
    assert count(Note) == 0  # nothing saved until the writer decides: the text rides in the check page's form
    assert 'action="/notes/new"' in page
    response = post_form(editor, "/notes/new", {**NOTE, "body": "邮箱 lee@example.org", "submit_note": "1",
                                                "confirm_privacy": "y", "privacy_check": "1"})
    assert response.status_code == 302
    (note,) = db.session.scalars(db.select(Note)).all()
    assert note.state == "submitted" and note.body == "邮箱 lee@example.org"


def test_a_number_in_the_tags_or_the_province_is_highlighted_where_it_is(editor):
    """The page shows the fields as saving normalises them: a tag typed after ", " has no space before it."""
    response = post_form(editor, "/notes/new", {**NOTE, "tags": "夜间, 13812345678", "province": " 四川 电话13912345678",
                                                "submit_note": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<mark>13812345678</mark>" in page and "<mark>13912345678</mark>" in page


def test_going_back_from_the_privacy_page_keeps_the_text_unsaved(editor):
    post_form(editor, "/notes/new", {**NOTE, "body": "电话 13812345678", "submit_note": "1"})
    response = post_form(editor, "/notes/new", {**NOTE, "body": "电话 13812345678", "edit_again": "1"})
    assert response.status_code == 200 and "电话 13812345678" in response.get_data(as_text=True)
    assert count(Note) == 0


def test_admin_extends_the_vocabulary_and_lists_sensitive_words(client, login_as, admin):
    vocabulary.seed()
    login_as(admin)
    response = post_form(client, "/admin/vocabulary", {"kind": "topic", "slug": "chemsex", "name_zh": "化学性行为",
                                                       "name_en": "Chemsex"})
    assert response.status_code == 302 and vocabulary.by_slug("topic", "chemsex").name_zh == "化学性行为"
    response = post_form(client, "/admin/sensitive-words", {"word": "张护士"})
    assert response.status_code == 302
    assert "张护士" in client.get("/admin/sensitive-words").get_data(as_text=True)
    from hub.models.audit import AuditEntry
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "sensitive_word.add"))
    assert "张护士" not in str(entry.details)


@pytest.mark.parametrize("lang, refused", [("zh", "请只从列出的选项中选择。"), ("en", "Choose only from the offered options.")])
def test_a_topic_that_is_not_offered_is_named_beside_the_topics(editor, lang, refused):
    """A changed page (or an old one, after a topic was removed) sends a choice the form does not offer:
    the page says which field is wrong, not only that something is, and keeps what was written."""
    token = csrf_token(editor, "/notes/new")
    page = editor.post(f"/notes/new?lang={lang}", data={"csrf_token": token, **NOTE, "topics": "nsp",
                                                        "action": "save"})
    assert page.status_code == 200 and count(Note) == 0
    text = page.get_data(as_text=True)
    topics = text[text.index('<fieldset class="field checks has-error"'):]
    assert refused in topics[:topics.index("</fieldset>")]
    assert "外展记录" in text


# --- a new note's form: one transaction, and one note per editor page (its idempotency key) ------------------

def _key(editor) -> str:
    """Open the editor for a new note; return the idempotency key its form carries."""
    page = editor.get("/notes/new").get_data(as_text=True)
    return re.search(r'name="draft_key" type="hidden" value="([\w-]{16,64})"', page).group(1)


def test_a_new_note_refused_on_submit_saves_nothing_and_shows_the_text_again(editor):
    response = post_form(editor, "/notes/new", {**NOTE, "summary": "", "body": "夜里十点的外展", "submit_note": "1",
                                                "draft_key": _key(editor)})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and count(Note) == 0
    assert "夜里十点的外展" in page and "Write a summary of one or two sentences before submitting." in page


def test_save_draft_sent_again_after_the_first_answer_is_lost_saves_into_the_same_draft(editor):
    key = _key(editor)
    first = post_form(editor, "/notes/new", {**NOTE, "save": "1", "draft_key": key})
    again = post_form(editor, "/notes/new", {**NOTE, "body": "多写了一句", "save": "1", "draft_key": key})
    (note,) = db.session.scalars(db.select(Note)).all()
    assert first.headers["Location"] == again.headers["Location"] == f"/notes/{note.id}/edit"
    assert note.body == "多写了一句" and note.state == "draft"


def test_submit_sent_again_gets_the_first_answer_and_submits_once(editor):
    key = _key(editor)
    answers = [post_form(editor, "/notes/new", {**NOTE, "submit_note": "1", "draft_key": key}) for _ in range(2)]
    (note,) = db.session.scalars(db.select(Note)).all()
    assert [a.headers["Location"] for a in answers] == [f"/notes/{note.id}"] * 2
    assert note.state == "submitted" and count(NoteRevision) == 1
    assert "Submitted. A moderator will review your note" in editor.get(f"/notes/{note.id}").get_data(as_text=True)
    changed = post_form(editor, "/notes/new", {**NOTE, "body": "提交后又改了", "submit_note": "1", "draft_key": key})
    db.session.refresh(note)  # new text under the same key is kept, as an edit of the submitted note
    assert changed.status_code == 302 and note.body == "提交后又改了" and count(Note) == 1


def test_the_form_after_an_autosave_whose_answer_was_lost_submits_that_draft(editor):
    key = _key(editor)
    token = csrf_token(editor, "/notes/new")
    made = editor.post("/notes/autosave", data={"csrf_token": token, **NOTE, "draft_key": key}).get_json()
    response = post_form(editor, "/notes/new", {**NOTE, "submit_note": "1", "draft_key": key})
    assert response.headers["Location"] == f"/notes/{made['id']}"
    (note,) = db.session.scalars(db.select(Note)).all()
    assert note.state == "submitted"


def test_a_key_reaches_only_its_own_authors_note_and_a_bad_key_is_not_used(editor, app, make_user):
    from hub.models.user import Role
    from tests.helpers import login

    key = _key(editor)
    post_form(editor, "/notes/new", {**NOTE, "save": "1", "draft_key": key})
    other = app.test_client()
    make_user("other", role=Role.CONTRIBUTOR)
    login(other, "other")
    post_form(other, "/notes/new", {**NOTE, "title": "别人的", "save": "1", "draft_key": key})
    for bad in ("short", "x" * 500, "键" * 20):
        assert post_form(editor, "/notes/new", {**NOTE, "save": "1", "draft_key": bad}).status_code == 302
    titles = sorted(n.title for n in db.session.scalars(db.select(Note)))
    assert titles == ["别人的"] + [NOTE["title"]] * 4


def test_the_editor_works_without_a_key(editor):
    """A page from before the key, or a client that leaves it out: each post makes its note."""
    for _ in range(2):
        assert post_form(editor, "/notes/new", {**NOTE, "save": "1"}).status_code == 302
    assert count(Note) == 2


# --- an existing draft: saving and submitting is one transaction ----------------------------------------------

def _draft(editor) -> Note:
    """Save a draft through the editor, as its author would; return it."""
    post_form(editor, "/notes/new", {**NOTE, "save": "1", "draft_key": _key(editor)})
    return db.session.scalars(db.select(Note)).one()


def test_a_draft_refused_on_submit_keeps_its_saved_text_and_shows_the_new_text_again(editor):
    note = _draft(editor)
    response = post_form(editor, f"/notes/{note.id}/edit", {**NOTE, "summary": "", "body": "夜里十点的外展",
                                                            "submit_note": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "夜里十点的外展" in page
    assert "Write a summary of one or two sentences before submitting." in page
    db.session.refresh(note)  # neither the edit nor the submission: the draft as it was saved
    assert (note.state, note.summary, note.body, count(NoteRevision)) == ("draft", NOTE["summary"], NOTE["body"], 0)


def test_a_draft_stopped_at_the_privacy_check_keeps_its_saved_text_until_the_author_confirms(editor):
    note = _draft(editor)
    sent = {**NOTE, "body": "电话 13812345678", "submit_note": "1"}
    check = post_form(editor, f"/notes/{note.id}/edit", sent)
    assert check.status_code == 422 and "<mark>13812345678</mark>" in check.get_data(as_text=True)
    db.session.refresh(note)
    assert (note.state, note.body) == ("draft", NOTE["body"])

    confirmed = post_form(editor, f"/notes/{note.id}/edit", {**sent, "confirm_privacy": "y"})
    db.session.refresh(note)
    assert confirmed.headers["Location"] == f"/notes/{note.id}"
    assert (note.state, note.body, count(NoteRevision)) == ("submitted", "电话 13812345678", 1)


# --- a key whose note was deleted since: nothing claimed, nothing lost, the deleted note stays deleted --------

DELETED_MEANWHILE = {
    "en": "The note this editor saved was deleted meanwhile",
    "zh_Hans": "这个编辑器保存的笔记已在此期间被删除",
}


@pytest.mark.parametrize("button", ["save", "submit_note"])
@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_the_editor_sent_again_after_its_note_was_deleted_gives_the_text_back_with_a_new_key(editor, button,
                                                                                            language):
    key = _key(editor)
    post_form(editor, "/notes/new", {**NOTE, "save": "1", "draft_key": key})
    (note,) = db.session.scalars(db.select(Note)).all()
    post_form(editor, f"/notes/{note.id}/delete", {}, form_url=f"/notes/{note.id}/edit")  # in another tab
    editor.get(f"/?lang={language}")

    again = post_form(editor, "/notes/new", {**NOTE, "body": "删除后又写的一段", button: "1", "draft_key": key,
                                             "device_copy": "copy1234"})
    page = again.get_data(as_text=True)
    assert again.status_code == 409 and "删除后又写的一段" in page and DELETED_MEANWHILE[language] in page
    assert "hub-editor-saved" not in page + editor.get("/notes/mine").get_data(as_text=True)  # the device copy stays
    db.session.refresh(note)
    assert note.state == "deleted" and note.body == "" and count(Note) == 1  # nothing saved, nothing brought back
    new_key = re.search(r'name="draft_key" type="hidden" value="([\w-]{16,64})"', page).group(1)
    assert new_key != key

    kept = post_form(editor, "/notes/new", {**NOTE, "body": "删除后又写的一段", "save": "1", "draft_key": new_key})
    made = db.session.scalars(db.select(Note).where(Note.id != note.id)).one()
    assert kept.headers["Location"] == f"/notes/{made.id}/edit"
    assert (made.state, made.body, made.draft_key) == ("draft", "删除后又写的一段", new_key)
    db.session.refresh(note)
    assert note.state == "deleted"


def test_an_autosave_after_its_note_was_deleted_is_refused_and_saves_nothing(editor):
    key = _key(editor)
    token = csrf_token(editor, "/notes/new")
    made = editor.post("/notes/autosave", data={"csrf_token": token, **NOTE, "draft_key": key}).get_json()
    post_form(editor, f"/notes/{made['id']}/delete", {}, form_url=f"/notes/{made['id']}/edit")  # in another tab

    retried = editor.post("/notes/autosave", data={"csrf_token": token, **NOTE, "body": "又写了一句",
                                                   "draft_key": key})
    answer = retried.get_json()
    assert retried.status_code == 410 and answer["ok"] is False and answer["reason"] == "deleted"
    assert answer["detail"].startswith(DELETED_MEANWHILE["en"])
    (note,) = db.session.scalars(db.select(Note)).all()
    assert note.state == "deleted" and note.body == ""


def test_submit_pressed_twice_on_a_saved_draft_records_one_revision_and_lands_on_the_same_page(editor):
    key = _key(editor)
    post_form(editor, "/notes/new", {**NOTE, "save": "1", "draft_key": key})
    (note,) = db.session.scalars(db.select(Note)).all()
    form = {**NOTE, "submit_note": "1", "note_id": note.id}
    # A double click, or a slow phone's second tap: the same form from the same editor page, twice.
    token = csrf_token(editor, f"/notes/{note.id}/edit")
    answers = [editor.post(f"/notes/{note.id}/edit", data={"csrf_token": token, **form}) for _ in range(2)]
    assert [a.status_code for a in answers] == [302, 302]
    assert [a.headers["Location"] for a in answers] == [f"/notes/{note.id}"] * 2
    db.session.refresh(note)
    assert note.state == "submitted" and note.revision_number == 1
    assert count(NoteRevision, NoteRevision.note_id == note.id) == 1
    changed = post_form(editor, f"/notes/{note.id}/edit", {**form, "body": "提交后又改了"})
    db.session.refresh(note)  # new text is still an edit of the submitted note, kept as a revision
    assert changed.status_code == 302 and note.body == "提交后又改了"
    assert count(NoteRevision, NoteRevision.note_id == note.id) == 2


def test_save_pressed_again_on_a_submitted_note_records_no_revision(editor):
    key = _key(editor)
    post_form(editor, "/notes/new", {**NOTE, "save": "1", "draft_key": key})
    (note,) = db.session.scalars(db.select(Note)).all()
    post_form(editor, f"/notes/{note.id}/edit", {**NOTE, "submit_note": "1", "note_id": note.id})
    for _ in range(2):  # the author opens the submitted note and presses "Save" without changing a word
        saved = post_form(editor, f"/notes/{note.id}/edit", {**NOTE, "save": "1", "note_id": note.id})
        assert saved.status_code == 302
    db.session.refresh(note)
    assert note.state == "submitted" and count(NoteRevision, NoteRevision.note_id == note.id) == 1
    post_form(editor, f"/notes/{note.id}/edit", {**NOTE, "save": "1", "note_id": note.id, "body": "又改了一句"})
    assert count(NoteRevision, NoteRevision.note_id == note.id) == 2  # a real edit is kept
