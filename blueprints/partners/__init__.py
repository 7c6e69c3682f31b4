"""Administration of partner hubs: follow, allow-list, trust, block, dead letters, backfill."""
from flask import Blueprint

bp = Blueprint("partners", __name__, template_folder="templates")

from blueprints.partners import problem_text, views  # noqa: E402,F401
