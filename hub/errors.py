"""Friendly error pages, in the reader's language."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    400: (_l("Bad request"), _l("The hub could not understand this request. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your account may not open this page. If you think it should, ask a moderator.")),
    404: (_l("Page not found"), _l("This page does not exist, or you may not see it.")),
    405: (_l("Not allowed"), _l("This address does not accept this kind of request.")),
    413: (_l("Too large"), _l("What you sent is larger than the hub accepts. Make it smaller and try again.")),
    429: (_l("Too many requests"), _l("Slow down a little and try again in a few minutes.")),
    500: (_l("Something went wrong"), _l("The hub had a problem. Nothing you wrote was published. Try again in a moment.")),
}
CSRF_MESSAGE = _l("This form was open too long or was sent twice. Your text is below: send it again.")


def render_error(code: int, detail: str | None = None):
    """Render the error page for HTTP status ``code``."""
    title, message = MESSAGES.get(code, MESSAGES[500 if code >= 500 else 400])
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=str(title), message=str(detail or message)), code
    if request_ctx.url_adapter is None:  # an unusable Host header: no URL of the hub can be built
        return f"{title}\n\n{detail or message}\n", code, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("errors/error.html", code=code, title=title,
                           message=detail or message), code


def _http_error(error: HTTPException):
    return render_error(error.code or 500)


def _csrf_error(_error: CSRFError):
    return render_error(400, str(CSRF_MESSAGE))


def _server_error(_error: InternalServerError):
    # Flask has already logged the original exception; tests see it propagate.
    return render_error(500)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
