"""Static files: content-hashed URLs cached for a year, plain URLs briefly, a new hash for a changed file."""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from blueprints.web import fragments

HASHED = re.compile(r'(?:href|src)="(/assets/([0-9a-f]{10})/([^"]+))"')


def _asset_urls(client, path: str = "/") -> dict[str, str]:
    html = client.get(path).get_data(as_text=True)
    return {filename: url for url, _digest, filename in HASHED.findall(html)}


def test_pages_name_their_assets_by_content_hash(client):
    urls = _asset_urls(client)
    assert set(urls) == {"hub.css", "hub.js"}
    assert "/static/" not in client.get("/").get_data(as_text=True)


def test_the_icon_is_inline(client):
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<link rel="icon" href="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)


@pytest.mark.parametrize("filename", ["hub.css", "hub.js"])
def test_hashed_assets_are_cached_for_a_year_and_plain_urls_briefly(client, filename):
    hashed = client.get(_asset_urls(client)[filename])
    plain = client.get(f"/static/{filename}")
    assert hashed.status_code == plain.status_code == 200
    assert hashed.data == plain.data
    assert hashed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert plain.headers["Cache-Control"] == "public, max-age=300"


def test_editor_script_has_a_hashed_url_too(client, login_as, contributor):
    login_as(contributor)
    assert "editor.js" in _asset_urls(client, "/notes/new")


def test_a_changed_file_gets_a_new_url_and_an_old_url_is_not_kept_for_long(app, client, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(Path(app.static_folder), static)
    app.static_folder = str(static)
    before = _asset_urls(client)["hub.css"]

    css = static / "hub.css"
    css.write_text(css.read_text() + "\n.new-rule { color: red; }\n")
    stat = css.stat()
    os.utime(css, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    time.sleep(fragments.STATIC_CHECK_SECONDS)  # pages look at the folder once a second at most
    after = _asset_urls(client)["hub.css"]

    assert after != before
    fresh = client.get(after)
    assert b".new-rule" in fresh.data
    assert fresh.headers["Cache-Control"].endswith("immutable")
    stale = client.get(before)  # a page from before the change: today's file, not kept for a year
    assert stale.status_code == 200 and b".new-rule" in stale.data
    assert stale.headers["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("path", ["/assets/0123456789/nope.css", "/assets/0123456789/../config.py",
                                  "/assets/0123456789/%2e%2e/__init__.py"])
def test_missing_or_outside_files_are_not_found(client, path):
    assert client.get(path).status_code == 404
