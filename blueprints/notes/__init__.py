"""Practice notes: lists, the editor, the note page, comments, marks and flags."""
from flask import Blueprint

bp = Blueprint("notes", __name__, template_folder="templates")

from blueprints.notes import views  # noqa: E402,F401
from blueprints.notes import attachments  # noqa: E402,F401
from blueprints.notes import findings  # noqa: E402,F401
