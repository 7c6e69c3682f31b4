"""Every path a person's data can take into the hub passes the same privacy check (issue 12).

Comments, review-thread replies, profile text, translations, image alt text, comments from
partner hubs; edits of published notes that wait for review while readers keep the published
text; moderators who must tick or remove each finding before anything is published; and
redaction that reaches the note's history, search, exports and partner hubs. Driven through the
pages (HTTP client) wherever a person would act.
"""
from __future__ import annotations

import concurrent.futures
import io
import json

import pytest
import sqlalchemy as sa
from PIL import Image
from flask.testing import FlaskClient

import search_index
from hub import worker
from hub.extensions import db
from hub.models import (AuditEntry, Comment, CommentState, Flag, Note, NoteRevision, Notification, ReviewMessage,
                        SensitiveWord)
from hub.models.events import Event
from hub.models.user import Role, User
from hub.services import accounts, attachments, discussion, moderation, notes, screening, transfer, translations
from hub.services.errors import ServiceError
from tests.forms import form_fields
from tests.helpers import count, csrf_token, login, post_form

PHONE = "13812345678"
PHONE_SPACED = "138 1234 5678"
TITLE = "Night outreach with naloxone kits"
SUMMARY = "What we learned handing out naloxone at night."
BODY = "We walked the route twice a week.\nPeople asked for more kits."


def note_input(**overrides) -> notes.NoteInput:
    fields = {"title": TITLE, "summary": SUMMARY, "body": BODY, "language": "en", "visibility": "public"}
    return notes.NoteInput(**{**fields, **overrides})


def editor_form(**overrides) -> dict[str, str]:
    fields = {"title": TITLE, "summary": SUMMARY, "body": BODY, "language": "en", "visibility": "public",
              "place": "", "province": "", "tags": "", "context": "", "what_we_did": "", "what_happened": "",
              "what_we_learned": "", "do_differently": ""}
    return {**fields, **overrides}


def submitted(author: User, **overrides) -> Note:
    note = notes.create_draft(author=author, data=note_input(**overrides))
    return notes.submit(note, by=author, confirm_privacy=True)


def all_keys(note: Note) -> list[str]:
    return [screening.key(f) for f in notes.privacy_findings(note)[1]]


def published(author: User, moderator: User, **overrides) -> Note:
    note = submitted(author, **overrides)
    return notes.approve(note, by=moderator, checked=all_keys(note))


def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(out, "PNG")
    return out.getvalue()


def client_of(app, user: User) -> FlaskClient:
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    return browser


def reload(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def events(kind: str, subject_id: int) -> int:
    return count(Event, Event.kind == kind, Event.subject_id == subject_id)


class Anonymous:
    is_authenticated = False
    is_active = False


def found_elsewhere(app, text: str) -> int:
    """Search as an anonymous reader in a thread of its own, as another web request would.

    (Each thread keeps its own index reader; the test thread's reader is opened after the change.)
    """
    def run() -> int:
        with app.app_context():
            return search_index.search(text, viewer=Anonymous()).total
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=60)


def flashes(browser: FlaskClient) -> list[tuple[str, str]]:
    with browser.session_transaction() as session:
        return list(session.pop("_flashes", []))


# --- comments --------------------------------------------------------------------------------

