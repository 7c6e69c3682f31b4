"""Text longer than a field takes is refused whole, never cut: the form comes back with what was
written and the limit in the reader's language; text at the limit is kept whole, to its last
combining mark. The services refuse as the forms do (an import, the CLI or another service that
reaches them without a form gets the same answer), and autosave answers a problem document
naming the field.
"""
from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Flag, Invitation, Note, ReviewMessage
from hub.models.user import Role
from hub.services import accounts, follows, moderation, notes
from hub.services.errors import ServiceError
from tests.functional.test_form_fuzz import note_input, published_note, submitted_note
from tests.functional.test_forms_sent_back import browser_of, error_of, textarea
from tests.helpers import post_form

HAN = re.compile(r"[\u4e00-\u9fff]")


def text_of(length: int) -> str:
    """Return ``length`` code points ending in an emoji and a letter with a combining accent (q + U+0301) (a cut
    one short of the end would split that letter from its accent)."""
    return "评" * (length - 3) + "\U0001f600" + "q\u0301"  # no precomposed q-acute: NFC keeps both


def input_value(page: str, field_id: str) -> str:
    match = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*\bvalue="([^"]*)"', page)
    assert match, f"no input #{field_id} with a value"
    return html_lib.unescape(match.group(1))


def stored(query) -> list:
    db.session.expire_all()
    return list(db.session.scalars(query))


@dataclass
class Path:
    """One form whose text field has a limit: who sends it where, and where the text lands."""

    limit: int
    field_id: str
    send: Callable[..., object]  # send(app, people, text, lang) -> (response, saved: Callable[[], list[str]])
    multi_line: bool = True


def _reply(app, people, text, lang):
    note = notes.request_changes(submitted_note(people["contributor"]), by=people["moderator"], message="More, please.")
    response = post_form(browser_of(app, people["contributor"]), f"/notes/{note.id}/reply?lang={lang}",
                         {"message": text}, form_url=f"/notes/{note.id}")
    return response, lambda: stored(sa.select(ReviewMessage.body).where(ReviewMessage.kind == "reply"))


def _report(app, people, text, lang):
    note = published_note(people["contributor"], people["moderator"])
    response = post_form(browser_of(app, people["member"]), f"/notes/{note.id}/flag?lang={lang}",
                         {"reason": "wrong", "detail": text}, form_url=f"/notes/{note.id}")
    return response, lambda: stored(sa.select(Flag.detail))


def _redaction_reason(app, people, text, lang):
    note = published_note(people["contributor"], people["moderator"], body="Call Lily on the ward phone. What we did.")
    response = post_form(browser_of(app, people["moderator"]), f"/moderation/notes/{note.id}/redact?lang={lang}",
                         {"title": note.title, "summary": note.summary, "body": "What we did.", "reason": text})
    return response, lambda: stored(sa.select(ReviewMessage.body).where(ReviewMessage.kind == "redacted"))


def _ask_the_author(app, people, text, lang):
    note = published_note(people["contributor"], people["moderator"])
    item = notes.flag(note, by=people["member"], reason="personal_data")
    response = post_form(browser_of(app, people["moderator"]), f"/moderation/flags/{item.id}/resolve?lang={lang}",
                         {"resolution": "author_asked", "message": text}, form_url="/moderation/flags")
    response.field_id = f"msg-{item.id}"
    return response, lambda: stored(sa.select(ReviewMessage.body).where(ReviewMessage.kind == "redaction_requested"))


def _invitation_note(app, people, text, lang):
    response = post_form(browser_of(app, people["admin"]), f"/admin/invitations?lang={lang}",
                         {"role": "member", "project": "", "days": "7", "note": text, "language": "en"})
    return response, lambda: stored(sa.select(Invitation.note))


def _tag(app, people, text, lang):
    response = post_form(browser_of(app, people["contributor"]), f"/notes/new?lang={lang}",
                         {"title": "冬季外展", "language": "zh_Hans", "visibility": "members", "tags": f"冬季, {text}",
                          "save": "1"})
    response.field_value = f"冬季, {text}"
    return response, lambda: [tag for tags in stored(sa.select(Note.tags)) for tag in tags if tag != "冬季"]


PATHS = {
    "review reply": Path(notes.MESSAGE_LENGTH, "message", _reply),
    "report detail": Path(notes.FLAG_DETAIL_LENGTH, "detail", _report),
    "redaction reason": Path(notes.MESSAGE_LENGTH, "reason", _redaction_reason),
    "asking the author to redact": Path(notes.MESSAGE_LENGTH, "", _ask_the_author),
    "invitation note": Path(accounts.INVITATION_NOTE_LENGTH, "note", _invitation_note, multi_line=False),
    "note tag": Path(notes.TAG_LENGTH, "tags", _tag, multi_line=False),
}


