"""What people write in forms that used to redirect is never lost, and a refusal names what is wrong.

- Line breaks: a browser sends a textarea's line breaks as CRLF but counts each as one character
  for ``maxlength``; every multi-line field counts them as one too, so text the browser allowed at
  the limit is accepted (a comment, a report's detail, a moderator's message, a note's summary).
- Refused, a comment, an answer, a report, a review message and a moderator's decision come back
  on their page, filled in as they were sent, with the field's own error beside them, in the
  reader's language; the glossary, the Following page's place and a person's project likewise.
- A comment of invisible characters is empty; the admin user search takes % and _ as written.
"""
from __future__ import annotations

import html as html_lib
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Comment, Flag, Follow, GlossaryEntry, Note, ReviewMessage
from hub.models.user import Role, User
from hub.services import accounts, discussion, notes
from hub.services.errors import ServiceError
from tests.functional.test_form_fuzz import note_input, published_note as published, submitted_note as submitted
from tests.helpers import count, login, post_form

HAN = re.compile(r"[\u4e00-\u9fff]")
GENERIC = ("Please fill in the form completely.", "请把表单填写完整。", "表单没有完整提交，请重试。")


def browser_of(app, user: User) -> FlaskClient:
    browser = app.test_client()
    assert login(browser, user.username).status_code == 302
    return browser


def paragraphs(count_: int, length: int, unit: str = "评") -> str:
    """Return ``count_`` paragraphs of ``length`` characters separated by CRLF, as a browser sends them."""
    return "\r\n".join([unit * length] * count_)


def browser_length(text: str) -> int:
    """Return the length a browser's ``maxlength`` counts: a line break is one character."""
    return len(text.replace("\r\n", "\n"))


