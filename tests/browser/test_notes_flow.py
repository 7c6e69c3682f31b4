"""A note's life in the browser: written in Chinese on a phone, reviewed, answered, published, read and flagged.

Many strings of the note and moderation pages are newer than the Chinese catalogue, so the
pages are driven through stable selectors (field ids, field names, form actions) rather than
through their labels; assertions are on the data people typed, never on interface wording
that a translator may still change.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from hub.extensions import db
from hub.models import Comment, Flag, Mark, Note, Notification, ReviewMessage, Visibility
from hub.models.user import Role
from hub.services import accounts, notes, vocabulary
from tests.helpers import PASSWORD, device_copy_key

DESKTOP = {"width": 1280, "height": 900}
AUTOSAVE_DELAY = 4_000  # editor.js saves 4 s after the last keystroke (and checks privacy after 1.5 s)
SAVE_WAIT = 12_000

TITLE = "社区药房合作发放纳洛酮"
SUMMARY = "我们和两家社区药房合作，夜间也能领取纳洛酮。"
BODY_WITH_PHONE = ("第一次外展时，药房店长愿意在柜台放宣传单。\n\n"
                   "有需要的同伴可以先打电话预约，联系电话 138 1234 5678，晚上十点前都有人接。")
BODY_WITHOUT_PHONE = ("第一次外展时，药房店长愿意在柜台放宣传单。\n\n"
                      "有需要的同伴可以先到外展点预约，晚上十点前都有人在。")
MODERATOR_MESSAGE = "请删除电话号码"
AUTHOR_REPLY = "已删除，谢谢"


# --- people and pages ----------------------------------------------------------------------

def _people() -> dict[str, str]:
    """Seed the vocabulary and one contributor, moderator and member; return their pseudonyms."""
    vocabulary.seed()
    accounts.create_user(accounts.NewAccount("lin", "小林", PASSWORD), role=Role.CONTRIBUTOR)
    accounts.create_user(accounts.NewAccount("wang", "审核员王", PASSWORD), role=Role.MODERATOR)
    accounts.create_user(accounts.NewAccount("mary", "Mary P", PASSWORD), role=Role.MEMBER)
    db.session.commit()
    return {"lin": "小林", "wang": "审核员王", "mary": "Mary P"}


def _fresh(model, ident):
    """Read a row as the server committed it (the server runs in another thread and session)."""
    db.session.expire_all()
    return db.session.get(model, ident)


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _fits_phone(page: Page) -> None:
    """The page never scrolls sideways on a 360-px phone."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.url


def _note_id_from_edit_url(page: Page) -> int:
    expect(page).to_have_url(re.compile(r"/notes/\d+/edit$"), timeout=SAVE_WAIT)
    return int(re.search(r"/notes/(\d+)/edit$", page.url).group(1))


def _skip_typing_pause(page: Page) -> None:
    """Jump the page's (installed) clock past the editor's debounce instead of sleeping through it.

    The clock otherwise runs in real time, so the timers would still fire on their own.
    """
    page.clock.fast_forward(AUTOSAVE_DELAY)


