"""Translating notes: the queue of work, starting a translation, asking for one."""
from flask import Blueprint

bp = Blueprint("translations", __name__, template_folder="templates")

from blueprints.translations import views  # noqa: E402,F401
