"""Choosing the language, and catalogues that are complete and current."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hub.extensions import db
from tests import spawn
from tests.helpers import login

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))
HAN = re.compile(r"[\u4e00-\u9fff]")


def lang_of(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize("header, expected", [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
    ("zh", "zh-Hans"),
    ("zh-TW", "zh-Hans"),
    ("zh-Hans-CN", "zh-Hans"),
    ("en-US,en;q=0.9", "en"),
    ("fr-FR,zh;q=0.5", "zh-Hans"),
    ("de", "en"),
    ("", "en"),
])
def test_accept_language_picks_the_locale(client, header, expected):
    assert lang_of(client.get("/", headers={"Accept-Language": header})) == expected


def test_each_accept_language_header_is_worked_out_once_and_the_memory_of_them_is_bounded(client, monkeypatch):
    from blueprints.web import locale

    monkeypatch.setattr(locale, "ACCEPT_LANGUAGE_MEMO", 4)
    headers = ["en-US", "zh-CN", "fr-FR,zh;q=0.5", "de", "en-GB", "zh-TW"]
    for _round in range(2):  # the second time each is remembered (or forgotten again, the memory being full)
        for header in headers:
            assert lang_of(client.get("/", headers={"Accept-Language": header})) == (
                "zh-Hans" if "zh" in header else "en")
    assert len(client.application.extensions[locale.EXTENSION]) <= 4


def test_lang_parameter_wins_and_is_remembered(client):
    response = client.get("/?lang=zh_Hans", headers={"Accept-Language": "en"})
    assert lang_of(response) == "zh-Hans"
    assert lang_of(client.get("/projects", headers={"Accept-Language": "en"})) == "zh-Hans"
    assert lang_of(client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})) == "en"


def test_user_preference_beats_the_browser(client, make_user):
    make_user("wang", locale="zh_Hans")
    login(client, "wang")
    assert lang_of(client.get("/", headers={"Accept-Language": "en"})) == "zh-Hans"


def test_unknown_lang_parameter_is_ignored(client):
    assert lang_of(client.get("/?lang=xx", headers={"Accept-Language": "en"})) == "en"


def test_chinese_page_really_contains_chinese(client, project):
    html = client.get("/?lang=zh_Hans").get_data(as_text=True)
    assert "经验交流平台" in html
    assert "Sign in" not in html and "登录" in html


def test_language_switcher_is_on_every_page(client, project):
    for url in ["/", "/projects", "/projects/chengdu-peer-centre", "/login", "/nope"]:
        english = client.get(url + "?lang=en").get_data(as_text=True)
        chinese = client.get(url + "?lang=zh_Hans").get_data(as_text=True)
        assert 'lang=zh_Hans" lang="zh-Hans"' in english and ">中文</a>" in english, url
        assert 'lang=en" lang="en"' in chinese and ">English</a>" in chinese, url


@pytest.mark.parametrize("code", [403, 404])
def test_error_pages_speak_the_readers_language(client, login_as, member, code):
    login_as(member)
    url = "/admin/users" if code == 403 else "/no/such/page"
    response = client.get(url + "?lang=zh_Hans")
    assert response.status_code == code
    assert HAN.search(response.get_data(as_text=True).split("<main", 1)[1])


def test_request_over_the_size_limit_gets_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/login?lang=zh_Hans", data={"login": "x" * 5000})
    assert response.status_code == 413
    assert "太大" in response.get_data(as_text=True) or HAN.search(response.get_data(as_text=True))


def test_dates_are_formatted_for_the_locale(client, login_as, member):
    member.show_activity = True  # the home page then lists when the member joined, to members
    db.session.commit()
    login_as(member)
    html_zh = client.get("/?lang=zh_Hans").get_data(as_text=True)
    html_en = client.get("/?lang=en").get_data(as_text=True)
    year = str(member.created_at.year)
    assert re.search(year + r"年\d{1,2}月\d{1,2}日", html_zh)
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, " + year, html_en)


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_catalogue_has_no_empty_or_fuzzy_entries(path):
    with path.open("rb") as handle:
        catalog = read_po(handle)
    bad = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if "fuzzy" in message.flags or not all(strings):
            bad.append(message.id)
    assert bad == []


def test_both_required_catalogues_exist():
    assert {p.parent.parent.name for p in CATALOGUES} >= {"zh_Hans", "en"}


def test_messages_pot_is_current(tmp_path):
    fresh = tmp_path / "messages.pot"
    spawn.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
               "-k", "_l", "-k", "lazy_gettext", "-c", "i18n:", "-o", str(fresh), "."],
              cwd=ROOT, check=True, capture_output=True)
    ids = lambda p: {m.id for m in read_po(p.open("rb")) if m.id}  # noqa: E731
    committed = ROOT / "translations" / "messages.pot"
    assert ids(fresh) == ids(committed), "run `flask translate update` and translate the new strings"


def test_catalogues_cover_every_extracted_string():
    pot = {m.id for m in read_po((ROOT / "translations" / "messages.pot").open("rb")) if m.id}
    for path in CATALOGUES:
        with path.open("rb") as handle:
            have = {m.id for m in read_po(handle) if m.id}
        assert pot - have == set(), path


def test_a_third_language_needs_only_a_catalogue_and_a_setting(make_app, tmp_path):
    import shutil

    from hub.i18n import compile_catalogues

    folder = tmp_path / "translations"
    shutil.copytree(ROOT / "translations", folder, ignore=shutil.ignore_patterns("*.mo"))
    spawn.run([sys.executable, "-m", "babel.messages.frontend", "init", "-i", str(folder / "messages.pot"),
               "-d", str(folder), "-l", "ru"], check=True, capture_output=True)
    po = folder / "ru" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text().replace('msgid "Sign in"\nmsgstr ""', 'msgid "Sign in"\nmsgstr "Войти"'))
    compile_catalogues(folder)
    app = make_app(LOCALES=["zh_Hans", "en", "ru"], TRANSLATIONS_DIR=str(folder))
    html = app.test_client().get("/?lang=ru").get_data(as_text=True)
    assert '<html lang="ru">' in html and "Войти" in html
    assert ">Русский<" in app.test_client().get("/?lang=en").get_data(as_text=True)


def test_an_unexpected_error_gets_a_friendly_500_page_in_the_readers_language(make_app):
    from blueprints.web.access import public

    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @public
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", view_func=broken)
    response = app.test_client().get("/broken?lang=zh_Hans")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and '<html lang="zh-Hans">' in html
    assert "boom" not in html and HAN.search(html.split("<main", 1)[1])


@pytest.mark.parametrize("path, code", [("/notes/abc/edit", 404), ("/login", 405)])
def test_other_errors_have_friendly_pages(client, path, code):
    response = client.open(path, method="DELETE" if code == 405 else "GET")
    assert response.status_code == code and "<main" in response.get_data(as_text=True)


@pytest.mark.parametrize(("host", "lang"), [(".", "zh-CN"), ("a..b", "en")])
def test_an_unusable_host_header_gets_the_400_page_in_the_readers_language(client, host, lang):
    response = client.get("/", headers={"Host": host, "Accept-Language": lang})
    assert response.status_code == 400
    assert response.mimetype == "text/html" and "<main" in response.get_data(as_text=True)
    assert ("请求" if lang.startswith("zh") else "Bad request") in response.get_data(as_text=True)


@pytest.mark.parametrize(("lang", "country"), [("zh_Hans", "中国"), ("en", "China")])
def test_a_projects_country_is_named_in_the_readers_language(client, project, lang, country):
    for url in ("/projects", f"/projects/{project.slug}"):
        page = client.get(f"{url}?lang={lang}").get_data(as_text=True)
        assert f"四川 · {country}" in page and "· CN" not in page, url
