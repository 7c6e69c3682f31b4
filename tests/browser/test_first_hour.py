"""What a newcomer meets in the first hour, on a 390-px phone, in Chinese and in English."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from hub import demo, worker
from hub.extensions import db
from hub.models.note import Note
from hub.services import accounts, discussion, notes, translations
from tests.helpers import PASSWORD, sign_in
from tests.pdfs import pdf_bytes

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def open_as(browser: Browser, live_hub) -> Iterator[Callable[..., Page]]:
    """Return ``open_as(username, locale=...)``: a 390-px page (unless another viewport is given), signed in
    when a username is given."""
    contexts = []

    def open_page(username: str | None = None, *, locale: str = "zh-CN", password: str = PASSWORD,
                  viewport: dict = PHONE, javascript: bool = True) -> Page:
        context = browser.new_context(viewport=viewport, locale=locale, base_url=live_hub.url,
                                      java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        if username:
            sign_in(page, username, password)
        return page

    yield open_page
    for context in contexts:
        context.close()


def _served_paths(live_hub) -> list[str]:
    """Start recording the path of every request the hub serves; return the list it fills."""
    served: list[str] = []
    inner = live_hub.app.wsgi_app

    def recording(environ, start_response):
        served.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    live_hub.app.wsgi_app = recording
    return served


# --- static files --------------------------------------------------------------------------

def test_a_page_whose_assets_are_cached_costs_one_request(open_as, live_hub):
    page = open_as()
    page.goto("/")
    page.wait_for_load_state("networkidle")  # the icon too, which the browser asks for after the page
    served = _served_paths(live_hub)
    page.locator(".main-nav a[href='/projects']").click()
    page.wait_for_load_state("networkidle")
    assert served == ["/projects"]


# --- demo accounts -------------------------------------------------------------------------

@pytest.mark.parametrize(("locale", "home", "saved"), [("en-GB", "Home", "Your profile is saved."),
                                                       ("zh-CN", "首页", "你的个人资料已保存。")])
def test_a_demo_account_follows_the_browser_and_saves_its_settings_as_they_are(open_as, live_hub, locale,
                                                                                home, saved):
    demo.load()
    page = open_as("admin", locale=locale, password=demo.PASSWORD)
    expect(page.locator(".main-nav a[href='/']")).to_have_text(home)
    page.goto("/account")
    page.locator("main form.stack [type=submit]").click()
    expect(page.locator(".flashes")).to_have_text(saved)
    expect(page.locator(".has-error")).to_have_count(0)


# --- administration on a phone ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/admin/invitations", "/translations",
                                  "/notes/mine"])
def test_lists_are_cards_on_a_phone_so_chinese_words_keep_together(open_as, live_hub, path):
    demo.load()
    page = open_as("admin", password=demo.PASSWORD)
    page.goto(path)
    cells = page.locator("main table td")
    widths = cells.evaluate_all("cells => cells.filter((cell) => getComputedStyle(cell).display !== 'none')"
                                ".map((cell) => cell.getBoundingClientRect().width)")  # empty cells are hidden
    assert widths and min(widths) > 300  # each cell across the card, not a column a few characters wide
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_audit_log_on_a_phone_names_actions_and_notes_in_chinese(open_as, live_hub):
    demo.load()
    page = open_as("admin", password=demo.PASSWORD)
    page.goto("/admin/audit")
    log = page.locator("main table")
    expect(log).to_contain_text("笔记已发布")
    expect(log).to_contain_text("门诊里的同伴值班")
    expect(log).not_to_contain_text("note.")


# --- dates ---------------------------------------------------------------------------------

DAY = {"zh-CN": r"\d{4}年\d{1,2}月\d{1,2}日", "en-GB": r"[A-Z][a-z]{2} \d{1,2}, \d{4}"}
MOMENT = {"zh-CN": DAY["zh-CN"] + r" \d{2}:\d{2}", "en-GB": DAY["en-GB"] + r", \d{1,2}:\d{2}\s[AP]M"}


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_every_date_on_a_page_has_the_languages_one_format(open_as, live_hub, locale):
    demo.load()
    note = db.session.scalars(sa.select(Note).where(Note.state == "published").order_by(Note.id)).first()
    discussion.add_comment(note, by=accounts.find_by_login("partner"), body="我们也这样做过。")
    pattern = re.compile(f"^(?:{DAY[locale]}|{MOMENT[locale]})$")
    page = open_as("peer", locale=locale, password=demo.PASSWORD)
    seen = {}
    for path in [f"/notes/{note.id}", "/notes/mine", "/account/notifications", "/", "/translations"]:
        page.goto(path)
        seen[path] = page.locator("main time").all_inner_texts()
    assert all(seen.values()), seen
    assert {path: [t for t in times if not pattern.match(t)] for path, times in seen.items()} == {
        path: [] for path in seen}

    page.goto("/notes/new")  # the editor's "saved" line tells the time the same way
    page.locator("#title").fill("日期")
    page.locator("#note-editor [name=save]").click()
    page.locator("#body").fill("正文")
    status = page.locator(".autosave-status")
    expect(status).to_have_text(re.compile(MOMENT[locale] + "$"), timeout=12_000)


# --- writing -------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_a_contributor_finds_write_a_note_in_the_menu_and_on_the_home_page(open_as, live_hub, locale):
    demo.load()
    page = open_as("peer", locale=locale, password=demo.PASSWORD)
    page.goto("/")
    menu = page.locator(".main-nav a[href='/notes/new']")
    expect(menu).to_be_visible()
    expect(page.locator("main .intro a.button[href='/notes/new']")).to_be_visible()
    menu.click()
    expect(page.locator("#note-editor #title")).to_be_visible()


def test_a_member_is_told_whom_to_ask_to_become_a_contributor(open_as, live_hub):
    demo.load()
    page = open_as("partner", password=demo.PASSWORD)
    page.goto("/")
    expect(page.locator("a[href='/notes/new']")).to_have_count(0)
    expect(page.locator("main .become-contributor")).to_contain_text("撰稿人")
    expect(page.locator("main .become-contributor")).to_contain_text("管理员阿梅")  # the demo's administrator


def test_a_visitor_learns_that_accounts_come_by_invitation(open_as, live_hub):
    page = open_as(locale="en-GB")
    page.goto("/")
    expect(page.locator("main .intro")).to_contain_text("invitation")


# --- the live privacy check ----------------------------------------------------------------

def _box(page: Page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_live_privacy_warning_is_next_to_the_field_and_counted_by_the_buttons(open_as, live_hub, locale):
    demo.load()
    page = open_as("peer", locale=locale, password=demo.PASSWORD)
    page.clock.install()
    page.goto("/notes/new")
    page.locator("#body").fill("联系电话 13812345678，晚上都在。")
    page.locator("details.sections > summary").click()
    page.locator("#what_we_did").fill("身份证 11010519491231002X")
    page.locator("details.sections > summary").click()  # folded again: a finding opens it
    page.clock.fast_forward(2_000)  # past the check's pause after typing

    body_warning = page.locator("#body-privacy")
    expect(body_warning).to_contain_text("138****5678")
    expect(body_warning).not_to_contain_text("1234")
    section_warning = page.locator("#what_we_did-privacy")
    expect(section_warning).to_be_visible()
    expect(section_warning).to_contain_text("110************02X")
    body, warning = _box(page, "#body"), _box(page, "#body-privacy")
    assert 0 <= warning["y"] - (body["y"] + body["height"]) < 150  # right under the text box (and its hint)
    assert "body-privacy" in page.locator("#body").get_attribute("aria-describedby")

    count = page.locator(".privacy-count")
    expect(count).to_contain_text("2")
    submit = _box(page, "#note-editor [name=submit_note]")
    assert abs(_box(page, ".privacy-count")["y"] - submit["y"]) < 100
    count.locator("a").click()
    assert page.evaluate("location.hash") == "#body-privacy"

    page.locator("#body").fill("晚上都在。")
    page.locator("#what_we_did").fill("")
    page.clock.fast_forward(2_000)
    expect(page.locator(".privacy-field")).to_have_count(0)
    expect(count).to_have_text(page.locator("#note-editor").get_attribute("data-msg-nofindings"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# --- translating ---------------------------------------------------------------------------

def _english_demo_note() -> Note:
    return db.session.scalars(sa.select(Note).where(Note.state == "published", Note.language == "en")).one()


@pytest.mark.parametrize(("locale", "heading", "original"), [("zh-CN", "翻译成中文", "英语原文"),
                                                             ("en-GB", "Translate into Chinese", "The original in English")])
def test_translation_editor_says_into_which_language_and_shows_the_original(open_as, live_hub, locale, heading,
                                                                             original):
    demo.load()
    note = _english_demo_note()
    page = open_as("peer", locale=locale, password=demo.PASSWORD)
    page.goto(f"/notes/{note.id}")
    page.locator(f"form[action$='/notes/{note.id}/translate?language=zh_Hans'] button").click()
    expect(page.locator("h1")).to_contain_text(heading)
    expect(page).to_have_title(re.compile("^\u2068" + heading))  # page titles are isolated (FSI … PDI)
    section = page.locator("section.original")
    expect(section.locator("h2")).to_have_text(original)
    text = section.locator("details.original-text")
    expect(text).not_to_have_attribute("open", "")  # folded on a phone
    expect(text.locator("div[lang=en] .note-body")).to_be_hidden()
    text.locator("summary").click()
    expect(text.locator("div[lang=en] .note-body")).to_contain_text("walked with clients")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_translation_editor_shows_the_original_beside_it_on_a_wide_screen(open_as, live_hub):
    demo.load()
    note = _english_demo_note()
    translation = translations.start(note, by=accounts.find_by_login("peer"), language="zh_Hans")
    page = open_as("peer", password=demo.PASSWORD, viewport={"width": 1280, "height": 900})
    page.goto(f"/notes/{translation.id}/edit")
    expect(page.locator("details.original-text")).to_have_attribute("open", "")
    original, editor = page.locator("section.original").bounding_box(), page.locator("#note-editor").bounding_box()
    assert original["x"] + original["width"] <= editor["x"]  # side by side


def test_a_translation_says_the_language_it_is_read_in(open_as, live_hub):
    demo.load()
    chinese = db.session.scalars(sa.select(Note).where(Note.state == "published", Note.language == "zh_Hans",
                                                       Note.visibility == "public")).first()
    peer, moderator = accounts.find_by_login("outreach"), accounts.find_by_login("moderator")
    english = translations.start(chinese, by=peer, language="en")
    notes.save(english, by=peer, data=notes.NoteInput(title="Peer duty in the clinic", summary="Peers on duty.",
                                                       body="Two peer educators sit in the waiting room.",
                                                       language="en", visibility="public"))
    notes.submit(english, by=peer, confirm_privacy=True)
    notes.approve(english, by=moderator)
    page = open_as(locale="en-GB")
    page.goto(f"/notes/{chinese.id}")
    expect(page.locator("article.note h1")).to_have_text("Peer duty in the clinic")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("English")
    expect(facts).not_to_contain_text("中文")
    expect(facts).not_to_contain_text("Chinese")


# --- search results ------------------------------------------------------------------------

def test_a_match_in_the_summary_shows_the_summary_once_with_one_highlight_per_word(open_as, live_hub):
    demo.load()
    worker.run_once(live_hub.app)
    page = open_as()
    page.goto("/search?q=美沙酮门诊")
    card = page.locator("article.result").first
    summary = "我们在美沙酮门诊安排同伴教育员每天值班两小时"
    expect(card).to_contain_text(summary)
    assert card.inner_text().count(summary[:10]) == 1  # not the summary, then the same sentence as excerpt
    expect(card.locator("mark")).to_have_text(["美沙酮门诊"])
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# --- small things --------------------------------------------------------------------------

def _public_demo_note() -> Note:
    return db.session.scalars(sa.select(Note).where(Note.state == "published", Note.visibility == "public")
                              .order_by(Note.id)).first()


def test_a_visitors_we_tried_this_too_leads_to_sign_in_and_back(open_as, live_hub):
    demo.load()
    note = _public_demo_note()
    page = open_as()
    page.goto(f"/notes/{note.id}")
    page.locator(".marks a", has_text="我们也试过").click()
    expect(page).to_have_url(re.compile(rf"/login\?next=/notes/{note.id}$"))
    page.locator("#login").fill("partner")
    page.locator("#password").fill(demo.PASSWORD)
    page.locator("form.stack [type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/notes/{note.id}$"))
    expect(page.locator(f"form[action$='/notes/{note.id}/marks/tried'] button")).to_be_visible()


def test_the_review_page_asks_who_may_read_once(open_as, live_hub):
    demo.load()
    peer = accounts.find_by_login("peer")
    note = notes.create_draft(author=peer, data=notes.NoteInput(title="夜间外展", summary="一次尝试。", body="正文",
                                                                 visibility="public"))
    notes.submit(note, by=peer, confirm_privacy=True)
    page = open_as("moderator", password=demo.PASSWORD)
    page.goto(f"/moderation/notes/{note.id}")
    expect(page.locator("main select[name=visibility]")).to_have_count(1)
    notes.approve(note, by=accounts.find_by_login("moderator"))
    page.goto(f"/moderation/notes/{note.id}")  # published: only the narrowing form asks
    expect(page.locator("main select[name=visibility]")).to_have_count(1)
    expect(page.locator(f"form[action$='/moderation/notes/{note.id}/visibility']")).to_be_visible()


def test_partner_hub_errors_are_in_chinese(open_as, live_hub):
    demo.load()
    page = open_as("admin", password=demo.PASSWORD)
    page.goto("/admin/partners/")
    page.locator("#address").fill("http://127.0.0.1:9")
    page.locator("main form.stack button[name=follow]").click()
    error = page.locator("main .field .error")
    expect(error).to_contain_text("指向内部网络地址")
    expect(error).not_to_contain_text("blocked address")
    assert not re.search(r"[A-Za-z]{4,}", error.inner_text().replace("ActivityPub", ""))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# --- attachments on a slow connection ------------------------------------------------------

def _large_photo_with_gps() -> bytes:
    """A 3200 × 2400 camera photo of about 7 MB (noise does not compress) with a GPS position."""
    import io

    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 256, (2400, 3200, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 39.0, 12.5), 3: "E", 4: (104.0, 4.0, 1.0)})
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


@pytest.fixture
def editing(open_as, live_hub):
    """A contributor's phone in the editor of a saved draft, with text typed and not yet saved."""
    demo.load()
    peer = accounts.find_by_login("peer")
    note = notes.create_draft(author=peer, data=notes.NoteInput(title="夜间外展", body="第一段。"))
    page = open_as("peer", password=demo.PASSWORD)
    page.clock.install()
    page.goto(f"/notes/{note.id}/edit")
    page.locator("#body").fill("第一段。还没保存的第二段。")
    return page, note


