"""Who may see and do what with a note, for every role and every state: the matrix, walked over HTTP.

The expected answers below are written out from the rules people were promised (drafts and
submissions are seen only by their author and the moderators; anonymous visitors read only
public published notes; only the author edits, withdraws and deletes; only moderators decide),
not computed from ``hub.services.notes.may``, so that a slip in the permission table shows up
here as a failing cell.

Notes are put into their state through the services (fast); each refused action must leave
the database exactly as it was and answer with a redirect carrying an error message, 403,
404, 409 (a moderator's decision on a note no longer as their page showed it: the page again,
saying why) or 410 — never 200 with a change, never 500.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models.events import Event
from hub.models import Comment, Flag, Mark, Note, NoteRevision, Notification, PendingRevision, ReviewMessage
from hub.models.user import Role, User
from hub.services import discussion, notes
from tests.helpers import count, csrf_token, login

VIEWERS = ["anonymous", "fred", "member", "other_contributor", "author", "moderator", "admin"]
STATES = ["draft", "submitted", "changes_requested", "published", "published_public", "rejected",
          "unpublished", "withdrawn", "deleted"]
PUBLISHED = {"published", "published_public"}
MODERATORS = {"moderator", "admin"}
SIGNED_IN = set(VIEWERS) - {"anonymous"}
REVIEW_MESSAGE = "Reviewer says: check the second paragraph"  # in every decision's thread message


# --- the world of one test ---------------------------------------------------------------------

@pytest.fixture
def people(fred, member, contributor, moderator, admin, make_user, project) -> dict[str, User | None]:
    """Everyone of the matrix, by the name used in the parameters."""
    other = make_user("olga", role=Role.CONTRIBUTOR, pseudonym="Olga the other contributor", project=project)
    return {"anonymous": None, "fred": fred, "member": member, "other_contributor": other,
            "author": contributor, "moderator": moderator, "admin": admin}


def build(state: str, people: dict, *, title: str, visibility: str | None = None) -> Note:
    """Put a new note of the author into ``state`` through the services."""
    author, moderator = people["author"], people["moderator"]
    if visibility is None:
        visibility = "public" if state == "published_public" else "members"
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title=title, summary="One sentence about it.", body="What we did.\nWhat happened.", language="en",
        visibility=visibility))
    if state == "draft":
        return note
    notes.submit(note, by=author, confirm_privacy=True)
    if state == "submitted":
        return note
    if state == "changes_requested":
        return notes.request_changes(note, by=moderator, message=REVIEW_MESSAGE)
    if state == "rejected":
        return notes.reject(note, by=moderator, reason=REVIEW_MESSAGE)
    notes.approve(note, by=moderator, message=REVIEW_MESSAGE)
    if state == "unpublished":
        notes.unpublish(note, by=moderator, reason=REVIEW_MESSAGE)
    elif state == "withdrawn":
        notes.withdraw(note, by=author)
    elif state == "deleted":
        notes.delete(note, by=author)
    return note


def browser_of(app, user: User | None) -> FlaskClient:
    """Return a browser signed in as ``user`` (anonymous for None)."""
    browser = app.test_client()
    if user is not None:
        assert login(browser, user.username).status_code == 302
    return browser


def token_of(browser: FlaskClient, user: User | None) -> str:
    """Return the browser's CSRF token (valid for every form of its session)."""
    return csrf_token(browser, "/account/password" if user is not None else "/login")


def flashes(browser: FlaskClient) -> list[tuple[str, str]]:
    """Return and clear the flashed messages waiting in the browser's session."""
    with browser.session_transaction() as session:
        return list(session.pop("_flashes", []))


COUNTED = (Note, NoteRevision, PendingRevision, Comment, Mark, Flag, ReviewMessage, Notification, Event, AuditEntry)


