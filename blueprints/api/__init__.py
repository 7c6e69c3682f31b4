"""The JSON API for partner systems (/api/v1) and its OpenAPI document."""
from flask import Blueprint

bp = Blueprint("api", __name__, template_folder="templates")

from blueprints.api import openapi, resources, views  # noqa: E402,F401
from blueprints.api.access import is_personal  # noqa: E402
from blueprints.api.http import add_cache_headers  # noqa: E402


@bp.after_request
def _cache_headers(response):
    """Mark every API answer as depending on its caller and language."""
    return add_cache_headers(response, personal=is_personal())