def test_a_comment_with_a_phone_number_waits_for_a_moderator_and_its_writer_is_told_why(
        app, contributor, moderator, member, make_user):
    note = published(contributor, moderator)
    writer = client_of(app, member)
    url = f"/notes/{note.id}/comments"
    text = f"Call me on {PHONE_SPACED} for more kits."
    response = post_form(writer, url, {"body": text}, form_url=f"/notes/{note.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"<mark>{PHONE_SPACED}</mark>" in page and 'name="confirm_privacy"' in page
    assert count(Comment) == 0

    response = post_form(writer, url, {"body": text, "confirm_privacy": "y"}, form_url=f"/notes/{note.id}")
    assert response.status_code == 302
    (comment,) = db.session.scalars(sa.select(Comment)).all()
    assert comment.state == CommentState.HELD
    assert any("phone number" in message for _kind, message in flashes(writer))
    assert events("comment.added", comment.id) == 0
    assert count(Notification, Notification.kind == "comment.added") == 0

    assert PHONE_SPACED not in app.test_client().get(f"/notes/{note.id}").get_data(as_text=True)
    other = client_of(app, make_user("olga"))
    assert PHONE_SPACED not in other.get(f"/notes/{note.id}").get_data(as_text=True)
    own_view = writer.get(f"/notes/{note.id}").get_data(as_text=True)
    assert PHONE_SPACED in own_view and "comment-held" in own_view

    reviewer = client_of(app, moderator)
    queue = reviewer.get("/moderation/comments").get_data(as_text=True)
    assert f"<mark>{PHONE_SPACED}</mark>" in queue and "138****5678" in queue
    release = f"/moderation/comments/{comment.id}/release"
    post_form(reviewer, release, {}, form_url="/moderation/comments")
    assert reload(Comment, comment.id).state == CommentState.HELD  # nothing ticked: refused
    (finding,) = discussion.findings(comment)
    post_form(reviewer, release, {f"finding:{screening.key(finding)}": "keep"}, form_url="/moderation/comments")
    assert reload(Comment, comment.id).state == CommentState.PUBLISHED
    assert events("comment.added", comment.id) == 1
    assert count(Notification, Notification.kind == "comment.released", Notification.user_id == member.id) == 1
    assert PHONE_SPACED in app.test_client().get(f"/notes/{note.id}").get_data(as_text=True)


def test_a_comment_without_personal_data_appears_at_once(app, contributor, moderator, member):
    note = published(contributor, moderator)
    writer = client_of(app, member)
    response = post_form(writer, f"/notes/{note.id}/comments", {"body": "We tried this in Kunming."},
                         form_url=f"/notes/{note.id}")
    assert response.status_code == 302
    (comment,) = db.session.scalars(sa.select(Comment)).all()
    assert comment.state == CommentState.PUBLISHED and events("comment.added", comment.id) == 1
    assert "We tried this in Kunming." in app.test_client().get(f"/notes/{note.id}").get_data(as_text=True)


def test_a_moderator_removes_the_number_while_releasing_a_comment(app, contributor, moderator, member):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body=f"My number: {PHONE}. Ask for Lee.",
                                     confirm_privacy=True)
    (finding,) = discussion.findings(comment)
    reviewer = client_of(app, moderator)
    post_form(reviewer, f"/moderation/comments/{comment.id}/release",
              {f"finding:{screening.key(finding)}": "redact"}, form_url="/moderation/comments")
    comment = reload(Comment, comment.id)
    assert comment.state == CommentState.PUBLISHED
    assert PHONE not in comment.body and PHONE not in comment.body_html
    assert "[personal data removed]" in comment.body and "Ask for Lee." in comment.body


def test_a_declined_comment_never_reaches_readers(app, contributor, moderator, member):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body=f"微信 peer_cd85 电话 {PHONE}", confirm_privacy=True)
    reviewer = client_of(app, moderator)
    post_form(reviewer, f"/moderation/comments/{comment.id}/decline", {}, form_url="/moderation/comments")
    comment = reload(Comment, comment.id)
    assert comment.removed_at is not None and events("comment.added", comment.id) == 0
    assert "peer_cd85" not in client_of(app, member).get(f"/notes/{note.id}").get_data(as_text=True)
    assert count(Notification, Notification.kind == "comment.declined") == 1


def test_held_comments_cannot_be_released_by_a_member(app, contributor, moderator, member, fred):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body=f"Call {PHONE}", confirm_privacy=True)
    (finding,) = discussion.findings(comment)
    troll = client_of(app, fred)
    response = post_form(troll, f"/moderation/comments/{comment.id}/release",
                         {f"finding:{screening.key(finding)}": "keep"}, form_url=f"/notes/{note.id}")
    assert response.status_code == 403
    assert reload(Comment, comment.id).state == CommentState.HELD


def test_a_comment_from_a_partner_hub_goes_through_the_same_check(app, contributor, moderator):
    note = published(contributor, moderator)
    clean = discussion.receive_remote_comment(note, body="Same in Kunming.", trusted=True)
    with_phone = discussion.receive_remote_comment(note, body=f"Call {PHONE}", trusted=True)
    untrusted = discussion.receive_remote_comment(note, body="Nothing personal.", trusted=False)
    db.session.commit()
    assert [clean.state, with_phone.state, untrusted.state] == ["published", "held", "held"]
    assert events("comment.added", clean.id) == 1 and events("comment.added", with_phone.id) == 0
    assert [c.id for c in discussion.held()] == [with_phone.id, untrusted.id]


