"""A report's explanation with personal data the reporter sent anyway: the moderators' list says what
and where, masked, never whole; a moderator removes it from the report; no mail carries it. And the
check page of a moderator's request to an author asks only about that request.

Driven through the pages (HTTP client), as a person would act.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import AuditEntry, Flag
from tests.forms import form_fields
from tests.functional.test_mail import deliver
from tests.functional.test_probe_privacy import PHONE, client_of, published
from tests.helpers import count, post_form

@pytest.fixture
def app(mail_app):
    """Every test here sends mail to the test's SMTP server (none may carry a report's explanation)."""
    return mail_app


FOUND = {"en": "Possible personal data in the explanation (phone number), shown masked:",
         "zh_Hans": "举报说明中可能有个人信息（电话号码），已遮盖显示："}


def report_sent_anyway(app, note, member, detail: str):
    """Report ``note`` with ``detail``, confirming at the privacy check that it may go as it is."""
    reporter = client_of(app, member)
    sent = post_form(reporter, f"/notes/{note.id}/flag", {"reason": "personal_data", "detail": detail,
                                                           "privacy_check": "1", "confirm_privacy": "y"},
                     form_url=f"/notes/{note.id}")
    assert sent.status_code == 302
    return db.session.scalars(sa.select(Flag)).one()


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_a_phone_number_sent_anyway_in_a_report_is_shown_masked_and_can_be_removed(
        app, contributor, moderator, member, smtp_server, language):
    note = published(contributor, moderator)
    item = report_sent_anyway(app, note, member, f"Her number is in the second photo: {PHONE}, call her")
    deliver(app)
    mails = smtp_server.to(moderator.email)
    assert mails and all(PHONE not in m.as_string() and "second photo" not in m.as_string() for m in mails)

    reviewer = client_of(app, moderator, language)
    page = reviewer.get("/moderation/flags").get_data(as_text=True)
    assert PHONE not in page  # the list says what and where, not the number itself
    assert FOUND[language] in page and "<mark>138" in page and "Her number is in the second photo:" in page

    fields = dict(form_fields(page, f"/moderation/flags/{item.id}/redact"))
    assert fields, "no way to remove it from the report"
    done = reviewer.post(f"/moderation/flags/{item.id}/redact", data=fields, follow_redirects=True)
    assert done.status_code == 200
    db.session.expire_all()
    assert PHONE not in item.detail and item.detail.startswith("Her number is in the second photo:")
    assert item.resolved_at is None  # the report itself still waits for a decision
    assert count(AuditEntry, AuditEntry.action == "flag.redact", AuditEntry.target_id == item.id) == 1
    page = done.get_data(as_text=True)
    assert FOUND[language] not in page and PHONE not in page
    assert reviewer.post(f"/moderation/flags/{item.id}/redact", data=fields).status_code == 302  # nothing left: said


def test_a_report_without_findings_is_shown_as_written_and_offers_no_removal(app, contributor, moderator, member):
    note = published(contributor, moderator)
    item = report_sent_anyway(app, note, member, "The dose in step 2 is wrong.")
    page = client_of(app, moderator).get("/moderation/flags").get_data(as_text=True)
    assert "The dose in step 2 is wrong." in page and f"/moderation/flags/{item.id}/redact" not in page


def test_only_moderators_remove_personal_data_from_a_report(app, contributor, moderator, member):
    note = published(contributor, moderator)
    item = report_sent_anyway(app, note, member, f"Call {PHONE}")
    answer = post_form(client_of(app, member), f"/moderation/flags/{item.id}/redact", {},
                       form_url=f"/notes/{note.id}")
    assert answer.status_code in (403, 404)
    db.session.expire_all()
    assert PHONE in item.detail


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_the_check_of_a_request_to_the_author_asks_only_about_that_request(
        app, contributor, moderator, member, language):
    note = published(contributor, moderator)
    report_sent_anyway(app, note, member, "")
    item = db.session.scalars(sa.select(Flag)).one()
    reviewer = client_of(app, moderator, language)
    url = f"/moderation/flags/{item.id}/resolve"
    text = f"Please remove the number {PHONE}."
    check = post_form(reviewer, url, {"resolution": "author_asked", "message": text}, form_url="/moderation/flags")
    assert check.status_code == 422
    page = check.get_data(as_text=True)
    # No choice of other decisions (remove a comment the report is not about, dismiss, unpublish) to re-tick.
    assert 'type="radio"' not in page
    assert '<input type="hidden" name="resolution" value="author_asked">' in page
    assert 'href="/moderation/flags"' in page
    fields = dict(form_fields(page, url))
    fields["confirm_privacy"] = "y"
    assert reviewer.post(url, data=fields).status_code == 302
    db.session.expire_all()
    assert item.resolution == "author_asked"


@pytest.mark.parametrize("language, label", [("en", "Message to the author (when you unpublish the note"),
                                             ("zh_Hans", "给作者的留言（撤下笔记或请作者删除个人信息时")])
def test_the_reports_message_box_says_who_reads_it_for_every_decision_that_sends_it(
        app, contributor, moderator, member, language, label):
    note = published(contributor, moderator)
    report_sent_anyway(app, note, member, "The dose in step 2 is wrong.")
    page = client_of(app, moderator, language).get("/moderation/flags").get_data(as_text=True)
    assert label in page  # the author reads it when asked to remove personal data too, not only on unpublishing


def test_the_list_of_reports_reads_the_listed_words_once_however_many_explanations_it_shows(
        app, contributor, moderator, make_user):
    notes = [published(contributor, moderator) for _ in range(4)]
    for n, note in enumerate(notes):
        reporter = client_of(app, make_user(f"reporter{n}"))
        assert post_form(reporter, f"/notes/{note.id}/flag",
                         {"reason": "personal_data", "detail": f"The second photo shows her face ({n})"},
                         form_url=f"/notes/{note.id}").status_code == 302
    reviewer = client_of(app, moderator)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if "sensitive_word" in statement.lower():
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        page = reviewer.get("/moderation/flags").get_data(as_text=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert all(f"The second photo shows her face ({n})" in page for n in range(4))
    assert len(statements) == 1, statements