def _wait_saved(page: Page) -> None:
    """Wait until the server has everything typed so far.

    The status line alone is not enough: it still says "saved" (from an earlier save) while a
    newer save is on its way. The editor keeps a device copy from every keystroke until a save
    during which nothing was typed has landed, so no copy left means nothing is left to save.
    """
    editor = page.locator("#note-editor")
    saved = editor.get_attribute("data-msg-saved")
    expect(editor.locator(".autosave-status")).to_have_text(re.compile("^" + re.escape(saved) + r"\s+\S"),
                                                            timeout=SAVE_WAIT)
    for _ in range(SAVE_WAIT // 50):  # polled from here: the page's CSP forbids wait_for_function's eval
        if not page.evaluate("Object.keys(localStorage).some((key) => key.startsWith('hub-note-'))"):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the editor still holds text the server does not have")


# --- the flow ------------------------------------------------------------------------------

def test_note_written_on_a_phone_is_reviewed_answered_and_published(open_as, live_hub):
    names = _people()

    # 1. The contributor writes in Chinese on a phone; the editor saves a draft by itself.
    author = open_as("lin")
    author.clock.install()
    author.goto("/notes/new")
    _fits_phone(author)
    author.locator("#title").fill(TITLE)
    author.locator("#summary").fill(SUMMARY)
    author.locator("#body").fill(BODY_WITH_PHONE)
    author.get_by_label("过量与纳洛酮", exact=True).check()
    author.locator("input[name=visibility][value=public]").check()
    _skip_typing_pause(author)
    _wait_saved(author)
    note_id = _note_id_from_edit_url(author)
    draft = _fresh(Note, note_id)
    assert (draft.state, draft.title, draft.author.username) == ("draft", TITLE, "lin")
    assert "138 1234 5678" in draft.body
    assert [t.slug for t in draft.topics] == ["overdose-naloxone"]

    # The live privacy check shows the number masked, never in full, under the note's text.
    live = author.locator("#body-privacy")
    expect(live).to_be_visible()
    expect(live.locator("li")).to_have_count(1)
    expect(live.locator("li")).to_contain_text("138****5678")
    expect(live).not_to_contain_text("1234")
    _fits_phone(author)

    # Submitting stops at the privacy check, which highlights the number in place.
    author.locator("#note-editor [name=submit_note]").click()
    expect(author.locator("section.finding mark")).to_have_text("138 1234 5678")
    _fits_phone(author)
    assert _fresh(Note, note_id).state == "draft"
    author.locator("input[name=confirm_privacy]").check()
    author.locator("[name=submit_note]").click()
    expect(author).to_have_url(re.compile(rf"/notes/{note_id}$"))
    expect(author.locator("article.note h1")).to_have_text(TITLE)
    _fits_phone(author)
    assert _fresh(Note, note_id).state == "submitted"

    # 2. The moderator finds it in the queue, sees the highlighted number and asks for changes.
    moderator = open_as("wang", viewport=DESKTOP)
    moderator.goto("/moderation")
    queued = moderator.locator(f"a[href$='/moderation/notes/{note_id}']")
    expect(queued).to_have_text(TITLE)
    queued.click()
    expect(moderator.locator(".privacy-findings mark")).to_have_text("138 1234 5678")
    changes = moderator.locator("form[action$='/request-changes']")
    changes.locator("textarea[name=message]").fill(MODERATOR_MESSAGE)
    changes.locator("[type=submit]").click()
    expect(moderator).to_have_url(re.compile(r"/moderation$"))
    expect(moderator.locator(f"a[href$='/moderation/notes/{note_id}']")).to_have_count(0)
    assert _fresh(Note, note_id).state == "changes_requested"
    author_id = _fresh(Note, note_id).author_id
    assert _count(Notification, Notification.user_id == author_id, Notification.note_id == note_id,
                  Notification.kind == "note.changes_requested") == 1

    # 3. The author sees the notification, reads the message, removes the number, answers, resubmits.
    author.goto("/")
    expect(author.locator(".main-nav a[href$='/account/notifications'] .count")).to_have_text("1")
    _fits_phone(author)
    author.goto(f"/notes/{note_id}/edit")
    expect(author.locator(".thread .message-changes_requested .message-body")).to_have_text(MODERATOR_MESSAGE)
    expect(author.locator(".thread .message-changes_requested")).to_contain_text(names["wang"])
    _fits_phone(author)
    author.locator("#body").fill(BODY_WITHOUT_PHONE)
    author.locator("#note-editor [name=save]").click()
    expect(author).to_have_url(re.compile(rf"/notes/{note_id}/edit$"))
    expect(author.locator("#body")).to_have_value(BODY_WITHOUT_PHONE)
    assert "138" not in _fresh(Note, note_id).body

    author.goto(f"/notes/{note_id}")
    reply = author.locator(f"form[action$='/notes/{note_id}/reply']")
    reply.locator("textarea[name=message]").fill(AUTHOR_REPLY)
    reply.locator("[type=submit]").click()
    expect(author.locator(".thread .message-reply .message-body")).to_have_text(AUTHOR_REPLY)
    _fits_phone(author)
    assert _count(ReviewMessage, ReviewMessage.note_id == note_id, ReviewMessage.kind == "reply") == 1

    author.goto(f"/notes/{note_id}/edit")
    author.locator("#note-editor [name=submit_note]").click()
    # No privacy page this time: straight to the note, waiting for review.
    expect(author).to_have_url(re.compile(rf"/notes/{note_id}$"))
    expect(author.locator("input[name=confirm_privacy]")).to_have_count(0)
    assert _fresh(Note, note_id).state == "submitted"

    # 4. The moderator reads the answer and publishes for members only (narrower than "public").
    moderator.goto(f"/moderation/notes/{note_id}")
    expect(moderator.locator(".thread .message-reply .message-body")).to_have_text(AUTHOR_REPLY)
    expect(moderator.locator(".privacy-findings mark")).to_have_count(0)
    approve = moderator.locator("form[action$='/approve']")
    approve.locator("select[name=visibility]").select_option("members")
    approve.locator("[type=submit]").click()
    expect(moderator).to_have_url(re.compile(r"/moderation$"))
    published = _fresh(Note, note_id)
    assert (published.state, published.visibility) == ("published", "members")
    assert Visibility(published.visibility).rank <= Visibility.PUBLIC.rank  # never wider than the author chose
    assert published.published_at is not None
    assert open_as.dialogs == []


# --- readers -------------------------------------------------------------------------------

def _published_members_note() -> int:
    """A note that went through review and is published for members of this hub."""
    _people()
    author = accounts.find_by_login("lin")
    moderator = accounts.find_by_login("wang")
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title=TITLE, summary=SUMMARY, body=BODY_WITHOUT_PHONE, visibility="members"))
    notes.submit(note, by=author)
    notes.approve(note, by=moderator, visibility="members")
    return note.id


