"""Browser tests: Debian's Chromium driven by Playwright against a live hub on 127.0.0.1.

The browser is required: when it is missing these tests fail with a message naming the
package (``make test`` installs it), they never skip.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import make_server

from hub.extensions import db
from tests.helpers import sign_in

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/lib/chromium/chromium")


def pytest_collection_modifyitems(items) -> None:
    """Mark every test in this folder as a browser test."""
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium, without background network look-ups."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install the Debian package 'chromium' "
                    "(make test does this when run as root).", pytrace=False)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost"],
    }


@dataclass
class LiveHub:
    """A hub served on a free local port, with its app for setting up data."""

    app: Flask
    url: str


@pytest.fixture
def live_hub(make_app, tmp_path) -> Iterator[LiveHub]:
    """Serve a fresh hub (its own SQLite file) in a thread for the length of one test."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'browser.sqlite'}", BASE_URL="http://127.0.0.1")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            yield LiveHub(app=app, url=f"http://127.0.0.1:{server.server_port}")
            db.session.remove()
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def phone(browser, live_hub):
    """A phone-sized page (360 × 740) whose browser asks for Chinese."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                  base_url=live_hub.url)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser, live_hub):
    """A desktop-sized page whose browser asks for English."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",
                                  base_url=live_hub.url)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def open_as(browser, live_hub) -> Iterator[Callable[..., object]]:
    """Return ``open_as(username, locale=..., viewport=...)``: a page in a browser context of its own,
    signed in unless ``username`` is None (a 360-px phone asking for Chinese unless told otherwise).

    Questions a page asks (``confirm``) are answered "yes" and listed in ``open_as.dialogs``.
    A test file may define its own ``open_as`` instead.
    """
    contexts, dialogs = [], []

    def open_page(username: str | None, *, locale: str = "zh-CN", viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or {"width": 360, "height": 740}, locale=locale,
                                      base_url=live_hub.url)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
        if username:
            sign_in(page, username)
        return page

    open_page.dialogs = dialogs
    yield open_page
    for context in contexts:
        context.close()
