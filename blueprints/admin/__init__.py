"""Administration: users, invitations, projects, the audit log."""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")

from blueprints.admin import views  # noqa: E402,F401
