"""Friendly error pages, in the reader's language, also when the database cannot be reached.

Every error page is rendered after rolling back the request's transaction: a query that failed
(on PostgreSQL the whole transaction is then aborted) must not take the error page down with it.
When the page's own queries (the menu's counts) fail too, it is rendered as for a signed-out
reader, without the database. While the database is unreachable every request gets 503 with
``Retry-After``; JSON callers get an RFC 9457 ``application/problem+json`` document.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, same_origin
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from blueprints.web.security import NO_SOURCE
from hub.extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

MESSAGES = {
    # i18n: error page titles and messages, by HTTP status; "Not allowed" is used for 403 and 405
    400: (_l("Bad request"), _l("The hub could not understand this request. Go back and try again.")),
    401: (_l("Token not accepted"), _l("The token is unknown, expired or revoked. Send a valid one, or none.")),
    403: (_l("Not allowed"), _l("Your account may not open this page. If you think it should, ask a moderator.")),
    404: (_l("Page not found"), _l("This page does not exist, or you may not see it.")),
    405: (_l("Not allowed"), _l("This address does not accept this kind of request.")),
    # i18n: the page of a note its author or a moderator deleted (only an empty tombstone remains)
    410: (_l("This note was deleted"), _l("Its author or a moderator deleted it, and the hub no longer keeps its "
                                          "text. Partner hubs that had it were told to delete it too.")),
    413: (_l("Too large"), _l("What you sent is larger than the hub accepts. Make it smaller and try again.")),
    429: (_l("Too many requests"), _l("Slow down a little and try again in a few minutes.")),
    500: (_l("Something went wrong"), _l("The hub had a problem. Nothing you wrote was published. Try again in a moment.")),
    # i18n: shown while the hub's database cannot be reached (a short outage, a restart)
    503: (_l("Try again in a moment"), _l("The hub cannot reach its database just now, so nothing was saved or "
                                          "changed. Try again in a minute: what you wrote is still in the form.")),
}
# What a reader who only asked for something (GET, HEAD) is told: nothing of theirs was at stake.
READ_MESSAGES = {
    500: _l("The hub had a problem answering this request. Try again in a moment."),
    # i18n: shown while the hub's database cannot be reached, to someone who only opened a page or read the API
    503: _l("The hub cannot reach its database just now. Try again in a minute."),
}
CSRF_MESSAGE = _l("This form was open too long or was sent twice. Your text is below: send it again.")
# i18n: a comment, report or message was sent about a note deleted while the person was writing it
DELETED_WHILE_WRITING = _l("This note was deleted while you were writing, so what you wrote was not posted.")
# Error pages that answer a person's form show what they wrote in it (error.html, kept_text): the form is
# gone (the note deleted, their role changed) or must be sent again (its token expired).
KEEPS_TEXT = (400, 403, 410)
# i18n: the browser sent a form over https without the Origin and Referer headers (a privacy setting or add-on)
NO_SOURCE_MESSAGE = _l("Your browser did not say which page this form came from, so the hub cannot tell that it "
                       "was one of its own. Let your browser send the referrer to this site (in its privacy "
                       "settings or add-ons), then send the form again.")
RETRY_AFTER_SECONDS = 10  # what a 503 asks clients (and the editor's autosave) to wait before trying again
JSON_ATTR = "_hub_answers_json"
JSON_TYPES = ("application/json", "application/problem+json", "application/activity+json", "application/ld+json")
# Addresses only machines read (the API, ActivityPub objects): errors are problem documents whatever they accept.
MACHINE_PATHS = ("/api/", "/ap/")
# Errors that mean "the database cannot be reached or is overloaded", not "this request is wrong".
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def answers_json(view: F) -> F:
    """Declare that a view answers JSON, so its errors are problem documents, not pages."""
    setattr(view, JSON_ATTR, True)
    return view


def wants_json() -> bool:
    """Tell whether this request's caller reads JSON (the API, a JSON view, an Accept header)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return (request.path.startswith(MACHINE_PATHS) or getattr(view, JSON_ATTR, False)
            or request.accept_mimetypes.best in JSON_TYPES)


def database_unavailable(error: BaseException | None) -> bool:
    """Tell whether ``error`` means the database cannot be reached (down, restarting, pool exhausted)."""
    return isinstance(error, UNAVAILABLE) or (
        isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated))


def render_error(code: int, detail: str | None = None, *, without_database: bool = False,
                 **extensions: Any) -> Response:
    """Answer with the error page for HTTP status ``code`` (a problem document for JSON callers,
    with ``extensions`` as its further members)."""
    _recover_session()
    if without_database:
        _forget_user()
    title, message = _title_and_message(code)
    if wants_json():
        return problem_response(code, detail, **extensions)
    if code == 410 and detail is None and written():
        detail = str(DELETED_WHILE_WRITING)
    return make_response(_page(code, title, detail or message), code)


