"""Every transition of a note's life, through the HTTP client: draft → submitted → published and off that path.

Each transition is checked together with what must be saved with it: the review thread, the
author's notification, the audit entry of a moderation action and the event-log row partners
are told from. Notes are put into their starting state through ``hub.services.notes``; the
transition under test goes through the page a person would use.
"""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models.events import Event
from hub.models import Comment, Note, NoteRevision, Notification, ReviewMessage
from hub.models.user import User
from hub.services import discussion, notes, screening
from tests.helpers import count, login, post_form

TITLE = "Night outreach with naloxone kits"
SUMMARY = "What we learned handing out naloxone at night."
BODY = "We walked the route twice a week.\nPeople asked for more kits.\nThe pharmacy stayed open late."
PHONE = "13812345678"


# --- helpers ---------------------------------------------------------------------------------

def note_input(**overrides) -> notes.NoteInput:
    """Return a complete, clean note as the service takes it."""
    fields = {"title": TITLE, "summary": SUMMARY, "body": BODY, "language": "en", "visibility": "members"}
    return notes.NoteInput(**{**fields, **overrides})


def editor_form(**overrides) -> dict[str, str]:
    """Return the editor's fields as a browser posts them."""
    fields = {"title": TITLE, "summary": SUMMARY, "body": BODY, "language": "en", "visibility": "members",
              "place": "", "province": "", "tags": "", "context": "", "what_we_did": "", "what_happened": "",
              "what_we_learned": "", "do_differently": ""}
    return {**fields, **overrides}


def draft(author: User, **overrides) -> Note:
    return notes.create_draft(author=author, data=note_input(**overrides))


def submitted(author: User, **overrides) -> Note:
    return notes.submit(draft(author, **overrides), by=author, confirm_privacy=True)


def published(author: User, moderator: User, **overrides) -> Note:
    return notes.approve(submitted(author, **overrides), by=moderator)


def client_of(app, user: User) -> FlaskClient:
    """Return a new browser signed in as ``user`` (for a second person in the same test)."""
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    return browser


def reload(note: Note) -> Note:
    """Read the note again from the database, as the last request left it."""
    db.session.expire_all()
    return db.session.get(Note, note.id)


def events_of(note: Note, kind: str) -> int:
    return count(Event, Event.kind == kind, Event.subject_type == "note", Event.subject_id == note.id)


def audits_of(note: Note, action: str, actor: User) -> int:
    return count(AuditEntry, AuditEntry.action == action, AuditEntry.actor_id == actor.id,
                 AuditEntry.target_type == "note", AuditEntry.target_id == note.id)


def notifications_of(user: User, kind: str, note: Note) -> int:
    return count(Notification, Notification.user_id == user.id, Notification.kind == kind,
                 Notification.note_id == note.id)


def flashes(browser: FlaskClient) -> list[tuple[str, str]]:
    """Return and clear the flashed messages waiting in the browser's session."""
    with browser.session_transaction() as session:
        return list(session.pop("_flashes", []))


def section(html: str, heading_id: str) -> str:
    """Return the part of a page from the heading with ``heading_id`` to the next section."""
    start = html.find(f'id="{heading_id}"')
    if start < 0:
        return ""
    end = html.find("</section>", start)
    return html[start:end]


# --- draft → submitted -----------------------------------------------------------------------

def test_draft_without_personal_data_goes_straight_to_review(client, login_as, contributor):
    login_as(contributor)
    response = post_form(client, "/notes/new", {**editor_form(), "submit_note": "1"})
    note = db.session.scalar(sa.select(Note))
    assert response.status_code == 302 and response.headers["Location"] == f"/notes/{note.id}"
    assert note.state == "submitted" and note.submitted_at is not None
    assert note.revision_number == 1 and count(NoteRevision, NoteRevision.note_id == note.id) == 1
    assert audits_of(note, "note.submit", contributor) == 1