def snapshot(note_id: int) -> dict:
    """Return everything an action on the note could change (two queries, straight from the database)."""
    rows = db.session.execute(sa.select(*(sa.select(sa.func.count()).select_from(model).scalar_subquery()
                                          .label(model.__name__) for model in COUNTED))).one()._asdict()
    note = db.session.execute(sa.select(Note.state, Note.visibility, Note.featured, Note.title, Note.body,
                                        Note.revision_number).where(Note.id == note_id)).one()
    return {"note": tuple(note), **rows}


# --- who sees the note ------------------------------------------------------------------------

def sees(viewer: str, state: str) -> bool:
    """The promise: who may open the note's page."""
    if state == "deleted":
        return False
    if viewer in {"author", *MODERATORS}:
        return True
    if state == "published_public":
        return True
    return state == "published" and viewer != "anonymous"


def listed(viewer: str, state: str) -> bool:
    """The promise: lists and counts hold published notes the viewer may read, nothing else."""
    return state in PUBLISHED and sees(viewer, state)


def sees_thread(viewer: str, state: str) -> bool:
    """Review messages are between the author and the moderators."""
    return state not in {"draft", "submitted", "deleted"} and viewer in {"author", *MODERATORS}


def notes_count(html: str) -> int:
    return int(re.search(r"(\d+) notes?\b", html).group(1))


def titles_in(html: str) -> set[str]:
    """Return the states of the matrix notes a page shows (their titles end in the state)."""
    return set(re.findall(r"Matrix note \[(\w+)\]", html))


@pytest.mark.parametrize("viewer", VIEWERS)
def test_notes_are_seen_listed_and_counted_only_where_they_should_be(app, people, project, viewer):
    """One note in every state; each page is checked for every state at once (lists show them together)."""
    made = {state: build(state, people, title=f"Matrix note [{state}]") for state in STATES}
    browser = browser_of(app, people[viewer])
    problems = []
    for state, note in made.items():
        page = browser.get(f"/notes/{note.id}?lang=en")
        # A deleted note is gone (410) for those who could read it once (it was published to members), and
        # for anyone else as a note that never was (404).
        expected = (410 if sees(viewer, "published") else 404) if state == "deleted" else \
            200 if sees(viewer, state) else 404
        html = page.get_data(as_text=True)
        if page.status_code != expected:
            problems.append(f"{state}: page answered {page.status_code}, not {expected}")
        if (state in titles_in(html)) != sees(viewer, state):
            problems.append(f"{state}: title shown = {state in titles_in(html)}")
        if (REVIEW_MESSAGE in html) != (sees(viewer, state) and sees_thread(viewer, state)):
            problems.append(f"{state}: review thread shown = {REVIEW_MESSAGE in html}")
    if problems:  # report the pages first: the lists below depend on the same rule
        pytest.fail("\n".join(problems))

    shown = {state for state in STATES if listed(viewer, state)}
    index = browser.get("/notes?lang=en").get_data(as_text=True)
    assert (titles_in(index), notes_count(index)) == (shown, len(shown))
    home = browser.get("/?lang=en").get_data(as_text=True)
    assert (titles_in(home), notes_count(home)) == (shown, len(shown))
    assert titles_in(browser.get(f"/projects/{project.slug}?lang=en").get_data(as_text=True)) == shown
    assert titles_in(browser.get("/notes?featured=1&lang=en").get_data(as_text=True)) == set()

    mine = browser.get("/notes/mine?lang=en")
    if viewer == "anonymous":
        assert mine.status_code == 302 and mine.headers["Location"].startswith("/login")
    elif viewer in {"fred", "member"}:
        assert mine.status_code == 403
    else:
        assert mine.status_code == 200
        expected = set(STATES) - {"deleted"} if viewer == "author" else set()
        assert titles_in(mine.get_data(as_text=True)) == expected


# --- what each person may do ------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    """A POST route on a note, the promise of who may use it, and what it must change."""

    name: str
    url: str  # with {id}
    form: dict[str, str]
    allowed: Callable[[str, str], bool]  # (viewer, state) -> may
    effect: Callable[[dict, dict], bool]  # (before, after) -> the change happened
    json: bool = False
    visibility: str | None = None  # the note's visibility, when the action needs a particular one