def textarea(page: str, field_id: str) -> str:
    """Return the text of the textarea with ``field_id`` on a page (as the browser shows it)."""
    match = re.search(rf'<textarea[^>]*\bid="{re.escape(field_id)}"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    assert match, f"no textarea #{field_id}"
    return html_lib.unescape(match.group(1))


def error_of(page: str, field_id: str) -> str:
    """Return the error shown beside the field with ``field_id``."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    assert match, f"no error beside #{field_id}"
    return html_lib.unescape(match.group(1)).strip()


def flashed_errors(page: str) -> list[str]:
    return [html_lib.unescape(text) for text in re.findall(r'<p class="flash flash-error">(.*?)</p>', page, re.S)]


def no_generic_message(page: str) -> None:
    assert not any(generic in page for generic in GENERIC)


# --- 1. a line break counts as the browser counts it ---------------------------------------------

def test_comment_of_ten_paragraphs_at_the_browsers_limit_is_posted(app, contributor, moderator, member):
    note = published(contributor, moderator)
    body = paragraphs(10, 499)
    assert browser_length(body) == 4999 and len(body) == 5008  # maxlength="5000" let the person send it
    response = post_form(browser_of(app, member), f"/notes/{note.id}/comments", {"body": body},
                         form_url=f"/notes/{note.id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/notes/{note.id}"
    saved = db.session.scalar(sa.select(Comment.body))
    assert saved == body.replace("\r\n", "\n") and "\r" not in saved


def test_report_detail_at_the_browsers_limit_is_sent(app, contributor, moderator, member):
    note = published(contributor, moderator)
    detail = "a" * 499 + "\r\n" + "b" * 500
    assert browser_length(detail) == 1000
    response = post_form(browser_of(app, member), f"/notes/{note.id}/flag", {"reason": "wrong", "detail": detail},
                         form_url=f"/notes/{note.id}")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Flag.detail)) == detail.replace("\r\n", "\n")


@pytest.mark.parametrize("route", ["request-changes", "reject"])
def test_moderators_message_at_the_browsers_limit_is_sent(app, contributor, moderator, route):
    note = submitted(contributor)
    message = paragraphs(8, 499, "改")
    assert browser_length(message) == 3999
    response = post_form(browser_of(app, moderator), f"/moderation/notes/{note.id}/{route}", {"message": message},
                         form_url=f"/moderation/notes/{note.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/moderation"
    assert db.session.scalar(sa.select(ReviewMessage.body)) == message.replace("\r\n", "\n")


def test_note_summary_at_the_browsers_limit_is_saved(app, contributor):
    summary = "一" * 299 + "\r\n" + "二" * 300  # 600 in the browser, maxlength="600"
    form = {"title": "Night outreach", "summary": summary, "body": "What we did.", "language": "en",
            "visibility": "members", "save": "1"}
    response = post_form(browser_of(app, contributor), "/notes/new", form)
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Note.summary)) == summary.replace("\r\n", "\n")


def test_a_lone_carriage_return_is_a_line_break_too(app):
    from blueprints.notes.forms import CommentForm
    from werkzeug.datastructures import MultiDict

    with app.test_request_context():
        form = CommentForm(formdata=MultiDict({"body": "one\rtwo\r\nthree\nfour"}), meta={"csrf": False})
        assert form.body.data == "one\ntwo\nthree\nfour"


def test_every_multi_line_field_counts_line_breaks_as_the_browser_does():
    """A new form's TextAreaField from wtforms itself would count CRLF as two characters again."""
    import wtforms

    from blueprints.web.forms import TextAreaField
    from tests.functional.test_form_messages import _forms

    multi_line = {(form.__name__, name): unbound.field_class for form in _forms()
                  for name, unbound in vars(form).items()
                  if issubclass(getattr(unbound, "field_class", type), wtforms.TextAreaField)}
    assert len(multi_line) > 20  # the walk found the forms
    assert [where for where, field_class in multi_line.items() if not issubclass(field_class, TextAreaField)] == []


# --- 2. a refused comment, answer, report or message comes back with its text ---------------------

@pytest.mark.parametrize("lang, expected", [("en", "5000"), ("zh_Hans", "5000")])
def test_too_long_comment_comes_back_on_the_note_page_with_its_text(app, contributor, moderator, member, lang,
                                                                   expected):
    note = published(contributor, moderator)
    body = "x" * 100_000
    response = post_form(browser_of(app, member), f"/notes/{note.id}/comments?lang={lang}", {"body": body},
                         form_url=f"/notes/{note.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert textarea(page, "body") == body
    error = error_of(page, "body")
    assert expected in error and bool(HAN.search(error)) == (lang == "zh_Hans")
    assert re.search(r'<textarea[^>]*\bautofocus[^>]*\bid="body"', page)  # the browser shows it, scrolled to
    no_generic_message(page)
    assert count(Comment) == 0


def test_a_comment_page_sent_back_is_never_kept_for_other_readers(app, contributor, moderator, member, make_user):
    """The comments are a fragment kept per role: a box filled in for one member is rendered for them alone."""
    note = published(contributor, moderator)
    writer, other = browser_of(app, member), browser_of(app, make_user("other"))
    body = "my unfinished draft " + "x" * 6000
    for _ in range(2):  # with nothing kept yet, then with the fragment kept for members by the other's visit
        page = post_form(writer, f"/notes/{note.id}/comments", {"body": body},
                         form_url=f"/notes/{note.id}").get_data(as_text=True)
        assert textarea(page, "body") == body
        assert "my unfinished draft" not in other.get(f"/notes/{note.id}").get_data(as_text=True)


def test_comment_of_zero_width_spaces_is_refused_as_empty(app, contributor, moderator, member):
    note = published(contributor, moderator)
    response = post_form(browser_of(app, member), f"/notes/{note.id}/comments?lang=zh_Hans",
                         {"body": "\u200b\u200b"}, form_url=f"/notes/{note.id}")
    assert response.status_code == 200
    assert error_of(response.get_data(as_text=True), "body") == "请先写点内容。"
    assert count(Comment) == 0


@pytest.mark.parametrize("text", ["\u200b\u200b", "\u2060\ufeff \u200d", "\u3164", "\u2800\u2800"])
def test_text_that_shows_nothing_is_not_a_comment(app, contributor, moderator, member, text):
    note = published(contributor, moderator)
    with pytest.raises(ServiceError, match="Write something first"):
        discussion.add_comment(note, by=member, body=text)


def test_too_long_answer_to_a_comment_comes_back_open_under_that_comment(app, contributor, moderator, member):
    note = published(contributor, moderator)
    first = discussion.add_comment(note, by=contributor, body="Did anyone try this at night?")
    body = "We did. " * 700
    response = post_form(browser_of(app, member), f"/notes/{note.id}/comments?parent={first.id}", {"body": body},
                         form_url=f"/notes/{note.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert textarea(page, f"reply-{first.id}") == body
    assert "5000" in error_of(page, f"reply-{first.id}")
    assert '<details class="reply-comment" open>' in page
    assert textarea(page, "body") == ""  # the new-comment box stays empty
    assert count(Comment) == 1


def test_too_long_report_comes_back_with_the_report_form_open(app, contributor, moderator, member):
    note = published(contributor, moderator)
    detail = "They wrote the clinic's address. " * 40
    response = post_form(browser_of(app, member), f"/notes/{note.id}/flag", {"reason": "personal_data",
                                                                              "detail": detail},
                         form_url=f"/notes/{note.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<details class="flag-note" open>' in page
    assert textarea(page, "detail") == detail and "1000" in error_of(page, "detail")
    assert re.search(r'<input checked id="reason-1" name="reason" required type="radio" value="personal_data">', page)
    assert count(Flag) == 0


def test_report_without_a_reason_names_the_reason(app, contributor, moderator, member):
    note = published(contributor, moderator)
    response = post_form(browser_of(app, member), f"/notes/{note.id}/flag?lang=zh_Hans",
                         {"detail": "这里写了电话"}, form_url=f"/notes/{note.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert textarea(page, "detail") == "这里写了电话"
    assert HAN.search(error_of(page, "reason"))


def test_too_long_review_message_comes_back_in_the_thread(app, contributor, moderator):
    note = notes.request_changes(submitted(contributor), by=moderator, message="Please add more.")
    message = "I added the part about the pharmacy. " * 120
    response = post_form(browser_of(app, contributor), f"/notes/{note.id}/reply", {"message": message},
                         form_url=f"/notes/{note.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert textarea(page, "message") == message and "4000" in error_of(page, "message")
    assert count(ReviewMessage, ReviewMessage.kind == "reply") == 0


# --- moderation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("route, field_id", [("request-changes", "changes-message"), ("reject", "reject-message"),
                                             ("approve", "message")])
def test_too_long_decision_comes_back_on_the_review_page_with_the_message(app, contributor, moderator, route,
                                                                          field_id):
    note = submitted(contributor)
    message = "Please remove the street name. " * 140
    response = post_form(browser_of(app, moderator), f"/moderation/notes/{note.id}/{route}?lang=zh_Hans",
                         {"message": message, "visibility": "members"}, form_url=f"/moderation/notes/{note.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert textarea(page, field_id) == message
    assert "4000" in error_of(page, field_id) and HAN.search(error_of(page, field_id))
    no_generic_message(page)
    assert "写一条消息" not in page  # not "write a message", which was never the problem
    db.session.expire_all()
    assert db.session.get(Note, note.id).state == "submitted" and count(ReviewMessage) == 0


def test_unpublishing_without_a_reason_asks_for_one_beside_the_field(app, contributor, moderator):
    note = published(contributor, moderator)
    response = post_form(browser_of(app, moderator), f"/moderation/notes/{note.id}/unpublish", {"message": " "},
                         form_url=f"/moderation/notes/{note.id}")
    assert response.status_code == 200
    assert error_of(response.get_data(as_text=True), "unpublish-message")


def test_refused_publication_keeps_the_message_and_the_ticks(app, contributor, moderator):
    note = submitted(contributor, body="Call 13812345678 for kits.\n\nAsk for 13987654321 at night.")
    findings = notes.privacy_findings(note)[1]
    assert len(findings) == 2
    from hub.services import screening
    first = screening.key(findings[0])
    response = post_form(browser_of(app, moderator), f"/moderation/notes/{note.id}/approve",
                         {"visibility": "members", "message": "Thanks, well written.", f"finding:{first}": "keep"},
                         form_url=f"/moderation/notes/{note.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert textarea(page, "message") == "Thanks, well written."
    assert flashed_errors(page)  # every finding must be ticked: said above the page
    assert re.search(rf'name="finding:{re.escape(first)}" value="keep" id="approve-keep-\d+" required checked', page)
    db.session.expire_all()
    assert db.session.get(Note, note.id).state == "submitted"


def pending_changes(author: User, moderator: User) -> Note:
    note = published(author, moderator)
    notes.save(note, by=author, data=note_input(body="What we did, every evening."))
    db.session.expire_all()
    note = db.session.get(Note, note.id)
    assert note.pending is not None and note.pending.submitted_at is not None
    return note


def test_accepting_changes_with_a_garbled_version_names_the_version(app, contributor, moderator):
    note = pending_changes(contributor, moderator)
    response = post_form(browser_of(app, moderator), f"/moderation/notes/{note.id}/changes/accept",
                         {"version": "abc", "message": "Nice addition."},
                         form_url=f"/moderation/notes/{note.id}/changes")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert textarea(page, "message") == "Nice addition."
    assert [text for text in flashed_errors(page) if text.startswith("Version of the changes: ")]
    no_generic_message(page)
    assert "write a message" not in page.lower()
    assert f'name="version" type="hidden" value="{note.pending.version}"' in page  # the page's own version


def test_returning_changes_with_a_too_long_message_keeps_it(app, contributor, moderator):
    note = pending_changes(contributor, moderator)
    message = "Please keep the old paragraph. " * 140
    response = post_form(browser_of(app, moderator), f"/moderation/notes/{note.id}/changes/return",
                         {"message": message}, form_url=f"/moderation/notes/{note.id}/changes")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and textarea(page, "return-message") == message


@pytest.mark.parametrize("lang, label", [("en", "Who may read it: "), ("zh_Hans", "谁可以阅读")])
def test_narrowing_to_an_unknown_audience_names_the_choice(app, contributor, moderator, lang, label):
    note = published(contributor, moderator, visibility="public")
    browser = browser_of(app, moderator)
    response = post_form(browser, f"/moderation/notes/{note.id}/visibility?lang={lang}",
                         {"visibility": "everyone"}, form_url=f"/moderation/notes/{note.id}",
                         follow_redirects=True)
    errors = flashed_errors(response.get_data(as_text=True))
    assert len(errors) == 1 and errors[0].startswith(label), errors
    assert "write a message" not in errors[0].lower() and "写一条消息" not in errors[0]
    db.session.expire_all()
    assert db.session.get(Note, note.id).visibility == "public"


def test_handling_a_report_with_a_too_long_message_keeps_it(app, contributor, moderator, member):
    note = published(contributor, moderator)
    item = notes.flag(note, by=member, reason="wrong")
    message = "The dose in the third paragraph is wrong. " * 100
    response = post_form(browser_of(app, moderator), f"/moderation/flags/{item.id}/resolve",
                         {"resolution": "note_unpublished", "message": message}, form_url="/moderation/flags")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert textarea(page, f"msg-{item.id}") == message and "4000" in error_of(page, f"msg-{item.id}")
    assert f'<input checked id="resolution-2-{item.id}" name="resolution"' in page  # the decision chosen
    db.session.expire_all()
    assert db.session.get(Flag, item.id).resolved_at is None


# --- administration and following -----------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_glossary_entry_with_over_long_terms_comes_back_with_the_reason(app, admin, lang):
    terms = "|".join(["美沙酮维持治疗"] * 70)  # 559 characters, 500 allowed
    response = post_form(browser_of(app, admin), f"/admin/glossary?lang={lang}",
                         {"concept": "mmt_local", "terms_zh": terms, "terms_en": "methadone"},
                         form_url="/admin/vocabulary")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{terms}"' in page and 'value="mmt_local"' in page
    error = error_of(page, "terms_zh")
    assert "500" in error and bool(HAN.search(error)) == (lang == "zh_Hans")
    assert "请填写简称" not in page and "Give a short name and at least one term." not in page
    assert count(GlossaryEntry) == 0


@pytest.mark.parametrize("lang, said", [("en", "already in the glossary"), ("zh_Hans", "已有这些词")])
def test_a_glossary_entry_sent_twice_is_kept_once_and_the_second_told(app, admin, lang, said):
    browser = browser_of(app, admin)
    entry = {"concept": "mmt_local", "terms_zh": "美沙酮门诊|美沙酮诊所", "terms_en": "MMT clinic"}
    assert post_form(browser, f"/admin/glossary?lang={lang}", entry, form_url="/admin/vocabulary").status_code == 302
    again = {**entry, "terms_zh": " 美沙酮诊所 | 美沙酮门诊", "terms_en": "mmt clinic"}  # the same terms, otherwise written
    response = post_form(browser, f"/admin/glossary?lang={lang}", again, form_url="/admin/vocabulary")
    assert response.status_code == 200 and said in error_of(response.get_data(as_text=True), "concept")
    assert count(GlossaryEntry) == 1
    more = {**entry, "terms_zh": "美沙酮门诊|美沙酮诊所|美沙酮服药点"}  # a new term for the same concept is welcome
    assert post_form(browser, f"/admin/glossary?lang={lang}", more, form_url="/admin/vocabulary").status_code == 302
    assert count(GlossaryEntry) == 2


@pytest.mark.parametrize("length", [101, 300])
def test_following_a_place_too_long_comes_back_with_it(app, member, length):
    place = ("成都市武侯区" * 60)[:length]
    response = post_form(browser_of(app, member), "/following?lang=zh_Hans", {"kind": "place", "value": place,
                                                                              "frequency": "daily"},
                         form_url="/following")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{place}"' in page
    assert error_of(page, "value-place") == "地名最多写 100 个字。"
    assert re.search(r'<option value="daily" selected>', page)
    no_generic_message(page)
    assert count(Follow) == 0


def test_a_follow_button_refused_on_another_page_says_why_there(app, member):
    browser = browser_of(app, member)
    response = post_form(browser, "/following", {"kind": "topic", "value": "no-such-topic", "next": "/notes"},
                         form_url="/following")
    assert response.status_code == 302 and response.headers["Location"] == "/notes"
    with browser.session_transaction() as session:
        assert session["_flashes"] == [("error", "What to follow: This topic or population does not exist.")]


def test_moving_a_person_into_an_unknown_project_says_why(app, admin, member):
    response = post_form(browser_of(app, admin), f"/admin/users/{member.id}/project?lang=zh_Hans",
                         {"project": "999"}, form_url=f"/admin/users/{member.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert HAN.search(error_of(page, "project"))
    db.session.expire_all()
    assert db.session.get(User, member.id).project_id == member.project_id


def test_an_unknown_role_is_named_beside_the_role(app, admin, member):
    response = post_form(browser_of(app, admin), f"/admin/users/{member.id}/role", {"role": "superuser"},
                         form_url=f"/admin/users/{member.id}")
    assert response.status_code == 200 and error_of(response.get_data(as_text=True), "role")
    db.session.expire_all()
    assert db.session.get(User, member.id).role == Role.MEMBER


# --- 3. the admin user search takes LIKE's wildcards as written -----------------------------------

@pytest.mark.parametrize("query", ["%", "_", "%%", "m_ry", "ma%"])
def test_user_search_takes_wildcards_as_written(app, admin, member, contributor, query):
    page = browser_of(app, admin).get(f"/admin/users?q={query.replace('%', '%25')}").get_data(as_text=True)
    assert f"/admin/users/{member.id}\"" not in page and f"/admin/users/{contributor.id}\"" not in page


def test_user_search_finds_a_percent_or_underscore_in_a_name(any_db_app):
    plain = accounts.create_user(accounts.NewAccount("plain", "Plain Person", "correct horse battery"))
    odd = accounts.create_user(accounts.NewAccount("odd_one", "100% Peer", "correct horse battery"))
    db.session.commit()
    found = lambda text: {user.id for user in accounts.search_users(text).items}  # noqa: E731
    assert found("_") == {odd.id} and found("%") == {odd.id} and found("0% p") == {odd.id}
    assert found("d_o") == {odd.id} and found("p") == {plain.id, odd.id}
    assert found("\\") == set()