def test_a_partner_hubs_correction_with_a_phone_number_takes_its_comment_back_to_the_moderators(
        app, contributor, moderator):
    note = published(contributor, moderator)
    comment = discussion.receive_remote_comment(note, body="Same in Kunming.", trusted=True)
    discussion.update_remote_comment(comment, body="Same in Kunming; fixed typo.")
    db.session.commit()  # events are written when their transaction commits
    assert comment.state == "published" and events("comment.updated", comment.id) == 1
    discussion.update_remote_comment(comment, body=f"Same in Kunming, call {PHONE}.")
    db.session.commit()
    assert comment.state == "held" and events("comment.removed", comment.id) == 1


# --- review thread, profile, translations, attachments ------------------------------------------

UNTICKED = {"en": "Tick this box to confirm that you checked each highlighted place.",
            "zh_Hans": "请勾选此框，确认你已逐一检查了标出的内容。"}


def confirmation_box(page: str) -> str:
    """Return the confirmation box's field on a privacy-check page, its error included."""
    start = page.index('id="confirm_privacy"')
    return page[page.rindex('<div class="field', 0, start):page.index("</div>", start)]


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_pressing_the_comment_checks_button_without_the_tick_says_to_tick_it(app, contributor, moderator, member,
                                                                            language):
    note = published(contributor, moderator)
    writer = client_of(app, member)
    writer.get(f"/?lang={language}")
    url = f"/notes/{note.id}/comments"
    check = post_form(writer, url, {"body": f"Call me on {PHONE} for kits."}, form_url=f"/notes/{note.id}")
    assert check.status_code == 422 and UNTICKED[language] not in check.get_data(as_text=True)

    again = writer.post(url, data=dict(form_fields(check.get_data(as_text=True), url)))  # the button, no tick
    assert again.status_code == 422 and count(Comment) == 0
    box = confirmation_box(again.get_data(as_text=True))
    assert "has-error" in box and 'aria-invalid="true"' in box and UNTICKED[language] in box

    ticked = writer.post(url, data={**dict(form_fields(again.get_data(as_text=True), url)), "confirm_privacy": "y"})
    assert ticked.status_code == 302 and count(Comment) == 1


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_pressing_the_note_checks_submit_button_without_the_tick_says_to_tick_it(app, contributor, language):
    note = notes.create_draft(author=contributor, data=note_input(body=f"Call {PHONE} for kits."))
    author = client_of(app, contributor)
    author.get(f"/?lang={language}")
    url = f"/notes/{note.id}/edit"
    check = post_form(author, url, {**editor_form(body=f"Call {PHONE} for kits."), "submit_note": "1"})
    assert check.status_code == 422 and UNTICKED[language] not in check.get_data(as_text=True)

    again = author.post(url, data={**dict(form_fields(check.get_data(as_text=True), url)), "submit_note": "1"})
    assert again.status_code == 422 and reload(Note, note.id).state == "draft"
    box = confirmation_box(again.get_data(as_text=True))
    assert "has-error" in box and UNTICKED[language] in box

    going_back = author.post(url, data={**dict(form_fields(again.get_data(as_text=True), url)), "edit_again": "1"})
    assert going_back.status_code == 200 and UNTICKED[language] not in going_back.get_data(as_text=True)
    ticked = author.post(url, data={**dict(form_fields(again.get_data(as_text=True), url)), "submit_note": "1",
                                    "confirm_privacy": "y"})
    assert ticked.status_code == 302 and reload(Note, note.id).state == "submitted"


def test_a_reply_in_the_review_thread_with_personal_data_needs_confirmation(app, contributor, moderator):
    note = submitted(contributor)
    author = client_of(app, contributor)
    url = f"/notes/{note.id}/reply"
    response = post_form(author, url, {"message": f"Her ID is 11010519491231002X, phone {PHONE}"},
                         form_url=f"/notes/{note.id}")
    assert response.status_code == 422 and "<mark>11010519491231002X</mark>" in response.get_data(as_text=True)
    assert count(ReviewMessage) == 0
    response = post_form(author, url, {"message": f"Her ID is 11010519491231002X, phone {PHONE}",
                                       "confirm_privacy": "y"}, form_url=f"/notes/{note.id}")
    assert response.status_code == 302 and count(ReviewMessage, ReviewMessage.kind == "reply") == 1