def test_member_comments_marks_and_flags_and_visitors_cannot_see_members_notes(open_as, live_hub):
    note_id = _published_members_note()

    # 5. A member (desktop, English) finds the note, comments, marks it and reports it.
    member = open_as("mary", viewport=DESKTOP, locale="en-GB")
    member.goto("/notes")
    card = member.locator(f".note-card a[href$='/notes/{note_id}']")
    expect(card).to_have_text(TITLE)
    card.click()
    expect(member).to_have_url(re.compile(rf"/notes/{note_id}$"))
    expect(member.locator("article.note h1")).to_have_text(TITLE)

    comment_text = "We did the same in Kunming; the night pharmacist was the key."
    comment_form = member.locator(f"form[action$='/notes/{note_id}/comments']")
    comment_form.locator("textarea[name=body]").fill(comment_text)
    comment_form.locator("[type=submit]").click()
    expect(member.locator(".comments article.comment")).to_have_count(1)
    expect(member.locator(".comments article.comment")).to_contain_text(comment_text)
    expect(member.locator(".comments article.comment .meta")).to_contain_text("Mary P")
    assert _count(Comment, Comment.note_id == note_id) == 1

    tried = member.locator(f"form[action$='/notes/{note_id}/marks/tried'] button")
    expect(tried).to_have_attribute("aria-pressed", "false")
    expect(tried).to_have_text(re.compile(r"·\s*0$"))
    tried.click()
    tried = member.locator(f"form[action$='/notes/{note_id}/marks/tried'] button")
    expect(tried).to_have_attribute("aria-pressed", "true")
    expect(tried).to_have_text(re.compile(r"·\s*1$"))
    assert _count(Mark, Mark.note_id == note_id, Mark.kind == "tried") == 1

    member.locator("details.flag-note > summary").click()
    flag_form = member.locator(f"form[action$='/notes/{note_id}/flag']")
    flag_form.locator("input[name=reason][value=wrong]").check()
    flag_form.locator("textarea[name=detail]").fill("The opening hours are out of date.")
    flag_form.locator("[type=submit]").click()
    expect(member).to_have_url(re.compile(rf"/notes/{note_id}$"))
    expect(member.locator(".flashes")).to_be_visible()
    db.session.expire_all()
    flags = db.session.scalars(sa.select(Flag).where(Flag.note_id == note_id)).all()
    assert [(f.reason, f.reporter.username, f.comment_id, f.resolved_at) for f in flags] == [
        ("wrong", "mary", None, None)]

    # The moderator sees the report with the member's pseudonym.
    moderator = open_as("wang", viewport=DESKTOP)
    moderator.goto("/moderation/flags")
    report = moderator.locator("section.card.flag")
    expect(report).to_have_count(1)
    expect(report.locator(f"h2 a[href$='/notes/{note_id}']")).to_have_text(TITLE)
    expect(report).to_contain_text("Mary P")
    expect(report).to_contain_text("The opening hours are out of date.")

    # An anonymous visitor cannot open the members-only note, nor see it listed.
    visitor = open_as(None)
    response = visitor.goto(f"/notes/{note_id}")
    assert response.status == 404
    expect(visitor.locator(".error-page h1")).to_contain_text("404")
    expect(visitor.locator("main")).not_to_contain_text(TITLE)
    visitor.goto("/notes")
    expect(visitor.locator("main h1")).to_be_visible()
    expect(visitor.locator("main")).not_to_contain_text(TITLE)
    expect(visitor.locator(f"a[href$='/notes/{note_id}']")).to_have_count(0)
    _fits_phone(visitor)
    assert open_as.dialogs == []


# --- dropped connection --------------------------------------------------------------------

