"""Every XML answer (Atom feeds, OAI-PMH) stays well-formed whatever text a note holds."""
from __future__ import annotations

from urllib.parse import quote

import feedparser
import pytest
from lxml import etree

from hub import events, worker
from hub.extensions import db
from tests import catalogue
from tests.helpers import login, post_form
from tests.functional.test_feeds import FEED_URL_RE

# Characters XML 1.0 cannot carry, as a partner hub's note or an import may bring them.
NOT_XML = "\x0b\x0c\x1b\ufffe\uffff"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"


@pytest.fixture
def hub(app):
    made = catalogue.build()
    note = made.public[2]  # "Outreach in Kunming", public, of the Yunnan project
    note.summary = f"Night{NOT_XML} walks"
    note.body_html = f"<p>We walk{NOT_XML} the night market.</p>"
    note.title = f"Outreach{NOT_XML} in Kunming"
    events.record("note.updated", subject_type="note", subject_id=note.id)
    db.session.commit()
    worker.run_once(app)
    return made


def _feed_token(client, hub) -> str:
    login(client, hub.member.username)
    page = post_form(client, "/account/feed-token", {}, form_url="/account/tokens")
    return FEED_URL_RE.search(page.get_data(as_text=True)).group(1).split("token=")[1]


def test_every_feed_leaves_out_characters_xml_cannot_carry(client, hub):
    token = _feed_token(client, hub)
    reader = client.application.test_client()
    for url in ("/notes.atom", "/notes.atom?project=yunnan-outreach", "/notes.atom?language=en",
                "/notes.atom?topic=outreach", f"/notes.atom?token={token}", "/search.atom?q=outreach",
                f"/search.atom?q=outreach&token={token}", "/search.atom?language=en"):
        response = reader.get(url)
        assert response.status_code == 200, url
        parsed = feedparser.parse(response.data)
        assert parsed.bozo == 0, (url, parsed.bozo_exception)
        entry = next(e for e in parsed.entries if e.link.endswith(f"/notes/{hub.public[2].id}"))
        assert (entry.title, entry.summary) == ("Outreach in Kunming", "Night walks")
        assert "We walk the night market." in entry.content[0].value


def test_a_searched_text_xml_cannot_carry_is_left_out_of_the_feed_title(client, hub):
    response = client.get("/search.atom?q=" + quote("outreach\x0b"))
    assert response.status_code == 200
    assert feedparser.parse(response.data).feed.title == "Search: outreach · Practice Exchange Hub"


def _oai(client, query: str):
    response = client.get("/oai?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return etree.fromstring(response.data)


def test_oai_records_leave_out_characters_xml_cannot_carry(client, hub):
    identifier = f"oai:hub.test:note/{hub.public[2].id}"
    record = _oai(client, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={identifier}")
    assert record.find(f".//{DC}title").text == "Outreach in Kunming"
    assert record.find(f".//{DC}description").text == "Night walks"
    listed = _oai(client, "verb=ListRecords&metadataPrefix=oai_dc")
    assert "Night walks" in [d.text for d in listed.iter(f"{DC}description")]


def test_oai_echoes_arguments_without_characters_xml_cannot_carry(client, hub):
    """Such an argument is a badArgument, and the answer stays well-formed XML without it."""
    root = _oai(client, "verb=GetRecord&metadataPrefix=oai_dc&identifier=" + quote("oai:x\x0b\x1b"))
    assert root.find(f"{OAI}error").get("code") == "badArgument"
    assert "\x0b" not in (root.find(f"{OAI}request").get("identifier") or "")