def test_a_pseudonym_with_a_phone_number_is_refused_and_a_bio_needs_confirmation(app, member):
    browser = client_of(app, member)
    form = {"pseudonym": f"Mary {PHONE}", "email": "", "locale": "", "timezone": "", "bio": ""}
    response = post_form(browser, "/account", form)
    assert response.status_code == 200 and "must not hold a phone number" in response.get_data(as_text=True)
    assert reload(User, member.id).pseudonym == "Mary P"

    form = {**form, "pseudonym": "Mary P", "bio": f"Reach me on WeChat: 微信 mary_cd2024 or {PHONE}"}
    response = post_form(browser, "/account", form)
    assert response.status_code == 422 and f"<mark>{PHONE}</mark>" in response.get_data(as_text=True)
    assert reload(User, member.id).bio == ""
    response = post_form(browser, "/account", {**form, "confirm_privacy": "y"})
    assert response.status_code == 302 and PHONE in reload(User, member.id).bio


def test_signing_up_with_a_phone_number_as_pseudonym_is_refused(app):
    with pytest.raises(ServiceError) as refused:
        accounts.create_user(accounts.NewAccount("wei", f"小伟{PHONE}", "long enough password"))
    assert refused.value.field == "pseudonym"


def test_a_translation_with_a_phone_number_needs_confirmation_and_a_moderators_tick(
        app, contributor, moderator, make_user):
    original = published(contributor, moderator)
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="译者")
    translation = translations.start(original, by=translator, language="zh_Hans")
    browser = client_of(app, translator)
    form = editor_form(title="夜间外展", summary="夜间发放纳洛酮的经验。", body=f"有需要请打 {PHONE}。",
                       language="zh_Hans")
    response = post_form(browser, f"/notes/{translation.id}/edit", {**form, "submit_note": "1"})
    assert response.status_code == 422 and f"<mark>{PHONE}</mark>" in response.get_data(as_text=True)
    assert reload(Note, translation.id).state == "draft"
    post_form(browser, f"/notes/{translation.id}/edit", {**form, "submit_note": "1", "confirm_privacy": "y"})
    assert reload(Note, translation.id).state == "submitted"

    reviewer = client_of(app, moderator)
    post_form(reviewer, f"/moderation/notes/{translation.id}/approve", {"visibility": "public"},
              form_url=f"/moderation/notes/{translation.id}")
    assert reload(Note, translation.id).state == "submitted"


def test_image_alt_text_and_attachment_names_are_checked(app, contributor):
    note = notes.create_draft(author=contributor, data=note_input(body=f"![Lee, phone {PHONE}](/x.png)"))
    fields, findings = notes.privacy_findings(note)
    assert [(f.field, f.kind) for f in findings] == [("body", "phone")]


# --- editing a published note ----------------------------------------------------------------

def test_autosave_of_a_published_note_keeps_the_published_text(app, contributor, moderator):
    note = published(contributor, moderator)
    browser = client_of(app, contributor)
    response = post_form(browser, "/notes/autosave", {**editor_form(body="Rewritten in the editor."),
                                                      "note_id": str(note.id)},
                         form_url=f"/notes/{note.id}/edit")
    assert response.status_code == 200 and response.get_json()["ok"] is True
    note = reload(Note, note.id)
    assert note.body == BODY and note.pending.body == "Rewritten in the editor."
    assert note.pending.submitted_at is None  # kept, not yet asked for review
    assert count(Event, Event.subject_type == "note") == 1  # only the publication (the decision is a review.message)
    editor = browser.get(f"/notes/{note.id}/edit").get_data(as_text=True)
    assert "Rewritten in the editor." in editor and "Submit changes for review" in editor
    assert "Save draft" not in editor