def test_submitting_a_draft_with_a_phone_number_waits_for_confirmation(client, login_as, contributor):
    note = draft(contributor, body=f"Call {PHONE} for kits.")
    login_as(contributor)
    form = editor_form(body=f"Call {PHONE} for kits.")
    response = post_form(client, f"/notes/{note.id}/edit", {**form, "submit_note": "1"})
    assert response.status_code == 422
    assert f"<mark>{PHONE}</mark>" in response.get_data(as_text=True)
    assert reload(note).state == "draft" and count(NoteRevision) == 0

    response = post_form(client, f"/notes/{note.id}/edit", {**form, "submit_note": "1", "confirm_privacy": "y"})
    assert response.status_code == 302
    assert reload(note).state == "submitted"


def test_going_back_from_the_privacy_check_keeps_the_draft_a_draft(client, login_as, contributor):
    note = draft(contributor, body=f"Call {PHONE} for kits.")
    login_as(contributor)
    response = post_form(client, f"/notes/{note.id}/edit",
                         {**editor_form(body=f"Call {PHONE} for kits."), "edit_again": "1"})
    assert response.status_code == 200 and 'id="note-editor"' in response.get_data(as_text=True)
    assert reload(note).state == "draft"


def test_submitting_without_a_summary_is_refused_with_a_reason(client, login_as, contributor):
    note = draft(contributor, summary="")
    login_as(contributor)
    response = post_form(client, f"/notes/{note.id}/edit", {**editor_form(summary=""), "submit_note": "1"})
    # Nothing saved (one transaction with the submission): the editor again, the reason beside the summary.
    assert response.status_code == 422
    assert "Write a summary of one or two sentences before submitting." in response.get_data(as_text=True)
    assert reload(note).state == "draft"


# --- submitted → published -------------------------------------------------------------------

def test_approval_publishes_the_note_with_event_notification_and_audit(app, client, login_as, contributor,
                                                                       moderator):
    note = submitted(contributor)
    login_as(moderator)
    response = post_form(client, f"/moderation/notes/{note.id}/approve",
                         {"visibility": "members", "message": "Clear and useful."},
                         form_url=f"/moderation/notes/{note.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/moderation"
    note = reload(note)
    assert note.state == "published" and note.published_at is not None
    assert events_of(note, "note.published") == 1
    assert notifications_of(contributor, "note.approved", note) == 1
    assert audits_of(note, "note.approved", moderator) == 1
    assert count(ReviewMessage, ReviewMessage.note_id == note.id, ReviewMessage.kind == "approved") == 1


@pytest.mark.parametrize("authors_choice, moderators_choice, kept", [
    ("members", "public", "members"),
    ("members", "partners", "members"),
    ("partners", "public", "partners"),
    ("public", "members", "members"),
    ("public", "partners", "partners"),
])
def test_approval_may_narrow_but_never_widen_who_reads_the_note(client, login_as, contributor, moderator,
                                                                authors_choice, moderators_choice, kept):
    note = submitted(contributor, visibility=authors_choice)
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/approve", {"visibility": moderators_choice},
              form_url=f"/moderation/notes/{note.id}")
    note = reload(note)
    assert (note.state, note.visibility) == ("published", kept)


def test_moderator_narrows_a_published_note_and_it_is_audited(client, login_as, contributor, moderator):
    note = published(contributor, moderator, visibility="public")
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/visibility", {"visibility": "members"},
              form_url=f"/moderation/notes/{note.id}")
    note = reload(note)
    assert note.visibility == "members"
    assert audits_of(note, "note.visibility", moderator) == 1
    assert events_of(note, "note.updated") == 1


def test_moderator_cannot_widen_a_published_note(client, login_as, contributor, moderator):
    note = published(contributor, moderator, visibility="members")
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/visibility", {"visibility": "public"},
              form_url=f"/moderation/notes/{note.id}")
    assert reload(note).visibility == "members"
    assert ("error" in {category for category, _text in flashes(client)})
    assert count(AuditEntry, AuditEntry.action == "note.visibility") == 0


# --- submitted → changes requested → submitted -----------------------------------------------

