"""What a search request does around the engine: pages, the result cache, excerpts, did-you-mean."""
from __future__ import annotations

import pytest

import search_index
from hub import worker
from hub.models.user import Role
from hub.services import notes, vocabulary


class Anonymous:
    is_authenticated = False
    is_active = False


@pytest.fixture
def hub(app, make_user, project):
    vocabulary.seed()
    return {"author": make_user("lee", role=Role.CONTRIBUTOR, project=project),
            "moderator": make_user("moder", role=Role.MODERATOR), "app": app}


def _publish(hub, title: str, body: str, language: str = "zh_Hans"):
    note = notes.create_draft(author=hub["author"], data=notes.NoteInput(
        title=title, summary="摘要", body=body, language=language, visibility="public"))
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