def _state_becomes(state: str) -> Callable[[dict, dict], bool]:
    return lambda before, after: after["note"][0] == state


def _one_more(model: str) -> Callable[[dict, dict], bool]:
    return lambda before, after: after[model] == before[model] + 1


EDITED_TITLE = "Edited by someone"
EDITOR = {"title": EDITED_TITLE, "summary": "One sentence about it.", "body": "What we did.\nWhat happened.",
          "language": "en", "visibility": "members", "place": "", "province": "", "tags": "", "save": "1"}
EDITABLE = set(STATES) - {"deleted"}


def _edited(before: dict, after: dict) -> bool:
    """A published note keeps its text and gains a pending revision; any other note takes the edit."""
    if before["note"][0] == "published":
        return after["note"][3] == before["note"][3] and after["PendingRevision"] == before["PendingRevision"] + 1
    return after["note"][3] == EDITED_TITLE

ACTIONS = [
    Action("withdraw", "/notes/{id}/withdraw", {},
           lambda v, s: v == "author" and s in {"submitted", *PUBLISHED}, _state_becomes("withdrawn")),
    Action("delete", "/notes/{id}/delete", {},
           lambda v, s: v == "author" and s != "deleted", _state_becomes("deleted")),
    Action("reply", "/notes/{id}/reply", {"message": "A word in the thread."},
           lambda v, s: v in {"author", *MODERATORS} and s not in {"draft", "deleted"}, _one_more("ReviewMessage")),
    Action("comment", "/notes/{id}/comments", {"body": "We tried this too."},
           lambda v, s: v in SIGNED_IN and s in PUBLISHED, _one_more("Comment")),
    Action("mark_tried", "/notes/{id}/marks/tried", {},
           lambda v, s: v in SIGNED_IN and s in PUBLISHED, _one_more("Mark")),
    Action("flag", "/notes/{id}/flag", {"reason": "wrong", "detail": "The dose is wrong."},
           lambda v, s: v in SIGNED_IN - {"author"} and s in PUBLISHED, _one_more("Flag")),
    Action("feature", "/notes/{id}/feature?on=1", {},
           lambda v, s: v in MODERATORS and s in PUBLISHED, lambda b, a: a["note"][2] is True),
    Action("approve", "/moderation/notes/{id}/approve", {"visibility": "members"},
           lambda v, s: v in MODERATORS and s == "submitted", _state_becomes("published")),
    Action("request_changes", "/moderation/notes/{id}/request-changes", {"message": "Please add more."},
           lambda v, s: v in MODERATORS and s == "submitted", _state_becomes("changes_requested")),
    Action("reject", "/moderation/notes/{id}/reject", {"message": "Not a practice note."},
           lambda v, s: v in MODERATORS and s == "submitted", _state_becomes("rejected")),
    Action("unpublish", "/moderation/notes/{id}/unpublish", {"message": "Reported."},
           lambda v, s: v in MODERATORS and s in PUBLISHED, _state_becomes("unpublished")),
    Action("narrow_visibility", "/moderation/notes/{id}/visibility", {"visibility": "members"},
           lambda v, s: v in MODERATORS and s != "deleted", lambda b, a: a["note"][1] == "members",
           visibility="public"),
    Action("edit", "/notes/{id}/edit", EDITOR,
           lambda v, s: v == "author" and s in EDITABLE, _edited),
    Action("autosave", "/notes/autosave", {**EDITOR, "note_id": "{id}"},
           lambda v, s: v == "author" and s in {"draft", "changes_requested", *PUBLISHED}, _edited, json=True),
]


