"""Who may open which page: every view declares it, and one guard checks it before anything else.

Every view declares its access with :func:`public`, :func:`signed_in` or :func:`requires`;
:func:`guard` runs before every request and refuses any endpoint that declared nothing
(deny by default). The roles behind the permissions are the core's (:mod:`hub.permissions`),
which the services use for object-level rules (who may see a draft).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import same_origin
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from blueprints.web.errors import problem_response, render_error, wants_json
from hub.permissions import PERMISSIONS, can

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTR = "_hub_access"
PUBLIC = "public"
SIGNED_IN = "signed_in"
# i18n: title and text of the answer to the editor's autosave (and other scripts) when the session has ended
SIGNED_OUT = (_l("Signed out"), _l("You are signed out. Sign in again, then try once more."))
# i18n: on the sign-in page, after a form was sent from a browser whose session had ended (signed out elsewhere)
# A form refused for the role it needs was on a page its sender could open: their role changed since.
# i18n: a moderator was made an ordinary member (or contributor) while a moderation page was open
ROLE_CHANGED = {
    "moderate": _l("Your role has changed since you opened this page: you are no longer a moderator, so you may "
                   "no longer decide on notes, comments or reports. Nothing was changed."),
    "invite": _l("Your role has changed since you opened this page: you are no longer a moderator, so you may "
                 "no longer invite people. Nothing was changed."),
}
# i18n: someone's role was lowered (by an administrator) while a page of theirs was open
ROLE_CHANGED_OTHERWISE = _l("Your role has changed since you opened this page, and your account may no longer do "
                            "this. Nothing was changed.")
FORM_NOT_SENT = _l("You were signed out, so what you sent was not saved. Sign in again to return to the page "
                   "you were on, then send it again.")


def _declare(access: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        setattr(view, ACCESS_ATTR, access)
        return view

    return decorator


def public(view: F) -> F:
    """Declare a view open to everyone, signed in or not."""
    return _declare(PUBLIC)(view)


def signed_in(view: F) -> F:
    """Declare a view open to any active signed-in account."""
    return _declare(SIGNED_IN)(view)


def requires(permission: str) -> Callable[[F], F]:
    """Declare a view open to accounts holding ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return _declare(permission)


def access_of(endpoint: str | None) -> str | None:
    """Return the declared access of ``endpoint`` (None when it declared nothing)."""
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTR, None)


def guard() -> Any:
    """Refuse the request unless the endpoint's declared access admits the current user."""
    if request.endpoint is None:  # 404 and 405 are answered by Flask itself
        return None
    access = access_of(request.endpoint)
    if access == PUBLIC:
        return None
    if access is None:
        current_app.logger.error("endpoint %s declares no access; refused", request.endpoint)
        abort(403)
    if not current_user.is_authenticated:
        return _signed_out()
    if access != SIGNED_IN and not can(current_user, access):
        if request.method == "POST":  # what was written comes back on the page (blueprints/web/errors.py)
            return render_error(403, str(ROLE_CHANGED.get(access, ROLE_CHANGED_OTHERWISE)))
        abort(403)
    return None


def _signed_out() -> Any:
    """Answer a signed-out caller: a script gets 401, a person the log-in page that leads back."""
    if wants_json():  # a script cannot follow a redirect to a form; it tells the person itself
        title, detail = SIGNED_OUT
        return problem_response(401, str(detail), title=str(title))
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    flash(str(FORM_NOT_SENT), "warning")
    return redirect(url_for("auth.login", next=_page_sent_from()))


def _page_sent_from() -> str:
    """Return the page a form was sent from (its Referer on this hub, if it opens with GET), else home.

    The form's own address may take only POST (a comment, a mark): after signing in, the browser
    follows ``next`` with GET, and must land on a page, not on 405.
    """
    source = urlsplit(request.referrer or "")
    if not request.referrer or not same_origin(request.referrer, request.host_url):
        return url_for("main.index")
    root = request.script_root
    path = source.path[len(root):] if root and source.path.startswith(root + "/") else source.path
    try:
        current_app.create_url_adapter(request).match(path, method="GET")
    except RequestRedirect:
        pass  # the same page under its canonical address (a missing slash): Flask redirects there
    except HTTPException:  # no such page, or POST only
        return url_for("main.index")
    return source.path + (f"?{source.query}" if source.query else "")


def init_app(app: Flask) -> None:
    """Run the guard before every other request hook (CSRF included): access is decided first."""
    app.before_request_funcs.setdefault(None, []).insert(0, guard)
