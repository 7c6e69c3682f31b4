"""Helpers every template may use."""
from __future__ import annotations

import functools

from babel import Locale
from babel import numbers as babel_numbers
from flask import Flask, current_app, g, render_template, request, url_for
from flask_babel import format_decimal, get_locale, gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from blueprints.web import dates
from blueprints.web import fragments
from blueprints.web.fragments import memo
from hub.permissions import can


ROLE_LABELS = {
    # i18n: a role's name, lower case, shown after "role:" and in lists of accounts
    "member": _l("member"),
    # i18n: a role's name: a peer educator who writes notes
    "contributor": _l("contributor"),
    # i18n: a role's name: reviews notes and handles reports
    "moderator": _l("moderator"),
    # i18n: a role's name: manages accounts, projects and partner hubs
    "admin": _l("administrator"),
}
STATUS_LABELS = {
    # i18n: an account's state, lower case, shown in lists of accounts: may sign in
    "active": _l("active"),
    "pending": _l("waiting for approval"),
    # i18n: an account's state, lower case: may not sign in
    "disabled": _l("disabled"),
}


def number(value) -> str:
    """Format a number for the reader's locale (small counts skip Babel where they print as digits)."""
    if isinstance(value, int) and 0 <= value < 1000 and _plain_digits(str(get_locale())):
        return str(value)  # a search page shows ~50 counts; Babel takes ~30 µs for each
    return format_decimal(value)


@functools.cache
def _plain_digits(locale: str) -> bool:
    """Tell whether ``locale`` writes numbers below 1000 with plain ASCII digits."""
    return all(babel_numbers.format_decimal(n, locale=locale) == str(n) for n in (0, 7, 42, 999))


def country_name(code: str) -> str:
    """Return a country's name in the reader's language from its ISO 3166 code (CN: 中国 / China)."""
    if not code:
        return ""
    return Locale.parse(str(get_locale())).territories.get(code.upper(), code)


def role_label(role: str) -> str:
    """Return the translated name of a role."""
    return str(ROLE_LABELS.get(str(role), role))


def status_label(status: str) -> str:
    """Return the translated name of an account status."""
    return str(STATUS_LABELS.get(str(status), status))


def language_name(locale: str) -> str:
    """Return a language's name in that language (中文, English), as Babel knows it."""
    parsed = Locale.parse(locale)
    if parsed.language == "zh":
        return "繁體中文" if parsed.script == "Hant" else "中文"
    return parsed.get_language_name(parsed).capitalize()


@functools.cache
def _language_in(code: str, reader: str) -> str:
    return Locale.parse(code).get_language_name(Locale.parse(reader)) or code


def language_label(code: str) -> str:
    """Return the name of a notes' language (zh_Hans, en) in the reader's language.

    A language named inside interface text is named in the interface's language: "Translate into
    Chinese" and "翻译成中文", never "翻译成English". Links that switch to another language keep
    that language's own name (:func:`language_name`).
    """
    return _language_in(code, str(get_locale()))


def site_name() -> str:
    """Return the hub's name: the configured one, or the translated default."""
    return current_app.config["SITE_NAME"] or _("Practice Exchange Hub")


def language_links() -> list[dict[str, str]]:
    """Return a link to this page in each offered language."""
    args = request.args.to_dict()
    links = []
    for locale in current_app.config["LOCALES"]:
        args["lang"] = locale
        endpoint = request.endpoint or "main.index"
        try:
            href = url_for(endpoint, **(request.view_args or {}), **args)
        except Exception:  # an error page for a URL that matched nothing
            href = url_for("main.index", lang=locale)
        links.append({"locale": locale, "name": language_name(locale), "href": href})
    return links


def user_can(permission: str) -> bool:
    """Tell whether the current user holds ``permission``."""
    return can(current_user, permission)


def note_may(action: str, note) -> bool:
    """Tell whether the current user may do ``action`` to ``note`` (the services' one rule)."""
    from hub.services.notes import may

    return may(current_user, action, note)


def unread_notifications() -> int:
    """Return the current user's unread notification count (0 when signed out)."""
    if not current_user.is_authenticated:
        return 0
    from hub.services.notifications import unread_count

    return memo("unread", current_user.id, compute=lambda: unread_count(current_user))


def moderation_waiting() -> int:
    """Return how many items wait in the moderation queue (for moderators' menu)."""
    if not can(current_user, "moderate"):
        return 0
    return sum(queue_counts().values())


def queue_counts() -> dict[str, int]:
    """Return the moderation queues' counts (hub.services.moderation.queue_counts), read once per request: a
    moderation page shows them in its tabs and the menu adds them up. Read when the page is rendered, after
    whatever the request changed."""
    if "queue_counts" not in g:
        from hub.services.moderation import queue_counts as read

        g.queue_counts = read()
    return g.queue_counts


def site_menu() -> Markup:
    """Return the reader's menu: a signed-in reader's cached per person and moderation queue.

    Their pseudonym, role and unread count change the content version, which every fragment's
    key holds; the sign-out form's token is the request's own (:func:`fragments.fragment`).
    """
    if not current_user.is_authenticated:
        return Markup(render_template("_menu.html", waiting=0))
    waiting = moderation_waiting()
    return fragments.fragment(("menu", current_user.id, waiting),
                              lambda: render_template("_menu.html", waiting=waiting))


def init_app(app: Flask) -> None:
    """Register the helpers as Jinja globals and filters."""
    fragments.personal_part("menu", site_menu)
    app.jinja_env.globals.update(
        site_name=site_name, language_links=language_links, can=user_can,
        role_label=role_label, status_label=status_label, note_may=note_may,
        unread_notifications=unread_notifications, moderation_waiting=moderation_waiting,
        language_label=language_label, country_name=country_name,
    )
    # One format per language for days and moments (blueprints/web/dates.py).
    app.jinja_env.filters.update(number=number, date=dates.day, datetime=dates.moment)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
