"""Moderators' decisions meet a note that changed while the page was open, or another decision.

Each decision goes through the review page as a browser sends it (its form read from the page,
hidden version included). Races run for real: two browsers post at the same moment from two
threads, on a database file of SQLite and on the suite's PostgreSQL; a barrier lets both
requests read the note before either decides, so the race is met on every run, not by luck.
"""
from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models import Comment, Flag, Note, Notification, ReviewMessage
from hub.models.audit import AuditEntry
from hub.models.events import Event
from hub.models.user import Role, User
from hub.services import accounts, discussion, notes
from tests.forms import form_fields
from tests.helpers import PASSWORD, count, login

TITLE = "Night outreach with naloxone kits"
SUMMARY = "What we learned handing out naloxone at night."
BODY = "We walked the route twice a week."
CHANGED_BODY = "REPLACED text the moderator never saw."
CHANGED = {"en": "The author changed the text since you opened it. Read it again.",
           "zh_Hans": "你打开之后作者又修改了内容。请重新阅读。"}
DECIDED_FIRST = {"en": "Another moderator decided on this note first",
                 "zh_Hans": "另一位审核员已经先处理了这篇笔记"}
DECISIONS = {"approve": "approved", "request-changes": "changes_requested", "reject": "rejected"}


# --- people, notes, browsers ------------------------------------------------------------------

def person(username: str, role: Role) -> User:
    user = accounts.create_user(accounts.NewAccount(username=username, pseudonym=f"{username.title()} P",
                                                    password=PASSWORD, email=f"{username}@example.org"), role=role)
    db.session.commit()
    return user


def cast() -> dict[str, User]:
    """Make an author, two moderators, an administrator and a member on the current hub."""
    return {"author": person("lee", Role.CONTRIBUTOR), "moderator": person("moder", Role.MODERATOR),
            "second": person("second", Role.MODERATOR), "admin": person("ada", Role.ADMIN),
            "member": person("mary", Role.MEMBER)}


@pytest.fixture
def people(app) -> dict[str, User]:
    """The cast on the test's hub (in memory)."""
    return cast()


def submitted(author: User, **fields) -> Note:
    data = notes.NoteInput(**{"title": TITLE, "summary": SUMMARY, "body": BODY, "language": "en", **fields})
    return notes.submit(notes.create_draft(author=author, data=data), by=author)


def published(author: User, moderator: User, **fields) -> Note:
    return notes.approve(submitted(author, **fields), by=moderator)


