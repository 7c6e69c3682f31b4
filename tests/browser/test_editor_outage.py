"""The editor while the hub's PostgreSQL is down: autosave answers 503, and the editor treats it like a
dropped connection (the device copy stays, the save is tried again after the hub's Retry-After);
when the database is back, what was typed meanwhile is saved and the device copy cleared."""
from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import Browser, expect
from werkzeug.serving import make_server

from blueprints.web.errors import RETRY_AFTER_SECONDS
from hub.extensions import db
from hub.models import Note
from hub.models.user import Role
from hub.services import accounts, vocabulary
from tests.helpers import PASSWORD, device_copy_key, sign_in
from tests.pg import start_server

pytestmark = pytest.mark.postgres


@pytest.fixture
def hub_on_own_postgres(make_app):
    """A live hub on a PostgreSQL server of the test's own (the test stops it)."""
    server = start_server()
    app = make_app(DATABASE_URL=server.create_database("hub"), BASE_URL="http://127.0.0.1")
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            yield app, server, f"http://127.0.0.1:{http.server_port}"
            db.session.remove()
            db.engine.dispose()
    finally:
        http.shutdown()
        thread.join(timeout=5)
        server.stop()


def test_autosave_keeps_the_device_copy_while_the_database_is_down_and_saves_it_when_back(
        browser: Browser, hub_on_own_postgres):
    app, server, url = hub_on_own_postgres
    vocabulary.seed()
    accounts.create_user(accounts.NewAccount("lin", "小林", PASSWORD), role=Role.CONTRIBUTOR)
    db.session.commit()
    context = browser.new_context(locale="zh-CN", base_url=url)
    page = context.new_page()
    sign_in(page, "lin")
    page.clock.install()
    page.goto("/notes/new")
    page.clock.pause_at(page.evaluate("Date.now()") + 1_000)  # the page's time moves only when the test says
    page.locator("#title").fill("夜间外展")
    with page.expect_response(lambda r: r.url.endswith("/notes/autosave")) as first:
        page.locator("#body").fill("第一段。")
        page.clock.run_for(4_000)
    assert first.value.status == 200
    note_id = first.value.json()["id"]
    editor = page.locator("#note-editor")
    status = editor.locator(".autosave-status")

    copy_key = device_copy_key("lin", note_id)  # read while the database is up,
    db.session.rollback()  # and no transaction left open on it while it is away
    server.halt()
    with page.expect_response(lambda r: r.url.endswith("/notes/autosave")) as refused:
        page.locator("#body").press("End")
        page.locator("#body").press_sequentially("第二段。")
        page.clock.run_for(4_000)
    assert refused.value.status == 503 and refused.value.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    expect(status).to_have_text(editor.get_attribute("data-msg-offline"))
    kept = page.evaluate("(key) => JSON.parse(localStorage.getItem(key))", copy_key)
    assert kept["fields"]["body"] == "第一段。第二段。"

    server.resume()
    with page.expect_response(lambda r: r.url.endswith("/notes/autosave"), timeout=10_000) as retried:
        # Nothing typed: the editor tries again by itself after the hub's Retry-After (sooner than the
        # 15 s it waits after a dropped connection, which has no Retry-After to follow).
        page.clock.run_for(RETRY_AFTER_SECONDS * 1000)
    assert retried.value.status == 200 and retried.value.json()["ok"] is True
    expect(status).to_have_text(re.compile("^" + re.escape(editor.get_attribute("data-msg-saved")) + r"\s+\S"))
    db.session.expire_all()
    assert db.session.get(Note, note_id).body == "第一段。第二段。"
    assert page.evaluate("(key) => localStorage.getItem(key)", copy_key) is None
    context.close()
