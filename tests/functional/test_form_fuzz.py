"""Arbitrary input to every form: the hub answers, in the reader's language, and saves nothing it refuses.

Each property posts a valid form with some fields replaced by hostile values: huge strings,
NUL bytes, lone surrogates (sent as the raw bytes a broken client would send), emoji, RTL
marks, full-width and superscript digits, HTML/JS payloads, long lists of ids, absurd
numbers and values outside every choice list. The invariants:

- never a server error (under TESTING an exception propagates and fails the example);
- an HTML answer is in the language asked for with ``?lang=`` (half the examples ask for
  Chinese);
- a form that comes back to the person (200 with errors) has changed nothing in the database.

Behaviour found by the properties is pinned again by small deterministic tests below them,
so that a regression fails every run and not only when Hypothesis happens to draw it.
"""
from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from urllib.parse import quote_plus

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings, strategies as st

from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models import Comment, Flag, Note, ReviewMessage, SensitiveWord, Term
from hub.models.project import Project
from hub.models.user import Invitation, LoginSession, Role, User
from hub.services import accounts, discussion, notes, vocabulary
from tests.helpers import PASSWORD, count, csrf_token, login, post_form

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HTML_LANG = {"zh_Hans": "zh-Hans", "en": "en"}
HAN = re.compile(r"[\u4e00-\u9fff]")
FLAG_REASONS = ("harmful", "personal_data", "spam", "wrong", "other")
VISIBILITIES = ("members", "partners", "public")


# --- hostile values ----------------------------------------------------------------------------

PAYLOADS = [
    "", " ", "\t\n", "\x00", "a\x00b", "\u202eevil\u202c", "\u200f\u200e\u061c", "\ufeff", "\u200b",
    "１２３４５６７８９０", "²", "٣", "😀👩‍👩‍👧‍👦🏳️‍🌈", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))", "javascript:alert(1)", '"><svg onload=alert(1)>', "{{ 7*7 }}", "{% raw %}",
    "%(n)d %s", "' OR 1=1 --", "../../etc/passwd", "人民路12号", "13812345678", "lee@example.org",
    "-1", "0", "99999999999999999999999", "-99999999999999999999999", "1e308", "NaN", "0x10", "7.5", " 7 ",
    "zh_Hans", "en", "xx", "Mars/Olympus_Mons", "admin", "superuser", "public", "everyone",
]
SURROGATES = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
                     min_size=1, max_size=3)
HUGE = st.builds(lambda unit, times: unit * times,
                 st.sampled_from(["a", "人", "😀", "\x00", "<b>", "\u202e", " ", "9"]), st.integers(500, 70_000))
NUMBERS = st.one_of(st.integers(-10**30, 10**30).map(str),
                    st.sampled_from(["-1", "0", "１２", "²", "٣", " 7 ", "7.5", "1_0", "+5", "9" * 30]))
MIXED = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(PAYLOADS), SURROGATES), max_size=4).map("".join)
VALUE = st.one_of(MIXED, st.sampled_from(PAYLOADS), NUMBERS, HUGE)
LANGS = st.sampled_from(sorted(HTML_LANG))


def fields(*names: str, values=VALUE):
    """Draw replacements (or removals, as None) for some of the form's fields."""
    return st.dictionaries(st.sampled_from(names), st.one_of(values, st.none()), max_size=len(names))


def encode(pairs: list[tuple[str, str]]) -> str:
    """Form-encode like a careless client: lone surrogates go out as their (invalid) UTF-8 bytes."""
    return "&".join(f"{quote_plus(name)}={quote_plus(str(value).encode('utf-8', 'surrogatepass'))}"
                    for name, value in pairs)


def pairs_of(base: dict[str, str], changes: dict, token: str, extra: list | tuple = ()) -> list[tuple[str, str]]:
    """Return the base form with the drawn changes applied (None removes a field)."""
    merged = {**base, **changes}
    return [("csrf_token", token), *((k, v) for k, v in merged.items() if v is not None), *extra]


def send(browser: FlaskClient, url: str, pairs: list, lang: str):
    """POST the raw form with ?lang= set; return the response."""
    joiner = "&" if "?" in url else "?"
    return browser.post(f"{url}{joiner}lang={lang}", data=encode(pairs),
                        content_type="application/x-www-form-urlencoded")


