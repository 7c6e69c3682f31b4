"""Friendly error pages, in the reader's language."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    # i18n: error page titles and messages, by HTTP status; "Not allowed" is used for 403 and 405
    400: (_l("Bad request"), _l("The hub could not understand this request. Go back and try again.")),
    401: (_l("Token not accepted"), _l("The token is unknown, expired or revoked. Send a valid one, or none.")),
    403: (_l("Not allowed"), _l("Your account may not open this page. If you think it should, ask a moderator.")),
    404: (_l("Page not found"), _l("This page does not exist, or you may not see it.")),
    405: (_l("Not allowed"), _l("This address does not accept this kind of request.")),
    413: (_l("Too large"), _l("What you sent is larger than the hub accepts. Make it smaller and try again.")),
    429: (_l("Too many requests"), _l("Slow down a little and try again in a few minutes.")),
    503: (_l("Unavailable"), _l("This part of the hub is unavailable right now. Try again in a few minutes.")),
    500: (_l("Something went wrong"), _l("The hub had a problem. Nothing you wrote was published. Try again in a moment.")),
}
CSRF_MESSAGE = _l("This form was open too long or was sent twice. Your text is below: send it again.")


def problem_response(status: int, detail: str | None = None, **extensions) -> Response:
    """Answer a machine with an RFC 9457 problem document (application/problem+json) in its language."""
    title, message = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    response = jsonify({"type": "about:blank", "title": str(title), "status": status,
                        "detail": str(detail or message), **extensions})
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def render_error(code: int, detail: str | None = None):
    """Render the error page for HTTP status ``code``."""
    title, message = MESSAGES.get(code, MESSAGES[500 if code >= 500 else 400])
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return problem_response(code, detail)
    return render_template("errors/error.html", code=code, title=title,
                           message=detail or message), code


def _http_error(error: HTTPException):
    response = make_response(render_error(error.code or 500))
    # What the exception says about retrying (Allow on 405, Retry-After on 429 and 503) stays in the answer.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _csrf_error(_error: CSRFError):
    return render_error(400, str(CSRF_MESSAGE))


def _server_error(_error: InternalServerError):
    # Flask has already logged the original exception; tests see it propagate.
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


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.before_request_funcs.setdefault(None, []).insert(0, _bind_urls_to_base_url)  # before any hook builds a URL
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
