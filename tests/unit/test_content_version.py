"""The content version changes, with the transaction, whenever something readers see changes, and only then.

Cached fragments of pages are keyed by it (blueprints/web/fragments.py): a change it misses would
leave an old page in every web process, a change it counts needlessly only costs a re-render.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from hub import content_version
from hub.extensions import db
from hub.models import Note, Project
from hub.services import accounts, discussion, moderation, notes, projects, transfer
from tests.helpers import PASSWORD


def note_input(**overrides) -> notes.NoteInput:
    fields = {"title": "Night outreach", "summary": "What we learned.", "body": "We walked the route.",
              "language": "en", "visibility": "public"}
    return notes.NoteInput(**{**fields, **overrides})


def published(author, moderator, **overrides) -> Note:
    note = notes.create_draft(author=author, data=note_input(**overrides))
    notes.submit(note, by=author, confirm_privacy=True)
    return notes.approve(note, by=moderator)


def changes(work) -> bool:
    """Tell whether running ``work`` changed the content version."""
    db.session.commit()
    before = content_version.current()
    work()
    db.session.rollback()  # read what is committed, in a new transaction
    return content_version.current() != before


@pytest.fixture
def people(any_db_app, make_user, project):
    from hub.models.user import Role

    return {"author": make_user("lee", role=Role.CONTRIBUTOR, pseudonym="小李", project=project),
            "moderator": make_user("moder", role=Role.MODERATOR, pseudonym="山风", project=project),
            "member": make_user("mary", project=project)}


def test_publishing_unpublishing_and_editing_a_published_note_change_it(people):
    author, moderator = people["author"], people["moderator"]
    note = notes.create_draft(author=author, data=note_input())
    notes.submit(note, by=author, confirm_privacy=True)
    assert changes(lambda: notes.approve(note, by=moderator))
    assert changes(lambda: notes.save(note, by=author, data=note_input(title="Night outreach, revised"),
                                      confirm_privacy=True))
    assert changes(lambda: notes.set_featured(note, by=moderator, featured=True))
    assert changes(lambda: notes.narrow_visibility(note, by=moderator, visibility="members"))
    assert changes(lambda: notes.unpublish(note, by=moderator, reason="Names in it."))


def test_drafts_and_submissions_leave_it(people):
    author = people["author"]
    note = notes.create_draft(author=author, data=note_input())
    assert not changes(lambda: notes.save(note, by=author, data=note_input(title="Autosaved")))
    assert not changes(lambda: notes.create_draft(author=author, data=note_input(title="Another draft")))
    assert not changes(lambda: notes.submit(note, by=author, confirm_privacy=True))


def test_comments_marks_accounts_and_projects_change_it(people, project):
    note = published(people["author"], people["moderator"])
    member = people["member"]
    assert changes(lambda: discussion.add_comment(note, by=member, body="We tried this too."))
    assert changes(lambda: notes.toggle_mark(note, by=member, kind="useful"))
    assert changes(lambda: discussion.remove_comment(note_comment(note), by=people["moderator"]))

    def rename() -> None:
        member.pseudonym = "Mary Q"
        db.session.commit()
    assert changes(rename)
    assert changes(lambda: projects.save(projects.ProjectData(slug="kunming", name_zh="昆明", name_en="Kunming"),
                                         by=None))


def test_partner_hubs_marks_totals_and_comment_threads_change_it(people):
    from hub.models import CommentThread, MarkTotal, PeerHub, RemoteMark

    note = published(people["author"], people["moderator"])
    peer = PeerHub(actor_id="https://b.example.org/actor", base_url="https://b.example.org", name="B",
                   inbox_url="https://b.example.org/inbox", partner=True)
    db.session.add(peer)
    db.session.commit()

    def add(row) -> None:
        db.session.add(row)
        db.session.commit()
    assert changes(lambda: add(RemoteMark(note_id=note.id, peer_id=peer.id, kind="useful")))
    assert changes(lambda: add(MarkTotal(note_id=note.id, kind="useful", count=3)))
    comment = discussion.add_comment(note, by=people["member"], body="We tried this too.")
    assert changes(lambda: add(CommentThread(comment_id=comment.id, peer_id=peer.id, origin_host="b.example.org",
                                             author_pseudonym="Lan")))


def test_the_privacy_paths_change_it(people):
    """Held comments released or declined, redactions, accepted changes, notifications read, accounts deleted."""
    from hub.services import leaving, notifications, screening

    author, moderator, member = people["author"], people["moderator"], people["member"]
    note = published(author, moderator, body="Ask for Zhang Wei at the back door.")
    held = [discussion.add_comment(note, by=member, body=f"Call 1391234567{n} after six.", confirm_privacy=True)
            for n in range(2)]
    assert changes(lambda: discussion.release(
        held[0], by=moderator, checked=[screening.key(f) for f in discussion.findings(held[0])]))
    assert changes(lambda: discussion.decline(held[1], by=moderator))
    assert changes(lambda: discussion.redact(held[0], by=moderator, body="Call [removed] after six."))
    assert changes(lambda: moderation.redact_note(note, by=moderator, fields={
        "title": note.title, "summary": note.summary, "body": "Ask at the back door."}))
    notes.save(note, by=author, data=note_input(title="Night outreach, Friday"), confirm_privacy=True)
    assert changes(lambda: notes.accept_changes(note, by=moderator, version=note.pending.version))
    assert notifications.unread_count(author)
    assert changes(lambda: notifications.mark_read(author))
    assert not changes(lambda: notifications.mark_read(author))  # nothing was unread: nothing to refresh
    assert changes(lambda: leaving.delete_account(member, by=member, keep_published=True, password=PASSWORD))


def test_autosaving_changes_to_a_published_note_leaves_it(people):
    """Readers keep the published text; the author's and moderators' view keys the pending state itself."""
    author = people["author"]
    note = published(author, people["moderator"])
    notes.autosave(note, by=author, data=note_input(title="Night outreach, Thursday"))
    assert not changes(lambda: notes.autosave(note, by=author, data=note_input(title="Night outreach, Friday")))
    assert not changes(lambda: notes.save(note, by=author, data=note_input(title="Night outreach, Friday"),
                                          confirm_privacy=True))


def note_comment(note: Note):
    from hub.models import Comment

    return db.session.scalar(sa.select(Comment).where(Comment.note_id == note.id))


def test_a_rolled_back_change_leaves_it(people):
    note = published(people["author"], people["moderator"])

    def rolled_back() -> None:
        note.title = "Never saved"
        db.session.flush()
        db.session.rollback()
        db.session.commit()  # nothing left to commit: still no change
    assert not changes(rolled_back)


def test_an_import_in_bulk_changes_it(people, tmp_path):
    line = ('{"title": "Imported", "summary": "s", "body": "b", "language": "en", "visibility": "public", '
            '"author": "小李", "published_at": "2025-01-01T00:00:00Z"}\n')
    assert changes(lambda: transfer.import_notes([line.encode()]))


def test_writers_with_and_without_events_never_wait_for_each_other_in_a_cycle(make_app, postgres_database):
    """On PostgreSQL, comments (events and the version) and featuring (the version only) commit side by side.

    A writer holding the version's row while waiting for the event log's lock, beside one holding
    the lock while waiting for the row, would deadlock; every writer takes the lock first.
    """
    from hub.models.user import Role

    app = make_app(DATABASE_URL=postgres_database)
    with app.app_context():
        author = accounts.create_user(accounts.NewAccount(username="lee", pseudonym="小李", password=PASSWORD),
                                      role=Role.CONTRIBUTOR)
        moderator = accounts.create_user(accounts.NewAccount(username="moder", pseudonym="山风", password=PASSWORD),
                                         role=Role.MODERATOR)
        db.session.commit()
        ids = [published(author, moderator, title=f"Note {n}").id for n in range(2)]
        moderator_id = moderator.id
    errors: list[BaseException] = []

    def write(kind: str) -> None:
        with app.app_context():
            try:
                who = db.session.get(accounts.User, moderator_id)
                for n in range(25):
                    note = db.session.get(Note, ids[n % 2])
                    if kind == "comment":
                        discussion.add_comment(note, by=who, body=f"Comment {n}")
                    else:
                        notes.set_featured(note, by=who, featured=n % 2 == 0)
            except BaseException as error:  # noqa: BLE001  (reported below)
                errors.append(error)

    threads = [threading.Thread(target=write, args=(kind,)) for kind in ("comment", "feature", "comment", "feature")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        assert content_version.current() != "0"
        db.engine.dispose()


# --- the read outside a transaction (PostgreSQL: through the driver, on a pooled connection) ----

@pytest.mark.postgres
def test_the_read_outside_a_transaction_sees_each_commit_and_leaves_the_pool_as_sessions_expect(postgres_app):
    projects.save(projects.ProjectData(slug="kept", name_zh="留下", name_en="Kept"), by=None)
    db.session.commit()  # a change readers see: the version has a value
    db.session.remove()
    before = content_version.current()  # no transaction: read on a pooled connection in autocommit
    assert not db.session().in_transaction()
    with db.engine.begin() as other:  # a commit through another connection shows on the next read
        other.execute(sa.update(content_version.HubMeta).where(content_version.HubMeta.key == content_version.KEY)
                      .values(value="elsewhere"))
    assert before != "elsewhere" and content_version.current() == "elsewhere"

    # The connection went back to the pool out of autocommit: a session's work on it is still a
    # transaction that a rollback undoes.
    db.session.add(Project(slug="never-kept", name_zh="不留", name_en="Never kept"))
    db.session.flush()
    db.session.rollback()
    assert projects.by_slug("never-kept") is None


@pytest.mark.postgres
def test_a_failed_read_outside_a_transaction_is_sqlalchemy_s_error_and_spoils_no_pooled_connection(postgres_app):
    db.session.commit()
    db.session.remove()
    content_version.current()
    with db.engine.begin() as other:
        other.exec_driver_sql("ALTER TABLE hub_meta RENAME TO hub_meta_away")
    try:
        with pytest.raises(sa.exc.ProgrammingError) as raised:  # what the pages' error handlers know
            content_version.current()
        assert not raised.value.connection_invalidated  # the server is fine: not a 503
    finally:
        with db.engine.begin() as other:
            other.exec_driver_sql("ALTER TABLE hub_meta_away RENAME TO hub_meta")
    assert content_version.current()  # the next read, on a connection that never failed
    db.session.execute(sa.text("SELECT 1"))
    assert db.session().in_transaction()  # sessions still get transactions
    db.session.rollback()
