"""What a reader sees of a page, and the English interface strings that must not appear in Chinese.

Used by the crawlers (tests/functional/test_untranslated.py over HTTP, tests/browser/test_crawl.py in
the browser): visible text is read outside elements marked as another language (lang="en": the
language switcher, English notes), and any English catalogue string found there escaped translation.
"""
from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def english_interface_strings() -> set[str]:
    """Return catalogue strings that must not appear untranslated: two words or more, Latin letters."""
    with (ROOT / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    found = set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text, translated in zip(ids, strings):
            plain = re.sub(r"%\(\w+\)[sd]|%[sd]", "", text or "").strip()
            if len(plain.split()) >= 2 and re.search(r"[A-Za-z]{3}", plain) and plain != translated:
                found.add(plain.split("%")[0].strip())
    return {s for s in found if len(s) >= 8}


class VisibleText(HTMLParser):
    """Collect visible text outside lang="en" elements, and same-site links."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "area", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._stack: list[bool] = []  # True where the element (or an ancestor) is another language
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("placeholder", "aria-label", "title", "value"):
            if attrs.get(name) and not (self._stack and self._stack[-1]) and not attrs.get("lang", "").startswith("en"):
                if tag != "input" or attrs.get("type") in ("submit", "button", None) or name != "value":
                    self.text.append(attrs[name])
        if tag in self.VOID:
            return
        foreign = (self._stack[-1] if self._stack else False) or attrs.get("lang", "").startswith("en")
        self._stack.append(foreign)
        if tag in ("script", "style", "code", "pre"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self._stack:
            self._stack.pop()
        if tag in ("script", "style", "code", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and not (self._stack and self._stack[-1]) and data.strip():
            self.text.append(data)


def english_in(html: str) -> list[str]:
    """Return the English interface strings in the visible text of ``html`` outside lang="en" parts."""
    page = VisibleText()
    page.feed(html)
    text = " ".join(page.text)
    return sorted(s for s in english_interface_strings() if s in text)
