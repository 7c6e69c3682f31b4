"""Cached parts of pages (blueprints/web/fragments.py) never show a reader what they may not see, and
never show anyone an old page: the keys hold the audience, and the content version changes with the
data, whichever process changed it.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub import content_version
from hub.extensions import db
from hub.models import Note
from hub.models.user import Role
from hub.services import discussion, moderation, notes
from tests.helpers import login, post_form

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def app(any_db_app):
    """Every test here on SQLite and on PostgreSQL, where cached pages read without a transaction."""
    return any_db_app


def note_input(**overrides) -> notes.NoteInput:
    fields = {"title": "Night outreach with naloxone", "summary": "What we learned at night.",
              "body": "We walked the route twice a week.", "language": "en", "visibility": "public"}
    return notes.NoteInput(**{**fields, **overrides})


def published(author, moderator, **overrides) -> Note:
    note = notes.create_draft(author=author, data=note_input(**overrides))
    notes.submit(note, by=author, confirm_privacy=True)
    return notes.approve(note, by=moderator)


def browser(app, user=None):
    """Return a new test client, signed in as ``user`` when given."""
    client = app.test_client()
    if user is not None:
        assert login(client, user.username).status_code == 302
    return client


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_a_members_only_note_never_reaches_an_anonymous_reader(app, contributor, moderator, member):
    secret = published(contributor, moderator, title="Members only: the clinic's night door", visibility="members")
    open_note = published(contributor, moderator, title="For everyone: tea house testing")
    signed_in = browser(app, member)
    for _ in range(2):  # the second time from the cache
        assert "the clinic&#39;s night door" in page(signed_in, f"/notes/{secret.id}")
        for path in ("/", "/notes", f"/notes/{open_note.id}"):
            assert "night door" in page(signed_in, path) or path == f"/notes/{open_note.id}"
    anonymous = browser(app)
    for _ in range(2):
        response = anonymous.get(f"/notes/{secret.id}")
        assert response.status_code == 404 and "night door" not in response.get_data(as_text=True)
        for path in ("/", "/notes", f"/notes/{open_note.id}"):
            html = page(anonymous, path)
            assert "night door" not in html and "tea house testing" in html


def test_a_draft_is_never_cached_nor_shown_to_others(app, contributor, moderator, make_user):
    draft = notes.create_draft(author=contributor, data=note_input(title="Draft: first words"))
    author = browser(app, contributor)
    assert "Draft: first words" in page(author, f"/notes/{draft.id}")
    notes.save(draft, by=contributor, data=note_input(title="Draft: second words"))  # autosave: no new version
    html = page(author, f"/notes/{draft.id}")
    assert "Draft: second words" in html and "first words" not in html
    colleague = browser(app, make_user("ann", role=Role.CONTRIBUTOR, pseudonym="Ann"))
    assert colleague.get(f"/notes/{draft.id}").status_code == 404
    for who in (author, colleague, browser(app)):
        for path in ("/", "/notes"):
            assert "Draft:" not in page(who, path)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_change_made_through_another_process_shows_at_once(make_app, tmp_path, request, database):
    """Two web processes on one database: the one that changed nothing is never told, and never stale.

    On PostgreSQL each app has its own pool, as each process has, and the anonymous reader's whole
    pages are served on the content version read past the ORM (hub/content_version.py).
    """
    url = (f"sqlite:///{tmp_path / 'shared.sqlite'}" if database == "sqlite"
           else request.getfixturevalue("postgres_database"))
    first, second = make_app(DATABASE_URL=url), make_app(DATABASE_URL=url)
    with first.app_context():
        from hub.services import accounts, projects
        home = projects.save(projects.ProjectData(slug="chengdu-east", name_zh="成都东", name_en="Chengdu East"), by=None)
        people = {name: accounts.create_user(accounts.NewAccount(username=name, pseudonym=name.title(),
                                                                 password="correct horse battery"),
                                             role=role, project=home)
                  for name, role in (("lee", Role.CONTRIBUTOR), ("moder", Role.MODERATOR), ("mary", Role.MEMBER))}
        db.session.commit()
        note_id = published(people["lee"], people["moder"], title="Peer duty at the clinic").id
    reader = browser(first)
    signed_in = {name: app.test_client() for name, app in (("mary", second), ("moder", second))}
    for name, client in signed_in.items():
        assert login(client, name).status_code == 302
    for _ in range(2):
        assert "Peer duty at the clinic" in page(reader, "/") and "No comments yet" in page(reader, f"/notes/{note_id}")
    post_form(signed_in["mary"], f"/notes/{note_id}/comments", {"body": "We tried this in Xichang."},
              form_url=f"/notes/{note_id}")
    assert "We tried this in Xichang." in page(reader, f"/notes/{note_id}")
    post_form(signed_in["moder"], f"/moderation/notes/{note_id}/unpublish", {"message": "Names in it."},
              form_url=f"/moderation/notes/{note_id}")
    with second.app_context():
        assert db.session.get(Note, note_id).state == "unpublished"
    assert "Peer duty at the clinic" not in page(reader, "/")
    assert reader.get(f"/notes/{note_id}").status_code == 404
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def test_each_reader_gets_their_own_form_token_and_no_one_elses(app, contributor, moderator, member, make_user):
    note = published(contributor, moderator)
    first, second = browser(app, member), browser(app, make_user("nina", pseudonym="Nina"))
    first_tokens = set(CSRF_RE.findall(page(first, f"/notes/{note.id}")))
    second_html = page(second, f"/notes/{note.id}")  # the comment form and buttons come from the cache
    second_tokens = set(CSRF_RE.findall(second_html))
    assert first_tokens and second_tokens and not first_tokens & second_tokens
    response = second.post(f"/notes/{note.id}/comments", data={"csrf_token": second_tokens.pop(), "body": "Useful."})
    assert response.status_code == 302
    assert "Useful." in page(first, f"/notes/{note.id}")


def test_a_reader_is_never_offered_to_report_their_own_comment(app, contributor, moderator, member, make_user):
    note = published(contributor, moderator)
    discussion.add_comment(note, by=member, body="Mary's own comment.")
    other = browser(app, make_user("nina", pseudonym="Nina"))
    mary = browser(app, member)
    assert "Report this comment" in page(other, f"/notes/{note.id}")  # cached for members first
    assert "Report this comment" not in page(mary, f"/notes/{note.id}")
    assert "Report this comment" in page(other, f"/notes/{note.id}")


def test_marks_show_each_reader_their_own(app, contributor, moderator, member, make_user):
    note = published(contributor, moderator)
    notes.toggle_mark(note, by=member, kind="useful")
    other = browser(app, make_user("nina", pseudonym="Nina"))
    assert 'aria-pressed="true"' not in page(other, f"/notes/{note.id}")
    assert 'aria-pressed="true"' in page(browser(app, member), f"/notes/{note.id}")
    assert 'aria-pressed="true"' not in page(other, f"/notes/{note.id}")


def test_a_whole_page_is_never_served_over_a_message_waiting_for_the_reader(app, contributor, moderator, member):
    published(contributor, moderator)
    assert "You are signed out." not in page(browser(app), "/")  # the anonymous home page, kept whole
    leaving = browser(app, member)
    response = post_form(leaving, "/logout", {}, form_url="/")
    assert response.headers["Location"] == "/"
    assert "You are signed out." in page(leaving, "/")
    assert "You are signed out." not in page(leaving, "/")


def test_the_unread_count_follows_new_and_read_notifications(app, contributor, moderator, member):
    note = published(contributor, moderator)
    author = browser(app, contributor)
    assert "1 unread" in page(author, "/")  # the note was published
    page(author, "/account/notifications")
    assert "unread" not in page(author, "/")
    discussion.add_comment(note, by=member, body="A question about the night route.")
    assert "1 unread" in page(author, "/")
    page(author, "/account/notifications")
    assert "unread" not in page(author, "/")


def test_each_member_s_menu_is_their_own_and_follows_their_name_and_the_queue(app, contributor, moderator, member,
                                                                           make_user):
    other = make_user("menu-reader", pseudonym="Second Reader")
    first, second, moderating = browser(app, member), browser(app, other), browser(app, moderator)
    for _ in range(2):  # the second time from the cache
        assert f"{member.pseudonym}</bdi>)" in page(first, "/notes")
        assert "Second Reader</bdi>)" in page(second, "/notes")
        assert "Second Reader" not in page(first, "/notes")
    from hub.services import accounts
    accounts.update_profile(other, pseudonym="Renamed Reader", email=None, locale=None, timezone=None, bio="")
    db.session.commit()
    assert "Renamed Reader</bdi>)" in page(second, "/notes")
    before = page(moderating, "/notes")
    assert 'class="count"' not in before.split("</nav>")[1]  # nothing waits
    note = notes.create_draft(author=contributor, data=note_input(title="Waiting for review"))
    notes.submit(note, by=contributor, confirm_privacy=True)  # a submission: not content readers see
    menu = page(moderating, "/notes").split("</nav>")[1]
    assert re.search(r'Moderation <span class="count">1</span>', menu)


class Rendered:
    """Record the templates an app renders."""

    def __init__(self, app) -> None:
        from flask import template_rendered

        self.names: list[str] = []
        template_rendered.connect(lambda _app, template, context, **_: self.names.append(template.name), app, weak=False)

    def of(self, client, path: str) -> tuple[str, list[str]]:
        """Return the page and the templates one request of ``path`` rendered."""
        self.names = []
        return page(client, path), self.names


def test_a_members_page_is_kept_for_their_role_and_each_gets_their_own_menu_and_form_token(
        app, contributor, moderator, member, make_user):
    published(contributor, moderator, title="Peer-led testing at the tea house")
    other = make_user("second-member", pseudonym="Second Reader")
    rendered = Rendered(app)
    first, second, writing = browser(app, member), browser(app, other), browser(app, contributor)
    html, names = rendered.of(first, "/")
    assert "main/index.html" in names and f"{member.pseudonym}</bdi>)" in html
    html, names = rendered.of(second, "/")  # the same role: the page kept for it, with her own menu
    assert names == ["_menu.html"], names
    assert "Second Reader</bdi>)" in html and member.pseudonym not in html and "tea house" in html
    html, names = rendered.of(second, "/")
    assert names == [] and "Second Reader</bdi>)" in html  # her menu kept too
    html, names = rendered.of(writing, "/")  # another role: another page
    assert "main/index.html" in names and "Write a note" in html and "Write a note" not in page(first, "/")

    # A note's page too, for members of a role who have not commented on it or marked it.
    note = published(contributor, moderator, title="Night outreach, second round")
    html, names = rendered.of(first, f"/notes/{note.id}")
    assert "notes/detail.html" in names and "Useful" in html
    html, names = rendered.of(second, f"/notes/{note.id}")  # her menu anew: a new note, a new content version
    assert names == ["_menu.html"] and "Second Reader</bdi>)" in html and member.pseudonym not in html
    notes.toggle_mark(note, by=other, kind="useful")  # her mark: her page is her own
    html, names = rendered.of(second, f"/notes/{note.id}")
    assert "notes/detail.html" in names and 'aria-pressed="true"' in html
    assert 'aria-pressed="true"' not in page(first, f"/notes/{note.id}")
    html, names = rendered.of(writing, f"/notes/{note.id}")  # the author: rendered for her
    assert "notes/detail.html" in names

    # Each reader's sign-out form carries their own token, and it works.
    tokens = {who: CSRF_RE.findall(page(client, "/")) for who, client in (("first", first), ("second", second))}
    assert len(tokens["first"]) == len(tokens["second"]) == 1 and tokens["first"] != tokens["second"]
    assert second.post("/logout", data={"csrf_token": tokens["second"][0]}).status_code == 302
    assert "Sign in" in page(second, "/") and f"{member.pseudonym}</bdi>)" in page(first, "/")


def test_a_topic_s_list_shows_each_member_their_own_follow_button(app, contributor, moderator, member, make_user):
    from hub.models import Term
    from hub.services import follows

    db.session.add(Term(kind="topic", slug="outreach", name_zh="外展", name_en="Outreach"))
    db.session.commit()
    published(contributor, moderator)
    follows.follow(member, follows.target("topic", value="outreach"))
    db.session.commit()
    other = browser(app, make_user("second-member", pseudonym="Second Reader"))
    mine = browser(app, member)
    for _ in range(2):
        assert "You follow this" in page(mine, "/notes?topic=outreach")
        assert "You follow this" not in page(other, "/notes?topic=outreach")
        assert "You follow this" in page(mine, "/notes?topic=outreach")


def test_the_version_read_beside_the_log_in_session_is_never_older_than_what_the_page_shows(
        app, contributor, moderator, member):
    """A member's first statement reads their session and the content version together; a change
    committed after it shows on the next page, never under the version read before it."""
    note = published(contributor, moderator, title="Before the change")
    reader = browser(app, member)
    assert "Before the change" in page(reader, f"/notes/{note.id}")
    note.title = "After the change"  # a published note's text: a change readers see
    db.session.commit()
    shown = page(reader, f"/notes/{note.id}")
    assert "After the change" in shown and "Before the change" not in shown


# --- statements per page -----------------------------------------------------------------------

class Statements:
    """Count the SQL statements an app runs.

    On PostgreSQL they are counted where they reach the driver (psycopg's cursors, and the
    content version's read outside a transaction, which goes past both SQLAlchemy and psycopg's
    cursors to libpq), so that every statement sent counts.
    """

    def __init__(self, app, monkeypatch) -> None:
        self.engine, self.seen = db.engine, []
        if self.engine.dialect.name == "postgresql":
            import psycopg

            execute = psycopg.Cursor.execute

            def counted(cursor, query, *args, **kwargs):
                self._seen(None, cursor, query if isinstance(query, str) else str(query))
                return execute(cursor, query, *args, **kwargs)

            monkeypatch.setattr(psycopg.Cursor, "execute", counted)
            exec_prepared = content_version._exec_prepared

            def counted_libpq(pgconn):
                self._seen(None, None, "EXECUTE " + content_version._PREPARED.decode())
                return exec_prepared(pgconn)

            monkeypatch.setattr(content_version, "_exec_prepared", counted_libpq)
        else:
            sa.event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _connection, _cursor, statement, *_args) -> None:
        self.seen.append(" ".join(statement.split())[:120])

    @property
    def count(self) -> int:
        return len(self.seen)

    def of(self, client, path: str, *, cold: bool) -> int:
        """Return how many statements one request of ``path`` ran (with every cached fragment dropped if ``cold``)."""
        if cold:
            client.application.extensions["hub.fragments"].clear()
        self.seen = []
        page(client, path)
        return self.count


def _more_notes(contributor, moderator, commenters, count: int) -> None:
    for n in range(count):
        note = published(contributor, moderator, title=f"More notes {n}", visibility=("public", "members")[n % 2])
        if n % 3 == 0:
            notes.set_featured(note, by=moderator, featured=True)
        for who in commenters:
            discussion.add_comment(note, by=who, body=f"Comment by {who.pseudonym}")


@pytest.fixture
def readers(make_user):
    return [make_user(f"reader{n}", pseudonym=f"Reader {n}") for n in range(4)]


def test_the_home_page_runs_a_bounded_number_of_statements(app, contributor, moderator, member, readers,
                                                            monkeypatch):
    notes.set_featured(published(contributor, moderator), by=moderator, featured=True)
    counter = Statements(app, monkeypatch)
    clients = {"anonymous": browser(app), "member": browser(app, member)}
    few = {who: counter.of(client, "/", cold=True) for who, client in clients.items()}
    _more_notes(contributor, moderator, readers, 12)
    for who, client in clients.items():
        many = counter.of(client, "/", cold=True)
        # A member besides: the session, the unread count, whom to ask for the contributor role.
        assert many == few[who] <= 8 + 3 * (who == "member"), (who, counter.seen)  # whatever the number of notes
        warm = counter.of(client, "/", cold=False)
        assert warm == 1, who  # the version (read beside a member's log-in session, in the same statement)


def test_the_note_page_runs_a_bounded_number_of_statements(app, contributor, moderator, member, readers,
                                                            monkeypatch):
    few_comments = published(contributor, moderator, title="One comment")
    discussion.add_comment(few_comments, by=readers[0], body="Only one.")
    many_comments = published(contributor, moderator, title="Many comments")
    for who in readers * 3:
        discussion.add_comment(many_comments, by=who, body=f"Comment by {who.pseudonym}")
    _more_notes(contributor, moderator, readers[:1], 3)
    counter = Statements(app, monkeypatch)
    clients = {"anonymous": browser(app), "member": browser(app, member)}
    for who, client in clients.items():
        cold, warm = [], []
        for note in (few_comments, many_comments):
            cold.append(counter.of(client, f"/notes/{note.id}", cold=True))
            warm.append(counter.of(client, f"/notes/{note.id}", cold=False))
        assert cold[0] == cold[1] <= 14, (who, counter.seen)  # whatever the number of comments and their authors
        # The version: a whole page for the anonymous reader, and one kept for the member's role (the
        # version read with their session; what of theirs it shows kept beside, per content version).
        assert warm == [1, 1], who


# --- the privacy paths: what they change shows at once, and only to whom it should ---------------

def test_a_held_comment_shows_at_once_to_its_writer_only_until_released(app, contributor, moderator, member, make_user):
    from hub.services import screening

    note = published(contributor, moderator)
    path = f"/notes/{note.id}"
    writer, other, anonymous, moder = (browser(app, member), browser(app, make_user("nina", pseudonym="Nina")),
                                      browser(app), browser(app, moderator))
    for client in (writer, other, anonymous, moder):
        assert "No comments yet" in page(client, path)  # every part of the page now cached
    comment = discussion.add_comment(note, by=member, body="Call Wang on 13912345678 after six.",
                                     confirm_privacy=True)
    assert comment.state == "held"
    html = page(writer, path)
    assert "13912345678" in html and "Only you and the moderators see this comment" in html
    for client in (other, anonymous, moder, other):  # the held comment is not the page's comments
        assert "13912345678" not in page(client, path)
    discussion.release(comment, by=moderator, checked=[screening.key(f) for f in discussion.findings(comment)])
    for client in (writer, other, anonymous, moder):
        html = page(client, path)
        assert "13912345678" in html and "Only you and the moderators see this comment" not in html


def test_pending_changes_show_at_once_to_the_author_and_moderators_and_never_to_readers(
        app, contributor, moderator, member):
    note = published(contributor, moderator)
    path = f"/notes/{note.id}"
    author, moder, reader, anonymous = (browser(app, contributor), browser(app, moderator), browser(app, member),
                                        browser(app))
    for client in (author, moder, reader, anonymous):
        assert "Changes to this note" not in page(client, path)
    notes.autosave(note, by=contributor, data=note_input(title="Night outreach, Thursday route"))
    assert "Changes to this note are saved but not yet submitted" in page(author, path)
    notes.autosave(note, by=contributor, data=note_input(title="Night outreach, Friday route"))
    notes.save(note, by=contributor, data=note_input(title="Night outreach, Friday route"), confirm_privacy=True)
    assert "Changes to this note wait for a moderator" in page(author, path)
    assert "until they are accepted. <a" in page(moder, path)  # a sentence, then its link: never run together
    assert "Review the changes" in page(moder, path)
    for client in (reader, anonymous, author, moder):
        html = page(client, path)
        assert "Friday route" not in html and "Night outreach with naloxone" in html
        if client in (reader, anonymous):
            assert "Changes to this note" not in html
    notes.accept_changes(note, by=moderator, version=note.pending.version)
    for client in (reader, anonymous, author, moder):
        html = page(client, path)
        assert "Friday route" in html and "Changes to this note" not in html
    assert "Friday route" in page(anonymous, "/") and "Friday route" in page(anonymous, "/notes")


def test_a_redaction_reaches_every_cached_page_at_once(app, contributor, moderator, member):
    note = published(contributor, moderator, body="Ask for Zhang Wei at the back door.")
    other = published(contributor, moderator, title="Tea house testing")
    comment = discussion.add_comment(other, by=member, body="Zhang Wei helped us too.")
    readers = (browser(app), browser(app, member))
    for client in readers:
        assert "Zhang Wei" in page(client, f"/notes/{note.id}") and "Zhang Wei" in page(client, f"/notes/{other.id}")
    moderation.redact_note(note, by=moderator, fields={"title": note.title, "summary": note.summary,
                                                       "body": "Ask at the back door."})
    discussion.redact(comment, by=moderator, body="[removed] helped us too.")
    for client in readers:
        for path in (f"/notes/{note.id}", f"/notes/{other.id}", "/", "/notes"):
            assert "Zhang Wei" not in page(client, path), path


@pytest.mark.parametrize("keep_published", [False, True], ids=["everything-goes", "published-kept"])
def test_a_deleted_account_leaves_every_cached_page_at_once(app, moderator, member, make_user, keep_published):
    from hub.services import leaving
    from tests.helpers import PASSWORD

    leaver = make_user("wei", role=Role.CONTRIBUTOR, pseudonym="Wei of Xichang")
    # Their own note only when it stays: a tombstone still names its author, which PostgreSQL then refuses.
    note = published(leaver if keep_published else moderator, moderator, title="What Wei tried")
    discussion.add_comment(note, by=leaver, body="Ask me about the Xichang route.")
    readers = (browser(app), browser(app, member))
    for client in readers:
        assert "Wei of Xichang" in page(client, f"/notes/{note.id}")
    leaving.delete_account(leaver, by=leaver, keep_published=keep_published, password=PASSWORD)
    for client in readers:
        html = page(client, f"/notes/{note.id}")
        assert "Wei of Xichang" not in html and "What Wei tried" in html
        assert ("Xichang route" in html and "former member" in html) if keep_published else \
            ("Xichang route" not in html and "No comments yet" in html)


def test_an_attachment_waiting_for_review_shows_to_its_author_only(app, contributor, moderator, member, make_user):
    import io

    from PIL import Image

    from hub.services import attachments

    note = published(contributor, moderator)
    path = f"/notes/{note.id}"
    colleague = browser(app, make_user("ann", role=Role.CONTRIBUTOR, pseudonym="Ann"))  # the author's role
    author, reader, anonymous = browser(app, contributor), browser(app, member), browser(app)
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(image, "PNG")
    image.seek(0)
    attachments.add(note, by=contributor, filename="route-map.png", stream=image)
    assert "route-map.png" in page(author, path)  # rendered first for the author ...
    for client in (colleague, reader, anonymous):  # ... and never served to anyone else
        assert "route-map.png" not in page(client, path)
