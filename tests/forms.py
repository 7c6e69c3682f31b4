"""Read a page's form as a browser would send it unchanged: every field with its current value."""
from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    """Collect the fields of the first form whose action ends with ``action``.

    ``action=None`` takes the first form, ``action=""`` the first without an action (it posts to its page).
    """

    def __init__(self, action: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.fields: list[tuple[str, str]] = []
        self._in_form = self._done = False
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option: dict | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            target = a.get("action", "")
            self._in_form = (self.action is None or (self.action == "" and not target)
                             or (self.action != "" and target.endswith(self.action)))
            return
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select":
            self._select, self._select_first, self._select_chosen = a.get("name"), None, False
        elif tag == "option" and self._select:
            self._option = a
            self._text = []
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data):
        if self._textarea is not None or self._option is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True
        elif tag == "option" and self._option is not None:
            value = self._option.get("value", "".join(self._text))
            if self._select_first is None:
                self._select_first = value
            if "selected" in self._option and not self._select_chosen:
                self.fields.append((self._select, value))
                self._select_chosen = True
            self._option = None
        elif tag == "select" and self._select:
            if not self._select_chosen and self._select_first is not None:
                self.fields.append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def form_fields(html: str, action: str | None = None) -> list[tuple[str, str]]:
    """Return the (name, value) pairs the form would send as it stands (its submit buttons left out)."""
    reader = _FormReader(action)
    reader.feed(html)
    return reader.fields