def browser(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def decision_form(page: str, action: str, message: str) -> dict[str, str]:
    """Return the decision form ``action`` of a page as the browser sends it, with ``message`` written."""
    fields = dict(form_fields(page, action))
    assert fields, f"no form for {action}"
    return {**fields, "message": message}


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def kept(page: str) -> list[str]:
    """Return the texts a page keeps for copying (what was written and not sent)."""
    section = re.search(r'<section class="kept-text".*?</section>', page, re.S)
    return [html.unescape(t).strip() for t in re.findall(r"<textarea readonly[^>]*>(.*?)</textarea>",
                                                         section.group(0), re.S)] if section else []


def decided(note_id: int) -> dict[str, int]:
    """Count what every decision on a note writes: thread message, audit entry, notification, events."""
    return {"messages": count(ReviewMessage, ReviewMessage.note_id == note_id),
            "audits": count(AuditEntry, AuditEntry.target_type == "note", AuditEntry.target_id == note_id,
                            AuditEntry.action.in_([f"note.{kind}" for kind in (*DECISIONS.values(), "unpublished")]
                                                  + ["note.changes_accept", "note.changes_return"])),
            "notifications": count(Notification, Notification.note_id == note_id),
            "published": count(Event, Event.kind == "note.published", Event.subject_id == note_id),
            "unpublished": count(Event, Event.kind == "note.unpublished", Event.subject_id == note_id),
            "updated": count(Event, Event.kind == "note.updated", Event.subject_id == note_id),
            "mailed": count(Event, Event.kind == "review.message", Event.payload["note_id"].as_integer() == note_id)}


def reload(note_id: int) -> Note:
    db.session.expire_all()
    return db.session.get(Note, note_id)


# --- 1. the text a moderator read, and no other, is decided on ----------------------------------

@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
@pytest.mark.parametrize("route", list(DECISIONS))
def test_a_decision_on_a_text_the_author_changed_since_the_page_opened_is_refused(app, people, route, lang):
    note = submitted(people["author"])
    moderator, author = browser(app, people["moderator"]), browser(app, people["author"])
    review = moderator.get(f"/moderation/notes/{note.id}?lang={lang}").get_data(as_text=True)
    form = decision_form(review, f"/{route}", "Thanks — 我读过了。")
    edit = dict(form_fields(author.get(f"/notes/{note.id}/edit").get_data(as_text=True), ""))  # posts to its page
    assert author.post(f"/notes/{note.id}/edit", data={**edit, "body": CHANGED_BODY, "save": "1"}).status_code == 302
    before = decided(note.id)

    response = moderator.post(f"/moderation/notes/{note.id}/{route}?lang={lang}", data=form)

    page = page_text(response)
    assert response.status_code == 409
    assert CHANGED[lang] in page
    assert CHANGED_BODY in page  # the page shows the text as it is now...
    assert dict(form_fields(response.get_data(as_text=True), f"/{route}"))["message"].strip() == "Thanks — 我读过了。"  # ...and
    # what they wrote
    note = reload(note.id)
    assert note.state == "submitted" and note.published_at is None
    assert decided(note.id) == before
    # Read again, the same decision goes through: the page carries the version it now shows.
    again = moderator.post(f"/moderation/notes/{note.id}/{route}", data=decision_form(
        response.get_data(as_text=True), f"/{route}", "Thanks — 我读过了。"))
    assert again.status_code == 302
    assert reload(note.id).state == {"approve": "published"}.get(route, DECISIONS[route])


def test_a_partners_note_its_origin_changed_during_review_is_not_published_unread(app, people, monkeypatch):
    """The origin's update changes a submitted partner note without the author's editor: the version sees it too."""
    note = submitted(people["author"])
    moderator = browser(app, people["moderator"])
    form = decision_form(moderator.get(f"/moderation/notes/{note.id}").get_data(as_text=True), "/approve", "")
    note.body, note.body_html = CHANGED_BODY, f"<p>{CHANGED_BODY}</p>"  # as hub.federation.remote_notes.fill does
    db.session.commit()

    response = moderator.post(f"/moderation/notes/{note.id}/approve", data=form)

    assert response.status_code == 409 and CHANGED["en"] in page_text(response)
    assert reload(note.id).state == "submitted"


# --- 2. one decision at a time ----------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_app(request, make_app, tmp_path):
    """A hub whose database every thread reaches on connections of its own: a SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        application = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite'}")
    else:
        application = make_app(DATABASE_URL=request.getfixturevalue("postgres_database"))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def racers(shared_app, monkeypatch) -> Callable[..., list]:
    """Return a function posting each (browser, url, form) from a thread of its own, all at one moment.

    Every request waits, when its decision is about to begin (the note read, its permission to
    be checked), until all of them got there: none has decided anything yet.
    """
    def run(*posts: tuple[FlaskClient, str, dict], at: tuple[str, ...] = ("_require", "_require_pending"),
            module=notes) -> list:
        barrier = threading.Barrier(len(posts), timeout=20)
        racing = threading.local()

        def at_the_start(original):
            def wait_then(*args, **kwargs):
                if getattr(racing, "waiting", False):
                    racing.waiting = False
                    barrier.wait()
                return original(*args, **kwargs)
            return wait_then

        for name in at:  # the services' first checks, where a decision begins ((module, name) for another module)
            where, name = name if isinstance(name, tuple) else (module, name)
            monkeypatch.setattr(where, name, at_the_start(getattr(where, name)))
        answers: list = [None] * len(posts)

        def post(index: int, client: FlaskClient, url: str, data: dict) -> None:
            racing.waiting = True
            answers[index] = client.post(url, data=data)

        threads = [threading.Thread(target=post, args=(i, *p)) for i, p in enumerate(posts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not barrier.broken, "the requests did not meet"
        monkeypatch.undo()
        return answers

    return run


@pytest.fixture
def shared_people(shared_app) -> dict[str, User]:
    """The cast on a hub the threads share."""
    return cast()


def outcomes(answers: list) -> tuple[list, list]:
    """Split answers into the decisions taken (redirects) and those refused (the page again)."""
    return ([a for a in answers if a.status_code == 302], [a for a in answers if a.status_code != 302])


def test_two_moderators_deciding_at_once_one_wins_and_nothing_of_the_other_is_written(shared_app, shared_people,
                                                                                      racers):
    note = submitted(shared_people["author"])
    first, second = browser(shared_app, shared_people["moderator"]), browser(shared_app, shared_people["second"])
    approve = decision_form(first.get(f"/moderation/notes/{note.id}").get_data(as_text=True), "/approve",
                            "Approved by the first.")
    reject = decision_form(second.get(f"/moderation/notes/{note.id}").get_data(as_text=True), "/reject",
                           "Rejected by the second.")

    answers = racers((first, f"/moderation/notes/{note.id}/approve", approve),
                     (second, f"/moderation/notes/{note.id}/reject", reject))

    taken, refused = outcomes(answers)
    assert len(taken) == 1 and len(refused) == 1, [a.status_code for a in answers]
    assert refused[0].status_code == 409 and DECIDED_FIRST["en"] in page_text(refused[0])
    loser = "Rejected by the second." if answers[0] is taken[0] else "Approved by the first."
    assert kept(page_text(refused[0])) == [loser]  # the form is gone from the page; the text is not
    note = reload(note.id)
    records = decided(note.id)
    assert records["messages"] == records["audits"] == records["notifications"] == records["mailed"] == 1
    if note.state == "published":
        assert note.published_at is not None and records["published"] == 1
    else:
        assert note.state == "rejected" and note.published_at is None and records["published"] == 0


def test_two_moderators_unpublishing_at_once_take_it_down_once(shared_app, shared_people, racers):
    note = published(shared_people["author"], shared_people["moderator"])
    first, second = browser(shared_app, shared_people["moderator"]), browser(shared_app, shared_people["second"])
    forms = [decision_form(b.get(f"/moderation/notes/{note.id}").get_data(as_text=True), "/unpublish", text)
             for b, text in ((first, "Reported twice."), (second, "Personal data."))]
    before = decided(note.id)

    answers = racers((first, f"/moderation/notes/{note.id}/unpublish", forms[0]),
                     (second, f"/moderation/notes/{note.id}/unpublish", forms[1]))

    taken, refused = outcomes(answers)
    assert len(taken) == 1 and refused[0].status_code == 409
    after = decided(note.id)
    assert after["unpublished"] - before["unpublished"] == 1 and after["messages"] - before["messages"] == 1
    assert after["audits"] - before["audits"] == 1


def test_two_moderators_removing_personal_data_at_once_one_is_saved_and_the_other_told(shared_app, shared_people,
                                                                                        racers):
    """Both revisions would take the same number (a 500 for one of them), and the second text would put back
    what the first removed: one redaction is saved, the other moderator is shown the note as it is now."""
    note = published(shared_people["author"], shared_people["moderator"], body="Ask Lin Fang at the Tuesday office.")
    first, second = browser(shared_app, shared_people["moderator"]), browser(shared_app, shared_people["second"])
    url = f"/moderation/notes/{note.id}/redact"
    forms = [{**dict(form_fields(b.get(url).get_data(as_text=True), "")), "body": body}
             for b, body in ((first, "Ask someone at the Tuesday office."), (second, "Ask Lin Fang at the office."))]

    answers = racers((first, url, forms[0]), (second, url, forms[1]), at=("can",))

    taken, refused = outcomes(answers)
    assert len(taken) == 1 and len(refused) == 1, [a.status_code for a in answers]
    assert refused[0].status_code == 200 and "nothing was saved" in page_text(refused[0])
    saved = forms[0]["body"] if answers[0] is taken[0] else forms[1]["body"]
    assert reload(note.id).body == saved
    assert count(AuditEntry, AuditEntry.action == "note.redact") == 1


def test_an_authors_save_and_a_redaction_at_once_never_put_the_removed_name_back(shared_app, shared_people, racers):
    """The author saves from an editor opened before the redaction while the moderator removes the name: either
    the save lands first and the redaction cuts the name from it too, or it is refused. Never is the name back."""
    note = published(shared_people["author"], shared_people["moderator"], body="Ask Lin Fang at the Tuesday office.")
    author, moderator = browser(shared_app, shared_people["author"]), browser(shared_app, shared_people["moderator"])
    edit, redact = f"/notes/{note.id}/edit", f"/moderation/notes/{note.id}/redact"
    typed = {**dict(form_fields(author.get(edit).get_data(as_text=True), "")),
             "body": "Ask Lin Fang at the Tuesday office, after ten."}
    cut = {**dict(form_fields(moderator.get(redact).get_data(as_text=True), "")),
           "body": "Ask someone at the Tuesday office."}

    answers = racers((author, edit, typed), (moderator, redact, cut), at=("_require", "can"))

    assert answers[1].status_code == 302 and answers[0].status_code in (302, 409), [a.status_code for a in answers]
    note = reload(note.id)
    assert note.body == "Ask someone at the Tuesday office."
    assert note.pending is None or "Lin Fang" not in note.pending.body


# A comment's redaction form names the text it was opened on: saved over another moderator's cut (or its
# writer's edit), the text the moderator saw would put back what was cut out meanwhile.
COMMENT = "Ask Lin Fang, 13800138000, at the back gate."
COMMENT_CHANGED = {"en": "The comment changed while you were editing it",
                   "zh_Hans": "你编辑期间这条评论已被改动"}


def commented(people: dict[str, User]) -> Comment:
    note = published(people["author"], people["moderator"])
    comment = discussion.add_comment(note, by=people["member"], body=COMMENT, confirm_privacy=True)
    db.session.commit()
    return comment


def redaction_form(client: FlaskClient, comment: Comment, body: str) -> dict[str, str]:
    url = f"/moderation/comments/{comment.id}/redact"
    return {**dict(form_fields(client.get(url).get_data(as_text=True), "")), "body": body}


def comment_body(comment_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Comment, comment_id).body


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_a_comment_redaction_opened_before_another_moderators_cut_does_not_put_the_cut_back(app, people, lang):
    comment = commented(people)
    first, second = browser(app, people["moderator"]), browser(app, people["second"])
    url = f"/moderation/comments/{comment.id}/redact"
    stale = redaction_form(second, comment, "Ask Lin Fang, 13800138000, at the gate.")  # opened, then a coffee

    assert first.post(url, data=redaction_form(first, comment, "Ask someone, [removed], at the back gate.")
                      ).status_code == 302
    answer = second.post(url, data=stale, headers={"Accept-Language": lang})

    assert answer.status_code == 200 and COMMENT_CHANGED[lang] in page_text(answer)
    assert "Please correct the marked fields." not in page_text(answer)  # no field is marked: the text changed
    assert "请修改标出的内容" not in page_text(answer)
    assert comment_body(comment.id) == "Ask someone, [removed], at the back gate."
    shown = dict(form_fields(answer.get_data(as_text=True), ""))
    assert shown["body"].strip() == "Ask someone, [removed], at the back gate."  # the form shows it as it is now
    assert shown["version"] == discussion.text_version(db.session.get(Comment, comment.id))
    cut = {**shown, "body": "Ask someone, [removed], at the gate."}
    assert second.post(url, data=cut).status_code == 302  # saved again from the text as it is: taken
    assert comment_body(comment.id) == "Ask someone, [removed], at the gate."


def test_two_moderators_redacting_a_comment_at_once_never_put_the_cut_back(shared_app, shared_people, racers):
    comment = commented(shared_people)
    first, second = browser(shared_app, shared_people["moderator"]), browser(shared_app, shared_people["second"])
    url = f"/moderation/comments/{comment.id}/redact"
    forms = [redaction_form(first, comment, "Ask someone, 13800138000, at the back gate."),
             redaction_form(second, comment, "Ask Lin Fang, [removed], at the back gate.")]

    answers = racers((first, url, forms[0]), (second, url, forms[1]), at=("_require_moderator",), module=discussion)

    taken, refused = outcomes(answers)
    assert len(taken) == 1 and len(refused) == 1, [a.status_code for a in answers]
    assert COMMENT_CHANGED["en"] in page_text(refused[0])
    assert comment_body(comment.id) == (forms[0] if answers[0] is taken[0] else forms[1])["body"]


RELEASE_CHANGED = {"en": "The comment changed while you were reading it", "zh_Hans": "你阅读期间这条评论已被改动"}


def held_comment(people: dict[str, User]) -> Comment:
    """mary's comment with a name and a phone number, held for a moderator."""
    note = published(people["author"], people["moderator"])
    comment = discussion.add_comment(note, by=people["member"], body=COMMENT, confirm_privacy=True)
    db.session.commit()
    assert comment.state == "held"
    return comment


def release_form(client: FlaskClient, comment: Comment) -> dict[str, str]:
    """The held list's "publish" form of ``comment`` as the browser sends it, each finding removed."""
    from hub.services import screening

    page = client.get("/moderation/comments").get_data(as_text=True)
    fields = dict(form_fields(page, f"/moderation/comments/{comment.id}/release"))
    assert fields.get("version"), "the form names the text it shows"
    return {**fields, **{f"finding:{screening.key(f)}": "redact" for f in discussion.findings(comment)}}


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_publishing_a_held_comment_another_moderator_cut_meanwhile_is_refused(app, people, lang):
    comment = held_comment(people)
    first, second = browser(app, people["moderator"]), browser(app, people["second"])
    release = release_form(first, comment)  # read, then a phone call
    url = f"/moderation/comments/{comment.id}/redact"
    assert second.post(url, data=redaction_form(second, comment, "Ask someone, 13800138000, at the back gate.")
                       ).status_code == 302

    answer = first.post(f"/moderation/comments/{comment.id}/release?lang={lang}", data=release,
                        follow_redirects=True)
    assert RELEASE_CHANGED[lang] in page_text(answer)
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).state == "held"
    assert comment_body(comment.id) == "Ask someone, 13800138000, at the back gate."
    assert first.post(f"/moderation/comments/{comment.id}/release", data=release_form(first, comment)
                      ).status_code == 302  # read again: published, the phone number removed
    assert "13800138000" not in comment_body(comment.id) and "Lin Fang" not in comment_body(comment.id)