def refusal_problem(response, flash_list: list, viewer: str, action: Action) -> str | None:
    """Return what is wrong with a refusal's answer, or None when it is a proper refusal."""
    status, location = response.status_code, response.headers.get("Location", "")
    if viewer == "anonymous":  # a page leads to the log-in page; a script hears 401
        signed_out = status == 401 if action.json else status == 302 and location.startswith("/login")
        return None if signed_out else f"answered {status} {location}"
    if status in (403, 404, 409, 410) or (action.json and status == 400):
        return None
    if status == 302 and any(category == "error" for category, _text in flash_list):
        return None
    return f"answered {status} {location} without an error message"


@pytest.mark.parametrize("viewer", VIEWERS)
def test_each_action_changes_a_note_only_when_its_state_allows(app, people, viewer):
    """Every (action, state) cell for one viewer; a note is reused until an action changes it."""
    user = people[viewer]
    browser = browser_of(app, user)
    token = token_of(browser, user)
    problems = []
    for state in STATES:
        unused: dict[str | None, Note] = {}  # by visibility: notes no action has changed yet
        for action in ACTIONS:
            note = unused.pop(action.visibility, None) or build(
                state, people, title=f"{action.name} in {state}", visibility=action.visibility)
            before = snapshot(note.id)
            form = {key: value.format(id=note.id) for key, value in action.form.items()}
            response = browser.post(action.url.format(id=note.id), data={"csrf_token": token, **form})
            after = snapshot(note.id)
            flash_list = flashes(browser) if response.status_code == 302 else []
            cell = f"{action.name} on {state}"
            if action.allowed(viewer, state):
                ok_status = response.status_code == (200 if action.json else 302)
                if not (ok_status and action.effect(before, after)):
                    problems.append(f"{cell}: allowed but answered {response.status_code}, "
                                    f"{before['note']} -> {after['note']}, flashes {flash_list}")
                continue
            if after != before:
                problems.append(f"{cell}: refused but changed {before} -> {after}")
                continue
            problem = refusal_problem(response, flash_list, viewer, action)
            if problem:
                problems.append(f"{cell}: {problem}")
            unused[action.visibility] = note
    assert problems == []


@pytest.mark.parametrize("viewer", ["fred", "other_contributor", "author"])
def test_moderator_only_pages_refuse_everyone_else(app, people, viewer):
    note = build("submitted", people, title="Waiting for review")
    browser = browser_of(app, people[viewer])
    assert browser.get("/moderation").status_code == 403
    assert browser.get(f"/moderation/notes/{note.id}").status_code == 403


# --- Fred the troll tries other people's drafts by id ----------------------------------------

@pytest.fixture
def lees_draft(people) -> Note:
    """A contributor's draft that Fred should never reach."""
    return build("draft", people, title="Lee's private draft")


@pytest.fixture
def freds_browser(app, people) -> FlaskClient:
    return browser_of(app, people["fred"])


@pytest.mark.parametrize("path, expected", [
    ("/notes/{id}", 404),
    ("/notes/{id}/edit", 403),  # he is no contributor: refused before the note is even looked up
    ("/notes/{id}/history", 404),
])
def test_fred_cannot_open_someone_elses_draft_by_id(freds_browser, lees_draft, path, expected):
    response = freds_browser.get(path.format(id=lees_draft.id))
    assert response.status_code == expected
    assert "Lee&#39;s private draft" not in response.get_data(as_text=True)
    assert "Lee's private draft" not in response.get_data(as_text=True)


@pytest.mark.parametrize("url, form", [
    ("/notes/autosave", {**EDITOR, "note_id": "{id}"}),
    ("/notes/{id}/edit", EDITOR),
    ("/notes/{id}/flag", {"reason": "spam", "detail": "Just looking."}),
    ("/notes/{id}/comments", {"body": "First!"}),
    ("/notes/{id}/reply", {"message": "Let me in."}),
    ("/notes/{id}/marks/useful", {}),
    ("/notes/{id}/withdraw", {}),
    ("/notes/{id}/delete", {}),
    ("/moderation/notes/{id}/approve", {"visibility": "public"}),
    ("/moderation/notes/{id}/reject", {"message": "Mine now."}),
], ids=lambda value: value if isinstance(value, str) else None)
def test_fred_changes_nothing_in_someone_elses_draft(app, people, freds_browser, lees_draft, url, form):
    token = token_of(freds_browser, people["fred"])
    before = snapshot(lees_draft.id)
    data = {key: value.format(id=lees_draft.id) for key, value in form.items()}
    response = freds_browser.post(url.format(id=lees_draft.id), data={"csrf_token": token, **data})
    assert response.status_code in (403, 404)
    assert snapshot(lees_draft.id) == before