def test_requesting_changes_needs_a_message(client, login_as, contributor, moderator):
    note = submitted(contributor)
    login_as(moderator)
    response = post_form(client, f"/moderation/notes/{note.id}/request-changes", {"message": "   "},
                         form_url=f"/moderation/notes/{note.id}")
    assert response.status_code == 200  # the review page again, the reason beside the message
    assert 'id="changes-message-error"' in response.get_data(as_text=True)
    assert reload(note).state == "submitted"
    assert count(ReviewMessage) == 0 and count(Notification) == 0


def test_author_reads_the_requested_changes_replies_and_resubmits(app, client, login_as, contributor, moderator):
    note = submitted(contributor)
    moderators = client_of(app, moderator)
    post_form(moderators, f"/moderation/notes/{note.id}/request-changes",
              {"message": "Please leave out the pharmacy's street."}, form_url=f"/moderation/notes/{note.id}")
    note = reload(note)
    assert note.state == "changes_requested"
    assert notifications_of(contributor, "note.changes_requested", note) == 1
    assert audits_of(note, "note.changes_requested", moderator) == 1

    login_as(contributor)
    assert "Please leave out the pharmacy&#39;s street." in client.get(f"/notes/{note.id}").get_data(as_text=True)
    assert "Please leave out the pharmacy&#39;s street." in client.get(f"/notes/{note.id}/edit").get_data(as_text=True)

    response = post_form(client, f"/notes/{note.id}/reply", {"message": "Done, the street is gone."},
                         form_url=f"/notes/{note.id}")
    assert response.status_code == 302
    reply = db.session.scalar(sa.select(ReviewMessage).where(ReviewMessage.kind == "reply"))
    assert (reply.note_id, reply.author_id, reply.body) == (note.id, contributor.id, "Done, the street is gone.")
    assert notifications_of(moderator, "note.reply", note) == 1
    assert "Done, the street is gone." in moderators.get(f"/moderation/notes/{note.id}").get_data(as_text=True)

    response = post_form(client, f"/notes/{note.id}/edit",
                         {**editor_form(body=BODY + "\nWe met at the outreach point."), "submit_note": "1"})
    assert response.status_code == 302
    assert reload(note).state == "submitted"


# --- submitted → rejected --------------------------------------------------------------------

def test_rejecting_needs_a_reason(client, login_as, contributor, moderator):
    note = submitted(contributor)
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/reject", {"message": ""}, form_url=f"/moderation/notes/{note.id}")
    assert reload(note).state == "submitted"
    assert count(ReviewMessage) == 0 and count(AuditEntry, AuditEntry.action == "note.rejected") == 0


def test_rejection_tells_the_author_why(app, client, login_as, contributor, moderator):
    note = submitted(contributor)
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/reject", {"message": "This is an advertisement."},
              form_url=f"/moderation/notes/{note.id}")
    note = reload(note)
    assert note.state == "rejected"
    assert notifications_of(contributor, "note.rejected", note) == 1
    assert audits_of(note, "note.rejected", moderator) == 1
    authors = client_of(app, contributor)
    assert "This is an advertisement." in authors.get(f"/notes/{note.id}").get_data(as_text=True)


# --- published → unpublished / withdrawn -----------------------------------------------------

def test_moderator_unpublishes_a_note_and_readers_lose_it(app, client, login_as, contributor, moderator):
    note = published(contributor, moderator, visibility="public")
    anonymous = app.test_client()
    assert anonymous.get(f"/notes/{note.id}").status_code == 200
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/unpublish", {"message": "A reader recognised the person."},
              form_url=f"/moderation/notes/{note.id}")
    note = reload(note)
    assert note.state == "unpublished"
    assert events_of(note, "note.unpublished") == 1
    assert notifications_of(contributor, "note.unpublished", note) == 1
    assert audits_of(note, "note.unpublished", moderator) == 1
    assert anonymous.get(f"/notes/{note.id}").status_code == 404
    authors = client_of(app, contributor)
    assert "A reader recognised the person." in authors.get(f"/notes/{note.id}").get_data(as_text=True)


def test_unpublishing_needs_a_reason(client, login_as, contributor, moderator):
    note = published(contributor, moderator)
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/unpublish", {"message": " "},
              form_url=f"/moderation/notes/{note.id}")
    assert reload(note).state == "published"
    assert events_of(note, "note.unpublished") == 0