def answered_sanely(response, lang: str) -> None:
    """No server error; an HTML page, and every reason it gives for a refusal, is in the reader's language."""
    event(f"answered {response.status_code}")  # shown by --hypothesis-show-statistics
    assert response.status_code < 500
    if response.mimetype == "text/html" and response.status_code // 100 != 3:
        html = response.get_data(as_text=True)
        assert f'<html lang="{HTML_LANG[lang]}"' in html
        if lang == "zh_Hans":
            # Flashes are left out: one may be left over from the previous (English) example.
            assert [text for text in error_texts(html, flashes=False) if not HAN.search(text)] == []


def sent_text(value: str | None) -> str:
    """Return the text the hub receives for a drawn value (lone surrogates arrive re-quoted, never blank)."""
    return value if value is not None else ""


class Browser:
    """A signed-in browser with its CSRF token, kept for every example of one test."""

    def __init__(self, app, user: User) -> None:
        self.client = app.test_client()
        assert login(self.client, user.username).status_code == 302
        self.token = csrf_token(self.client, "/account/password")


@pytest.fixture
def as_member(app, member) -> Browser:
    return Browser(app, member)


@pytest.fixture
def as_author(app, contributor) -> Browser:
    vocabulary.seed()
    return Browser(app, contributor)


@pytest.fixture
def as_moderator(app, moderator) -> Browser:
    return Browser(app, moderator)


@pytest.fixture
def as_admin(app, admin) -> Browser:
    return Browser(app, admin)


NOTE = {"title": "Night outreach", "summary": "One sentence.", "body": "What we did.", "language": "en",
        "visibility": "members", "place": "", "province": "", "tags": "", "context": "", "what_we_did": "",
        "what_happened": "", "what_we_learned": "", "do_differently": "", "save": "1"}
NOTE_FIELDS = (*NOTE, "submit_note", "confirm_privacy", "edit_again", "note_id")


def note_input(**overrides) -> notes.NoteInput:
    return notes.NoteInput(**{"title": "Night outreach", "summary": "One sentence.", "body": "What we did.",
                              "language": "en", "visibility": "members", **overrides})


def submitted_note(author: User, **overrides) -> Note:
    return notes.submit(notes.create_draft(author=author, data=note_input(**overrides)), by=author,
                        confirm_privacy=True)


def published_note(author: User, moderator: User, **overrides) -> Note:
    return notes.approve(submitted_note(author, **overrides), by=moderator)


def note_row(note_id: int) -> tuple:
    """Return the note's saved text and settings, straight from the database."""
    return tuple(db.session.execute(sa.select(
        Note.state, Note.title, Note.summary, Note.body, Note.sections, Note.place, Note.province,
        Note.visibility, Note.tags, Note.language, Note.revision_number).where(Note.id == note_id)).one())


TOPIC_IDS = st.lists(st.one_of(st.integers(1, 30).map(str), NUMBERS, st.sampled_from(PAYLOADS)), max_size=2000)


# --- the properties start from forms the hub accepts ----------------------------------------------

