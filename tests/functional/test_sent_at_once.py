"""Forms sent twice at the same moment (a double tap on a slow phone, a retry while the first is still on
its way, two web processes): what they ask for happens once, and neither answer is an error. Sent from
real threads, as in tests/functional/test_account_races.py, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Follow, Note, NoteRevision, Term
from hub.models.user import Role
from hub.services import accounts
from tests import spawn
from tests.helpers import PASSWORD, all_at_once, count, csrf_token, login, post_form

pytestmark = pytest.mark.postgres
TRIES = 4


@pytest.fixture
def writer(shared_app):
    user = accounts.create_user(accounts.NewAccount(username="lee", pseudonym="小李", password=PASSWORD),
                                role=Role.CONTRIBUTOR)
    db.session.add(Term(kind="topic", slug="methadone", name_zh="美沙酮维持治疗", name_en="Methadone maintenance"))
    db.session.commit()
    return user


def _tabs(app, username: str, url: str, n: int = TRIES) -> list[tuple]:
    """Sign ``username`` in on ``n`` browsers; return each with the form token of ``url``'s page."""
    browsers = [app.test_client() for _ in range(n)]
    for browser in browsers:
        assert login(browser, username).status_code == 302
    return [(browser, csrf_token(browser, url)) for browser in browsers]


def test_a_follow_sent_from_several_tabs_at_once_is_one_follow(shared_app, writer):
    tabs = _tabs(shared_app, "lee", "/following")
    answers = all_at_once([lambda browser=browser, token=token: browser.post("/following", data={
        "csrf_token": token, "kind": "topic", "value": "methadone", "frequency": "daily"}) for browser, token in tabs])

    assert [answer.status_code for answer in answers] == [302] * TRIES
    db.session.expire_all()
    (follow,) = db.session.scalars(sa.select(Follow)).all()
    assert follow.user_id == writer.id and follow.frequency == "daily" and follow.kind == "topic"
    page = tabs[0][0].get("/following?lang=zh_Hans").get_data(as_text=True)
    assert page.count("美沙酮维持治疗") >= 1 and count(Follow) == 1


# --- a new note's form and autosave, sent twice -------------------------------------------------------------

NOTE = {"title": "夜间外展", "summary": "一句话的摘要。", "body": "我们在车站附近做了夜间外展。", "language": "zh_Hans",
        "visibility": "members"}
KEY_RE = re.compile(r'name="draft_key" type="hidden" value="([^"]*)"')


def _editor_key(browser) -> str:
    """Open the editor for a new note as the author would; return the key its form carries ("" for none)."""
    found = KEY_RE.search(browser.get("/notes/new").get_data(as_text=True))
    return found.group(1) if found else ""


def _sent_at_once(app, url: str, form: dict) -> tuple[list, str]:
    """Send a new note's form (with one editor page's key) from several tabs at once; return the answers and key."""
    tabs = _tabs(app, "lee", "/notes/new")
    key = _editor_key(tabs[0][0])
    return all_at_once([lambda browser=browser, token=token: browser.post(url, data={
        "csrf_token": token, "draft_key": key, **form}) for browser, token in tabs]), key


def test_submit_for_review_sent_from_several_tabs_at_once_is_one_submitted_note(shared_app, writer):
    answers, key = _sent_at_once(shared_app, "/notes/new", {**NOTE, "submit_note": "1"})

    db.session.expire_all()
    (note,) = db.session.scalars(sa.select(Note)).all()
    assert note.state == "submitted" and note.draft_key == key and note.author_id == writer.id
    assert count(NoteRevision) == 1  # one submission: not one per tab
    assert [answer.status_code for answer in answers] == [302] * TRIES
    assert {answer.headers["Location"] for answer in answers} == {f"/notes/{note.id}"}


