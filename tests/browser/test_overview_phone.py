"""Practices at a glance on a phone (390 px), in Chinese and English: no sideways scrolling, no serious axe finding."""
from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from hub import worker
from tests import catalogue

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture
def content(live_hub):
    made = catalogue.build()
    worker.run_once(live_hub.app)
    return made


@pytest.mark.parametrize("lang, browser_locale", [("zh_Hans", "zh-CN"), ("en", "en-GB")])
def test_the_overview_fits_a_phone_and_passes_axe(browser, live_hub, content, lang, browser_locale):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=browser_locale,
                                  base_url=live_hub.url)
    page = context.new_page()
    page.goto(f"/overview?lang={lang}")
    assert page.locator("svg.chart").count() >= 3
    for summary in page.locator("details > summary").all():
        summary.click()  # the tables too must fit
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    violations = [f"{v['id']}: {v['help']}" for v in Axe().run(page).response["violations"]
                  if v["impact"] in ("serious", "critical")]
    assert violations == []
    # A keyboard reaches the map's squares: the first link inside the map is a province with notes.
    first = page.locator("svg.chart-map a").first
    assert first.get_attribute("aria-label")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"overview-390-{lang}.png"), full_page=True)
    context.close()