def test_publishing_and_redacting_a_held_comment_at_once_never_put_the_cut_back(shared_app, shared_people, racers):
    comment = held_comment(shared_people)
    first, second = browser(shared_app, shared_people["moderator"]), browser(shared_app, shared_people["second"])
    release = release_form(first, comment)
    url = f"/moderation/comments/{comment.id}/redact"
    cut = redaction_form(second, comment, "Ask someone, 13800138000, at the back gate.")

    answers = racers((first, f"/moderation/comments/{comment.id}/release", release), (second, url, cut),
                     at=("_require_moderator",), module=discussion)

    body = comment_body(comment.id)
    if db.session.get(Comment, comment.id).state == "published":  # the release first, from the text it read
        assert body == "Ask Lin Fang, [personal data removed], at the back gate."
        # The redaction, made on the text before it, is refused: the second moderator sees the comment as it is.
        assert answers[1].status_code == 200 and COMMENT_CHANGED["en"] in page_text(answers[1])
    else:  # the redaction first; the release, chosen on the text before it, is refused (the list says why)
        assert body == cut["body"] and answers[1].status_code == 302
        assert RELEASE_CHANGED["en"] in page_text(first.get("/moderation/comments"))


def test_accepting_and_returning_the_same_changes_at_once_applies_one(shared_app, shared_people, racers):
    note = published(shared_people["author"], shared_people["moderator"])
    notes.save(note, by=shared_people["author"], data=notes.NoteInput(
        title=TITLE, summary=SUMMARY, body="What we did, every evening.", language="en"))
    first, second = browser(shared_app, shared_people["moderator"]), browser(shared_app, shared_people["second"])
    url = f"/moderation/notes/{note.id}/changes"
    accept = decision_form(first.get(url).get_data(as_text=True), "/changes/accept", "Good.")
    give_back = decision_form(second.get(url).get_data(as_text=True), "/changes/return", "Say where.")
    before = decided(note.id)

    answers = racers((first, f"{url}/accept", accept), (second, f"{url}/return", give_back))

    taken, refused = outcomes(answers)
    assert len(taken) == 1 and refused[0].status_code == 409, [a.status_code for a in answers]
    after = decided(note.id)
    assert after["messages"] - before["messages"] == 1 and after["audits"] - before["audits"] == 1
    assert after["updated"] - before["updated"] == (1 if answers[0] is taken[0] else 0)