def test_author_withdraws_a_submitted_note_without_telling_partners(client, login_as, contributor):
    note = submitted(contributor)
    login_as(contributor)
    response = post_form(client, f"/notes/{note.id}/withdraw", {}, form_url=f"/notes/{note.id}")
    assert response.status_code == 302
    assert reload(note).state == "withdrawn"
    assert count(Event) == 0
    assert audits_of(note, "note.withdraw", contributor) == 1


def test_author_withdraws_a_published_note_and_partners_are_told(app, client, login_as, contributor, moderator,
                                                                 member):
    note = published(contributor, moderator)
    readers = client_of(app, member)
    assert readers.get(f"/notes/{note.id}").status_code == 200
    login_as(contributor)
    post_form(client, f"/notes/{note.id}/withdraw", {}, form_url=f"/notes/{note.id}")
    note = reload(note)
    assert note.state == "withdrawn"
    assert events_of(note, "note.unpublished") == 1
    assert readers.get(f"/notes/{note.id}").status_code == 404


def test_withdrawn_note_can_be_submitted_again(client, login_as, contributor, moderator):
    note = notes.withdraw(published(contributor, moderator), by=contributor)
    login_as(contributor)
    post_form(client, f"/notes/{note.id}/edit", {**editor_form(), "submit_note": "1"})
    assert reload(note).state == "submitted"


# --- any → deleted ----------------------------------------------------------------------------

def _in_state(state: str, contributor: User, moderator: User) -> Note:
    if state == "draft":
        return draft(contributor, visibility="public")
    if state == "submitted":
        return submitted(contributor, visibility="public")
    note = published(contributor, moderator, visibility="public")
    if state == "unpublished":
        notes.unpublish(note, by=moderator, reason="Taken down.")
    if state == "withdrawn":
        notes.withdraw(note, by=contributor)
    return note


@pytest.mark.parametrize("state, was_published", [
    ("draft", False), ("submitted", False), ("published", True), ("unpublished", True), ("withdrawn", True),
])
def test_deleting_leaves_an_empty_tombstone(app, client, login_as, contributor, moderator, member, state,
                                            was_published):
    note = _in_state(state, contributor, moderator)
    login_as(contributor)
    response = post_form(client, f"/notes/{note.id}/delete", {}, form_url="/notes/mine")
    assert response.status_code == 302 and response.headers["Location"] == "/notes/mine"
    note = reload(note)
    assert note.state == "deleted" and note.deleted_at is not None
    assert (note.title, note.summary, note.body, note.body_html, note.place) == ("", "", "", "", "")
    assert note.sections == {} and note.tags == [] and note.terms == []
    assert count(NoteRevision, NoteRevision.note_id == note.id) == 0
    assert count(ReviewMessage, ReviewMessage.note_id == note.id) == 0
    assert events_of(note, "note.deleted") == (1 if was_published else 0)
    # Gone (410) where readers had it; a draft or submission nobody else read answers as a note that never was.
    for browser in (client, app.test_client(), client_of(app, moderator), client_of(app, member)):
        assert browser.get(f"/notes/{note.id}").status_code == (410 if was_published else 404)
    assert TITLE not in client.get("/notes/mine").get_data(as_text=True)


def test_deleting_a_note_removes_its_comments(client, login_as, contributor, moderator, member):
    note = published(contributor, moderator)
    discussion.add_comment(note, by=member, body="We did the same in Kunming.")
    login_as(contributor)
    post_form(client, f"/notes/{note.id}/delete", {}, form_url="/notes/mine")
    assert count(Comment, Comment.note_id == note.id) == 0


# --- editing a published note ----------------------------------------------------------------

