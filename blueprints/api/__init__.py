"""The JSON API for partner systems (/api/v1), its OpenAPI document, tokens and rate limits."""
from flask import Blueprint

bp = Blueprint("api", __name__, template_folder="templates")

from blueprints.api import limits, openapi, resources, views  # noqa: E402,F401
from blueprints.api.access import is_personal, refused_token  # noqa: E402
from blueprints.api.http import add_cache_headers, fail  # noqa: E402


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
    """Mark every API answer as depending on its caller and language, and say how many requests are left."""
    return limits.add_headers(add_cache_headers(response, personal=is_personal()))
