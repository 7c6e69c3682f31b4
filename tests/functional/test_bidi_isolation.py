"""Text people wrote is isolated wherever it is shown inline, so a right-to-left override in old
data (from before names were checked, or from a partner hub) cannot reverse the page around it."""
from __future__ import annotations

import pytest
from bs4 import BeautifulSoup, NavigableString

from hub import worker
from hub.extensions import db
from hub.models.user import Role
from hub.services import notes, vocabulary

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE, never closed
FSI, PDI = "\u2068", "\u2069"


@pytest.fixture
def old_data(app, make_user, project, moderator):
    """A published note and a submitted one whose title, tags, author, project and topic carry an RLO."""
    vocabulary.seed()
    author = make_user("old", role=Role.CONTRIBUTOR, pseudonym="Old Peer", project=project)
    topic = vocabulary.by_slug("topic", "oat")
    published, waiting = (
        notes.create_draft(author=author, data=notes.NoteInput(
            title=title, summary="摘要", body="正文", visibility="public", term_ids=[topic.id], tags=["外展"]))
        for title in ("已发布", "待审")
    )
    for note in (published, waiting):
        notes.submit(note, by=author, confirm_privacy=True)
    notes.approve(published, by=moderator)
    # Old data: written straight into the database, as it was before the checks existed.
    author.pseudonym = f"{RLO}reep dlo"
    project.name_zh = project.name_en = f"{RLO}project name"
    topic.name_zh = topic.name_en = f"{RLO}topic name"
    for note in (published, waiting):
        note.title = f"Stop {RLO}sdrawkcab"
        note.tags = [f"{RLO}gat"]
    db.session.commit()
    worker.run_once(app)
    return {"published": published, "waiting": waiting, "author": author, "topic": topic}


def unisolated(html: str) -> list[str]:
    """Return every piece of text holding an RLO that is neither inside <bdi class="user-text"> nor
    between FSI and PDI (where markup is impossible: <title>, <option>)."""
    found = []
    for text in BeautifulSoup(html, "html.parser").find_all(string=lambda s: RLO in s):
        assert isinstance(text, NavigableString)
        in_bdi = any(parent.name == "bdi" and "user-text" in parent.get("class", []) for parent in text.parents)
        plain = text.parent.name in ("title", "option")
        between_isolates = all(text.rfind(FSI, 0, i) > text.rfind(PDI, 0, i) and PDI in text[i:]
                               for i, ch in enumerate(text) if ch == RLO)
        if not (in_bdi or (plain and between_isolates)):
            found.append(f"<{text.parent.name}>{text!r}")
    return found


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert RLO in html, f"{url} does not show the old data at all"
    return html


@pytest.mark.parametrize("url", [
    "/notes/{published}", "/notes", "/notes?topic=oat", "/projects/chengdu-peer-centre", "/",
    "/search?q=Stop",
])
def test_public_pages_isolate_old_titles_pseudonyms_names_and_tags(client, old_data, url):
    html = page(client, url.format(published=old_data["published"].id))
    assert unisolated(html) == []
    assert html.count('<bdi class="user-text">') >= 1


def test_the_note_page_isolates_each_piece_and_the_document_title(client, old_data):
    html = page(client, f"/notes/{old_data['published'].id}")
    soup = BeautifulSoup(html, "html.parser")
    isolated = {bdi.get_text() for bdi in soup.find_all("bdi", class_="user-text")}
    assert {f"Stop {RLO}sdrawkcab", f"{RLO}reep dlo", f"{RLO}project name", f"{RLO}topic name", f"{RLO}gat"} <= isolated
    assert soup.title.get_text().startswith(f"{FSI}Stop {RLO}sdrawkcab{PDI} · ")


def test_moderators_pages_isolate_old_data(client, login_as, moderator, old_data):
    login_as(moderator)
    for url in ("/moderation", f"/moderation/notes/{old_data['waiting'].id}", f"/notes/{old_data['waiting'].id}/history"):
        assert unisolated(page(client, url)) == [], url


def test_admins_pages_isolate_old_data(client, login_as, admin, old_data):
    login_as(admin)
    for url in ("/admin/users", f"/admin/users/{old_data['author'].id}", "/admin/audit"):
        assert unisolated(page(client, url)) == [], url


def test_the_authors_own_pages_isolate_their_pseudonym_and_topic_names(client, login_as, old_data):
    login_as(old_data["author"])
    for url in ("/notes/mine", "/account", "/notes/new"):
        assert unisolated(page(client, url)) == [], url


def test_the_following_page_isolates_followed_names(client, login_as, member, old_data):
    from hub.services import follows
    follows.follow(member, follows.target("topic", value="oat"))
    follows.follow(member, follows.target("project", value="chengdu-peer-centre"))
    login_as(member)
    html = page(client, "/following")
    assert unisolated(html) == []
    assert html.count(f'<bdi class="user-text">{RLO}') >= 2


def test_the_check_finds_text_left_bare(client, old_data):
    html = page(client, f"/notes/{old_data['published'].id}")
    bare = html.replace('<bdi class="user-text">', "<span>").replace("</bdi>", "</span>")
    assert unisolated(bare)  # the check above is not vacuous