def test_editing_a_published_note_waits_for_review_then_keeps_a_revision_and_tells_partners(
        app, client, login_as, contributor, moderator):
    note = published(contributor, moderator)
    login_as(contributor)
    changed = BODY.replace("twice a week", "every evening")
    response = post_form(client, f"/notes/{note.id}/edit", {**editor_form(body=changed), "save": "1"})
    assert response.status_code == 302 and response.headers["Location"] == f"/notes/{note.id}"
    note = reload(note)
    assert note.state == "published" and note.body == BODY and note.revision_number == 1
    assert note.pending.body == changed and note.pending.submitted_at is not None
    assert events_of(note, "note.updated") == 0
    assert "every evening" not in client_of(app, moderator).get(f"/notes/{note.id}").get_data(as_text=True)

    reviewer = client_of(app, moderator)
    page = reviewer.get(f"/moderation/notes/{note.id}/changes").get_data(as_text=True)
    assert "<del>- We walked the route twice a week.</del>" in page
    assert "<ins>+ We walked the route every evening.</ins>" in page
    response = post_form(reviewer, f"/moderation/notes/{note.id}/changes/accept", {"version": note.pending.version},
                         form_url=f"/moderation/notes/{note.id}/changes")
    assert response.status_code == 302
    note = reload(note)
    assert note.body == changed and note.pending is None
    assert note.revision_number == 2 and count(NoteRevision, NoteRevision.note_id == note.id) == 2
    assert events_of(note, "note.updated") == 1
    assert notifications_of(contributor, "note.changes_accepted", note) == 1
    assert "every evening" in client.get(f"/notes/{note.id}").get_data(as_text=True)

    history = client.get(f"/notes/{note.id}/history").get_data(as_text=True)
    assert "<del>- We walked the route twice a week.</del>" in history
    assert "<ins>+ We walked the route every evening.</ins>" in history
    assert "  People asked for more kits." in history  # unchanged context is shown without a sign


def test_history_of_a_published_note_is_for_author_and_moderators_only(app, contributor, moderator, member):
    note = published(contributor, moderator)
    assert client_of(app, contributor).get(f"/notes/{note.id}/history").status_code == 200
    assert client_of(app, moderator).get(f"/notes/{note.id}/history").status_code == 200
    assert client_of(app, member).get(f"/notes/{note.id}/history").status_code == 404


def test_adding_a_phone_number_to_a_published_note_needs_confirmation_then_a_moderators_tick(
        app, client, login_as, contributor, moderator):
    note = published(contributor, moderator)
    login_as(contributor)
    form = editor_form(body=BODY + f"\nCall {PHONE} for kits.")
    response = post_form(client, f"/notes/{note.id}/edit", {**form, "save": "1"})
    assert response.status_code == 422 and f"<mark>{PHONE}</mark>" in response.get_data(as_text=True)
    note = reload(note)
    assert note.body == BODY and note.pending is None

    response = post_form(client, f"/notes/{note.id}/edit", {**form, "save": "1", "confirm_privacy": "y"})
    assert response.status_code == 302
    note = reload(note)
    assert PHONE not in note.body and PHONE in note.pending.body and note.revision_number == 1
    assert events_of(note, "note.updated") == 0

    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}/changes"
    post_form(reviewer, f"{url}/accept", {"version": note.pending.version}, form_url=url)
    assert PHONE not in reload(note).body  # not ticked: refused
    (finding,) = notes.pending_findings(reload(note).pending)[1]
    post_form(reviewer, f"{url}/accept", {"version": note.pending.version,
                                          f"finding:{screening.key(finding)}": "keep"}, form_url=url)
    note = reload(note)
    assert PHONE in note.body and note.revision_number == 2
    assert events_of(note, "note.updated") == 1


def test_editing_a_published_note_cannot_widen_who_reads_it(client, login_as, contributor, moderator):
    note = published(contributor, moderator, visibility="members")
    login_as(contributor)
    post_form(client, f"/notes/{note.id}/edit", {**editor_form(visibility="public"), "save": "1"})
    assert reload(note).visibility == "members"