@pytest.fixture
def people(contributor, moderator, member, admin):
    return {"contributor": contributor, "moderator": moderator, "member": member, "admin": admin}


@pytest.mark.parametrize("path", PATHS, ids=lambda name: name.replace(" ", "-"))
@pytest.mark.parametrize("lang", ["zh_Hans", "en"])
def test_one_character_too_many_comes_back_whole_with_the_limit_in_the_readers_language(app, people, path, lang):
    case = PATHS[path]
    text = text_of(case.limit + 1)
    response, saved = case.send(app, people, text, lang)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    field_id = getattr(response, "field_id", None) or case.field_id
    shown = textarea(page, field_id) if case.multi_line else input_value(page, field_id)
    assert shown == getattr(response, "field_value", text)
    error = error_of(page, field_id)
    assert str(case.limit) in error
    assert bool(HAN.search(error.replace(text, ""))) == (lang == "zh_Hans")  # a tag is named in its message
    assert saved() == []


@pytest.mark.parametrize("path", PATHS, ids=lambda name: name.replace(" ", "-"))
def test_text_at_the_limit_is_kept_whole(app, people, path):
    case = PATHS[path]
    text = text_of(case.limit)
    response, saved = case.send(app, people, text, "en")
    assert response.status_code in (200, 302)
    assert saved() == [text]


# --- autosave answers a problem document naming the field ------------------------------------------

@pytest.mark.parametrize("lang", ["zh_Hans", "en"])
def test_autosave_of_a_too_long_tag_is_a_problem_naming_the_tags(app, contributor, lang):
    browser = browser_of(app, contributor)
    tag = text_of(notes.TAG_LENGTH + 1)
    response = post_form(browser, f"/notes/autosave?lang={lang}", {"title": "冬季外展", "language": "zh_Hans",
                                                                   "visibility": "members", "tags": tag},
                         form_url="/notes/new")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    answer = response.get_json()
    assert answer["ok"] is False and list(answer["errors"]) == ["tags"]
    assert str(notes.TAG_LENGTH) in answer["errors"]["tags"][0] and tag in answer["errors"]["tags"][0]
    assert bool(HAN.search(answer["detail"].replace(tag, ""))) == (lang == "zh_Hans")
    assert stored(sa.select(Note.id)) == []


@pytest.mark.parametrize("lang", ["zh_Hans", "en"])
def test_autosave_refused_by_the_form_is_a_problem_naming_the_field(app, contributor, lang):
    response = post_form(browser_of(app, contributor), f"/notes/autosave?lang={lang}",
                         {"title": "冬季外展", "language": "zh_Hans", "visibility": "members",
                          "place": text_of(notes.PLACE_LENGTH + 1)}, form_url="/notes/new")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    answer = response.get_json()
    assert answer["ok"] is False and list(answer["errors"]) == ["place"]
    assert str(notes.PLACE_LENGTH) in answer["errors"]["place"][0]
    assert bool(HAN.search(answer["detail"])) == (lang == "zh_Hans")


# --- the services refuse, never cut ------------------------------------------------------------------

def _refused(call, field: str) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        call()
    assert refused.value.field == field
    db.session.rollback()
    return refused.value


def test_the_note_service_refuses_a_long_tag_place_or_province(app):
    for field, overrides in (("tags", {"tags": [text_of(notes.TAG_LENGTH + 1)]}),
                             ("place", {"place": text_of(notes.PLACE_LENGTH + 1)}),
                             ("province", {"province": text_of(notes.PLACE_LENGTH + 1)})):
        _refused(lambda: notes.clean(note_input(**overrides)), field)
    whole = notes.clean(note_input(tags=[text_of(notes.TAG_LENGTH)], place=text_of(notes.PLACE_LENGTH),
                                   province=" " + text_of(notes.PLACE_LENGTH) + " "))
    assert whole.tags == [text_of(notes.TAG_LENGTH)]
    assert (whole.place, whole.province) == (text_of(notes.PLACE_LENGTH), text_of(notes.PLACE_LENGTH))