def test_published_text_stays_everywhere_while_changes_wait(app, contributor, moderator):
    note = published(contributor, moderator, body="Kits at the pharmacy.")
    worker.run_once(app)
    browser = client_of(app, contributor)
    post_form(browser, f"/notes/{note.id}/edit", {**editor_form(body="Kits at the clinic on Monday."), "save": "1"})
    worker.run_once(app)
    anonymous = app.test_client()
    assert "pharmacy" in anonymous.get(f"/notes/{note.id}").get_data(as_text=True)
    assert "clinic" not in anonymous.get(f"/notes/{note.id}").get_data(as_text=True)
    article = anonymous.get(f"/ap/notes/{note.id}").get_data(as_text=True)
    assert "pharmacy" in article and "clinic" not in article
    api = anonymous.get("/api/v1/search?q=clinic").get_json()
    assert api["total"] == 0
    out = io.StringIO()
    transfer.export_notes(out)
    assert "pharmacy" in out.getvalue() and "clinic" not in out.getvalue()


def test_an_admin_may_let_a_trusted_author_skip_review_but_findings_still_wait(app, contributor, moderator, admin):
    note = published(contributor, moderator)
    assert contributor.edits_skip_review is False  # never by default
    post_form(client_of(app, admin), f"/admin/users/{contributor.id}/review/skip", {},
              form_url=f"/admin/users/{contributor.id}")
    assert reload(User, contributor.id).edits_skip_review is True
    browser = client_of(app, contributor)
    assert "Save changes" in browser.get(f"/notes/{note.id}/edit").get_data(as_text=True)
    post_form(browser, f"/notes/{note.id}/edit", {**editor_form(body="Now weekly."), "save": "1"})
    assert reload(Note, note.id).body == "Now weekly." and events("note.updated", note.id) == 1
    post_form(browser, f"/notes/{note.id}/edit", {**editor_form(body=f"Call {PHONE}."), "save": "1",
                                                  "confirm_privacy": "y"})
    note = reload(Note, note.id)
    assert note.body == "Now weekly." and PHONE in note.pending.body


def test_the_author_discards_pending_changes_and_withdrawing_keeps_them(app, contributor, moderator):
    note = published(contributor, moderator)
    browser = client_of(app, contributor)
    post_form(browser, f"/notes/{note.id}/edit", {**editor_form(body="First try."), "save": "1"})
    post_form(browser, f"/notes/{note.id}/changes/discard", {}, form_url=f"/notes/{note.id}/edit")
    assert reload(Note, note.id).pending is None and reload(Note, note.id).body == BODY
    post_form(browser, f"/notes/{note.id}/edit", {**editor_form(body="Second try."), "save": "1"})
    post_form(browser, f"/notes/{note.id}/withdraw", {}, form_url=f"/notes/{note.id}")
    note = reload(Note, note.id)
    assert note.state == "withdrawn" and note.pending is None and note.body == "Second try."


def test_a_moderator_sends_changes_back_and_readers_keep_the_text(app, contributor, moderator):
    note = published(contributor, moderator)
    post_form(client_of(app, contributor), f"/notes/{note.id}/edit", {**editor_form(body="Changed."), "save": "1"})
    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}/changes"
    assert "Changes to published notes" in reviewer.get("/moderation").get_data(as_text=True)
    post_form(reviewer, f"{url}/return", {"message": "Please add the dates."}, form_url=url)
    note = reload(Note, note.id)
    assert note.body == BODY and note.pending.submitted_at is None
    assert count(Notification, Notification.kind == "note.changes_returned") == 1


def test_accepting_changes_the_author_made_meanwhile_is_refused(app, contributor, moderator):
    note = published(contributor, moderator)
    author = client_of(app, contributor)
    post_form(author, f"/notes/{note.id}/edit", {**editor_form(body="Version one."), "save": "1"})
    seen = reload(Note, note.id).pending.version
    post_form(author, f"/notes/{note.id}/edit", {**editor_form(body="Version two."), "save": "1"})
    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}/changes"
    post_form(reviewer, f"{url}/accept", {"version": seen}, form_url=url)
    assert reload(Note, note.id).body == BODY


def test_a_photo_added_to_a_published_note_waits_for_review(app, contributor, moderator, member):
    note = published(contributor, moderator)
    author = client_of(app, contributor)
    token = csrf_token(author, f"/notes/{note.id}/edit")
    response = author.post(f"/notes/{note.id}/attachments", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(small_png()), "outreach.png")})
    assert response.status_code == 302
    (item,) = reload(Note, note.id).attachments
    assert item.pending and events("note.updated", note.id) == 0
    reader = client_of(app, member)
    assert "outreach.png" not in reader.get(f"/notes/{note.id}").get_data(as_text=True)
    assert reader.get(f"/notes/{note.id}/attachments/{item.id}").status_code == 404
    assert author.get(f"/notes/{note.id}/attachments/{item.id}").status_code == 200

    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}/changes"
    assert "outreach.png" in reviewer.get(url).get_data(as_text=True)
    post_form(reviewer, f"{url}/accept", {"version": reload(Note, note.id).pending.version}, form_url=url)
    assert reader.get(f"/notes/{note.id}/attachments/{item.id}").status_code == 200
    assert events("note.updated", note.id) == 1


