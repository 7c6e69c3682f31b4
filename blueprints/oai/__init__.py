"""OAI-PMH 2.0 for libraries and repositories that harvest the hub's public notes."""
from flask import Blueprint

bp = Blueprint("oai", __name__)

from blueprints.oai import views  # noqa: E402,F401