def test_every_fuzzed_form_accepts_its_unchanged_base(app, as_member, as_author, as_moderator, as_admin, admin,
                                                      member, contributor, project, authors_draft, readable_note,
                                                      returned_note):
    """Without this, a broken harness (say, a wrong CSRF token) would make every property pass vacuously."""
    def ok(browser: Browser, url: str, base: dict, status: int = 302):
        response = send(browser.client, url, pairs_of(base, {}, browser.token), "en")
        assert response.status_code == status, (url, response.status_code)
        return response

    _invitation, secret = accounts.create_invitation(by=admin, role=Role.MEMBER)
    anonymous = app.test_client()
    response = send(anonymous, f"/invite/{secret}", pairs_of(
        {"username": "newbie", "pseudonym": "Newbie", "email": "", "password": PASSWORD, "confirm": PASSWORD}, {},
        csrf_token(anonymous, f"/invite/{secret}")), "en")
    assert response.status_code == 302 and count(User, User.username == "newbie") == 1
    ok(as_member, "/account", {"pseudonym": "Mary Q", "email": "mary@example.org", "locale": "", "timezone": "",
                               "bio": ""})
    assert profile_row(member.id)[0] == "Mary Q"
    ok(as_member, "/account/password", {"current_password": PASSWORD, "new_password": "a new long passphrase",
                                        "confirm": "a new long passphrase"})
    notes_before = count(Note)
    ok(as_author, "/notes/new", NOTE)
    assert count(Note) == notes_before + 1
    ok(as_author, f"/notes/{authors_draft.id}/edit", {**NOTE, "title": "Edited"})
    assert note_row(authors_draft.id)[1] == "Edited"
    assert ok(as_author, "/notes/autosave", {**NOTE, "note_id": str(authors_draft.id)}, 200).get_json()["ok"]
    assert ok(as_author, "/notes/preview", NOTE, 200).get_json()["ok"]
    ok(as_member, f"/notes/{readable_note.id}/comments", {"body": "Same here."})
    ok(as_member, f"/notes/{readable_note.id}/flag", {"reason": "wrong", "detail": ""})
    ok(as_author, f"/notes/{returned_note.id}/reply", {"message": "Done."})
    assert (count(Comment), count(Flag), count(ReviewMessage, ReviewMessage.kind == "reply")) == (2, 1, 1)
    for route in ("approve", "request-changes", "reject"):
        note = submitted_note(contributor)
        ok(as_moderator, f"/moderation/notes/{note.id}/{route}", {"visibility": "members", "message": "Fine."})
        assert note_row(note.id)[0] != "submitted", route
    invitations = count(Invitation)
    ok(as_admin, "/admin/invitations", {"role": "member", "project": "", "days": "14", "note": ""}, 200)
    assert count(Invitation) == invitations + 1
    ok(as_admin, f"/admin/users/{member.id}/role", {"role": "contributor"})
    assert db.session.scalar(sa.select(User.role).where(User.id == member.id)) == "contributor"
    ok(as_admin, "/admin/projects/new", PROJECT)
    ok(as_admin, "/admin/vocabulary", {"kind": "topic", "slug": "new-topic", "name_zh": "新话题", "name_en": "New"})
    ok(as_admin, "/admin/sensitive-words", {"word": "Dr. Wang"})
    assert (count(Project), count(Term, Term.slug == "new-topic"), count(SensitiveWord)) == (2, 1, 1)


# --- signing in and the account ----------------------------------------------------------------

@FUZZ
@given(changes=fields("login", "password", "next"), lang=LANGS)
def test_login_form_survives_any_input(app, member, changes, lang):
    app.config.update(LOGIN_LIMIT_ACCOUNT=10**6, LOGIN_LIMIT_CLIENT=10**6)
    browser = app.test_client()
    token = csrf_token(browser, "/login")
    before = count(LoginSession)
    response = send(browser, "/login", pairs_of({"login": "mary", "password": "not the password"}, changes, token),
                    lang)
    answered_sanely(response, lang)
    if any("\x00" in (value or "") for value in changes.values()):
        assert response.status_code == 400  # refused before any view reads it (blueprints/web/security.py)
    else:
        assert response.status_code == 200  # the password is never right: the form comes back
    assert count(LoginSession) == before


SIGNUP = ("username", "pseudonym", "email", "password", "confirm")
SERIAL = itertools.count()


@FUZZ
@given(changes=fields(*SIGNUP), lang=LANGS)
def test_signup_by_invitation_survives_any_input(app, admin, changes, lang):
    _invitation, secret = accounts.create_invitation(by=admin, role=Role.MEMBER)
    browser = app.test_client()
    url = f"/invite/{secret}"
    token = csrf_token(browser, url)
    n = next(SERIAL)
    base = {"username": f"newbie{n}", "pseudonym": f"Newbie {n}", "email": "", "password": PASSWORD,
            "confirm": PASSWORD}
    users = count(User)
    response = send(browser, url, pairs_of(base, changes, token), lang)
    answered_sanely(response, lang)
    if response.status_code != 302:
        assert count(User) == users
    else:
        user = db.session.scalar(sa.select(User).order_by(User.id.desc()))
        assert re.fullmatch(r"[a-z0-9_.-]{3,40}", user.username)
        assert 2 <= len(user.pseudonym) <= 60 and user.pseudonym == user.pseudonym.strip()


PROFILE = ("pseudonym", "email", "locale", "timezone", "bio")


def profile_row(user_id: int) -> tuple:
    return tuple(db.session.execute(sa.select(User.pseudonym, User.email, User.locale, User.timezone, User.bio)
                                    .where(User.id == user_id)).one())


