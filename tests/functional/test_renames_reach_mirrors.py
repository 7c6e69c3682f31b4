"""A pseudonym or a project renamed reaches partners' mirrors: every published note showing the name is
changed here (``changed_at``), so ``/api/v1/notes?order=updated&updated_since=``, ``/notes.atom`` and an
incremental OAI-PMH harvest give those notes again, with the new name, and the old one is gone from them.

People change a pseudonym because the old one identified them: a mirror that keeps it defeats that.
"""
from __future__ import annotations

import datetime as dt
import time

import feedparser
import sqlalchemy as sa
from lxml import etree

from hub import worker
from hub.extensions import db
from hub.models import HarvestRecord, Note, NoteState
from hub.models.user import Role
from hub.services import projects
from tests.catalogue import person, publish
from tests.helpers import login, post_form

LONG_AGO = dt.datetime(2025, 3, 1, 8, 0)
OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"


def _people(project):
    author = person("lan", role=Role.CONTRIBUTOR, project=project, pseudonym="兰花")
    other = person("wei", role=Role.CONTRIBUTOR, pseudonym="小伟")
    moderator = person("mod", role=Role.MODERATOR)
    return author, other, moderator


def _synced_from(client, moment: dt.datetime | str) -> dict[int, dict]:
    """Read the sync order from ``moment`` on (inclusive), as a mirror does; return the notes by id."""
    since = moment if isinstance(moment, str) else moment.isoformat() + "Z"
    answer = client.get("/api/v1/notes", query_string={"order": "updated", "per_page": 50, "updated_since": since})
    assert answer.status_code == 200
    return {item["id"]: item for item in answer.get_json()["items"]}


def test_a_renamed_pseudonym_reaches_the_api_sync_and_the_feed(app, client, project):
    author, other, moderator = _people(project)
    mine = [publish(author, moderator, f"兰花的笔记{n}", published_at=LONG_AGO + dt.timedelta(days=n)) for n in range(3)]
    theirs = publish(other, moderator, "小伟的笔记", published_at=LONG_AGO + dt.timedelta(days=30))
    last_seen = max(_synced_from(client, LONG_AGO).values(), key=lambda item: item["changed_at"])
    assert last_seen["id"] == theirs.id  # the mirror holds everything, the newest change last

    browser = app.test_client()
    login(browser, "lan")
    answer = post_form(browser, "/account", {"pseudonym": "山茶", "email": "lan@example.org", "locale": "",
                                             "timezone": "", "bio": ""})
    assert answer.status_code == 302

    synced = _synced_from(client, last_seen["changed_at"])
    assert set(synced) == {theirs.id, *(n.id for n in mine)}  # theirs: the inclusive bound
    assert {synced[n.id]["author"] for n in mine} == {"山茶"}
    assert all(synced[n.id]["changed_at"] > last_seen["changed_at"] for n in mine)
    entries = feedparser.parse(client.get("/notes.atom").get_data()).entries
    assert {e.link.rsplit("/", 1)[1] for e in entries[:3]} == {str(n.id) for n in mine}  # newest change first
    assert {e.author for e in entries[:3]} == {"山茶"} and "<name>兰花</name>" not in client.get("/notes.atom").get_data(as_text=True)


def test_a_pseudonym_saved_unchanged_changes_no_note(app, client, project):
    author, _other, moderator = _people(project)
    note = publish(author, moderator, "兰花的笔记", published_at=LONG_AGO)
    browser = app.test_client()
    login(browser, "lan")
    post_form(browser, "/account", {"pseudonym": "兰花", "email": "lan@example.org", "locale": "", "timezone": "",
                                    "bio": "同伴教育员"})
    assert set(_synced_from(client, LONG_AGO + dt.timedelta(seconds=1))) == set()
    assert db.session.get(Note, note.id).changed_at == LONG_AGO


