"""A deletion meets a moderator's decision on the same note: the end state is one of the two, whole.

A partner hub's ``Delete`` (processed by the worker from the inbox) or an author deleting their
account runs at the same moment as a moderator approving the note through the review page. Both
run for real in two threads on a SQLite file and on the suite's PostgreSQL; a barrier lets both read
the note before either decides, then one of them goes first. Whatever the order: a deleted note
stays deleted, the index and partner hubs hear of it (a ``note.published`` is followed by a
``note.deleted``), and nobody gets a 500.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from hub.extensions import db
from hub.federation import inbox, remote_notes
from hub.models import InboxItem, Note
from hub.models.events import Event
from hub.models.user import Role, User
from hub.services import accounts, notes
from tests.federation.fixtures import instance_key, make_peer  # noqa: F401  (fixtures: a ready key, fake peers)
from tests.forms import form_fields
from tests.helpers import PASSWORD, csrf_token, login

FIRST = ("decision first", "deletion first")


@pytest.fixture
def app(shared_app) -> Flask:
    """Every test here runs on a database the threads share: a SQLite file, then PostgreSQL."""
    return shared_app


def person(username: str, role: Role):
    user = accounts.create_user(accounts.NewAccount(username=username, pseudonym=f"{username.title()} P",
                                                    password=PASSWORD, email=f"{username}@example.org"), role=role)
    db.session.commit()
    return user


def browser(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def approve_form(client: FlaskClient, note_id: int) -> dict[str, str]:
    """Return the approve form of the review page as the moderator's browser sends it."""
    fields = dict(form_fields(client.get(f"/moderation/notes/{note_id}").get_data(as_text=True), "/approve"))
    assert fields, "no approve form on the review page"
    return fields


def race(monkeypatch, decision: Callable[[], object], deletion: Callable[[], object], *, first: str,
         deletion_meets: tuple[tuple[object, str, bool], ...]) -> list:
    """Run the moderator's ``decision`` and the ``deletion`` in two threads; return their results.

    Each waits at the barrier once it has read the note and is about to decide (the decision in
    ``notes._require``, the deletion in the first of ``deletion_meets`` it calls: (module, function,
    whether to wait after it rather than before)); then the one named by ``first`` goes on at once
    and the other half a second later.
    """
    barrier = threading.Barrier(2, timeout=20)
    racing = threading.local()

    def meet() -> None:
        if getattr(racing, "waiting", False):
            racing.waiting = False
            barrier.wait()
            if racing.second:
                time.sleep(0.5)

    def meeting(original, *, after: bool = False):
        def wait_then(*args, **kwargs):
            if not after:
                meet()
            result = original(*args, **kwargs)
            if after:
                meet()
            return result
        return wait_then

    monkeypatch.setattr(notes, "_require", meeting(notes._require))
    for owner, name, after in deletion_meets:
        monkeypatch.setattr(owner, name, meeting(getattr(owner, name), after=after))
    results: list = [None, None]

    def run(index: int, work: Callable[[], object], second: bool) -> None:
        racing.waiting, racing.second = True, second
        try:
            results[index] = work()
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            results[index] = error

    threads = [threading.Thread(target=run, args=(0, decision, first != "decision first")),
               threading.Thread(target=run, args=(1, deletion, first == "decision first"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not barrier.broken, "the two did not meet"
    monkeypatch.undo()
    assert not any(isinstance(r, Exception) for r in results), results
    return results


def note_events(note_id: int) -> list[str]:
    """Return the kinds of the note's events in the log, in order."""
    query = sa.select(Event.kind).where(Event.subject_type == "note", Event.subject_id == note_id,
                                        Event.kind.like("note.%")).order_by(Event.id)
    return list(db.session.scalars(query))


def told_consistently(kinds: list[str]) -> bool:
    """Tell whether consumers reading ``kinds`` end with the note gone: no publication after its deletion."""
    published = [i for i, k in enumerate(kinds) if k == "note.published"]
    deleted = [i for i, k in enumerate(kinds) if k == "note.deleted"]
    return not published or (bool(deleted) and deleted[-1] > published[-1])


@pytest.mark.parametrize("first", FIRST)
def test_a_partners_delete_during_a_moderators_approval_leaves_the_note_deleted_and_told(
        app, client, make_peer, monkeypatch, first):
    moderator = person("moder", Role.MODERATOR)
    peer = make_peer(trust="moderate")
    article = peer.article(7)
    assert peer.post(client, peer.activity("Create", article)).status_code == 202
    inbox.process_pending(app)
    note_id = db.session.scalar(sa.select(Note.id).where(Note.remote_id == article["id"]))
    reviewer = browser(app, moderator.username)
    form = approve_form(reviewer, note_id)
    tombstone = {"id": article["id"], "type": "Tombstone", "formerType": "Article"}
    assert peer.post(client, peer.activity("Delete", tombstone)).status_code == 202

    def worker() -> int:
        with app.app_context():
            try:
                return inbox.process_pending(app)
            finally:
                db.session.remove()

    answer, processed = race(monkeypatch, lambda: reviewer.post(f"/moderation/notes/{note_id}/approve", data=form),
                             worker, first=first, deletion_meets=((remote_notes, "by_remote_id", True),))

    db.session.expire_all()
    assert processed == 1 and answer.status_code in (302, 409, 410), answer.status_code
    assert db.session.scalar(sa.select(InboxItem.state)) == "done"
    note = db.session.get(Note, note_id)
    assert note.state == "deleted" and note.title == ""
    kinds = note_events(note_id)
    assert told_consistently(kinds), kinds
    assert (answer.status_code == 302) == ("note.published" in kinds)
    # Published for a moment, the note is gone for its readers (410); never published, it never was (404).
    assert app.test_client().get(f"/api/v1/notes/{note_id}").status_code == (410 if "note.published" in kinds else 404)


@pytest.mark.parametrize("keep", ["keep", "remove"])
@pytest.mark.parametrize("first", FIRST)
def test_an_account_deleted_during_the_approval_of_its_note_never_leaves_a_published_note_untold(
        app, monkeypatch, first, keep):
    author, moderator = person("lee", Role.CONTRIBUTOR), person("moder", Role.MODERATOR)
    note = notes.submit(notes.create_draft(author=author, data=notes.NoteInput(
        title="Night outreach", summary="What we learned at night.", body="We walked the route.", language="en",
        visibility="public")), by=author)
    note_id, author_id = note.id, author.id
    reviewer, leaver = browser(app, moderator.username), browser(app, author.username)
    form = approve_form(reviewer, note_id)
    token = csrf_token(leaver, "/account/delete")

    answers = race(monkeypatch, lambda: reviewer.post(f"/moderation/notes/{note_id}/approve", data=form),
                   lambda: leaver.post("/account/delete", data={"csrf_token": token, "what": keep,
                                                                "password": PASSWORD}),
                   first=first, deletion_meets=((notes, "hold", False), (notes, "tombstone", False)))

    db.session.expire_all()
    approval, deletion = answers
    assert deletion.status_code == 302 and approval.status_code in (302, 409, 410), [a.status_code for a in answers]
    assert db.session.get(User, author_id) is None
    note = db.session.get(Note, note_id)
    kinds = note_events(note_id)
    if keep == "keep" and approval.status_code == 302:
        # Published first, then kept as "former member's" (the person chose to keep what was published).
        assert note.state == "published" and note.author_id is None and kinds == ["note.published", "note.updated"]
    else:
        assert note.state == "deleted" and note.title == "" and told_consistently(kinds), (note.state, kinds)
    assert (approval.status_code == 302) == ("note.published" in kinds)
