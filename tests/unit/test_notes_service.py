"""The notes service and the visibility rule, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models.events import Event
from hub.models.note import Note, NoteRevision
from hub.models.user import Role
from hub.services import accounts, discussion, moderation, notes, notifications, revisions, screening, vocabulary
from hub.services.errors import NotAllowed, ServiceError
from hub.services.visibility import can_view, published_for, visible_notes

PASSWORD = "long enough password"


class Anonymous:
    is_authenticated = False
    is_active = False


@pytest.fixture
def people(any_db_app):
    def make(name, role):
        return accounts.create_user(accounts.NewAccount(name, name.title(), PASSWORD), role=role)
    people = {"author": make("author", Role.CONTRIBUTOR), "other": make("other", Role.CONTRIBUTOR),
              "member": make("member", Role.MEMBER), "moderator": make("moder", Role.MODERATOR)}
    db.session.commit()
    vocabulary.seed()
    return people


def _note(people, **fields) -> Note:
    data = notes.NoteInput(title="标题", summary="摘要", body="正文", **fields)
    return notes.create_draft(author=people["author"], data=data)


def _visible_ids(viewer) -> set[int]:
    return set(db.session.scalars(sa.select(Note.id).where(visible_notes(viewer))))


def test_a_draft_is_seen_only_by_its_author_and_moderators(people):
    draft = _note(people)
    assert can_view(draft, people["author"]) and can_view(draft, people["moderator"])
    for name in ("other", "member"):
        assert not can_view(draft, people[name]) and draft.id not in _visible_ids(people[name])
    assert not can_view(draft, Anonymous())


def test_published_members_note_needs_sign_in_and_public_note_does_not(people):
    members = _note(people, visibility="members")
    public = _note(people, visibility="public")
    for note in (members, public):
        notes.submit(note, by=people["author"], confirm_privacy=True)
        notes.approve(note, by=people["moderator"])
    anonymous_ids = set(db.session.scalars(sa.select(Note.id).where(published_for(Anonymous()))))
    assert anonymous_ids == {public.id}
    assert {members.id, public.id} <= _visible_ids(people["member"])


def test_deleted_note_is_seen_by_nobody_and_leaves_a_tombstone(people):
    note = _note(people)
    notes.submit(note, by=people["author"], confirm_privacy=True)
    notes.approve(note, by=people["moderator"])
    notes.delete(note, by=people["author"])
    assert not can_view(note, people["moderator"]) and not can_view(note, people["author"])
    row = db.session.get(Note, note.id)
    assert (row.state, row.title, row.body, row.body_html) == ("deleted", "", "", "")
    assert [e.kind for e in db.session.scalars(sa.select(Event).where(Event.subject_type == "note")
                                               .order_by(Event.id))] == ["note.published", "note.deleted"]


def test_submitting_personal_data_needs_confirmation(people):
    note = _note(people)
    notes.save(note, by=people["author"], data=notes.NoteInput(
        title="t", summary="s", body="请打电话 +86 138-1234-5678"))
    with pytest.raises(screening.PrivacyCheckRequired) as error:
        notes.submit(note, by=people["author"])
    assert [(f.kind, f.field) for f in error.value.findings] == [("phone", "body")]
    assert note.state == "draft"
    notes.submit(note, by=people["author"], confirm_privacy=True)
    assert note.state == "submitted"


def test_personal_data_in_tags_or_the_province_is_found_and_can_be_redacted_there(people):
    """Tags and the province are shown to every reader and as search facets: checked like the place."""
    note = _note(people, province="四川 电话13912345678", tags=["夜间", "阿强 13812345678"])
    with pytest.raises(screening.PrivacyCheckRequired) as error:
        notes.submit(note, by=people["author"])
    assert sorted((f.kind, f.field) for f in error.value.findings) == [("phone", "province"), ("phone", "tags")]
    notes.submit(note, by=people["author"], confirm_privacy=True)
    fields, findings = notes.privacy_findings(note)
    moderation.approve(note, by=people["moderator"], redact=[screening.key(f) for f in findings])
    assert "13912345678" not in note.province and note.province.startswith("四川")
    assert note.tags[0] == "夜间" and len(note.tags) == 2 and "13812345678" not in note.tags[1]
    assert notes.privacy_findings(note)[1] == []


def test_listed_sensitive_words_are_found(people):
    vocabulary.add_sensitive_word("王医生", by=people["moderator"])
    note = _note(people)
    notes.save(note, by=people["author"], data=notes.NoteInput(title="t", summary="s", body="今天王医生说"))
    _fields, findings = notes.privacy_findings(note)
    assert [f.kind for f in findings] == ["sensitive_word"]


def test_street_addresses_are_refused_as_place(people):
    with pytest.raises(ServiceError) as error:
        _note(people, place="人民南路三段17号")
    assert error.value.field == "place"


def test_moderators_may_narrow_but_not_widen_visibility(people):
    note = _note(people, visibility="partners")
    notes.submit(note, by=people["author"], confirm_privacy=True)
    notes.approve(note, by=people["moderator"], visibility="public")
    assert note.visibility == "partners"
    notes.narrow_visibility(note, by=people["moderator"], visibility="members")
    assert note.visibility == "members"
    with pytest.raises(ServiceError):
        notes.narrow_visibility(note, by=people["moderator"], visibility="public")


def test_edits_after_submission_keep_revisions_with_a_diff(people):
    note = _note(people)
    notes.submit(note, by=people["author"], confirm_privacy=True)
    notes.save(note, by=people["author"], data=notes.NoteInput(title="标题", summary="摘要", body="新的正文"))
    numbers = list(db.session.scalars(sa.select(NoteRevision.number).where(NoteRevision.note_id == note.id)))
    assert numbers == [1, 2]
    newest = revisions.changes(note)[0]
    assert ("-", "正文") in newest.lines and ("+", "新的正文") in newest.lines


def test_members_cannot_write_and_others_cannot_touch_a_draft(people):
    with pytest.raises(NotAllowed):
        notes.create_draft(author=people["member"], data=notes.NoteInput(title="x"))
    draft = _note(people)
    for name in ("other", "member", "moderator"):
        with pytest.raises(NotAllowed):
            notes.save(draft, by=people[name], data=notes.NoteInput(title="hijacked"))
    assert draft.title == "标题"


def test_comments_record_an_event_and_notify_the_author(people):
    note = _note(people, visibility="members")
    notes.submit(note, by=people["author"], confirm_privacy=True)
    notes.approve(note, by=people["moderator"])
    discussion.add_comment(note, by=people["member"], body="我们也试过 <script>alert(1)</script>")
    comment = discussion.visible_comments(note)[0]
    assert "<script" not in comment.body_html
    assert db.session.scalar(sa.select(Event.kind).order_by(Event.id.desc())) == "comment.added"
    assert notifications.unread_count(people["author"]) == 2  # approved, then the comment


def test_marks_toggle_and_count(people):
    note = _note(people)
    notes.submit(note, by=people["author"], confirm_privacy=True)
    notes.approve(note, by=people["moderator"])
    assert notes.toggle_mark(note, by=people["member"], kind="tried") is True
    assert notes.mark_counts(note, people["member"])["tried"] == {"count": 1, "hubs": 0, "mine": True}
    assert notes.toggle_mark(note, by=people["member"], kind="tried") is False
    assert notes.mark_counts(note)["tried"]["count"] == 0


def test_seeded_vocabulary_is_bilingual_and_complete(people):
    topics = notes.terms("topic")
    assert len(topics) == 15 and all(t.name_zh and t.name_en for t in topics)
    assert vocabulary.seed() == 0


def test_a_comment_that_spells_a_number_in_character_references_is_checked_like_a_plain_one(people):
    note = _note(people)
    notes.submit(note, by=people["author"], confirm_privacy=True)
    notes.approve(note, by=people["moderator"])
    body = "call &#49;&#51;&#56;&#49;&#50;&#51;&#52;&#53;&#54;&#55;&#56; or 138\\-1234\\-5678"
    with pytest.raises(screening.PrivacyCheckRequired) as error:
        discussion.add_comment(note, by=people["member"], body=body)
    assert [f.kind for f in error.value.findings] == ["phone", "phone"]
    assert discussion.add_comment(note, by=people["member"], body=body, confirm_privacy=True).state == "held"
