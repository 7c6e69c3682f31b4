"""The editor and the note page when the session ends meanwhile (signed out in another tab).

Nothing typed is lost: the editor says that the author is signed out and keeps the text on the
device; a form sent signed out leads, after signing in, back to its page (not to a 405), with the
text back in the form or offered by the editor. A field the hub refuses is shown beside the field,
and an answer that trying again cannot change is not asked again every 15 s.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from hub.extensions import db
from hub.models import Comment, Note, User
from hub.models.user import Role
from hub.services import accounts, notes, vocabulary
from tests.helpers import PASSWORD, approve_checked, device_copy_key, sign_in

AUTOSAVE_DELAY = 4_000  # editor.js saves 4 s after the last keystroke
RETRY_DELAY = 15_000  # and tries again 15 s after a dropped connection
SAVE_WAIT = 12_000


@pytest.fixture(autouse=True)
def people(live_hub) -> None:
    """Seed the vocabulary, a contributor (lin) and a member (mary)."""
    vocabulary.seed()
    accounts.create_user(accounts.NewAccount("lin", "小林", PASSWORD), role=Role.CONTRIBUTOR)
    accounts.create_user(accounts.NewAccount("mary", "Mary P", PASSWORD), role=Role.MEMBER)
    db.session.commit()


def _fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def _autosaves(page: Page) -> list:
    """Collect the autosave requests ``page`` sends from now on."""
    sent: list = []
    page.on("request", lambda request: sent.append(request) if request.url.endswith("/notes/autosave") else None)
    return sent


def _first_draft(page: Page, body: str) -> int:
    """Write a first draft in the editor until autosave has saved it; return the note's id."""
    page.clock.install()
    page.goto("/notes/new")
    page.locator("#title").fill("夜间外展")
    page.locator("#summary").fill("一句话。")
    page.locator("#body").fill(body)
    page.clock.fast_forward(AUTOSAVE_DELAY)
    expect(page).to_have_url(re.compile(r"/notes/\d+/edit$"), timeout=SAVE_WAIT)
    expect(page.locator(".autosave-status")).to_have_text(re.compile("^" + re.escape(
        page.locator("#note-editor").get_attribute("data-msg-saved")) + r"\s+\S"), timeout=SAVE_WAIT)
    return int(re.search(r"/notes/(\d+)/edit$", page.url).group(1))


def _sign_out_in_another_tab(page: Page) -> None:
    """Sign this browser out from a second tab, as a person would."""
    other = page.context.new_page()
    other.goto("/notes")
    other.locator("form[action$='/logout'] [type=submit]").click()
    expect(other.locator("form[action$='/logout']")).to_have_count(0)
    other.close()


def _device_copy(page: Page, note_id: int) -> dict | None:
    return page.evaluate("(key) => JSON.parse(localStorage.getItem(key))", device_copy_key("lin", note_id))


def _type_more(page: Page, text: str) -> None:
    body = page.locator("#body")
    body.press("End")
    body.press_sequentially(text)
    page.clock.fast_forward(AUTOSAVE_DELAY)


