"""On a phone several people share, the editor's device copies are never shown to another account nor
overwritten by another account's (each account has its own keys), and the copies set aside because they were typed before a moderator removed personal data (they may hold what was
removed) leave the phone a week after being set aside, on any page, and all of them at sign-out. An account
deleted in the browser leaves none of its copies there."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts, vocabulary
from tests.helpers import PASSWORD, device_copy_key, sign_in

DAY = 24 * 60 * 60 * 1000
NAME = "王小明 13800138000"
REMOVED = {"zh-CN": "审核员删除个人信息之前你在此设备上输入的内容已从此设备删除。",
           "en-GB": "Text typed before a moderator removed personal data was deleted from this device."}
SIGNED_OUT = {"zh-CN": "你已退出登录", "en-GB": "You are signed out."}


@pytest.fixture
def people(live_hub) -> dict[str, int]:
    """Two contributors, lin and kai, who take turns on one phone."""
    vocabulary.seed()
    ids = {}
    for login, pseudonym in (("lin", "小林"), ("kai", "阿凯")):
        ids[login] = accounts.create_user(accounts.NewAccount(login, pseudonym, PASSWORD), role=Role.CONTRIBUTOR).id
    db.session.commit()
    return ids


def _sign_out(page) -> None:
    page.locator("form[action$='/logout'] button").click()
    page.locator("a[href$='/login']").first.wait_for()


def _put(page, key: str, copy: dict) -> None:
    page.evaluate("([key, copy]) => localStorage.setItem(key, copy)", [key, json.dumps(copy)])


def _keys(page) -> list[str]:
    return sorted(page.evaluate("Object.keys(localStorage)"))


def test_an_unsaved_copy_is_never_shown_to_the_next_account_and_waits_for_its_own(open_as, people):
    page = open_as("lin", viewport={"width": 390, "height": 844})
    page.clock.install()
    page.goto("/notes/new")
    page.route("**/notes/autosave", lambda route: route.abort())  # a dropped connection: the copy stays
    page.locator("#title").fill("夜间外展")
    page.locator("#body").fill(f"{NAME} 今晚来过。")
    page.clock.run_for(4_000)
    page.wait_for_function("(key) => localStorage.getItem(key) !== null", arg=device_copy_key("lin"))
    page.unroute("**/notes/autosave")
    _sign_out(page)

    sign_in(page, "kai")
    page.goto("/notes/new")
    expect(page.locator("#body")).to_have_value("")
    assert open_as.dialogs == []  # never asked to restore lin's text
    assert NAME not in page.content()
    _sign_out(page)

    sign_in(page, "lin")
    page.goto("/notes/new")
    expect(page.locator("#body")).to_have_value(f"{NAME} 今晚来过。")  # offered again to lin, and restored
    assert len(open_as.dialogs) == 1


def _type_new_note_offline(page, title: str, body: str) -> None:
    """Write a new note while every autosave fails: the text is only on the phone."""
    page.goto("/notes/new")
    page.locator("#title").fill(title)
    page.locator("#body").fill(body)
    page.clock.run_for(4_000)
    editor = page.locator("#note-editor")  # the copy is kept before the editor says it is
    expect(editor.locator(".autosave-status")).to_have_text(editor.get_attribute("data-msg-offline"))


def test_two_accounts_on_one_phone_each_keep_their_own_unsaved_new_note(open_as, people):
    page = open_as("lin", viewport={"width": 390, "height": 844})
    page.clock.install()
    page.route("**/notes/autosave", lambda route: route.abort())  # no connection all along: nothing reaches the hub
    lin_text, kai_text = f"{NAME} 今晚来过。", "阿凯写的：周三的小组活动。"
    _type_new_note_offline(page, "夜间外展", lin_text)
    _sign_out(page)

    sign_in(page, "kai")
    _type_new_note_offline(page, "小组活动", kai_text)  # kai's copy must not overwrite lin's
    assert open_as.dialogs == []  # kai was never offered lin's text
    _sign_out(page)

    sign_in(page, "lin")
    page.goto("/notes/new")
    expect(page.locator("#body")).to_have_value(lin_text)  # lin's own text, restored
    assert len(open_as.dialogs) == 1
    assert kai_text not in page.content()
    _sign_out(page)

    sign_in(page, "kai")
    page.goto("/notes/new")
    expect(page.locator("#body")).to_have_value(kai_text)
    assert len(open_as.dialogs) == 2
    assert NAME not in page.content()


def test_copies_kept_before_each_account_had_its_own_keys(open_as, people):
    """A copy under an old key ("hub-note-<note|new>") moves to the account it names, on any page; one
    that names no account can be shown to no one and leaves the phone a week after it was typed."""
    page = open_as("lin", viewport={"width": 390, "height": 844})
    now = page.evaluate("Date.now()")
    lin, kai = f"hub-note-{people['lin']}", f"hub-note-{people['kai']}"
    lin_copy = {"at": now - DAY, "account": people["lin"], "seen": 0, "fields": {"title": "夜间外展", "body": NAME}}
    _put(page, "hub-note-new", lin_copy)
    _put(page, "hub-note-5-before-redaction", dict(lin_copy, account=people["kai"], asideAt=now - DAY))
    _put(page, "hub-note-3", dict(lin_copy, at=now - 2 * DAY, fields={"body": "更早的"}))
    _put(page, f"{lin}-3", dict(lin_copy, fields={"body": "较新的"}))  # newer than the old key's: kept
    _put(page, "hub-note-8", {"at": now - 8 * DAY, "fields": {"body": "无人认领"}})
    _put(page, "hub-note-9", {"at": now - 6 * DAY, "fields": {"body": "无人认领"}})
    page.goto("/")  # not the editor
    assert _keys(page) == sorted([f"{lin}-new", f"{kai}-5-before-redaction", f"{lin}-3", "hub-note-9"])
    assert json.loads(page.evaluate(f"localStorage.getItem('{lin}-3')"))["fields"]["body"] == "较新的"

    page.goto("/notes/new")
    expect(page.locator("#body")).to_have_value(NAME)  # the moved copy is offered to lin
    assert len(open_as.dialogs) == 1
    _sign_out(page)
    sign_in(page, "kai")
    page.goto("/notes/new")
    expect(page.locator("#body")).to_have_value("")
    assert len(open_as.dialogs) == 1

def test_a_set_aside_copy_leaves_the_phone_a_week_after_on_any_page(open_as, people):
    page = open_as("lin", viewport={"width": 390, "height": 844})
    now = page.evaluate("Date.now()")
    old = {"at": now - 9 * DAY, "asideAt": now - 8 * DAY, "account": people["lin"], "seen": 0, "fields": {"body": NAME}}
    recent = dict(old, asideAt=now - 6 * DAY)
    lin = f"hub-note-{people['lin']}"
    _put(page, f"{lin}-5-before-redaction", old)
    _put(page, f"{lin}-6-before-redaction", recent)
    _put(page, f"{lin}-7", dict(old, fields={"body": "旧的未保存文字"}))  # an ordinary copy: not the hub's to drop
    page.goto("/")  # not the editor
    assert _keys(page) == [f"{lin}-6-before-redaction", f"{lin}-7"]


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_signing_out_deletes_set_aside_copies_and_says_so(open_as, people, locale):
    page = open_as("lin", locale=locale, viewport={"width": 390, "height": 844})
    now = page.evaluate("Date.now()")
    lin = f"hub-note-{people['lin']}"
    _put(page, f"{lin}-5-before-redaction",
         {"at": now, "asideAt": now, "account": people["lin"], "seen": 0, "fields": {"body": NAME}})
    _put(page, f"{lin}-7", {"at": now, "account": people["lin"], "seen": 0, "fields": {"body": "未保存"}})
    _sign_out(page)
    flashes = page.locator(".flashes")
    expect(flashes).to_contain_text(SIGNED_OUT[locale])
    expect(flashes).to_contain_text(REMOVED[locale])
    assert _keys(page) == [f"{lin}-7"]  # unsaved work stays, shown only to lin (above)

    page.goto("/")  # nothing removed: no notice
    sign_in(page, "lin")
    _sign_out(page)
    expect(page.locator(".flashes")).to_contain_text(SIGNED_OUT[locale])
    expect(page.locator(".flashes")).not_to_contain_text(REMOVED[locale])


COPIES_GONE = {"zh-CN": "你在这台设备的编辑器中输入但没有保存的内容也已从这台设备删除。",
               "en-GB": "Text you typed in the editor on this device and did not save was deleted from this device too."}


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_deleting_ones_account_deletes_its_copies_from_the_device_and_no_one_elses(open_as, people, locale):
    page = open_as("lin", locale=locale, viewport={"width": 390, "height": 844})
    now = page.evaluate("Date.now()")
    lin, kai = (f"hub-note-{people[name]}" for name in ("lin", "kai"))
    copy = {"at": now, "account": people["lin"], "seen": 0, "fields": {"body": NAME}}
    for key in (f"{lin}-new", f"{lin}-7", f"{lin}-5-before-redaction"):
        _put(page, key, copy)
    _put(page, f"{kai}-new", dict(copy, account=people["kai"], fields={"body": "阿凯的草稿"}))
    # An old-format key (before keys named the account) of kai's copy of note <lin's id>: kai's, it stays.
    _put(page, f"hub-note-{people['lin']}-before-redaction", dict(copy, account=people["kai"], asideAt=now))

    page.goto("/account/delete")
    page.locator("input[name=what][value=keep]").check()
    page.locator("#password").fill(PASSWORD)
    page.locator("form [type=submit]").last.click()
    flashes = page.locator(".flashes")
    expect(flashes).to_contain_text(COPIES_GONE[locale])
    assert _keys(page) == [f"{kai}-{people['lin']}-before-redaction", f"{kai}-new"]  # kai's stay, for kai

    page.goto("/")  # the next page says nothing more
    expect(page.locator(".flashes")).to_have_count(0)
