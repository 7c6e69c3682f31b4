"""Signing up, in and out; the person's own account."""
from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from blueprints.auth import views  # noqa: E402,F401