def test_a_decision_sent_after_another_moderators_is_refused_and_keeps_its_message(app, people):
    note = submitted(people["author"])
    late = browser(app, people["second"])
    form = decision_form(late.get(f"/moderation/notes/{note.id}?lang=zh_Hans").get_data(as_text=True), "/reject",
                         "写得不清楚。")
    notes.approve(note, by=people["moderator"])
    before = decided(note.id)

    response = late.post(f"/moderation/notes/{note.id}/reject?lang=zh_Hans", data=form)

    page = page_text(response)
    assert response.status_code == 409 and DECIDED_FIRST["zh_Hans"] in page
    assert kept(page) == ["写得不清楚。"]
    assert decided(note.id) == before and reload(note.id).state == "published"


# --- 3. one open report per person and note ----------------------------------------------------

ALREADY = {"en": "You already reported this; the moderators will look at it.", "zh_Hans": "你已经举报过了，审核员会查看的。"}


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_reporting_the_same_note_again_is_answered_without_a_second_report(app, people, lang):
    note = published(people["author"], people["moderator"])
    member = browser(app, people["member"])
    page = member.get(f"/notes/{note.id}?lang={lang}").get_data(as_text=True)
    form = {**dict(form_fields(page, f"/notes/{note.id}/flag")), "reason": "spam", "detail": "An advert."}
    assert member.post(f"/notes/{note.id}/flag?lang={lang}", data=form).status_code == 302

    again = member.post(f"/notes/{note.id}/flag?lang={lang}", data={**form, "detail": "Still an advert."})

    assert ALREADY[lang] in page_text(again)
    assert dict(form_fields(again.get_data(as_text=True), f"/notes/{note.id}/flag"))["detail"].strip() == "Still an advert."
    assert count(Flag, Flag.note_id == note.id) == 1
    assert count(Event, Event.kind == "flag.added") == 1  # the moderators are mailed once (hub.mail.consumer)
    # Another member's report, and the same member's once the first is handled, are reports of their own.
    other = browser(app, people["admin"])
    form_of_other = dict(form_fields(other.get(f"/notes/{note.id}").get_data(as_text=True), f"/notes/{note.id}/flag"))
    assert other.post(f"/notes/{note.id}/flag", data={**form_of_other, "reason": "spam"}).status_code == 302
    from hub.services import moderation
    moderation.resolve_flag(db.session.scalars(sa.select(Flag).where(Flag.reporter_id == people["member"].id)).one(),
                            by=people["moderator"], resolution="dismissed")
    assert member.post(f"/notes/{note.id}/flag", data=form).status_code == 302
    assert count(Flag, Flag.note_id == note.id) == 3


