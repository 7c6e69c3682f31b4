"""Atom feeds of published notes: all, per topic, project or language, and saved searches."""
from blueprints.feeds.views import bp

__all__ = ["bp"]