def test_save_draft_after_signing_out_keeps_the_text_and_the_editor_offers_it_after_signing_in(open_as, live_hub):
    author = open_as("lin")
    note_id = _first_draft(author, "第一段。")
    editor = author.locator("#note-editor")
    status = editor.locator(".autosave-status")
    _sign_out_in_another_tab(author)

    # Autosave hears 401: the editor says so, with a way to sign in, and does not ask again by itself.
    sent = _autosaves(author)
    _type_more(author, "第二段。")
    expect(status).to_contain_text(editor.get_attribute("data-msg-signed-out"), timeout=SAVE_WAIT)
    expect(status).to_contain_text("你已退出登录")
    expect(status.locator("a")).to_have_attribute("href", f"/login?next=%2Fnotes%2F{note_id}%2Fedit")
    assert _device_copy(author, note_id)["fields"]["body"] == "第一段。第二段。"
    author.clock.fast_forward(4 * RETRY_DELAY)
    author.wait_for_timeout(300)
    assert len(sent) == 1, "the editor kept asking although it is signed out"

    # "Save draft": the sign-in page, which says the text was not saved; the device copy stays.
    editor.locator("[name=save]").click()
    expect(author).to_have_url(re.compile(rf"/login\?next=/notes/{note_id}/edit$"))
    expect(author.locator(".flash-warning")).to_contain_text("你已退出登录，所以你提交的内容没有保存")
    assert _device_copy(author, note_id)["fields"]["body"] == "第一段。第二段。"
    assert _fresh(Note, note_id).body == "第一段。"

    # Signed in again, the editor is back and offers the newer copy; restored, it is saved.
    author.locator("#login").fill("lin")
    author.locator("#password").fill(PASSWORD)
    author.locator("form[data-sign-in] [type=submit]").click()
    expect(author).to_have_url(re.compile(rf"/notes/{note_id}/edit$"))
    expect(author.locator("#body")).to_have_value("第一段。第二段。")
    assert open_as.dialogs == [editor.get_attribute("data-msg-restore")]
    author.clock.fast_forward(AUTOSAVE_DELAY)
    expect(status).to_have_text(re.compile("^" + re.escape(editor.get_attribute("data-msg-saved")) + r"\s+\S"),
                                timeout=SAVE_WAIT)
    assert _fresh(Note, note_id).body == "第一段。第二段。"
    assert _device_copy(author, note_id) is None


def test_a_save_the_hub_confirms_drops_the_device_copy(open_as):
    author = open_as("lin")
    note_id = _first_draft(author, "第一段。")
    author.locator("#body").press("End")
    author.locator("#body").press_sequentially("按按钮保存。")  # no pause: the button sends it
    assert _device_copy(author, note_id) is not None
    author.locator("#note-editor [name=save]").click()
    expect(author.locator(".flash-info")).to_be_visible()
    assert _fresh(Note, note_id).body == "第一段。按按钮保存。"
    assert _device_copy(author, note_id) is None


def test_editor_signed_in_again_in_another_tab_goes_on_saving(open_as):
    """Signing in again gives the session a new form token: the editor fetches it and saves."""
    author = open_as("lin", locale="en-GB")
    note_id = _first_draft(author, "First.")
    editor = author.locator("#note-editor")
    _sign_out_in_another_tab(author)
    _type_more(author, " Second.")
    expect(editor.locator(".autosave-status")).to_contain_text("You are signed out", timeout=SAVE_WAIT)

    other = author.context.new_page()
    sign_in(other, "lin")
    other.close()
    _type_more(author, " Third.")
    expect(editor.locator(".autosave-status")).to_have_text(
        re.compile("^" + re.escape(editor.get_attribute("data-msg-saved")) + r"\s+\S"), timeout=SAVE_WAIT)
    assert _fresh(Note, note_id).body == "First. Second. Third."
    assert _device_copy(author, note_id) is None


@pytest.mark.parametrize(("locale", "said", "other"), [("zh-CN", "另一个账号", "kai"),
                                                       ("en-GB", "another account is signed in", "kai"),
                                                       ("en-GB", "another account is signed in", "mary")])