def test_the_same_report_sent_twice_at_once_is_kept_once(shared_app, shared_people, racers):
    note = published(shared_people["author"], shared_people["moderator"])
    tabs = [browser(shared_app, shared_people["member"]) for _ in range(2)]
    forms = [{**dict(form_fields(tab.get(f"/notes/{note.id}").get_data(as_text=True), f"/notes/{note.id}/flag")),
              "reason": "spam", "detail": "An advert."} for tab in tabs]

    answers = racers(*((tab, f"/notes/{note.id}/flag", form) for tab, form in zip(tabs, forms)))

    assert sorted(a.status_code for a in answers) == [200, 302]
    assert count(Flag, Flag.note_id == note.id) == 1 and count(Event, Event.kind == "flag.added") == 1


# --- 4. a deleted note ----------------------------------------------------------------------------

@pytest.mark.parametrize("lang, title", [("en", "This note was deleted"), ("zh_Hans", "这篇笔记已被删除")])
def test_a_deleted_notes_page_says_it_was_deleted(app, people, lang, title):
    note = published(people["author"], people["moderator"])
    notes.delete(note, by=people["author"])
    response = browser(app, people["member"]).get(f"/notes/{note.id}?lang={lang}")
    page = page_text(response)
    assert response.status_code == 410
    assert title in page and "Bad request" not in page and "无法理解" not in page


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
@pytest.mark.parametrize("action, field, text", [("comments", "body", "We tried this in Mianyang too."),
                                                 ("flag", "detail", "The dose in step 2 is wrong.")])