def test_discarding_changes_drops_a_photo_that_waits(app, contributor, moderator):
    note = published(contributor, moderator)
    attachments.add(note, by=contributor, filename="outreach.png", stream=io.BytesIO(small_png()))
    notes.discard_changes(note, by=contributor)
    note = reload(Note, note.id)
    assert note.attachments == [] and note.pending is None


# --- moderators must look at every finding --------------------------------------------------------

def test_a_moderator_cannot_publish_findings_without_ticking_each(app, contributor, moderator):
    note = submitted(contributor, body=f"Call {PHONE} or mail lee(at)qq.com")
    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}"
    page = reviewer.get(url).get_data(as_text=True)
    assert page.count('value="keep"') == 2 and "138****5678" in page
    phone, mail = all_keys(note)
    post_form(reviewer, f"{url}/approve", {"visibility": "public"}, form_url=url)
    assert reload(Note, note.id).state == "submitted"
    post_form(reviewer, f"{url}/approve", {"visibility": "public", f"finding:{phone}": "keep"}, form_url=url)
    assert reload(Note, note.id).state == "submitted"
    with pytest.raises(screening.FindingsUnchecked):
        notes.approve(reload(Note, note.id), by=moderator, checked=[phone])
    db.session.rollback()
    post_form(reviewer, f"{url}/approve", {"visibility": "public", f"finding:{phone}": "keep",
                                           f"finding:{mail}": "keep"}, form_url=url)
    assert reload(Note, note.id).state == "published"


def test_removing_a_finding_while_publishing_cuts_it_from_the_revision_too(app, contributor, moderator):
    note = submitted(contributor, body=f"Call {PHONE} for kits.")
    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}"
    (key,) = all_keys(note)
    post_form(reviewer, f"{url}/approve", {"visibility": "public", f"finding:{key}": "redact"}, form_url=url)
    note = reload(Note, note.id)
    assert note.state == "published" and PHONE not in note.body and PHONE not in note.body_html
    assert "[personal data removed]" in note.body
    assert all(PHONE not in r.body and r.redacted_at for r in note.revisions)


def test_a_personal_data_report_offers_asking_the_author_and_removing_now(app, contributor, moderator, member):
    note = published(contributor, moderator, body=f"Lee's number is {PHONE}.")
    notes.flag(note, by=member, reason="personal_data")
    reviewer = client_of(app, moderator)
    page = reviewer.get("/moderation/flags").get_data(as_text=True)
    assert f"/moderation/notes/{note.id}/redact" in page and 'value="author_asked"' in page
    item = db.session.scalars(sa.select(Flag)).one()
    post_form(reviewer, f"/moderation/flags/{item.id}/resolve", {"resolution": "author_asked",
                                                                 "message": "Please remove the number."},
              form_url="/moderation/flags")
    assert reload(Flag, item.id).resolution == "author_asked"
    assert count(ReviewMessage, ReviewMessage.kind == "redaction_requested") == 1
    assert count(Notification, Notification.kind == "note.redaction_requested") == 1


# --- redaction reaches history, search, exports and partner hubs -----------------------------------