def test_a_new_note_typed_offline_is_not_saved_into_the_account_signed_in_next_on_that_phone(
        open_as, locale, said, other):
    """lin types a new note with no connection; on the same phone lin signs out and kai (who may write notes) or
    mary (who may not) signs in in another tab. When the connection is back, lin's editor must not take kai's
    form token and save lin's text as kai's, and says why it saved nothing (not that lin's role changed)."""
    accounts.create_user(accounts.NewAccount("kai", "阿凯", PASSWORD), role=Role.CONTRIBUTOR)
    db.session.commit()
    phone = open_as("lin", locale=locale)
    phone.clock.install()
    phone.goto("/notes/new")
    editor = phone.locator("#note-editor")
    phone.route("**/notes/autosave", lambda route: route.abort())  # no connection
    phone.locator("#title").fill("夜间外展")
    phone.locator("#body").fill("王小明 13800138000 今晚来过。")
    phone.clock.fast_forward(AUTOSAVE_DELAY)
    expect(editor.locator(".autosave-status")).to_have_text(editor.get_attribute("data-msg-offline"))

    _sign_out_in_another_tab(phone)
    tab = phone.context.new_page()
    sign_in(tab, other)
    tab.close()
    sent = _autosaves(phone)
    phone.unroute("**/notes/autosave")
    phone.clock.fast_forward(RETRY_DELAY)  # the editor tries again: its token is refused, kai's is not taken

    status = editor.locator(".autosave-status")
    expect(status).to_have_text(editor.get_attribute("data-msg-other-account"), timeout=SAVE_WAIT)
    expect(status).to_contain_text(said)
    assert len(sent) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 0
    assert phone.evaluate("(key) => JSON.parse(localStorage.getItem(key))",
                          device_copy_key("lin"))["fields"]["body"] == "王小明 13800138000 今晚来过。"


def test_a_draft_edited_when_someone_else_signs_in_on_that_phone_says_so(open_as):
    """lin's own draft open in the editor; kai (who may write notes, not lin's) signs in in another tab: lin's
    editor cannot read its page again for a token (kai may not edit lin's draft), and says who is signed in."""
    accounts.create_user(accounts.NewAccount("kai", "阿凯", PASSWORD), role=Role.CONTRIBUTOR)
    db.session.commit()
    author = open_as("lin", locale="en-GB")
    note_id = _first_draft(author, "First.")
    _sign_out_in_another_tab(author)
    tab = author.context.new_page()
    sign_in(tab, "kai")
    tab.close()
    _type_more(author, " Second.")
    editor = author.locator("#note-editor")
    expect(editor.locator(".autosave-status")).to_have_text(editor.get_attribute("data-msg-other-account"),
                                                            timeout=SAVE_WAIT)
    assert _fresh(Note, note_id).body == "First."
    assert _device_copy(author, note_id)["fields"]["body"] == "First. Second."


@pytest.mark.parametrize(("locale", "refused"), [("en-GB", "invisible"), ("zh-CN", "看不见的字符")])
def test_a_refused_field_is_shown_beside_it_and_not_sent_again_until_changed(open_as, locale, refused):
    author = open_as("lin", locale=locale)
    note_id = _first_draft(author, "Body.")
    editor = author.locator("#note-editor")
    status = editor.locator(".autosave-status")
    sent = _autosaves(author)

    author.locator("#title").fill("Night\u200boutreach")  # a zero-width space, pasted from a chat
    author.clock.fast_forward(AUTOSAVE_DELAY)
    error = author.locator("#title-error")
    expect(error).to_contain_text(refused, timeout=SAVE_WAIT)
    expect(author.locator("#title")).to_have_attribute("aria-invalid", "true")
    expect(author.locator("#title")).to_have_attribute("aria-describedby", re.compile(r"\btitle-error\b"))
    expect(status).to_have_text(editor.get_attribute("data-msg-invalid"))
    assert _device_copy(author, note_id)["fields"]["title"] == "Night\u200boutreach"
    author.clock.fast_forward(4 * RETRY_DELAY)
    author.wait_for_timeout(300)
    assert len(sent) == 1, "a refused field was sent again without a change"

    author.locator("#title").fill("Night outreach")
    author.clock.fast_forward(AUTOSAVE_DELAY)
    expect(error).to_have_count(0, timeout=SAVE_WAIT)
    expect(author.locator("#title")).not_to_have_attribute("aria-invalid", "true")
    expect(status).to_have_text(re.compile("^" + re.escape(editor.get_attribute("data-msg-saved")) + r"\s+\S"))
    assert _fresh(Note, note_id).title == "Night outreach"