def test_a_renamed_project_reaches_the_api_sync_and_an_incremental_harvest(app, client, project, admin):
    author, other, moderator = _people(project)
    ours = [publish(author, moderator, f"项目笔记{n}", published_at=LONG_AGO + dt.timedelta(days=n)) for n in range(2)]
    elsewhere = publish(other, moderator, "别处的笔记", published_at=LONG_AGO + dt.timedelta(days=30))
    worker.run_once(app)
    # The harvester's last visit was long ago: every record is older than it.
    db.session.execute(sa.update(HarvestRecord).values(datestamp=dt.datetime(2025, 1, 1)))
    db.session.commit()
    assert "noRecordsMatch" in client.get("/oai?verb=ListIdentifiers&metadataPrefix=oai_dc&from=2025-06-01") \
        .get_data(as_text=True)

    admin_browser = app.test_client()
    login(admin_browser, admin.username)
    data = {"slug": project.slug, "name_zh": "成都社区健康中心", "name_en": "Chengdu Community Health Centre",
            "city": "成都", "province": "四川", "country": "CN", "description_zh": "", "description_en": ""}
    assert post_form(admin_browser, f"/admin/projects/{project.slug}/edit", data).status_code == 302

    synced = _synced_from(client, LONG_AGO + dt.timedelta(days=30))
    assert set(synced) == {elsewhere.id, *(n.id for n in ours)}
    assert {synced[n.id]["project"]["name"]["en"] for n in ours} == {"Chengdu Community Health Centre"}
    worker.run_once(app)
    harvested = etree.fromstring(client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc&from=2025-06-01").get_data())
    records = harvested.findall(f".//{OAI}record")
    assert sorted(r.findtext(f"{OAI}header/{OAI}identifier") for r in records) == sorted(
        f"oai:hub.test:note/{n.id}" for n in ours)
    assert {c.text for r in records for c in r.iter(f"{DC}creator")} == {"成都社区健康中心",
                                                                         "Chengdu Community Health Centre"}


def test_renaming_a_person_with_a_thousand_notes_is_one_statement(any_db_app):
    """The cost of a rename does not grow with the notes: one UPDATE stamps them all."""
    project = projects.save(projects.ProjectData(slug="chengdu-peer-centre", name_zh="成都同伴支持服务中心",
                                                 name_en="Chengdu Peer Support Centre"), by=None)
    author, _other, _moderator = _people(project)
    db.session.execute(sa.insert(Note), [
        {"author_id": author.id, "project_id": project.id, "state": NoteState.PUBLISHED.value, "title": f"笔记{n}",
         "summary": "", "body": "", "body_html": "", "language": "zh_Hans", "visibility": "public", "reach": "public", "place": "",
         "province": "", "sections": {}, "tags": [], "published_at": LONG_AGO, "updated_at": LONG_AGO,
         "changed_at": LONG_AGO} for n in range(1000)])
    db.session.commit()
    browser = any_db_app.test_client()
    login(browser, "lan")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE NOTE"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        started = time.perf_counter()
        answer = post_form(browser, "/account", {"pseudonym": "山茶", "email": "lan@example.org", "locale": "",
                                                 "timezone": "", "bio": ""})
        took = time.perf_counter() - started
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert answer.status_code == 302 and len(statements) == 1, statements
    stamped = db.session.scalar(sa.select(sa.func.count()).select_from(Note).where(Note.changed_at > LONG_AGO))
    assert stamped == 1000
    print(f"rename with 1000 published notes on {db.engine.dialect.name}: {took * 1000:.0f} ms")  # with -s


def _index_positions() -> dict[int, int]:
    """Return each indexed note's id with its document number (a note indexed again gets a new one)."""
    import search_index
    from whoosh import query as q

    with search_index._state().store.open().searcher() as searcher:
        return {int(searcher.stored_fields(n)["id"]): n for n in searcher.docs_for_query(q.Term("kind", "note"))}


def _project_facet(project_slug: str) -> set[int]:
    import search_index
    from flask_login import AnonymousUserMixin

    found = search_index.search("", viewer=AnonymousUserMixin(), filters={"project": project_slug})
    return {note.id for note in found.notes}


def test_the_search_index_reads_a_projects_notes_again_only_when_its_slug_changes(app, project, admin):
    author, _other, moderator = _people(project)
    ours = {publish(author, moderator, f"项目笔记{n}").id for n in range(3)}
    worker.run_once(app)
    indexed = _index_positions()
    assert set(indexed) == ours and _project_facet(project.slug) == ours

    projects.save(projects.ProjectData(slug=project.slug, name_zh="成都社区健康中心",
                                       name_en="Chengdu Community Health Centre"), by=admin, project=project)
    worker.run_once(app)
    assert _index_positions() == indexed  # the index holds no project name: nothing to write again

    old_slug = project.slug
    projects.save(projects.ProjectData(slug="chengdu-health", name_zh="成都社区健康中心",
                                       name_en="Chengdu Community Health Centre"), by=admin, project=project)
    worker.run_once(app)
    assert set(_index_positions()) == ours and _index_positions() != indexed
    assert _project_facet("chengdu-health") == ours and _project_facet(old_slug) == set()