def test_writing_to_a_note_deleted_meanwhile_keeps_the_text_to_copy(app, people, lang, action, field, text):
    note = published(people["author"], people["moderator"])
    member = browser(app, people["member"])
    form = dict(form_fields(member.get(f"/notes/{note.id}").get_data(as_text=True), f"/notes/{note.id}/{action}"))
    notes.delete(note, by=people["author"])

    response = member.post(f"/notes/{note.id}/{action}?lang={lang}", data={**form, "reason": "wrong", field: text})

    page = page_text(response)
    assert response.status_code == 410
    assert {"en": "was deleted while you were writing", "zh_Hans": "这篇笔记被删除了"}[lang] in page
    assert kept(page) == [text]


# --- 5. a moderator whose role changed while the page was open --------------------------------------

@pytest.mark.parametrize("lang, says", [("en", "you are no longer a moderator"), ("zh_Hans", "你不再是审核员")])
def test_a_moderator_demoted_meanwhile_is_told_and_keeps_the_message(app, people, lang, says):
    note = submitted(people["author"])
    moderator = browser(app, people["moderator"])
    form = decision_form(moderator.get(f"/moderation/notes/{note.id}").get_data(as_text=True), "/reject",
                         "A long, careful reason 很长的理由.")
    admin = browser(app, people["admin"])
    role_form = dict(form_fields(admin.get(f"/admin/users/{people['moderator'].id}").get_data(as_text=True),
                                 f"/admin/users/{people['moderator'].id}/role"))
    assert admin.post(f"/admin/users/{people['moderator'].id}/role",
                      data={**role_form, "role": "contributor"}).status_code == 302

    response = moderator.post(f"/moderation/notes/{note.id}/reject?lang={lang}", data=form)

    page = page_text(response)
    assert response.status_code == 403
    assert says in page and "ask a moderator" not in page.lower()
    assert kept(page) == ["A long, careful reason 很长的理由."]
    assert reload(note.id).state == "submitted" and decided(note.id)["messages"] == 0


