"""Pages for tokens: a person's API tokens and feed address, an administrator's organisation tokens."""
from flask import Blueprint

bp = Blueprint("tokens", __name__, template_folder="templates")

from blueprints.tokens import views  # noqa: E402,F401