def problem_response(status: int, detail: str | None = None, *, title: str | None = None,
                     **extensions: Any) -> Response:
    """Answer a machine with an RFC 9457 problem document (application/problem+json) in its language."""
    usual_title, message = _title_and_message(status)
    response = jsonify({"type": "about:blank", "title": str(title or usual_title), "status": status,
                        "detail": str(detail or message), **extensions})
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _title_and_message(code: int) -> tuple[Any, Any]:
    """Return the title and message of status ``code``, the message fit for the request's method."""
    known = code if code in MESSAGES else 500 if code >= 500 else 400
    title, message = MESSAGES[known]
    if known in READ_MESSAGES and request.method in ("GET", "HEAD", "OPTIONS"):
        message = READ_MESSAGES[known]
    return title, message


def _page(code: int, title: Any, message: Any) -> str:
    kept = written() if code in KEEPS_TEXT else []
    try:
        return render_template("errors/error.html", code=code, title=title, message=message, kept=kept)
    except sa_exc.SQLAlchemyError:
        # The menu's own queries failed as well: show the page as to a signed-out reader.
        _recover_session()
        _forget_user()
        return render_template("errors/error.html", code=code, title=title, message=message, kept=kept)


def written() -> list[str]:
    """Return what the person wrote in the text boxes of the form this request posted, in the form's order.

    Text boxes are the hub's forms' multi-line fields (what hub.js keeps too); nothing else a form
    holds (a password, a hidden id, a choice) is ever shown back.
    """
    if request.method != "POST" or request.mimetype not in ("application/x-www-form-urlencoded",
                                                            "multipart/form-data"):
        return []
    origin = request.headers.get("Origin")
    source = origin if origin and origin != "null" else request.referrer
    if source and not same_origin(source, request.host_url):
        return []  # another site's form: its text is not the hub's to show
    boxes = _text_box_names()
    return [value for name, value in request.form.items(multi=True) if name in boxes and value.strip()]


@functools.cache
def _text_box_names() -> frozenset[str]:
    """Return the names of the hub's forms' multi-line fields, less any name another form uses for other input."""
    from flask_wtf import FlaskForm
    from wtforms import TextAreaField
    from wtforms.fields.core import UnboundField

    boxes, others, forms = set(), set(), [FlaskForm]
    while forms:
        form = forms.pop()
        forms.extend(form.__subclasses__())
        for name, value in vars(form).items():
            if isinstance(value, UnboundField):
                (boxes if issubclass(value.field_class, TextAreaField) else others).add(name)
    return frozenset(boxes - others)


def _recover_session() -> None:
    """Roll back what the request left, so the error page starts on a usable session."""
    try:
        db.session.rollback()
    except sa_exc.SQLAlchemyError:  # the connection is gone: drop it rather than reuse it
        db.session.invalidate()


def _forget_user() -> None:
    """Render as for a signed-out reader: loading or refreshing the account would need the database."""
    login_manager._update_request_context_with_user()  # Flask-Login's own way of setting the anonymous user


def unavailable() -> Response:
    """Answer 503 with Retry-After, rendered without the database, in the reader's language."""
    response = render_error(503, without_database=True)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _database_error(error: sa_exc.SQLAlchemyError):
    if not database_unavailable(error):
        raise error  # a bug, not an outage: the 500 path logs it with its traceback
    # One line without the statement or its parameters: they may hold note text.
    current_app.logger.warning("database unavailable (%s): answered 503",
                               type(getattr(error, "orig", None) or error).__name__)
    return unavailable()


def _http_error(error: HTTPException):
    response = render_error(error.code or 500)
    # What the exception says about retrying (Allow on 405, Retry-After on 429 and 503) stays in the answer.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _csrf_error(error: CSRFError):
    # "reason" lets a script (the editor's autosave) fetch its page's new token and send again.
    return render_error(400, str(NO_SOURCE_MESSAGE if error.description == NO_SOURCE else CSRF_MESSAGE),
                        reason="csrf")


def _server_error(error: InternalServerError):
    # Flask has already logged the original exception; tests see it propagate.
    if database_unavailable(error.original_exception):  # raised where no handler ran (an after-request hook)
        return unavailable()
    return render_error(500)


def _bind_urls_to_base_url() -> None:
    """Let pages build the hub's URLs when the request's Host header is unusable (".", "a..b").

    Werkzeug refuses such a host before routing: the request ends in 400 Bad Request, but without
    a URL adapter no template can call ``url_for``. Bind one to ``BASE_URL``, the hub's public
    address, so the error page is the usual one.
    """
    if request_ctx.url_adapter is None:
        base = urlsplit(current_app.config["BASE_URL"])
        request_ctx.url_adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                                           url_scheme=base.scheme)


def _log_exception_by_rule(app: Flask) -> Callable[..., None]:
    """Return Flask's exception logger, naming the route's rule instead of the path it was called with.

    A path can hold an invitation or reset token, or the id of a note a reader looked for; the
    rule (``/invite/<token>``) says as much to whoever reads the traceback.
    """
    def log_exception(exc_info) -> None:
        rule = request.url_rule.rule if request.url_rule else "an address that matches no page"
        app.logger.error("Exception on %s [%s]", rule, request.method, exc_info=exc_info)

    return log_exception


def init_app(app: Flask) -> None:
    """Register the handlers and the exception logger."""
    app.log_exception = _log_exception_by_rule(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _bind_urls_to_base_url)  # before any hook builds a URL
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(sa_exc.DBAPIError, _database_error)
    app.register_error_handler(sa_exc.TimeoutError, _database_error)