def test_submit_of_a_saved_draft_sent_from_several_tabs_at_once_records_one_revision(shared_app, writer):
    browser = _tabs(shared_app, "lee", "/notes/new", 1)[0][0]
    post_form(browser, "/notes/new", {**NOTE, "save": "1", "draft_key": _editor_key(browser)})
    (note,) = db.session.scalars(sa.select(Note)).all()
    tabs = _tabs(shared_app, "lee", f"/notes/{note.id}/edit")
    answers = all_at_once([lambda browser=browser, token=token: browser.post(f"/notes/{note.id}/edit", data={
        "csrf_token": token, **NOTE, "submit_note": "1"}) for browser, token in tabs])

    db.session.expire_all()
    assert (note.state, note.revision_number, count(NoteRevision)) == ("submitted", 1, 1)
    assert [answer.status_code for answer in answers] == [302] * TRIES
    assert {answer.headers["Location"] for answer in answers} == {f"/notes/{note.id}"}


def test_autosave_of_a_new_note_sent_from_several_tabs_at_once_is_one_draft(shared_app, writer):
    answers, _key = _sent_at_once(shared_app, "/notes/autosave", NOTE)

    db.session.expire_all()
    (note,) = db.session.scalars(sa.select(Note)).all()
    assert note.state == "draft" and note.body == NOTE["body"]
    assert [answer.status_code for answer in answers] == [200] * TRIES
    assert {answer.get_json()["id"] for answer in answers} == {note.id}


def test_a_new_note_killed_between_saving_and_submitting_leaves_nothing_and_the_retry_submits_once(
        shared_app, shared_database_url, writer, tmp_path):
    """The web process dies (SIGKILL) while the hub records the submission: nothing of it is saved."""
    child = spawn.run([sys.executable, "-c", "import sys; from tests.functional.test_sent_at_once import "
                       "submit_and_die; submit_and_die(*sys.argv[1:])", shared_database_url, str(tmp_path / "k")],
                      cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    db.session.expire_all()
    assert count(Note) == 0  # no draft left behind for the second try to duplicate

    browser = _tabs(shared_app, "lee", "/notes/new", 1)[0][0]
    retry = post_form(browser, "/notes/new", {**NOTE, "submit_note": "1", "draft_key": _editor_key(browser)})
    assert retry.status_code == 302
    (note,) = db.session.scalars(sa.select(Note)).all()
    assert note.state == "submitted"


EDITED = "我们在车站附近做了夜间外展，又加了一段。"


def test_a_draft_killed_between_saving_and_submitting_keeps_its_saved_text_and_the_retry_submits_once(
        shared_app, shared_database_url, writer, tmp_path):
    """The web process dies (SIGKILL) while the hub records the edit's submission: neither the edit nor the
    submission is saved, never the edit alone."""
    browser = _tabs(shared_app, "lee", "/notes/new", 1)[0][0]
    post_form(browser, "/notes/new", {**NOTE, "save": "1", "draft_key": _editor_key(browser)})
    (note,) = db.session.scalars(sa.select(Note)).all()
    child = spawn.run([sys.executable, "-c", "import sys; from tests.functional.test_sent_at_once import "
                       "submit_and_die; submit_and_die(*sys.argv[1:])", shared_database_url, str(tmp_path / "k"),
                       str(note.id)], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                      timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    db.session.expire_all()
    assert (note.state, note.body, count(NoteRevision)) == ("draft", NOTE["body"], 0)

    retry = post_form(browser, f"/notes/{note.id}/edit", {**NOTE, "body": EDITED, "submit_note": "1"})
    assert retry.status_code == 302
    db.session.expire_all()
    assert (note.state, note.body, count(NoteRevision)) == ("submitted", EDITED, 1)


def submit_and_die(url: str, instance: str, note_id: str = "") -> None:
    """In a process of its own: send "Submit for review" of a new note (or, given ``note_id``, of that draft
    edited), and be killed while it is recorded."""
    import os

    from hub import create_app
    from hub.services import audit
    from tests.conftest import _test_config

    app = create_app(_test_config(Path(instance), {"DATABASE_URL": url}))
    browser = app.test_client()
    assert login(browser, "lee").status_code == 302
    record = audit.record

    def record_or_die(action, *args, **kwargs):
        if action == "note.submit":
            os.kill(os.getpid(), signal.SIGKILL)
        return record(action, *args, **kwargs)

    audit.record = record_or_die
    if note_id:
        post_form(browser, f"/notes/{note_id}/edit", {**NOTE, "body": EDITED, "submit_note": "1"})
    else:
        post_form(browser, "/notes/new", {**NOTE, "submit_note": "1", "draft_key": _editor_key(browser)})
