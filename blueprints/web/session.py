"""The signed-in person of a request: read from the log-in session named in the signed cookie."""
from __future__ import annotations

from flask import Flask, session

from blueprints.web import fragments
from hub.extensions import login_manager
from hub.services import accounts


def load_session_user(_request):
    """Load the user of the log-in session named in the signed cookie (with what a page asked to read beside it)."""
    user, values = accounts.session_user_with(session.get("sid", ""), *fragments.columns_beside_user())
    fragments.read_beside_user(values)
    return user


def init_app(app: Flask) -> None:
    """Let Flask-Login find each request's user through its log-in session."""
    login_manager.login_view = "auth.login"
    login_manager.request_loader(load_session_user)