def test_redacting_a_note_removes_the_data_from_page_history_search_and_exports(app, contributor, moderator,
                                                                                 member):
    db.session.add(SensitiveWord(word="阿芳"))
    db.session.commit()
    note = published(contributor, moderator, body=f"阿芳 answers on {PHONE_SPACED}.\nKits on Mondays.")
    notes.flag(note, by=member, reason="personal_data")
    post_form(client_of(app, contributor), f"/notes/{note.id}/edit",
              {**editor_form(body=f"阿芳 answers on {PHONE_SPACED}.\nKits on Mondays and Fridays."), "save": "1",
               "confirm_privacy": "y"})
    pending = reload(Note, note.id).pending
    notes.accept_changes(reload(Note, note.id), by=moderator, version=pending.version,
                         checked=[screening.key(f) for f in notes.pending_findings(pending)[1]])
    worker.run_once(app)
    assert found_elsewhere(app, "阿芳") == 1

    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}/redact"
    assert PHONE_SPACED in reviewer.get(url).get_data(as_text=True)
    response = post_form(reviewer, url, {"title": TITLE, "summary": SUMMARY,
                                         "body": "Someone answers the phone.\nKits on Mondays and Fridays.",
                                         "reason": "Removed a name and a number."})
    assert response.status_code == 302
    note = reload(Note, note.id)
    for text in (note.body, note.body_html, *(r.body for r in note.revisions)):
        assert PHONE_SPACED not in text and "阿芳" not in text
    assert [bool(r.redacted_at) for r in note.revisions] == [True, True, False]
    assert db.session.scalars(sa.select(Flag)).one().resolution == "redacted"
    assert count(AuditEntry, AuditEntry.action == "note.redact") == 1
    assert json.dumps([e.details for e in db.session.scalars(sa.select(AuditEntry))]).find("1234") < 0
    assert events("note.updated", note.id) == 2

    history = reviewer.get(f"/notes/{note.id}/history").get_data(as_text=True)
    assert "redacted-marker" in history and PHONE_SPACED not in history and "阿芳" not in history
    worker.run_once(app)
    assert search_index.search("阿芳", viewer=Anonymous()).total == 0
    out = io.StringIO()
    transfer.export_notes(out)
    assert "阿芳" not in out.getvalue() and PHONE_SPACED not in out.getvalue()
    assert "阿芳" not in app.test_client().get(f"/ap/notes/{note.id}").get_data(as_text=True)


def test_removing_personal_data_now_renames_a_file_whose_name_holds_it(app, contributor, moderator, member):
    note = submitted(contributor, body=f"Call Lee on {PHONE}.")
    attachments.add(note, by=contributor, filename=f"Lee {PHONE}.png", stream=io.BytesIO(small_png()))
    note = notes.approve(reload(Note, note.id), by=moderator, checked=all_keys(reload(Note, note.id)))
    [attachment] = note.attachments
    reader = app.test_client()
    assert PHONE in reader.get(f"/notes/{note.id}").get_data(as_text=True)

    response = post_form(client_of(app, moderator), f"/moderation/notes/{note.id}/redact",
                         {"title": TITLE, "summary": SUMMARY, "body": "Call the centre.", "reason": ""})
    assert response.status_code == 302
    assert reload(Note, note.id).attachments[0].filename == f"attachment-{attachment.id}.png"
    for url in (f"/notes/{note.id}", f"/api/v1/notes/{note.id}", f"/ap/notes/{note.id}"):
        assert PHONE not in reader.get(url).get_data(as_text=True), url
    download = reader.get(f"/notes/{note.id}/attachments/{attachment.id}")
    assert download.status_code == 200 and PHONE not in download.headers["Content-Disposition"]


def test_a_file_name_alone_can_be_cleared_by_removing_personal_data_now(app, contributor, moderator):
    note = submitted(contributor)
    attachments.add(note, by=contributor, filename=f"Lee {PHONE}.png", stream=io.BytesIO(small_png()))
    note = notes.approve(reload(Note, note.id), by=moderator, checked=all_keys(reload(Note, note.id)))
    moderation.redact_note(note, by=moderator, fields={"title": TITLE, "summary": SUMMARY, "body": BODY})
    assert PHONE not in reload(Note, note.id).attachments[0].filename


def test_removing_personal_data_now_cuts_it_from_the_review_thread_and_the_reports_too(app, contributor, moderator,
                                                                                       member):
    note = published(contributor, moderator, body=f"Call Lee on {PHONE}.")
    notes.flag(note, by=member, reason="personal_data", detail=f"Lee's number {PHONE} is in the text.",
               confirm_privacy=True)
    notes.reply(note, by=contributor, body=f"{PHONE_SPACED} is my colleague's work phone.", confirm_privacy=True)
    author = client_of(app, contributor)
    assert PHONE_SPACED in author.get(f"/notes/{note.id}").get_data(as_text=True)

    post_form(client_of(app, moderator), f"/moderation/notes/{note.id}/redact",
              {"title": TITLE, "summary": SUMMARY, "body": "Call the centre.", "reason": ""})
    for browser in (author, client_of(app, moderator)):
        page = browser.get(f"/notes/{note.id}").get_data(as_text=True)
        assert PHONE_SPACED not in page and "is my colleague&#39;s work phone" in page
    db.session.expire_all()
    [report] = db.session.scalars(sa.select(Flag))
    assert report.detail == "Lee's number [personal data removed] is in the text."
    assert not [m for m in db.session.scalars(sa.select(ReviewMessage)) if PHONE_SPACED in m.body]


