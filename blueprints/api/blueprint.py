"""The API's blueprint and what every API answer goes through: token check, cache and rate-limit headers."""
from __future__ import annotations

from flask import Blueprint

from blueprints.api import limits
from blueprints.api.access import is_personal, refused_token
from blueprints.api.http import add_cache_headers, fail, nul_parameter
from blueprints.web.security import NulByte

bp = Blueprint("api", __name__, template_folder="templates")
bp.register_error_handler(NulByte, nul_parameter)  # raised by the hub-wide NUL check, before any API code runs


@bp.record_once
def _limit_machines(state) -> None:
    """Count requests of the machine-facing blueprints (API, feeds, OAI-PMH)."""
    limits.init_app(state.app)


@bp.before_request
def _refuse_bad_tokens():
    """Refuse a token that does not work, rather than quietly answer as to an anonymous caller."""
    if refused_token():
        fail(401, code="invalid_token", headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})


@bp.after_request
def _headers(response):
    """Mark every API answer as depending on its caller and language (the rate limit's headers: limits.py)."""
    return add_cache_headers(response, personal=is_personal())