def _uploads(page: Page) -> list:
    sent: list = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/attachments") and r.method == "POST" else None)
    return sent


def test_a_file_too_large_to_make_smaller_is_refused_on_the_device(editing):
    page, note = editing
    sent = _uploads(page)
    page.locator("#attachment-file").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024)})
    page.locator("form.upload [type=submit]").click()
    expect(page.locator("form.upload .upload-error")).to_contain_text("5 MB")
    assert sent == []  # nothing went over the connection
    expect(page.locator("#body")).to_have_value("第一段。还没保存的第二段。")
    assert page.url.endswith(f"/notes/{note.id}/edit")


def test_a_file_of_another_kind_is_refused_on_the_device(editing):
    page, _note = editing
    sent = _uploads(page)
    page.locator("#attachment-file").set_input_files(
        {"name": "list.docx", "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "buffer": b"PK\x03\x04 not really"})
    page.locator("form.upload [type=submit]").click()
    expect(page.locator("form.upload .upload-error")).to_contain_text("PDF")
    assert sent == []


def test_a_large_photo_is_made_smaller_on_the_device_and_sent_with_progress(editing, live_hub):
    from PIL import Image

    from hub.models.note import Attachment
    from hub.services import attachments

    page, note = editing
    sent = _uploads(page)
    photo = _large_photo_with_gps()
    assert len(photo) > 5 * 1024 * 1024
    page.locator("#attachment-file").set_input_files({"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
                                                      "buffer": photo})
    page.locator("form.upload [type=submit]").click()
    expect(page.locator("section.attachments .attachment-list a")).to_have_text("IMG_0001.jpg", timeout=30_000)
    assert len(sent) == 1  # the hub takes at most 5 MB and does not scale: the device made it smaller
    expect(page.locator("#body")).to_have_value("第一段。还没保存的第二段。")  # the editor never left
    db.session.expire_all()
    stored = db.session.scalars(sa.select(Attachment).where(Attachment.note_id == note.id)).one()
    with Image.open(attachments.path_of(stored)) as image:
        assert max(image.size) <= 2560 and not image.getexif().get_ifd(0x8825)


def test_the_upload_shows_its_progress(editing):
    page, _note = editing
    page.route("**/attachments", lambda route: (page.wait_for_timeout(300), route.continue_()))
    page.locator("#attachment-file").set_input_files({"name": "a.pdf", "mimeType": "application/pdf",
                                                      "buffer": pdf_bytes()})
    page.locator("form.upload [type=submit]").click()
    expect(page.locator("form.upload .upload-progress")).to_be_visible()
    expect(page.locator("section.attachments .attachment-list a")).to_have_text("a.pdf")


def test_a_refusal_from_the_hub_is_shown_in_the_editor(editing):
    page, _note = editing
    page.locator("#attachment-file").set_input_files({"name": "photo.png", "mimeType": "image/png",
                                                      "buffer": b"not a photo at all"})
    page.locator("form.upload [type=submit]").click()
    expect(page.locator("form.upload .upload-error")).to_be_visible()
    expect(page.locator("#body")).to_have_value("第一段。还没保存的第二段。")


def test_without_script_a_body_over_the_hubs_limit_returns_to_the_editor(open_as, live_hub):
    demo.load()
    peer = accounts.find_by_login("peer")
    note = notes.create_draft(author=peer, data=notes.NoteInput(title="夜间外展", body="第一段。"))
    page = open_as("peer", password=demo.PASSWORD, javascript=False)
    page.goto(f"/notes/{note.id}/edit")
    page.locator("#attachment-file").set_input_files({"name": "big.pdf", "mimeType": "application/pdf",
                                                      "buffer": b"%PDF-1.4\n" + b"0" * (13 * 1024 * 1024)})
    page.locator("form.upload [type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/notes/{note.id}/edit$"))
    expect(page.locator(".flash-error")).to_contain_text("5 MB")
    expect(page.locator("#body")).to_have_value("第一段。")