def test_editor_keeps_text_on_the_device_while_offline_and_saves_it_when_back(open_as, live_hub):
    _people()
    author = open_as("lin")
    context = author.context
    author.clock.install()
    author.goto("/notes/new")
    author.locator("#title").fill(TITLE)
    author.locator("#body").fill("第一段。")
    _skip_typing_pause(author)
    _wait_saved(author)
    note_id = _note_id_from_edit_url(author)
    assert _fresh(Note, note_id).body == "第一段。"

    editor = author.locator("#note-editor")
    status = editor.locator(".autosave-status")
    offline_message = editor.get_attribute("data-msg-offline")

    # 6. The connection drops while the author keeps typing.
    context.set_offline(True)
    body = author.locator("#body")
    body.press("End")
    body.press_sequentially("第二段：离线时写的。")
    _skip_typing_pause(author)
    expect(status).to_have_text(offline_message, timeout=SAVE_WAIT)
    kept = author.evaluate("(key) => JSON.parse(localStorage.getItem(key))", device_copy_key("lin", note_id))
    assert kept["fields"]["body"] == "第一段。第二段：离线时写的。"
    assert kept["fields"]["title"] == TITLE
    assert _fresh(Note, note_id).body == "第一段。"
    _fits_phone(author)

    # Back online: the editor saves what it kept (the browser's "online" event may already do so),
    # and the next keystroke is saved too; then the device copy is cleared.
    context.set_offline(False)
    with author.expect_response(lambda r: r.url.endswith("/notes/autosave") and r.request.method == "POST"
                                and "回来了" in (r.request.post_data or ""), timeout=SAVE_WAIT) as saved:
        body.press_sequentially("回来了。")
        _skip_typing_pause(author)
    assert saved.value.ok and saved.value.json()["ok"] is True
    _wait_saved(author)
    draft = _fresh(Note, note_id)
    assert (draft.state, draft.body) == ("draft", "第一段。第二段：离线时写的。回来了。")
    assert author.evaluate("(key) => localStorage.getItem(key)", device_copy_key("lin", note_id)) is None
    expect(author).to_have_url(re.compile(rf"/notes/{note_id}/edit$"))
    assert open_as.dialogs == []


def test_text_typed_while_the_first_autosave_is_on_its_way_keeps_its_device_copy(open_as, live_hub):
    """The first autosave gives the note an id and moves the device copy to the note's own key;
    what was typed while it was on its way must stay on the device until the next save lands."""
    _people()
    author = open_as("lin")
    author.clock.install()
    held: list = []
    author.route("**/notes/autosave", lambda route: held.append(route))  # autosave requests wait until the test lets them go

    def wait_held(count: int) -> None:
        for _ in range(200):
            if len(held) >= count:
                return
            author.wait_for_timeout(25)
        raise AssertionError(f"autosave request {count} never sent")

    author.goto("/notes/new")
    author.locator("#title").fill(TITLE)
    body = author.locator("#body")
    body.fill("第一段。")
    _skip_typing_pause(author)
    wait_held(1)
    body.press("End")
    body.press_sequentially("路上写的。")  # while the first save is on its way
    held[0].continue_()
    note_id = _note_id_from_edit_url(author)
    wait_held(2)  # typed text is sent again at once, and held
    kept = author.evaluate("(key) => JSON.parse(localStorage.getItem(key))", device_copy_key("lin", note_id))
    assert kept["fields"]["body"] == "第一段。路上写的。"
    assert author.evaluate("(key) => localStorage.getItem(key)", device_copy_key("lin")) is None
    with author.expect_response(lambda r: r.url.endswith("/notes/autosave")) as second:
        held[1].continue_()
    assert second.value.json()["ok"] is True
    author.unroute("**/notes/autosave")
    assert _fresh(Note, note_id).body == "第一段。路上写的。"
    author.wait_for_function("(key) => localStorage.getItem(key) === null",  # saved: copy cleared
                             arg=device_copy_key("lin", note_id))
    assert open_as.dialogs == []


def test_a_note_saved_before_its_first_autosave_leaves_no_device_copy_behind(open_as, live_hub):
    """Saving with the button within 4 s of the last keystroke must not leave the text on the device.

    Otherwise the next "write a note" page offers to restore the previous note's text as if it
    were newer than the server's, and accepting makes a duplicate draft.
    """
    _people()
    author = open_as("lin")
    author.clock.install()
    author.goto("/notes/new")
    author.clock.pause_at(author.evaluate("Date.now()") + 1_000)  # no autosave before the click
    author.locator("#title").fill(TITLE)
    author.locator("#summary").fill(SUMMARY)
    author.locator("#body").fill(BODY_WITHOUT_PHONE)
    author.locator("#note-editor [name=save]").click()
    note_id = _note_id_from_edit_url(author)
    assert _fresh(Note, note_id).body.replace("\r\n", "\n") == BODY_WITHOUT_PHONE

    author.goto("/notes/new")
    expect(author.locator("#title")).to_have_value("")
    assert open_as.dialogs == []
    assert author.evaluate("(key) => localStorage.getItem(key)", device_copy_key("lin")) is None
    assert _count(Note) == 1
