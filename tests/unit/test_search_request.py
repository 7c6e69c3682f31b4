"""What a search request does around the engine: pages, the result cache, excerpts, did-you-mean."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import search_index
from hub import worker
from hub.extensions import db
from hub.models import Note
from hub.models.user import Role
from hub.services import moderation, notes, vocabulary


class Anonymous:
    is_authenticated = False
    is_active = False


@pytest.fixture
def hub(app, make_user, project):
    vocabulary.seed()
    return {"author": make_user("lee", role=Role.CONTRIBUTOR, project=project),
            "moderator": make_user("moder", role=Role.MODERATOR), "app": app}


def _publish(hub, title: str, body: str, language: str = "zh_Hans", visibility: str = "public"):
    note = notes.create_draft(author=hub["author"], data=notes.NoteInput(
        title=title, summary="摘要", body=body, language=language, visibility=visibility))
    notes.submit(note, by=hub["author"], confirm_privacy=True)
    notes.approve(note, by=hub["moderator"])
    return note


def _titles(text: str, **kwargs) -> list[str]:
    return [n.title for n in search_index.search(text, viewer=Anonymous(), sort="newest", **kwargs).notes]


def test_pages_of_different_sizes_ending_at_the_same_hit_are_not_confused(hub):
    for number in range(4):
        _publish(hub, f"外展 {number}", "社区外展的经验。")
    worker.run_once(hub["app"])
    assert _titles("外展", page=1, per_page=2) == ["外展 3", "外展 2"]
    assert _titles("外展", page=2, per_page=1) == ["外展 2"]  # the same top 2, another page of it
    assert _titles("外展", page=2, per_page=2) == ["外展 1", "外展 0"]
    assert _titles("外展", page=3, per_page=2) == []
    page = search_index.search("外展", viewer=Anonymous(), page=2, per_page=3)
    assert (page.total, len(page.notes), page.pages) == (4, 1, 2)


def test_an_edited_note_is_excerpted_from_its_new_text(hub):
    note = _publish(hub, "外展", "第一版：同伴在社区外展。")
    worker.run_once(hub["app"])
    assert "第一版" in search_index.search("外展", viewer=Anonymous()).excerpts[note.id]
    notes.save(note, by=hub["author"], confirm_privacy=True, data=notes.NoteInput(
        title="外展", summary="摘要", body="第二版：同伴在社区外展。", language="zh_Hans", visibility="public"))
    # An edit of a published note waits for review; the moderator publishes it.
    notes.accept_changes(note, by=hub["moderator"], version=note.pending.version)
    worker.run_once(hub["app"])
    excerpt = search_index.search("外展", viewer=Anonymous()).excerpts[note.id]
    assert "第二版" in excerpt and "第一版" not in excerpt


def test_did_you_mean_keeps_the_first_letter(hub):
    _publish(hub, "Naloxone", "Naloxone training for outreach workers.", language="en")
    worker.run_once(hub["app"])
    assert search_index.search("outraech", viewer=Anonymous(), expand=False).suggestion == "outreach"
    assert search_index.search("xutreach", viewer=Anonymous(), expand=False).suggestion is None


def _api(client, text: str) -> list[dict]:
    answer = client.get("/api/v1/search", query_string={"q": text})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["results"]


def test_the_api_s_hits_are_the_page_s_notes_with_the_same_excerpts(hub):
    for number in range(3):
        _publish(hub, f"外展 {number}", f"第{number}次：同伴在社区外展，" + "再做一次外展。" * number)
    _publish(hub, "外展总结", "这里没有那个词。")  # found by its title: the excerpt is the marked summary
    worker.run_once(hub["app"])
    page = search_index.search("外展", viewer=Anonymous())
    hits = search_index.search("外展", viewer=Anonymous(), load="hits")
    assert [n.id for n in hits.notes] == [n.id for n in page.notes] and len(page.notes) == 4
    assert (hits.excerpts, hits.in_summary, hits.total, hits.facets) == (page.excerpts, page.in_summary, page.total,
                                                                         page.facets)
    assert all(isinstance(hit, search_index.Hit) for hit in hits.notes)
    assert [(h.title, h.summary, h.language, h.published_at, h.updated_at) for h in hits.notes] == [
        (n.title, n.summary, n.language, n.published_at, n.updated_at) for n in page.notes]


def test_a_note_edited_after_indexing_is_excerpted_from_its_new_text_before_the_index_catches_up(hub, client):
    note = _publish(hub, "外展", "第一版：同伴在社区外展。")
    worker.run_once(hub["app"])
    assert "第一版" in _api(client, "外展")[0]["excerpt_html"]
    notes.save(note, by=hub["author"], confirm_privacy=True, data=notes.NoteInput(
        title="外展", summary="摘要", body="第二版：同伴在社区外展。", language="zh_Hans", visibility="public"))
    notes.accept_changes(note, by=hub["moderator"], version=note.pending.version)
    # The worker has not run: the index still holds the first text, the excerpt is the note's own.
    assert note.body_text == "第二版：同伴在社区外展。"
    [hit] = _api(client, "外展")
    assert "第二版" in hit["excerpt_html"] and "第一版" not in hit["excerpt_html"]


@pytest.mark.parametrize("take_down", ["unpublish", "delete"])
def test_a_note_taken_down_after_indexing_leaves_the_api_s_results_at_once(hub, client, take_down):
    kept, gone = _publish(hub, "外展 留下", "同伴外展。"), _publish(hub, "外展 撤下", "同伴外展。")
    draft = notes.create_draft(author=hub["author"], data=notes.NoteInput(
        title="外展 草稿", summary="摘要", body="同伴外展。", language="zh_Hans", visibility="public"))
    worker.run_once(hub["app"])
    assert {hit["id"] for hit in _api(client, "外展")} == {kept.id, gone.id}
    if take_down == "unpublish":
        notes.unpublish(gone, by=hub["moderator"], reason="写了真名")
    else:
        notes.delete(gone, by=hub["author"])
    # Before the worker applies it, the database re-check already leaves the note out (and the draft never shows).
    assert [hit["id"] for hit in _api(client, "外展")] == [kept.id]
    assert draft.id not in {n.id for n in search_index.search("外展", viewer=hub["author"], load="hits").notes}


def test_a_note_written_without_its_body_text_is_excerpted_from_its_html(hub, client):
    note = _publish(hub, "外展", "同伴在社区**外展**。")
    worker.run_once(hub["app"])
    before = _api(client, "外展")
    db.session.execute(sa.update(Note.__table__).where(Note.id == note.id).values(body_text=None))  # as a bulk write
    db.session.commit()
    db.session.expire_all()
    assert _api(client, "外展") == before
    assert search_index.search("外展", viewer=Anonymous()).excerpts[note.id] == before[0]["excerpt_html"]
    assert "<mark>外展</mark>" in before[0]["excerpt_html"]


def test_body_text_follows_body_html_however_it_is_set(hub):
    note = Note(body_html="<p>同伴<strong>外展</strong></p><p>a &amp; b</p>")  # as a partner hub's note is made
    assert note.body_text == "同伴外展 a & b"
    note.body_html = "<ul><li>一</li><li>二</li></ul>"
    assert note.body_text == "一 二"
    published = _publish(hub, "外展", "第一段。\n\n第二段 **外展**。")
    notes.delete(published, by=hub["author"])  # a tombstone keeps no text
    assert (published.body_html, published.body_text) == ("", "")


def test_did_you_mean_suggests_words_as_notes_spell_them_not_the_index_stems(hub):
    _publish(hub, "Referrals", "Two referrals to the hospital; the hospital service studies referral delays.",
             language="en")
    worker.run_once(hub["app"])
    suggested = {typed: search_index.search(typed, viewer=Anonymous(), expand=False).suggestion
                 for typed in ("hospitl", "servise", "referal", "studeis")}
    # Porter2 keeps hospit, servic, referr and studi in the index; the reader sees the notes' words.
    assert suggested == {"hospitl": "hospital", "servise": "service", "referal": "referral", "studeis": "studies"}


def test_did_you_mean_corrects_each_misspelled_word(hub):
    _publish(hub, "Outreach", "Outreach workers met at the plaza.", language="en")
    worker.run_once(hub["app"])
    assert search_index.search("wrokers plazza", viewer=Anonymous(), expand=False).suggestion == "workers plaza"


def test_did_you_mean_is_left_out_while_the_only_note_spelling_it_waits_to_leave_the_index(hub):
    note = _publish(hub, "Outreach", "Outreach workers met at the plaza.", language="en")
    worker.run_once(hub["app"])
    notes.unpublish(note, by=hub["moderator"], reason="r")  # the worker has not seen it yet
    assert search_index.search("plazza", viewer=Anonymous(), expand=False).suggestion is None


def test_did_you_mean_never_spells_out_a_word_only_notes_the_reader_may_not_see_hold(hub):
    _publish(hub, "Clinics", "We met at the platypus clinic near the river.", language="en", visibility="members")
    _publish(hub, "Outreach", "Outreach workers met at the plaza.", language="en")
    worker.run_once(hub["app"])
    assert search_index.search("platypos", viewer=Anonymous(), expand=False).suggestion is None
    assert search_index.search("platypos", viewer=hub["author"], expand=False).suggestion == "platypus"
    assert search_index.search("plazza", viewer=Anonymous(), expand=False).suggestion == "plaza"


def test_a_note_that_left_since_the_index_commit_is_neither_counted_nor_described(hub):
    note = _publish(hub, "Zebraphone", "Zebraphone outreach at night.", language="en")
    worker.run_once(hub["app"])
    notes.unpublish(note, by=hub["moderator"], reason="r")  # the worker has not taken it out yet
    page = search_index.search("zebraphone", viewer=Anonymous(), expand=False)
    assert (page.notes, page.total, page.facets) == ([], 0, {})
    worker.run_once(hub["app"])
    assert search_index.search("zebraphone", viewer=Anonymous(), expand=False).total == 0


def test_a_name_removed_everywhere_no_longer_finds_the_note_before_the_worker_indexes_it(hub):
    note = _publish(hub, "Clinic visit", "Zebraphone Wilson came with us to the clinic.", language="en")
    worker.run_once(hub["app"])
    moderation.redact_note(note, by=hub["moderator"], fields={
        "title": "Clinic visit", "summary": "摘要", "body": "[personal data removed] came with us to the clinic."})
    page = search_index.search("zebraphone", viewer=Anonymous(), expand=False)  # the index still holds the name
    assert (page.notes, page.total, page.facets) == ([], 0, {})
    api = search_index.search("zebraphone", viewer=Anonymous(), expand=False, load="hits")
    assert (api.notes, api.total) == ([], 0)
    # What the note still says finds it meanwhile, and nothing changes once the worker has indexed it.
    assert [n.id for n in search_index.search("clinic", viewer=Anonymous(), expand=False).notes] == [note.id]
    worker.run_once(hub["app"])
    assert search_index.search("zebraphone", viewer=Anonymous(), expand=False).total == 0
    assert search_index.search("clinic", viewer=Anonymous(), expand=False).total == 1


def test_a_note_changed_since_the_index_commit_that_still_holds_the_word_stays_found(hub):
    note = _publish(hub, "外展", "同伴在夜市外展。", language="zh_Hans")
    worker.run_once(hub["app"])
    moderation.redact_note(note, by=hub["moderator"], fields={"title": "外展", "summary": "摘要", "body": "同伴在外展。"})
    page = search_index.search("外展", viewer=Anonymous())
    assert [n.id for n in page.notes] == [note.id] and page.total == 1


def _statements(client, text: str) -> tuple[list[dict], list[str]]:
    """Return the API's results for ``text`` and the SQL statements the request ran."""
    ran: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        ran.append(statement.lower())

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        results = _api(client, text)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return results, ran