def test_messages_reports_reasons_and_invitation_notes_are_refused_not_cut(app, contributor, moderator, member,
                                                                          admin):
    note = notes.request_changes(submitted_note(contributor), by=moderator, message="More, please.")
    _refused(lambda: notes.reply(note, by=contributor, body=text_of(notes.MESSAGE_LENGTH + 1)), "message")
    assert notes.reply(note, by=contributor, body=text_of(notes.MESSAGE_LENGTH)).body == text_of(notes.MESSAGE_LENGTH)
    published = published_note(contributor, moderator, body="Call Lily on the ward phone. What we did.")
    _refused(lambda: notes.flag(published, by=member, reason="wrong", detail=text_of(notes.FLAG_DETAIL_LENGTH + 1)),
             "detail")
    item = notes.flag(published, by=member, reason="personal_data", detail=text_of(notes.FLAG_DETAIL_LENGTH))
    assert item.detail == text_of(notes.FLAG_DETAIL_LENGTH)
    _refused(lambda: moderation.resolve_flag(item, by=moderator, resolution="author_asked",
                                             message=text_of(notes.MESSAGE_LENGTH + 1)), "message")
    _refused(lambda: moderation.redact_note(published, by=moderator,
                                            fields={"title": published.title, "body": "What we did."},
                                            reason=text_of(notes.MESSAGE_LENGTH + 1)), "reason")
    _refused(lambda: accounts.create_invitation(by=admin, role=Role.MEMBER,
                                                note=text_of(accounts.INVITATION_NOTE_LENGTH + 1)), "note")
    invitation, _token = accounts.create_invitation(by=admin, role=Role.MEMBER,
                                                    note=text_of(accounts.INVITATION_NOTE_LENGTH))
    assert invitation.note == text_of(accounts.INVITATION_NOTE_LENGTH)


def test_following_never_follows_a_cut_search_slug_or_place(app, project):
    with pytest.raises(ServiceError):
        follows.clean_search("冬季 " * 200, {})  # 600 characters: the search page would read 500
    with pytest.raises(ServiceError):
        follows.clean_search("冬季", {"topic": "t" * (follows.FILTER_LENGTH + 1)})
    assert follows.clean_search(" 冬季 ", {"topic": "t" * follows.FILTER_LENGTH}) == (
        "冬季", {"topic": "t" * follows.FILTER_LENGTH})
    longer_slug = project.slug + "x" * (64 - len(project.slug)) + "-more"
    _refused(lambda: follows.target("project", value=longer_slug), "value")
    assert follows.target("project", value=project.slug).project == project


def test_two_long_places_alike_in_their_first_90_characters_are_two_follows(app):
    first, second = "成" * 95, "成" * 94 + "都"
    keys = {follows.target("place", value=first).key, follows.target("place", value=second).key}
    assert len(keys) == 2 and all(len(key) <= 100 for key in keys)
    assert follows.target("place", value="成都").key == "place:成都"  # as keys of short places always were
    assert follows.target("place", value=first).label == first


# --- the search page reads 500 characters: it says so instead of searching for less -----------------

@pytest.mark.parametrize("lang", ["zh_Hans", "en"])
def test_a_search_one_character_too_long_comes_back_in_the_box_with_the_limit(app, client, lang):
    typed = text_of(501)
    response = client.get("/search", query_string={"q": typed, "lang": lang})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert input_value(page, "q") == typed and 'maxlength="500"' in page
    error = error_of(page, "q")
    assert "500" in error and bool(HAN.search(error)) == (lang == "zh_Hans")
    assert 'class="results"' not in page and "aria-invalid" in page


def test_a_search_at_the_limit_is_searched_and_kept_whole(app, client, monkeypatch):
    import search_index

    asked = []
    real = search_index.search
    monkeypatch.setattr(search_index, "search", lambda text, **kw: asked.append(text) or real(text, **kw))
    typed = text_of(500)
    page = client.get("/search", query_string={"q": typed}).get_data(as_text=True)
    assert asked == [typed] and input_value(page, "q") == typed
    assert 'id="q-error"' not in page


def test_vocabulary_names_and_glossary_terms_are_refused_not_cut(app, admin):
    from hub.services import vocabulary

    _refused(lambda: vocabulary.add_term(kind="topic", slug="long-one", name_zh=text_of(vocabulary.NAME_LENGTH + 1),
                                         name_en="Long one", by=admin), "name_zh")
    term = vocabulary.add_term(kind="topic", slug="long-one", name_zh=text_of(vocabulary.NAME_LENGTH),
                               name_en="Long one", by=admin)
    assert term.name_zh == text_of(vocabulary.NAME_LENGTH)
    terms = "|".join(["美沙酮维持治疗"] * 70)  # 559 characters
    _refused(lambda: vocabulary.add_glossary_entry(concept="mmt_local", terms_zh=terms, terms_en="methadone", by=admin),
             "terms_zh")


def test_the_user_search_searches_the_whole_text(app, admin, make_user):
    address = "a" * 64 + "@" + "b" * 40 + ".org"  # 109 characters
    make_user("longmail", email=address)
    browser = browser_of(app, admin)
    found = browser.get("/admin/users", query_string={"q": address}).get_data(as_text=True)
    assert "Longmail P" in found
    asked = address + "-not-this-one"
    page = browser.get("/admin/users", query_string={"q": asked}).get_data(as_text=True)
    assert "Longmail P" not in page and input_value(page, "q") == asked