@FUZZ
@given(changes=fields(*PROFILE), lang=LANGS)
def test_profile_form_survives_any_input(as_member, member, changes, lang):
    before = profile_row(member.id)
    base = {"pseudonym": "Mary P", "email": "mary@example.org", "locale": "", "timezone": "", "bio": ""}
    response = send(as_member.client, "/account", pairs_of(base, changes, as_member.token), lang)
    answered_sanely(response, lang)
    after = profile_row(member.id)
    if response.status_code == 200:
        assert after == before
    else:
        assert after[2] in (None, "zh_Hans", "en")
        assert after[3] is None or "/" in after[3] or after[3] == "UTC"


@FUZZ
@given(changes=fields("current_password", "new_password", "confirm"), lang=LANGS)
def test_password_form_survives_any_input(as_member, member, changes, lang):
    before = db.session.scalar(sa.select(User.password_hash).where(User.id == member.id))
    base = {"current_password": PASSWORD, "new_password": "a new long passphrase",
            "confirm": "a new long passphrase"}
    response = send(as_member.client, "/account/password", pairs_of(base, changes, as_member.token), lang)
    answered_sanely(response, lang)
    if response.status_code == 200:
        assert db.session.scalar(sa.select(User.password_hash).where(User.id == member.id)) == before
    else:  # changed: put the old password back for the next example
        db.session.execute(sa.update(User).where(User.id == member.id)
                           .values(password_hash=accounts.hash_password(PASSWORD)))
        db.session.commit()


# --- the note editor ---------------------------------------------------------------------------

@FUZZ
@given(changes=fields(*NOTE_FIELDS), topics=TOPIC_IDS, populations=TOPIC_IDS, lang=LANGS)
def test_new_note_form_survives_any_input(as_author, changes, topics, populations, lang):
    before = count(Note)
    extra = [("topics", t) for t in topics] + [("populations", p) for p in populations]
    response = send(as_author.client, "/notes/new", pairs_of(NOTE, changes, as_author.token, extra), lang)
    answered_sanely(response, lang)
    if response.status_code == 200:
        assert count(Note) == before
    for note in db.session.scalars(sa.select(Note)):
        assert len(note.title) <= 200 and len(note.tags or []) <= 10
        assert note.visibility in VISIBILITIES and note.language in ("zh_Hans", "en")


@pytest.fixture
def authors_draft(contributor) -> Note:
    return notes.create_draft(author=contributor, data=note_input(title="My draft"))


@FUZZ
@given(changes=fields(*NOTE_FIELDS), topics=TOPIC_IDS, lang=LANGS)
def test_edit_note_form_survives_any_input(as_author, authors_draft, changes, topics, lang):
    before = note_row(authors_draft.id)
    extra = [("topics", t) for t in topics]
    response = send(as_author.client, f"/notes/{authors_draft.id}/edit",
                    pairs_of(NOTE, changes, as_author.token, extra), lang)
    answered_sanely(response, lang)
    if response.status_code == 200:
        assert note_row(authors_draft.id) == before


@FUZZ
@given(changes=fields(*NOTE_FIELDS, values=st.one_of(VALUE, NUMBERS)), topics=TOPIC_IDS, lang=LANGS)
def test_autosave_survives_any_input(as_author, authors_draft, changes, topics, lang):
    before, notes_before = note_row(authors_draft.id), count(Note)
    base = {**NOTE, "note_id": str(authors_draft.id)}
    extra = [("topics", t) for t in topics]
    response = send(as_author.client, "/notes/autosave", pairs_of(base, changes, as_author.token, extra), lang)
    answered_sanely(response, lang)
    if response.status_code != 200:
        assert (note_row(authors_draft.id), count(Note)) == (before, notes_before)
    else:
        assert response.get_json()["ok"] is True


@FUZZ
@given(changes=fields(*NOTE_FIELDS), lang=LANGS)
def test_preview_survives_any_input_and_saves_nothing(as_author, authors_draft, changes, lang):
    before, notes_before = note_row(authors_draft.id), count(Note)
    response = send(as_author.client, "/notes/preview", pairs_of(NOTE, changes, as_author.token), lang)
    answered_sanely(response, lang)
    assert response.status_code in (200, 400)
    assert (note_row(authors_draft.id), count(Note)) == (before, notes_before)
    if response.status_code == 200:
        assert not unsafe_markup(response.get_json()["html"])


