"""Names of the notes' languages in the reader's language, for the sentences around them.

"Translate into %(language)s" reads "Translate into Chinese" and "翻译成中文", never "翻译成English":
a language named inside interface text is named in the interface's language (Babel's CLDR names).
Links that switch to another language keep that language's own name (the language switcher).
"""
from __future__ import annotations

import functools

from babel import Locale
from flask import Flask
from flask_babel import get_locale


@functools.cache
def _name(code: str, reader: str) -> str:
    return Locale.parse(code).get_language_name(Locale.parse(reader)) or code


def language_label(code: str) -> str:
    """Return the name of the language ``code`` (zh_Hans, en) in the reader's language."""
    return _name(code, str(get_locale()))


def init_app(app: Flask) -> None:
    """Offer :func:`language_label` to the templates."""
    app.jinja_env.globals["language_label"] = language_label
