"""The demo passes the hub's own checks: each demo account saves its settings as they are, and follows
the browser's language; an older demo's accounts are mended when the demo is loaded again."""
from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from hub import demo
from hub.extensions import db
from hub.services import accounts
from tests.forms import form_fields
from tests.helpers import login

USERNAMES = [username for username, *_ in demo.USERS]


@pytest.fixture
def demo_hub(app, runner):
    result = runner.invoke(args=["hub", "demo"])
    assert result.exit_code == 0, result.output
    return app


def _save_unchanged(client, url: str) -> tuple[int, str]:
    """Send the page's form back as it stands; return the status and the page that follows."""
    fields = form_fields(client.get(url).get_data(as_text=True), action="")
    response = client.post(url, data=MultiDict(fields))
    return response.status_code, client.get(response.location).get_data(as_text=True) if response.location else ""


@pytest.mark.parametrize("username", USERNAMES)
@pytest.mark.parametrize(("browser", "saved"), [("zh-CN,zh;q=0.9", "已保存"), ("en-GB,en;q=0.8", "is saved")])
def test_every_demo_account_saves_its_settings_unchanged(demo_hub, username, browser, saved):
    client = demo_hub.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = browser
    assert login(client, username, demo.PASSWORD).status_code == 302
    status, page = _save_unchanged(client, "/account")
    assert status == 302, page
    assert saved in page


@pytest.mark.parametrize(("browser", "lang", "home"), [("zh-CN,zh;q=0.9", "zh-Hans", "首页"),
                                                        ("en-GB,en;q=0.8", "en", "Home")])
@pytest.mark.parametrize("username", USERNAMES)
def test_demo_accounts_follow_the_browsers_language(demo_hub, username, browser, lang, home):
    client = demo_hub.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = browser
    login(client, username, demo.PASSWORD)
    page = client.get("/").get_data(as_text=True)
    assert f'<html lang="{lang}">' in page and f">{home}</a>" in page


def test_every_demo_project_saves_unchanged(demo_hub):
    client = demo_hub.test_client()
    login(client, "admin", demo.PASSWORD)
    for data in demo.PROJECTS:
        status, page = _save_unchanged(client, f"/admin/projects/{data.slug}/edit")
        assert status == 302, page


def test_loading_the_demo_again_mends_accounts_of_an_older_demo(demo_hub, runner):
    old = accounts.find_by_login("partner")
    old.email, old.locale = "partner@demo.invalid", "en"
    mine = accounts.find_by_login("peer")
    mine.locale = "en"  # a person who chose a language in their settings keeps it
    db.session.commit()
    runner.invoke(args=["hub", "demo"])
    db.session.expire_all()
    mended = accounts.find_by_login("partner")
    assert (mended.email, mended.locale) == (f"partner@{demo.EMAIL_DOMAIN}", None)
    assert accounts.find_by_login("peer").locale == "en"


def test_the_demo_command_says_accounts_follow_the_browser(runner):
    output = runner.invoke(args=["hub", "demo"]).output
    assert re.search(r"follows the browser's language", output)