# --- readers: comments, flags, review replies --------------------------------------------------

@pytest.fixture
def readable_note(contributor, moderator, member) -> Note:
    note = published_note(contributor, moderator)
    discussion.add_comment(note, by=contributor, body="The author's own comment.")
    return note


@FUZZ
@given(body=st.one_of(VALUE, st.none()), lang=LANGS)
def test_comment_form_survives_any_input(as_member, readable_note, body, lang):
    before = count(Comment)
    response = send(as_member.client, f"/notes/{readable_note.id}/comments",
                    pairs_of({}, {"body": body}, as_member.token), lang)
    answered_sanely(response, lang)
    text = sent_text(body)
    if not text.strip() or len(text) > 5000:
        assert count(Comment) == before
    for comment in db.session.scalars(sa.select(Comment)):
        assert not unsafe_markup(comment.body_html)


@FUZZ
@given(changes=fields("reason", "detail"), comment=st.one_of(st.none(), NUMBERS, st.sampled_from(PAYLOADS)),
       lang=LANGS)
def test_flag_form_survives_any_input(as_member, readable_note, changes, comment, lang):
    before = count(Flag)
    url = f"/notes/{readable_note.id}/flag" + (f"?comment={quote_plus(comment)}" if comment is not None else "")
    response = send(as_member.client, url, pairs_of({"reason": "wrong", "detail": ""}, changes, as_member.token),
                    lang)
    answered_sanely(response, lang)
    if changes.get("reason", "wrong") not in FLAG_REASONS:
        assert count(Flag) == before
    assert count(Flag) <= before + 1


@pytest.fixture
def returned_note(contributor, moderator) -> Note:
    return notes.request_changes(submitted_note(contributor), by=moderator, message="Please add more.")


@FUZZ
@given(message=st.one_of(VALUE, st.none()), lang=LANGS)
def test_review_reply_form_survives_any_input(as_author, returned_note, message, lang):
    before = count(ReviewMessage)
    response = send(as_author.client, f"/notes/{returned_note.id}/reply",
                    pairs_of({}, {"message": message}, as_author.token), lang)
    answered_sanely(response, lang)
    text = sent_text(message)
    if not text.strip() or len(text) > 4000:
        assert count(ReviewMessage) == before


# --- moderation ----------------------------------------------------------------------------------

@FUZZ
@given(changes=fields("visibility", "featured", "message"), authors_choice=st.sampled_from(VISIBILITIES),
       lang=LANGS)
def test_approve_form_survives_any_input_and_never_widens(as_moderator, contributor, changes, authors_choice,
                                                          lang):
    note = submitted_note(contributor, visibility=authors_choice)
    response = send(as_moderator.client, f"/moderation/notes/{note.id}/approve",
                    pairs_of({"visibility": authors_choice, "message": ""}, changes, as_moderator.token), lang)
    answered_sanely(response, lang)
    state, visibility = note_row(note.id)[0], note_row(note.id)[7]
    asked = changes.get("visibility", authors_choice)
    if asked not in VISIBILITIES:
        assert state == "submitted"
    if state == "published":
        assert VISIBILITIES.index(visibility) <= VISIBILITIES.index(authors_choice)


@pytest.mark.parametrize("route", ["request-changes", "reject", "unpublish"])
@FUZZ
@given(message=st.one_of(VALUE, st.none()), lang=LANGS)
def test_decision_forms_survive_any_input(as_moderator, contributor, moderator, route, message, lang):
    note = published_note(contributor, moderator) if route == "unpublish" else submitted_note(contributor)
    state = note.state
    response = send(as_moderator.client, f"/moderation/notes/{note.id}/{route}",
                    pairs_of({}, {"message": message}, as_moderator.token), lang)
    answered_sanely(response, lang)
    text = sent_text(message)
    if not text.strip() or len(text) > 4000:
        assert note_row(note.id)[0] == state


# --- administration -------------------------------------------------------------------------------