@pytest.mark.parametrize("emptied, message", [
    ({"title": ""}, "Give the note a title before submitting it."),
    ({"summary": "  "}, "Write a summary of one or two sentences before submitting."),
    ({"body": ""}, "Write the note's text, or one of its sections, before submitting it."),
])
def test_changes_that_empty_a_published_note_are_refused_on_the_field(client, login_as, contributor, moderator,
                                                                     emptied, message):
    note = published(contributor, moderator)
    login_as(contributor)
    response = post_form(client, f"/notes/{note.id}/edit", {**editor_form(**emptied), "save": "1"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    (name,) = emptied
    field = re.search(rf'<div class="field has-error">\s*<label for="{name}".*?</div>', page, re.S)
    assert field and message in html.unescape(field.group(0))
    note = reload(note)
    assert note.pending is None and note.title == TITLE and note.body == BODY


def test_changes_without_a_title_are_refused_in_chinese_too(client, login_as, contributor, moderator):
    note = published(contributor, moderator)
    login_as(contributor)
    response = post_form(client, f"/notes/{note.id}/edit?lang=zh_Hans", {**editor_form(title=""), "save": "1"},
                         form_url=f"/notes/{note.id}/edit")
    assert "提交前请给笔记写一个标题。" in response.get_data(as_text=True)


def test_a_body_in_sections_alone_is_enough_for_changes(client, login_as, contributor, moderator):
    note = published(contributor, moderator)
    login_as(contributor)
    response = post_form(client, f"/notes/{note.id}/edit",
                         {**editor_form(body="", what_we_did="We walked the route."), "save": "1"})
    assert response.status_code == 302 and reload(note).pending.body == ""


def test_a_submitted_note_cannot_be_saved_without_its_title(client, login_as, contributor):
    note = submitted(contributor)
    login_as(contributor)
    response = post_form(client, f"/notes/{note.id}/edit", {**editor_form(title=" "), "save": "1"})
    assert "Give the note a title before submitting it." in response.get_data(as_text=True)
    assert reload(note).title == TITLE


def test_a_moderator_cannot_publish_changes_that_lost_the_title(app, client, login_as, contributor, moderator):
    """Changes kept before the rule (or by the editor's autosave) are refused when accepted, not published."""
    note = published(contributor, moderator)
    notes.autosave(note, by=contributor, data=note_input(title=""))
    note.pending.submitted_at = note.pending.updated_at  # submitted before changes had to be complete
    db.session.commit()
    reviewer = client_of(app, moderator)
    url = f"/moderation/notes/{note.id}/changes"
    response = post_form(reviewer, f"{url}/accept", {"version": note.pending.version}, form_url=url)
    # The changes page comes back with the reason (refused forms are shown again, not redirected).
    assert response.status_code == 200
    assert ("These changes leave the note without a title, a summary or any text. "
            "Send them back to the author with a message.") in response.get_data(as_text=True)
    note = reload(note)
    assert note.title == TITLE and note.pending is not None and note.revision_number == 1


def test_a_published_note_without_a_title_is_shown_untitled_and_linked(app, client, login_as, contributor, moderator):
    """A note left untitled (changes published before the rule, a partner hub's note) is still found and read."""
    from hub import events, worker

    note = published(contributor, moderator, visibility="public")
    note.title = ""
    events.record("note.updated", subject_type="note", subject_id=note.id)
    db.session.commit()
    worker.run_once(app)
    link = f'<a href="/notes/{note.id}"><bdi class="user-text">%s</bdi></a>'
    assert link % "(untitled)" in client.get("/search?q=naloxone").get_data(as_text=True)
    assert link % "（无标题）" in client.get("/search?q=naloxone&lang=zh_Hans").get_data(as_text=True)
    login_as(contributor)
    history = client.get(f"/notes/{note.id}/history?lang=en").get_data(as_text=True)
    assert "<title>\u2068History · (untitled)\u2069" in history and "“<bdi class=\"user-text\">(untitled)</bdi>”" in history


def test_editing_a_submitted_note_keeps_a_revision_but_tells_nobody(client, login_as, contributor):
    note = submitted(contributor)
    login_as(contributor)
    post_form(client, f"/notes/{note.id}/edit", {**editor_form(title="Night outreach, revised"), "save": "1"})
    note = reload(note)
    assert (note.state, note.title, note.revision_number) == ("submitted", "Night outreach, revised", 2)
    assert count(Event) == 0


# --- readers ---------------------------------------------------------------------------------

def test_comment_is_recorded_as_an_event_and_notifies_the_author(client, login_as, contributor, moderator,
                                                                 member):
    note = published(contributor, moderator)
    login_as(member)
    response = post_form(client, f"/notes/{note.id}/comments", {"body": "We did the same in Kunming."},
                         form_url=f"/notes/{note.id}")
    assert response.status_code == 302
    comment = db.session.scalar(sa.select(Comment))
    assert (comment.note_id, comment.author_id) == (note.id, member.id)
    event = db.session.scalar(sa.select(Event).where(Event.kind == "comment.added"))
    assert (event.subject_type, event.subject_id, event.payload) == ("comment", comment.id, {"note_id": note.id})
    assert notifications_of(contributor, "comment.added", note) == 1
    assert "We did the same in Kunming." in client.get(f"/notes/{note.id}").get_data(as_text=True)


# --- what is saved with each decision --------------------------------------------------------

DECISIONS = [
    # route, form, the author's notification and the audit action
    ("approve", {"visibility": "members"}, "note.approved"),
    ("request-changes", {"message": "Add what happened next."}, "note.changes_requested"),
    ("reject", {"message": "Not a practice note."}, "note.rejected"),
]


@pytest.mark.parametrize("route, form, kind", DECISIONS, ids=[d[0] for d in DECISIONS])
def test_every_review_decision_notifies_the_author_and_is_audited(client, login_as, contributor, moderator,
                                                                  route, form, kind):
    note = submitted(contributor)
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/{route}", form, form_url=f"/moderation/notes/{note.id}")
    assert notifications_of(contributor, kind, note) == 1
    assert audits_of(note, kind, moderator) == 1
    assert count(Notification) == 1  # nobody else is told


@pytest.mark.parametrize("url, form, action", [
    ("/moderation/notes/{id}/unpublish", {"message": "Reported by a reader."}, "note.unpublished"),
    ("/moderation/notes/{id}/visibility", {"visibility": "members"}, "note.visibility"),
    ("/notes/{id}/feature?on=1", {}, "note.feature"),
])
def test_every_moderation_action_on_a_published_note_is_audited(client, login_as, contributor, moderator,
                                                                 url, form, action):
    note = published(contributor, moderator, visibility="public")
    login_as(moderator)
    response = post_form(client, url.format(id=note.id), form, form_url=f"/moderation/notes/{note.id}")
    assert response.status_code == 302
    assert audits_of(note, action, moderator) == 1


def test_unpublishing_notifies_the_author(client, login_as, contributor, moderator):
    note = published(contributor, moderator)
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/unpublish", {"message": "Reported."},
              form_url=f"/moderation/notes/{note.id}")
    assert notifications_of(contributor, "note.unpublished", note) == 1


def test_author_finds_the_decision_among_their_notifications(app, contributor, moderator):
    note = submitted(contributor)
    notes.request_changes(note, by=moderator, message="Add what happened next.")
    html = client_of(app, contributor).get("/account/notifications").get_data(as_text=True)
    assert f"/notes/{note.id}" in html


def test_a_notifications_link_holds_its_sentence_only(app, contributor, moderator):
    """No spaces or line breaks inside the link around the sentence (the underline would run under them)."""
    note = submitted(contributor)
    notes.request_changes(note, by=moderator, message="Add what happened next.")
    html = client_of(app, contributor).get("/account/notifications").get_data(as_text=True)
    [text] = re.findall(rf'<a href="/notes/{note.id}">(.*?)</a>', html, re.S)
    assert text == text.strip() and text.startswith("A moderator asks for changes to")


def _fail_after_recording(monkeypatch) -> None:
    """Make the event log fail right after adding its row, before anything is committed."""
    record = notes.events.record

    def record_then_fail(*args, **kwargs):
        record(*args, **kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(notes.events, "record", record_then_fail)


@pytest.mark.parametrize("transition", ["approve", "unpublish", "withdraw", "comment", "delete"])
def test_a_transition_and_its_records_are_saved_together_or_not_at_all(app, monkeypatch, contributor, moderator,
                                                                       member, transition):
    note = submitted(contributor) if transition == "approve" else published(contributor, moderator)
    state, title = note.state, note.title
    before = {model.__name__: count(model) for model in (Event, AuditEntry, Notification, ReviewMessage, Comment)}
    _fail_after_recording(monkeypatch)
    run = {
        "approve": lambda: notes.approve(note, by=moderator),
        "unpublish": lambda: notes.unpublish(note, by=moderator, reason="Reported."),
        "withdraw": lambda: notes.withdraw(note, by=contributor),
        "comment": lambda: discussion.add_comment(note, by=member, body="Same here."),
        "delete": lambda: notes.delete(note, by=contributor),
    }[transition]
    with pytest.raises(RuntimeError):
        run()
    db.session.rollback()
    note = reload(note)
    assert (note.state, note.title) == (state, title)
    after = {model.__name__: count(model) for model in (Event, AuditEntry, Notification, ReviewMessage, Comment)}
    assert after == before


# --- featured notes --------------------------------------------------------------------------

def test_note_featured_on_approval_appears_on_the_home_page(app, client, login_as, contributor, moderator):
    plain = published(contributor, moderator, visibility="public", title="An ordinary note")
    note = submitted(contributor, visibility="public")
    login_as(moderator)
    post_form(client, f"/moderation/notes/{note.id}/approve", {"visibility": "public", "featured": "y"},
              form_url=f"/moderation/notes/{note.id}")
    assert reload(note).featured
    featured = section(app.test_client().get("/").get_data(as_text=True), "featured-h")
    assert TITLE in featured and plain.title not in featured


def test_featuring_and_unfeaturing_from_the_note_page(app, client, login_as, contributor, moderator):
    note = published(contributor, moderator, visibility="public")
    anonymous = app.test_client()
    assert section(anonymous.get("/").get_data(as_text=True), "featured-h") == ""
    login_as(moderator)
    post_form(client, f"/notes/{note.id}/feature?on=1", {}, form_url=f"/notes/{note.id}")
    assert TITLE in section(anonymous.get("/").get_data(as_text=True), "featured-h")
    assert TITLE in anonymous.get("/notes?featured=1").get_data(as_text=True)
    post_form(client, f"/notes/{note.id}/feature?on=0", {}, form_url=f"/notes/{note.id}")
    assert section(anonymous.get("/").get_data(as_text=True), "featured-h") == ""
    assert audits_of(note, "note.unfeature", moderator) == 1


@pytest.mark.parametrize("take_down", ["unpublish", "withdraw"])
def test_a_note_taken_down_leaves_the_featured_list(app, contributor, moderator, take_down):
    note = notes.approve(submitted(contributor, visibility="public"), by=moderator, featured=True)
    if take_down == "unpublish":
        notes.unpublish(note, by=moderator, reason="Reported.")
    else:
        notes.withdraw(note, by=contributor)
    assert not reload(note).featured
    assert TITLE not in app.test_client().get("/").get_data(as_text=True)


def test_featured_members_note_is_not_shown_to_anonymous_visitors(app, contributor, moderator, member):
    notes.approve(submitted(contributor, visibility="members"), by=moderator, featured=True)
    assert TITLE not in app.test_client().get("/").get_data(as_text=True)
    assert TITLE in section(client_of(app, member).get("/").get_data(as_text=True), "featured-h")


def test_home_page_counts_the_notes_the_visitor_may_read(app, contributor, moderator, member):
    published(contributor, moderator, visibility="public")
    published(contributor, moderator, visibility="members", title="Members only")
    submitted(contributor, title="Still in review")
    assert home_count(app.test_client()) == 1
    assert home_count(client_of(app, member)) == 2
    assert home_count(client_of(app, moderator)) == 2


def home_count(browser: FlaskClient) -> int:
    """Return the "N notes" number of the home page."""
    return int(re.search(r"(\d+) notes?\b", browser.get("/?lang=en").get_data(as_text=True)).group(1))
