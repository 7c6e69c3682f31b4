"""Every page reachable from the home page, as every role, in both languages, on a 390-px phone.

The crawler signs in as each demo account (and as a visitor), follows the hub's own links from
the home page in Chromium and checks each page as the reader gets it: it must not scroll
sideways, axe-core must find nothing of moderate impact or worse, and in Chinese no English
interface string may show. Pages that differ only in ids or query values (/notes/3, /notes/7)
are one kind of page and are checked once per role and language, which keeps the run short.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from hub import demo, worker
from hub.extensions import db
from hub.federation import conversation
from hub.models import RemoteMark
from hub.models.federation import Delivery, PeerHub
from hub.models.note import Note
from hub.services import accounts, discussion, notes, translations
from tests.helpers import sign_in
from tests.page_text import english_in

PHONE = {"width": 390, "height": 844}
ROLES = {"visitor": None, "member": "partner", "contributor": "peer", "moderator": "moderator", "admin": "admin"}
LANGUAGES = {"zh_Hans": "zh-CN", "en": "en-GB"}
START = ["/", "/search?q=美沙酮", "/no/such/page"]
# Not pages: files, machine answers and downloads (a person's data as JSON, Atom feeds, OAI-PMH).
SKIP = re.compile(r"^/(static|assets|api|feeds|\.well-known|nodeinfo|actor|outbox|followers|inbox|ap)/|"
                  r"^/(logout|actor|outbox|followers|inbox|oai|healthz|readyz|metrics)$|/attachments/\d+$|"
                  r"\.(json|atom)$")
IMPACTS = ("moderate", "serious", "critical")
AXE_SCRIPT = Axe().axe_script  # axe-core as shipped in axe-playwright-python


@pytest.fixture
def hub_with_everything(live_hub):
    """The demo, plus what only use brings: a submission with a phone number, a translation being
    written, a comment, a report, a partner hub with a failed delivery."""
    demo.load()
    peer, partner = accounts.find_by_login("peer"), accounts.find_by_login("partner")
    waiting = notes.create_draft(author=peer, data=notes.NoteInput(
        title="等待审核的外展记录", summary="夜间外展的一次尝试。", body="联系电话 13812345678，晚上都在。",
        visibility="public"))
    notes.submit(waiting, by=peer, confirm_privacy=True)
    published = db.session.scalars(sa.select(Note).where(Note.state == "published").order_by(Note.id)).all()
    english = next(n for n in published if n.language == "en")
    translations.start(english, by=peer, language="zh_Hans")
    chinese = next(n for n in published if n.language == "zh_Hans" and n.visibility == "public")
    discussion.add_comment(chinese, by=partner, body="We tried this in Hanoi too.")
    notes.flag(chinese, by=partner, reason="wrong", detail="The hours changed.")
    peer_hub = PeerHub(actor_id="https://hub-b.example.org/actor", base_url="https://hub-b.example.org",
                       name="Hub B", inbox_url="https://hub-b.example.org/inbox", partner=True)
    db.session.add(peer_hub)
    db.session.flush()
    # The conversation across hubs: Hub B's comment (shown), a reply to ours, one held, and its mark.
    ours = discussion.visible_comments(chinese)[0]
    for number, text, parent in ((1, "<p>We tried it <strong>too</strong>.</p>", None),
                                 (2, "<p>How did you pay for the van?</p>", ours),
                                 (3, "<p>Call Wang on 13812345678.</p>", None)):
        comment = conversation.store_comment(peer_hub, {
            "id": f"https://hub-b.example.org/ap/comments/{number}", "content": text,
            "peh:authorPseudonym": "Partner P", "published": "2026-12-01T10:00:00Z"}, chinese, parent)
        if number < 3:
            comment.state = "published"
    db.session.add(RemoteMark(note_id=chinese.id, peer_id=peer_hub.id, kind="tried"))
    db.session.add(Delivery(peer_id=peer_hub.id, inbox_url=peer_hub.inbox_url, activity_id="urn:x:1",
                            activity={"type": "Create"}, state="dead", attempts=10,
                            last_error="HTTP 503 from https://hub-b.example.org/inbox",
                            last_problem={"code": "http_status", "status": 503}))
    db.session.commit()
    worker.run_once(live_hub.app)
    live_hub.start = [f"/notes/{chinese.id}", *START]  # the note with the conversation is the note page checked
    return live_hub


def _kind(url: str) -> str:
    """Name the kind of page: its path with ids replaced, and whether it has a query.

    /search and /search?q=… are different pages, but /search?q=…&topic=… is the results page
    again (facets, sorting and pages combine into hundreds of URLs of the same template).
    """
    parts = urlsplit(url)
    return re.sub(r"\d+", "N", parts.path) + ("?" if parts.query else "")


def _links(page: Page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map((a) => a.getAttribute('href'))")
    found = []
    for href in hrefs:
        target = urlsplit(urljoin(base, href))
        if target.netloc != urlsplit(base).netloc or "lang=" in target.query or SKIP.search(target.path):
            continue
        found.append(target.path + ("?" + target.query if target.query else ""))
    return found


def _check(page: Page, language: str) -> list[str]:
    """Return what is wrong with the page in the browser now."""
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"scrolls sideways (scrollWidth {width})")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")  # axe: added to every page
    for violation in result["violations"]:
        if violation["impact"] in IMPACTS:
            problems.append(f"axe {violation['impact']} {violation['id']}: {len(violation['nodes'])} "
                            f"({violation['nodes'][0]['target']})")
    if language == "zh_Hans":
        problems += [f"English: {s!r}" for s in english_in(page.content())]
    return problems


def _crawl(page: Page, base: str, language: str, start: list[str]) -> tuple[dict[str, list[str]], int]:
    """Visit one page of each kind reachable from the start pages; return the problems and pages seen."""
    problems: dict[str, list[str]] = {}
    queue, kinds = list(start), set()
    while queue:
        url = queue.pop(0)
        if _kind(url) in kinds:
            continue
        kinds.add(_kind(url))
        response = page.goto(url)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        found = _check(page, language)
        if found:
            problems[url] = found
        queue += _links(page, base + url)
    return problems, len(kinds)


@pytest.mark.parametrize("role", ROLES)  # one test per role: the suite's processes share them out
def test_every_page_fits_a_phone_is_in_the_readers_language_and_passes_axe(browser, hub_with_everything, role):
    base, username = hub_with_everything.url, ROLES[role]
    problems, seen, started = {}, {}, time.monotonic()
    for language, browser_locale in LANGUAGES.items():
        context = browser.new_context(viewport=PHONE, locale=browser_locale, base_url=base)
        context.add_init_script(script=AXE_SCRIPT)  # sent once per context, not again for every page
        page = context.new_page()
        if username:
            sign_in(page, username, demo.PASSWORD)
        found, seen[role, language] = _crawl(page, base, language, hub_with_everything.start)
        problems.update({f"{role} {language} {url}": p for url, p in found.items()})
        context.close()
    print(f"crawled {sum(seen.values())} pages in {time.monotonic() - started:.0f} s: {seen}")
    assert min(seen.values()) >= 8
    assert problems == {}, "\n".join(f"{page}: {'; '.join(found)}" for page, found in sorted(problems.items()))