@FUZZ
@given(changes=fields("role", "project", "days", "note"), lang=LANGS)
def test_invitation_form_survives_any_input(as_admin, project, changes, lang):
    before = count(Invitation)
    base = {"role": "member", "project": "", "days": "14", "note": ""}
    response = send(as_admin.client, "/admin/invitations", pairs_of(base, changes, as_admin.token), lang)
    answered_sanely(response, lang)
    role, chosen, days = (changes.get("role", "member"), changes.get("project", ""), changes.get("days", "14"))
    if role not in {r.value for r in Role} or chosen not in ("", str(project.id)):
        assert count(Invitation) == before
    if re.fullmatch(r"-?\d{1,6}", days or "") and not 1 <= int(days) <= 90:
        assert count(Invitation) == before
    elif re.fullmatch(r"-?\d{7,}", days or ""):
        assert count(Invitation) == before


@FUZZ
@given(role=st.one_of(VALUE, st.sampled_from(["member", "contributor", "moderator", "admin"])), lang=LANGS)
def test_role_form_survives_any_input(as_admin, member, role, lang):
    before = db.session.scalar(sa.select(User.role).where(User.id == member.id))
    response = send(as_admin.client, f"/admin/users/{member.id}/role",
                    pairs_of({}, {"role": role}, as_admin.token), lang)
    answered_sanely(response, lang)
    after = db.session.scalar(sa.select(User.role).where(User.id == member.id))
    assert after == (role if role in {r.value for r in Role} else before)


PROJECT = {"slug": "kunming-harm-reduction", "name_zh": "昆明减害", "name_en": "Kunming Harm Reduction",
           "city": "", "province": "", "country": "", "description_zh": "", "description_en": ""}
SLUGS = st.sampled_from(["chengdu-peer-centre", "chengdu-peer-centre\n", "Chengdu-Peer-Centre", "a", "-ab-",
                         "ok-slug\n", " ok-slug", "ok slug", "ok_slug", "x" * 65])


@FUZZ
@given(changes=fields(*PROJECT, values=st.one_of(VALUE, SLUGS)), lang=LANGS)
def test_project_form_survives_any_input(as_admin, project, changes, lang):
    before = count(Project)
    base = {**PROJECT, "slug": f"kunming-harm-reduction-{next(SERIAL)}"}
    response = send(as_admin.client, "/admin/projects/new", pairs_of(base, changes, as_admin.token), lang)
    answered_sanely(response, lang)
    if response.status_code == 200:
        assert count(Project) == before
    for saved in db.session.scalars(sa.select(Project)):
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}[a-z0-9]", saved.slug)


@FUZZ
@given(changes=fields("kind", "slug", "name_zh", "name_en"), lang=LANGS)
def test_vocabulary_form_survives_any_input(as_admin, changes, lang):
    before = count(Term)
    base = {"kind": "topic", "slug": f"new-topic-{next(SERIAL)}", "name_zh": "新话题", "name_en": "New topic"}
    response = send(as_admin.client, "/admin/vocabulary", pairs_of(base, changes, as_admin.token), lang)
    answered_sanely(response, lang)
    if response.status_code == 200:
        assert count(Term) == before
    assert set(db.session.scalars(sa.select(Term.kind))) <= {"topic", "population"}


@FUZZ
@given(changes=fields("word"), lang=LANGS)
def test_sensitive_word_form_survives_any_input(as_admin, changes, lang):
    before = (count(SensitiveWord), count(AuditEntry))
    base = {"word": f"Dr. Wang {next(SERIAL)}"}
    response = send(as_admin.client, "/admin/sensitive-words", pairs_of(base, changes, as_admin.token), lang)
    answered_sanely(response, lang)
    if response.status_code == 200:
        assert (count(SensitiveWord), count(AuditEntry)) == before
    for word in db.session.scalars(sa.select(SensitiveWord.word)):
        assert word == word.strip() and 2 <= len(word) <= 100


# --- numbers in addresses and query strings ----------------------------------------------------------

HUGE_ID = 10**20  # beyond the 64-bit integers SQLite and PostgreSQL store


@pytest.mark.parametrize("url", [
    "/notes/{n}", "/notes/{n}/history", "/notes/{n}/edit", "/moderation/notes/{n}",
    "/notes?page={n}", "/notes/mine?page={n}", "/moderation?page={n}", "/moderation/flags?page={n}",
    "/account/notifications?page={n}",
])
def test_a_number_too_large_for_the_database_in_the_address_is_answered(as_moderator, url):
    response = as_moderator.client.get(url.format(n=HUGE_ID))
    assert response.status_code in (200, 404)


@pytest.mark.parametrize("url", ["/notes/{n}/comments", "/notes/{n}/flag", "/notes/{n}/withdraw",
                                 "/moderation/notes/{n}/approve"])