def test_a_rewritten_sentence_cuts_only_whole_words_out_of_earlier_revisions(app, contributor, moderator):
    # Compared letter by letter, "Call Lee on 138…" → "Call the centre." deleted "Le" of "Lee", which then
    # went from "Learn" too; compared word by word, the words the moderator deleted go, and only they.
    note = published(contributor, moderator, body=f"Call Lee on {PHONE}. Learn more at the centre.")
    post_form(client_of(app, moderator), f"/moderation/notes/{note.id}/redact",
              {"title": TITLE, "summary": SUMMARY, "body": "Call the centre. Learn more at the centre.", "reason": ""})
    history = client_of(app, contributor).get(f"/notes/{note.id}/history").get_data(as_text=True)
    assert "Learn more at the centre." in history and "data removed]arn" not in history
    assert PHONE not in history and "Lee" not in history


def test_a_name_replaced_by_the_marker_is_removed_from_earlier_revisions(app, contributor, moderator):
    # The most common redaction: a name replaced by the marker, whose letters a letter-by-letter diff aligned
    # with the name's ("Zebraphone Wilson" → "[personal data removed]"), leaving only pieces: "nothing removed".
    note = published(contributor, moderator, body="Zebraphone Wilson came with us to the clinic.")
    answer = post_form(client_of(app, moderator), f"/moderation/notes/{note.id}/redact",
                       {"title": TITLE, "summary": SUMMARY, "body": "[personal data removed] came with us to the clinic.",
                        "reason": ""})
    assert answer.status_code == 302
    history = client_of(app, contributor).get(f"/notes/{note.id}/history").get_data(as_text=True)
    assert "Zebraphone" not in history and "Wilson" not in history and "came with us to the clinic." in history


def test_redaction_finds_the_same_number_written_another_way_in_earlier_revisions(app, contributor, moderator):
    note = submitted(contributor, body=f"Phone: {PHONE_SPACED}")
    notes.save(note, by=contributor, data=note_input(body=f"Phone: +86 {PHONE}"))
    assert note.revision_number == 2
    moderation.redact_note(note, by=moderator, fields={"title": TITLE, "summary": SUMMARY, "body": "Phone: ask Lee."})
    note = reload(Note, note.id)
    assert [r.body for r in note.revisions[:2]] == ["Phone: [personal data removed]"] * 2


def test_redacting_the_original_cuts_the_number_from_its_translation(app, contributor, moderator, make_user):
    original = published(contributor, moderator, body=f"Call {PHONE}.")
    translator = make_user("tina", role=Role.CONTRIBUTOR, pseudonym="译者")
    translation = translations.start(original, by=translator, language="zh_Hans")
    notes.save(translation, by=translator, data=note_input(title="夜间外展", body=f"请打 {PHONE_SPACED}。",
                                                          language="zh_Hans"))
    moderation.redact_note(original, by=moderator,
                           fields={"title": TITLE, "summary": SUMMARY, "body": "Call the centre."})
    translation = reload(Note, translation.id)
    assert PHONE_SPACED not in translation.body and "［已删除个人信息］" in translation.body


def test_a_moderator_removes_personal_data_from_a_published_comment(app, contributor, moderator, member):
    note = published(contributor, moderator)
    comment = discussion.add_comment(note, by=member, body=f"Ask 阿芳 at {PHONE}", confirm_privacy=True)
    (finding,) = discussion.findings(comment)
    discussion.release(comment, by=moderator, checked=[screening.key(finding)])
    reviewer = client_of(app, moderator)
    url = f"/moderation/comments/{comment.id}/redact"
    post_form(reviewer, url, {"body": "Ask at the centre."})
    comment = reload(Comment, comment.id)
    assert comment.body == "Ask at the centre." and events("comment.updated", comment.id) == 1
    assert PHONE not in app.test_client().get(f"/notes/{note.id}").get_data(as_text=True)
