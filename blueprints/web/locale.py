"""Choosing the reader's language and time zone.

Order: ``?lang=`` (then remembered in a cookie) > the signed-in user's preference >
the browser's Accept-Language > the hub's default. Browsers send ``zh-CN``, ``zh``,
``zh-TW`` and the like, which Babel does not match to our ``zh_Hans`` folder, so every
Chinese tag is mapped to Simplified Chinese here before matching.
"""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

COOKIE = "hub_lang"
EXTENSION = "hub.accept_language"
ACCEPT_LANGUAGE_MEMO = 1024


def normalise(tag: str | None) -> str | None:
    """Map a language tag from a URL, cookie or browser to one of the hub's locales."""
    if not tag:
        return None
    tag = tag.strip().replace("-", "_")
    locales = current_app.config["LOCALES"]
    if tag in locales:
        return tag
    lowered = tag.lower()
    for locale in locales:
        if locale.lower() == lowered:
            return locale
    if lowered.split("_")[0] == "zh":
        # zh_TW/zh_HK readers get Simplified until a zh_Hant catalogue exists.
        if "zh_Hant" in locales and lowered in ("zh_tw", "zh_hk", "zh_mo", "zh_hant"):
            return "zh_Hant"
        return "zh_Hans" if "zh_Hans" in locales else None
    base = lowered.split("_")[0]
    return next((loc for loc in locales if loc.lower().split("_")[0] == base), None)


def _from_accept_language() -> str | None:
    """Return the hub's locale for the browser's Accept-Language (worked out once per distinct header)."""
    header = request.headers.get("Accept-Language", "")
    if not header:
        return None
    chosen = current_app.extensions[EXTENSION]
    if header not in chosen:
        if len(chosen) >= ACCEPT_LANGUAGE_MEMO:  # browsers send a few dozen distinct headers; anything may come
            chosen.clear()
        chosen[header] = next(filter(None, (normalise(tag) for tag, _quality in request.accept_languages)), None)
    return chosen[header]


def select_locale() -> str:
    """Return the locale for this request (or the default outside requests)."""
    default = current_app.config["DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    chosen = normalise(request.args.get("lang"))
    if chosen:
        g.lang_choice = chosen
        return chosen
    user_locale = current_user.locale if current_user and current_user.is_authenticated else None
    return (normalise(request.cookies.get(COOKIE)) or normalise(user_locale)
            or _from_accept_language() or default)


def select_timezone() -> str:
    """Return the signed-in user's time zone, else the hub's default."""
    if has_request_context() and current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


# Answers to machines (partner systems, feed readers, harvesters) set no cookie: ?lang= there
# chooses the language of that one answer's messages, and the next request says it again.
STATELESS_BLUEPRINTS = ("api", "feeds", "oai")


def remember_choice(response):
    """Keep a ``?lang=`` choice in a cookie for a year (on pages for people)."""
    choice = g.get("lang_choice")
    if choice and request.blueprint not in STATELESS_BLUEPRINTS:
        response.set_cookie(COOKIE, choice, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response


def html_lang() -> str:
    """Return the BCP 47 tag for ``<html lang>`` (zh-Hans, en)."""
    return str(get_locale()).replace("_", "-")


def init_app(app: Flask) -> None:
    """Choose each request's locale and time zone; register the cookie hook and template helpers."""
    # The core binds Babel with the hub's defaults (CLI, worker); requests choose per reader.
    babel_config = app.extensions["babel"]
    babel_config.locale_selector = select_locale
    babel_config.timezone_selector = select_timezone
    app.extensions[EXTENSION] = {}  # Accept-Language header -> locale (or None), per app: apps differ in LOCALES
    app.after_request(remember_choice)
    app.jinja_env.globals.update(html_lang=html_lang, current_locale=lambda: str(get_locale()))