def test_posting_to_a_note_id_too_large_for_the_database_is_not_found(as_moderator, url):
    response = as_moderator.client.post(url.format(n=HUGE_ID), data={"csrf_token": as_moderator.token,
                                                                       "body": "x", "reason": "spam",
                                                                       "visibility": "members"})
    assert response.status_code == 404


@pytest.mark.parametrize("days", ["9" * 309, "9" * 5000, "-" + "9" * 400])
def test_invitation_valid_for_an_absurd_number_of_days_is_refused(as_admin, days):
    response = post_form(as_admin.client, "/admin/invitations", {"role": "member", "project": "", "days": days})
    assert response.status_code == 200 and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert count(Invitation) == 0


def test_flagging_a_comment_id_too_large_for_the_database_is_refused(as_member, readable_note):
    response = as_member.client.post(f"/notes/{readable_note.id}/flag?comment={HUGE_ID}",
                                     data={"csrf_token": as_member.token, "reason": "spam"})
    assert response.status_code in (302, 404)
    assert count(Flag) == 0


@pytest.mark.parametrize("note_id", ["²", "³", "①", "１２"])
def test_autosave_with_an_unusual_digit_as_note_id_is_refused(as_author, authors_draft, note_id):
    response = as_author.client.post("/notes/autosave", data={"csrf_token": as_author.token, **NOTE,
                                                              "note_id": note_id})
    assert response.status_code in (400, 404)
    assert note_row(authors_draft.id)[1] == "My draft"


@pytest.mark.parametrize("slug", ["chengdu-peer-centre\n", "chengdu-peer-centre\r\n"])
def test_existing_project_slug_with_a_line_break_is_refused(as_admin, project, slug):
    response = send(as_admin.client, "/admin/projects/new",
                    pairs_of({**PROJECT, "slug": slug}, {}, as_admin.token), "en")
    assert response.status_code == 200 and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert count(Project) == 1


# --- refusals are explained in the reader's language ------------------------------------------------

class _Texts(HTMLParser):
    """Collect the text of a page's error messages (of fields, forms, error pages and, optionally, flashes)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, classes: set[str]) -> None:
        super().__init__()
        self.classes = classes
        self.depth, self.texts, self.current = 0, [], []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif self.classes & set((dict(attrs).get("class") or "").split()):
            self.depth, self.current = 1, []

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if not self.depth:
                self.texts.append(" ".join("".join(self.current).split()))

    def handle_data(self, data):
        if self.depth:
            self.current.append(data)


def error_texts(html: str, *, flashes: bool = True) -> list[str]:
    """Return the texts of the error messages on a page."""
    parser = _Texts({"error", "form-errors", "error-page"} | ({"flash-error"} if flashes else set()))
    parser.feed(html)
    return [text for text in parser.texts if text]


REFUSALS = [
    # (who, url, form data, why it is refused)
    ("anonymous", "/login", {"login": "mary", "password": "wrong password"}, "wrong password"),
    ("member", "/account", {"pseudonym": "M", "email": "not-an-address", "locale": "", "timezone": "", "bio": ""},
     "pseudonym and e-mail"),
    ("member", "/account/password", {"current_password": "wrong", "new_password": "short", "confirm": "other"},
     "passwords"),
    ("author", "/notes/new", {**NOTE, "visibility": "everyone"}, "unknown visibility"),
    ("author", "/notes/new", {**NOTE, "place": "成都市人民南路12号"}, "street address"),
    ("author", "/notes/new", {**NOTE, "tags": ",".join(f"tag{i}" for i in range(12))}, "too many tags"),
    ("admin", "/admin/invitations", {"role": "member", "project": "", "days": "500"}, "days out of range"),
    ("admin", "/admin/projects/new", {**PROJECT, "slug": "Not A Slug"}, "slug"),
    ("admin", "/admin/vocabulary", {"kind": "topic", "slug": "x", "name_zh": "", "name_en": ""}, "vocabulary"),
    ("admin", "/admin/sensitive-words", {"word": "x"}, "short word"),
]


@pytest.mark.parametrize("who, url, data, why", REFUSALS, ids=[r[3] for r in REFUSALS])
def test_refused_form_is_explained_in_chinese_to_a_chinese_reader(app, member, contributor, admin, who, url, data,
                                                                  why):
    vocabulary.seed()
    user = {"anonymous": None, "member": member, "author": contributor, "admin": admin}[who]
    browser = app.test_client()
    if user is not None:
        login(browser, user.username)
    response = post_form(browser, f"{url}?lang=zh_Hans", data, form_url=f"{url}?lang=zh_Hans")
    assert response.status_code == 200
    texts = error_texts(response.get_data(as_text=True))
    assert texts, "the refusal names no reason"
    assert [text for text in texts if not HAN.search(text)] == []


@pytest.mark.parametrize("who, route, data", [
    ("member", "/notes/{id}/comments", {"body": "   "}),
    ("moderator", "/moderation/notes/{id}/unpublish", {"message": " "}),
])
def test_refused_action_is_explained_in_chinese_after_the_redirect(app, contributor, moderator, member, who, route,
                                                                   data):
    note = published_note(contributor, moderator)
    browser = app.test_client()
    login(browser, {"member": member, "moderator": moderator}[who].username)
    response = post_form(browser, route.format(id=note.id) + "?lang=zh_Hans", data,
                         form_url=f"/notes/{note.id}?lang=zh_Hans", follow_redirects=True)
    texts = error_texts(response.get_data(as_text=True))
    assert texts and [text for text in texts if not HAN.search(text)] == []


# --- script in a note never reaches a reader's browser --------------------------------------------

XSS_BODY = ("Before.\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
            "[x](javascript:alert(1)) and [y](JaVaScRiPt:alert(1)) and [z](java\tscript:alert(1))\n\n"
            "![pic](javascript:alert(1)) <a href=\"javascript:alert(1)\">a</a>\n\n"
            "[w](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n\nAfter.")


class _Markup(HTMLParser):
    """Collect every element, attribute and script of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and value:
                scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                if scheme.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"<{tag} {name}={value!r}>")
        self.in_script = tag == "script" and not dict(attrs).get("src")

    def handle_data(self, data):
        if self.in_script and "alert" in data:
            self.problems.append("inline script with alert")

    def handle_endtag(self, tag):
        self.in_script = False


