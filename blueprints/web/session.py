"""The signed-in person of a request: read from the log-in session named in the signed cookie."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request, session
from flask_login import current_user

from blueprints.web import fragments
from hub.extensions import login_manager
from hub.services import accounts


def load_session_user(_request):
    """Load the user of the log-in session named in the signed cookie (with what a page asked to read beside it)."""
    user, values = accounts.session_user_with(session.get("sid", ""), *fragments.columns_beside_user())
    fragments.read_beside_user(values)
    return user


def person() -> Any:
    """Return the request's person: the user of its log-in session, else the anonymous user.

    A person is signed in only through the log-in session named in the signed session cookie:
    the hub gives Flask-Login no user loader, so neither a user id in the session nor a
    remember-me cookie can sign anyone in. A request without the session cookie (a partner's
    script, a harvester, a search through the API) is therefore anonymous, and is told so at once,
    the way Flask-Login sets the anonymous user itself: no lookup, no ``user_accessed`` signal, no
    session-protection hash of the client's address and browser, no read of the session.
    """
    if "_login_user" not in g and current_app.session_interface.get_cookie_name(current_app) not in request.cookies:
        login_manager._update_request_context_with_user()
    return current_user._get_current_object()


def init_app(app: Flask) -> None:
    """Let Flask-Login find each request's user through its log-in session."""
    login_manager.login_view = "auth.login"
    login_manager.request_loader(load_session_user)
