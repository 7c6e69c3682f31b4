"""Atom feeds of published notes: all, per topic, project or language, and saved searches."""
from flask import Blueprint

bp = Blueprint("feeds", __name__)

from blueprints.feeds import atom, views  # noqa: E402,F401


@bp.app_context_processor
def _feed_of_page() -> dict:
    """Let every page name its feed (``<link rel="alternate">``), when it has one."""
    return {"feed_alternate": atom.alternate}
