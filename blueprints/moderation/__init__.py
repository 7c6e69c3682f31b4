"""The moderators' queue: submissions to review and flags to handle."""
from flask import Blueprint

bp = Blueprint("moderation", __name__, template_folder="templates")

from blueprints.moderation import views  # noqa: E402,F401
