"""Two requests at one moment, on a SQLite file and on PostgreSQL (each request its own connection):

- a comment's writer saving an edit while a moderator cuts personal data out of it: whichever goes first, the
  other is refused, and a cut that was saved is never undone;
- an e-mail link confirmed twice at once (two taps, two tabs): the address is set once, the other is told the
  link was used;
- two accounts confirming links for one address at once: one gets it, the other is told its link can no longer
  be used, never an error.
"""
from __future__ import annotations

import secrets

import pytest

from hub.extensions import db
from hub.models import Comment
from hub.models.user import User
from hub.services import accounts, discussion
from tests.forms import form_fields
from tests.functional.test_moderation_conflicts import (browser, published, racers, redaction_form,  # noqa: F401
                                                        shared_app, shared_people)

TEXT = "Ask Lin Fang at the back gate on Tuesdays."
CUT = "Ask someone at the back gate on Tuesdays."
ADDRESS = "lan.new@example.org"


def test_a_writers_edit_and_a_moderators_cut_at_once_never_undo_the_cut(shared_app, shared_people, racers):
    note = published(shared_people["author"], shared_people["moderator"])
    comment = discussion.add_comment(note, by=shared_people["member"], body=TEXT)
    db.session.commit()
    writer, moderator = browser(shared_app, shared_people["member"]), browser(shared_app, shared_people["moderator"])
    edit_url = f"/notes/{note.id}/comments/{comment.id}/edit"
    edit = {**dict(form_fields(writer.get(edit_url).get_data(as_text=True), "")),
            "body": TEXT.replace("Tuesdays", "Tuesday")}
    cut = redaction_form(moderator, comment, CUT)

    # Both have read the comment and wait where each locks it: one saves, the other then finds it changed.
    edited, redacted = racers((writer, edit_url, edit), (moderator, f"/moderation/comments/{comment.id}/redact", cut),
                              at=((discussion, "_lock"),))

    db.session.expire_all()
    body = db.session.get(Comment, comment.id).body
    assert sorted(a.status_code for a in (edited, redacted)) in ([200, 302], [302, 422]), (edited, redacted)
    if redacted.status_code == 302:  # the cut went first: the writer's text, which holds the name, was refused
        assert edited.status_code == 422 and body == CUT
    else:  # the edit went first: the moderator is shown the new text to cut again, nothing undone
        assert edited.status_code == 302 and body == TEXT.replace("Tuesdays", "Tuesday")


def _link(monkeypatch, user: User, address: str) -> str:
    """Ask for ``user``'s address to change to ``address``; return the link's path (its token made known here)."""
    token = secrets.token_urlsafe(32)
    with monkeypatch.context() as patch:
        patch.setattr(accounts.secrets, "token_urlsafe", lambda _n: token)
        accounts.request_email_change(user, address)
    db.session.commit()
    return f"/account/email/{token}"


def _confirm_form(client, url: str) -> dict[str, str]:
    return dict(form_fields(client.get(url).get_data(as_text=True), ""))


def test_one_e_mail_link_confirmed_twice_at_once_sets_the_address_once(shared_app, shared_people, racers,
                                                                        monkeypatch):
    shared_app.config["MAIL_SERVER"] = "127.0.0.1"  # mail is queued, never sent: no worker runs
    member = shared_people["member"]
    url = _link(monkeypatch, member, ADDRESS)
    tabs = [browser(shared_app, member), browser(shared_app, member)]
    forms = [_confirm_form(tab, url) for tab in tabs]

    answers = racers(*((tab, url, form) for tab, form in zip(tabs, forms)),
                     at=((accounts, "confirm_email_change"),))

    assert sorted(a.status_code for a in answers) == [302, 410]
    refused = next(a for a in answers if a.status_code == 410)
    assert "This link has already been used." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, member.id).email == ADDRESS


def test_two_accounts_confirming_one_address_at_once_one_gets_it_and_nothing_fails(shared_app, shared_people,
                                                                                   racers, monkeypatch):
    shared_app.config["MAIL_SERVER"] = "127.0.0.1"
    people = [shared_people["member"], shared_people["author"]]
    urls = [_link(monkeypatch, person, ADDRESS) for person in people]
    tabs = [browser(shared_app, person) for person in people]
    forms = [_confirm_form(tab, url) for tab, url in zip(tabs, urls)]

    answers = racers(*zip(tabs, urls, forms), at=((accounts, "confirm_email_change"),))

    assert sorted(a.status_code for a in answers) == [302, 410], [a.status_code for a in answers]
    refused = next(a for a in answers if a.status_code == 410)
    assert "This link can no longer be used." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert sorted(db.session.get(User, p.id).email == ADDRESS for p in people) == [False, True]