def unsafe_markup(html: str) -> list[str]:
    """Return what in ``html`` would run script in the browser (empty when safe)."""
    parser = _Markup()
    parser.feed(html)
    return parser.problems + (["<script>alert"] if "<script>alert" in html else [])


def test_script_in_a_note_survives_editor_and_approval_as_harmless_text(app, client, login_as, contributor,
                                                                       moderator, member):
    login_as(contributor)
    form = {**NOTE, "title": "<script>alert(1)</script> title", "summary": "<img src=x onerror=alert(1)>",
            "body": XSS_BODY, "what_we_learned": "[learn](javascript:alert(1))", "tags": "<script>alert(1)</script>",
            "place": "<b onmouseover=alert(1)>x</b>", "visibility": "public", "submit_note": "1"}
    form.pop("save")
    response = post_form(client, "/notes/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    note = db.session.scalar(sa.select(Note))
    moderators = app.test_client()
    login(moderators, moderator.username)
    review = moderators.get(f"/moderation/notes/{note.id}").get_data(as_text=True)
    assert unsafe_markup(review) == []
    post_form(moderators, f"/moderation/notes/{note.id}/approve", {"visibility": "public"},
              form_url=f"/moderation/notes/{note.id}")
    assert note_row(note.id)[0] == "published"

    anonymous = app.test_client()
    page = anonymous.get(f"/notes/{note.id}").get_data(as_text=True)
    assert "Before." in page and "After." in page
    assert unsafe_markup(page) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, not dropped silently
    for url in ("/", "/notes", f"/notes/{note.id}/edit", f"/notes/{note.id}/history"):
        browser = client if url.endswith(("edit", "history")) else anonymous
        assert unsafe_markup(browser.get(url).get_data(as_text=True)) == [], url


def test_script_in_a_comment_is_shown_as_harmless_text(app, client, login_as, contributor, moderator, member):
    note = published_note(contributor, moderator, visibility="public")
    login_as(member)
    post_form(client, f"/notes/{note.id}/comments", {"body": XSS_BODY}, form_url=f"/notes/{note.id}")
    assert count(Comment) == 1
    assert unsafe_markup(app.test_client().get(f"/notes/{note.id}").get_data(as_text=True)) == []