# SQLite runs one writing transaction at a time (lock_for_update takes the database's write lock), so the two
# cannot be inside at once there: the race is PostgreSQL's.
@pytest.mark.parametrize("shared_app", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_note_redaction_and_a_redaction_of_a_comment_quoting_it_at_once_keep_both_cuts(
        shared_app, shared_people, racers):
    """The note's redaction cuts the name out of the comments quoting it (discussion.scrub_comments) while another
    moderator's cut of the phone number out of one of them is saved but not yet committed: the scrub waits for it
    and works on the comment as that moderator saved it. Neither cut is undone."""
    note = published(shared_people["author"], shared_people["moderator"], body="Ask Lin Fang at the Tuesday office.")
    comment = discussion.add_comment(note, by=shared_people["member"], body="Lin Fang helped us: 13800138000.",
                                     confirm_privacy=True)
    db.session.commit()
    from hub.services import screening

    discussion.release(comment, by=shared_people["moderator"],  # shown as it is: the number is on the flyer
                       checked=[screening.key(finding) for finding in discussion.findings(comment)])
    first, second = browser(shared_app, shared_people["moderator"]), browser(shared_app, shared_people["second"])
    url = f"/moderation/notes/{note.id}/redact"
    note_cut = {**dict(form_fields(first.get(url).get_data(as_text=True), "")),
                "body": "Ask someone at the Tuesday office."}
    comment_cut = redaction_form(second, comment, "Lin Fang helped us: [removed].")

    # Both wait, the comment's redaction holding its lock with its text cut, the note's about to scrub the comments.
    answers = racers((first, url, note_cut), (second, f"/moderation/comments/{comment.id}/redact", comment_cut),
                     at=((discussion, "scrub_comments"), (discussion, "_redact_body")))

    assert [a.status_code for a in answers] == [302, 302]
    body = comment_body(comment.id)
    assert "Lin Fang" not in body and "13800138000" not in body, body


@pytest.mark.parametrize("action", ["redact", "release", "decline"])
def test_a_comment_deleted_while_a_moderator_acts_on_it_is_no_error(app, people, monkeypatch, action):
    """Its note deleted by the partner hub it came from (the comments go with it) between the page's request and
    the moderator's decision: the moderator is told it is gone, and nothing fails."""
    comment = held_comment(people)
    moderator = browser(app, people["moderator"])
    forms = {"redact": lambda: redaction_form(moderator, comment, "Ask someone, 13800138000, at the back gate."),
             "release": lambda: release_form(moderator, comment),
             "decline": lambda: dict(form_fields(moderator.get("/moderation/comments").get_data(as_text=True),
                                                 f"/moderation/comments/{comment.id}/decline"))}
    form, comment_id = forms[action](), comment.id
    checked = discussion._require_moderator

    def deleted_meanwhile(by):
        db.session.execute(sa.delete(Comment).where(Comment.id == comment_id))
        db.session.commit()
        return checked(by)

    monkeypatch.setattr(discussion, "_require_moderator", deleted_meanwhile)
    answer = moderator.post(f"/moderation/comments/{comment_id}/{action}", data=form, follow_redirects=True)
    assert answer.status_code in (200, 404), answer.status_code
    if answer.status_code == 200:
        assert "This comment was removed." in page_text(answer)
