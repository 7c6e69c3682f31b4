"""Practices at a glance: counts through the visibility rule, SVG charts with tables and links, both languages."""
from __future__ import annotations

import re

import pytest

from hub.extensions import db
from hub.models import Role
from hub.services import overview, projects
from hub.services.places import province_code
from tests import catalogue
from tests.helpers import login


@pytest.fixture
def hub(app):
    made = catalogue.build()
    abroad = projects.save(projects.ProjectData(slug="chiang-mai-peers", name_zh="清迈同伴", name_en="Chiang Mai Peers",
                                                city="Chiang Mai", country="TH"), by=None)
    made.author.project = abroad
    db.session.commit()
    catalogue.publish(made.author, made.moderator, "清迈的外展", province="Chiang Mai", place="Chiang Mai")
    drifter = catalogue.person("wuming", role=Role.CONTRIBUTOR)  # in no project: the note is from nowhere known
    catalogue.publish(drifter, made.moderator, "没写地点", province="", place="")
    return made


@pytest.mark.parametrize("text, code", [("四川", "SC"), ("四川省", "SC"), ("广西壮族自治区", "GX"),
                                        ("新疆维吾尔自治区", "XJ"), ("Sichuan", "SC"), ("Inner Mongolia", "NM"),
                                        ("北京市", "BJ"), ("Chiang Mai", None), ("", None)])
def test_provinces_are_read_however_they_are_written(text, code):
    assert province_code(text) == code


def test_counts_are_of_what_the_viewer_may_read(hub):
    public = overview.places(None)
    assert dict(public.provinces) == {"SC": 3, "YN": 2} and dict(public.countries) == {"TH": 1}
    assert public.unplaced == 1 and public.total == 7
    member = overview.places(hub.member)
    assert member.provinces["SC"] == 5  # and the partners and members notes
    years = overview.topics_by_year(None)
    assert years.years[0] == 2023 and years.years == list(range(2023, years.years[-1] + 1))
    by_slug = {row.term.slug: row for row in years.rows}
    assert by_slug["peer-education"].total == 2 and by_slug["peer-education"].per_year[2023] == 1
    assert "nsp" in by_slug and by_slug["nsp"].total == 1  # not the partners and members nsp notes
    yunnan = next(p for p in overview.project_topics(None) if p.project.slug == "yunnan-outreach")
    assert yunnan.total == 2
    assert [(t.slug, n) for t, n in yunnan.topics] == [("outreach", 1), ("overdose-naloxone", 1), ("peer-education", 1)]


def test_the_page_draws_the_charts_with_tables_and_links_in_chinese(client, hub):
    html = client.get("/overview?lang=zh_Hans").get_data(as_text=True)
    assert "<h1>实践一览</h1>" in html and "共 7 篇笔记" in html
    assert html.count('class="chart') >= 4  # the map, other countries, topics by year, a project's topics
    assert 'aria-label="四川: 3 篇笔记"' in html and 'href="/search?province=%E5%9B%9B%E5%B7%9D"' in html
    assert ">泰国</th>" in html and ">未注明地点</th>" in html
    assert 'href="/search?topic=peer-education&amp;year=2023"' in html
    assert 'href="/search?project=yunnan-outreach&amp;topic=outreach"' in html
    assert "<table>" in html and re.search(r"<caption>各地笔记数</caption>", html)


def test_the_page_in_english_names_places_in_english(client, hub):
    html = client.get("/overview?lang=en").get_data(as_text=True)
    assert "<h1>Practices at a glance</h1>" in html and 'aria-label="Sichuan: 3 notes"' in html
    assert ">Thailand</th>" in html and ">SC</text>" in html


def test_a_members_overview_counts_more_than_a_visitors(client, hub):
    assert "共 7 篇笔记" in client.get("/overview?lang=zh_Hans").get_data(as_text=True)
    login(client, hub.member.username)
    assert "共 9 篇笔记" in client.get("/overview?lang=zh_Hans").get_data(as_text=True)


def test_an_empty_hub_has_an_overview_too(client, app):
    html = client.get("/overview?lang=en").get_data(as_text=True)
    assert "0 notes in all" in html and "No project has notes yet." in html