@pytest.mark.parametrize("url, form", [
    ("/notes/autosave", {**EDITOR, "note_id": "{id}"}),
    ("/notes/{id}/edit", EDITOR),
    ("/notes/{id}/history", None),
    ("/notes/{id}/edit", None),
    ("/notes/{id}/flag", {"reason": "spam"}),
    ("/notes/{id}/comments", {"body": "First!"}),
])
def test_another_contributor_cannot_reach_a_draft_by_id(app, people, lees_draft, url, form):
    browser = browser_of(app, people["other_contributor"])
    before = snapshot(lees_draft.id)
    if form is None:
        response = browser.get(url.format(id=lees_draft.id))
    else:
        data = {key: value.format(id=lees_draft.id) for key, value in form.items()}
        response = browser.post(url.format(id=lees_draft.id),
                                data={"csrf_token": token_of(browser, people["other_contributor"]), **data})
    assert response.status_code == 404  # not 403: the draft's existence is not confirmed
    assert snapshot(lees_draft.id) == before


def test_fred_cannot_approve_his_own_submission(app, people):
    fred = people["fred"]
    # Fred was a contributor for a while and submitted a note before he was demoted.
    fred.role = Role.CONTRIBUTOR.value
    db.session.commit()
    note = notes.create_draft(author=fred, data=notes.NoteInput(title="Buy my pills", summary="Cheap.",
                                                                body="Call me.", visibility="public"))
    notes.submit(note, by=fred, confirm_privacy=True)
    fred.role = Role.MEMBER.value
    db.session.commit()
    browser = browser_of(app, fred)
    token = token_of(browser, fred)
    before = snapshot(note.id)
    response = browser.post(f"/moderation/notes/{note.id}/approve",
                            data={"csrf_token": token, "visibility": "public", "featured": "y"})
    assert response.status_code == 403
    assert snapshot(note.id) == before
    assert browser.get(f"/notes/{note.id}").status_code == 200  # he may still read his own submission
    assert "Buy my pills" not in browser_of(app, None).get("/").get_data(as_text=True)


def test_fred_cannot_guess_drafts_from_the_lists(app, people):
    for state in ("draft", "submitted", "changes_requested", "rejected", "withdrawn", "unpublished"):
        build(state, people, title=f"Hidden {state}", visibility="public")
    browser = browser_of(app, people["fred"])
    pages = [browser.get(url).get_data(as_text=True) for url in
             ("/?lang=en", "/notes?lang=en", "/notes?featured=1&lang=en", "/projects/chengdu-peer-centre?lang=en")]
    assert not any("Hidden" in html for html in pages)
    assert notes_count(pages[0]) == 0 and notes_count(pages[1]) == 0


def test_comment_flag_on_someone_elses_note_is_refused(app, people):
    """A comment id from another note must not let Fred flag through a note he may comment on."""
    readable = build("published", people, title="Readable one")
    hidden = build("published", people, title="Other one")
    comment = discussion.add_comment(hidden, by=people["member"], body="A comment.")
    notes.unpublish(hidden, by=people["moderator"], reason="Reported.")
    browser = browser_of(app, people["fred"])
    token = token_of(browser, people["fred"])
    before = count(Flag)
    response = browser.post(f"/notes/{readable.id}/flag?comment={comment.id}", data={"csrf_token": token,
                                                                                  "reason": "spam"})
    assert response.status_code in (302, 403, 404)
    assert count(Flag) == before
