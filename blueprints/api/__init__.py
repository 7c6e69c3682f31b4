"""The JSON API for partner systems (/api/v1)."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from blueprints.api import views  # noqa: E402,F401