def test_a_note_submitted_in_another_tab_is_not_saved_again_and_again(open_as):
    author = open_as("lin", locale="en-GB")
    note_id = _first_draft(author, "Body.")
    notes.submit(_fresh(Note, note_id), by=_fresh(Note, note_id).author, confirm_privacy=True)
    sent = _autosaves(author)
    _type_more(author, " More.")
    status = author.locator(".autosave-status")
    expect(status).to_contain_text("This note is no longer a draft", timeout=SAVE_WAIT)
    expect(status).to_contain_text(author.locator("#note-editor").get_attribute("data-msg-kept"))
    author.clock.fast_forward(4 * RETRY_DELAY)
    author.wait_for_timeout(300)
    assert len(sent) == 1
    assert _device_copy(author, note_id)["fields"]["body"] == "Body. More."


def _members_note() -> Note:
    """lin's note for members, published by a moderator: mary may comment on it."""
    author = db.session.scalar(sa.select(User).where(User.username == "lin"))
    draft = notes.create_draft(author=author, data=notes.NoteInput(
        title="Night outreach", summary="One line.", body="What we did.", language="en", visibility="members"))
    moderator = accounts.create_user(accounts.NewAccount("wang", "审核员王", PASSWORD), role=Role.MODERATOR)
    note = approve_checked(notes.submit(draft, by=author, confirm_privacy=True), by=moderator)
    db.session.commit()
    return note


def _comment_sent_signed_out(page: Page, note: Note, text: str):
    """Write ``text`` in the note's comment form, end the session in another tab, send: the sign-in page
    follows. Return the comment form."""
    page.goto(f"/notes/{note.id}")
    comment = page.locator(f"form[action$='/notes/{note.id}/comments']")
    comment.locator("textarea[name=body]").fill(text)
    _sign_out_in_another_tab(page)
    comment.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/login\?next=/notes/{note.id}$"))
    return comment


def _sign_in_back_to(page: Page, note: Note, username: str) -> None:
    """Sign in as ``username`` on the sign-in page shown, which leads back to the note."""
    page.locator("#login").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[data-sign-in] [type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/notes/{note.id}$"))


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_a_comment_sent_signed_out_comes_back_with_its_text_after_signing_in(open_as, live_hub, locale):
    note = _members_note()

    reader = open_as("mary", locale=locale)
    comment = _comment_sent_signed_out(reader, note, "We tried this in Chengdu too.")
    expect(reader.locator(".flash-warning")).to_be_visible()

    _sign_in_back_to(reader, note, "mary")
    expect(comment.locator("textarea[name=body]")).to_have_value("We tried this in Chengdu too.")
    expect(comment.locator("textarea[name=body]")).to_be_focused()
    comment.locator("[type=submit]").click()
    expect(reader.locator(".comments")).to_contain_text("We tried this in Chengdu too.")
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 1

    # The text is put back only on the way back from the sign-in page: the next visit shows an empty form.
    reader.goto(f"/notes/{note.id}")
    expect(comment.locator("textarea[name=body]")).to_have_value("")


def test_a_comment_sent_signed_out_is_not_given_to_another_person_who_signs_in_on_that_page(open_as, live_hub):
    """On a shared phone the next person may sign in where the writer was sent: the kept text is the writer's."""
    note = _members_note()

    phone = open_as("mary", locale="en-GB")
    comment = _comment_sent_signed_out(phone, note, "Fang at the back gate knows us.")

    _sign_in_back_to(phone, note, "lin")  # someone else picks up the phone
    expect(phone.locator(".main-nav")).to_contain_text("小林")
    expect(comment.locator("textarea[name=body]")).to_have_value("")
    assert phone.evaluate("sessionStorage.getItem('hub-sent-form')") is None
    assert "Fang" not in phone.content()