class TestTheApiOnBothDatabases:
    """The JSON API's one statement per search, on SQLite and on PostgreSQL."""

    @pytest.fixture
    def app(self, any_db_app):
        return any_db_app

    def test_the_api_reads_its_hits_their_changes_and_the_glossary_s_version_in_one_statement(self, hub, client):
        found = _publish(hub, "外展", "同伴在夜市外展。")
        worker.run_once(hub["app"])
        _api(client, "外展")  # the glossary is built once per process
        results, ran = _statements(client, "外展")
        assert [hit["id"] for hit in results] == [found.id]
        about_search = [sql for sql in ran if any(name in sql for name in ("glossary_entry", "event", "note"))]
        assert len(about_search) == 1, about_search
        assert all(name in about_search[0] for name in ("glossary_entry", "event", "note"))

    @pytest.mark.parametrize("other_hits", [True, False])
    def test_the_api_searches_with_a_glossary_row_added_since_its_last_search(self, hub, client, make_user,
                                                                             other_hits):
        # The API searches with the glossary built last and reads its version with the hits (or, with
        # none, on its own): a row added meanwhile is searched with at once, hits or not.
        from hub.services import vocabulary as vocab

        admin = make_user("ada", role=Role.ADMIN)
        local = _publish(hub, "本地叫法", "服务对象都叫它喝药。")
        if other_hits:
            clinic = _publish(hub, "美沙酮门诊", "美沙酮门诊的经验。")
        worker.run_once(hub["app"])
        before = {hit["id"] for hit in _api(client, "美沙酮")}
        assert local.id not in before and bool(before) == other_hits
        vocab.add_glossary_entry(concept="美沙酮", terms_zh="喝药", terms_en="", by=admin)
        after = {hit["id"] for hit in _api(client, "美沙酮")}
        assert after == ({local.id, clinic.id} if other_hits else {local.id})
        assert after == {n.id for n in search_index.search("美沙酮", viewer=Anonymous()).notes}
